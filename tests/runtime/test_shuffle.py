from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from revival.models.registry import weight_path
from revival.runtime.shuffle import depth_to_space, strip_depth_to_space


def reference(y: np.ndarray, block: int) -> np.ndarray:
    """ONNX DepthToSpace, mode CRD, written out from its definition."""
    n, cbb, h, w = y.shape
    c = cbb // block ** 2
    out = np.zeros((n, c, h * block, w * block), np.float32)
    for ch in range(c):
        for i in range(block):
            for j in range(block):
                out[:, ch, i::block, j::block] = y[:, ch * block ** 2 + i * block + j]
    return out


@pytest.mark.parametrize("block", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("threads", [0, 2])
def test_depth_to_space_matches_the_onnx_definition(block, channels, threads):
    y = np.random.default_rng(block).random((2, channels * block ** 2, 5, 7), dtype=np.float32)
    pool = ThreadPoolExecutor(threads) if threads else None
    got = depth_to_space(y, block, pool=pool)
    assert got.shape == (2, channels, 5 * block, 7 * block) and got.flags.c_contiguous
    np.testing.assert_array_equal(got, reference(y, block))


def test_depth_to_space_on_threads_for_a_large_tensor():
    y = np.random.default_rng(0).random((1, 16, 512, 520), dtype=np.float32)  # over the bar
    got = depth_to_space(y, 4, pool=ThreadPoolExecutor(2))
    np.testing.assert_array_equal(got, reference(y, 4))


def test_depth_to_space_rejects_a_channel_count_that_does_not_fold():
    with pytest.raises(ValueError, match="multiple"):
        depth_to_space(np.zeros((1, 6, 2, 2), np.float32), 2)


@pytest.mark.parametrize("model_id,block", [("fast.x2", 2), ("realworld.x4", 4),
                                            ("deblock.x1", 1)])
def test_int8_models_run_without_the_final_shuffle_and_give_the_same_output(model_id, block):
    ov = pytest.importorskip("openvino", reason="OpenVINO is the optional `fast` extra")
    from revival.runtime.session import SRModel
    from revival.runtime.shuffle import quantised

    core = ov.Core()
    assert not quantised(core.read_model(str(weight_path(model_id, "fp32"))))
    path = weight_path(model_id, "int8")
    assert quantised(core.read_model(str(path)))
    _, found = strip_depth_to_space(core.read_model(str(path)))
    assert found == block  # the SR models end in one; deblock ends in its residual Add
    channels = 1 if model_id == "fast.x2" else 3
    scale = {"fast.x2": 2, "realworld.x4": 4, "deblock.x1": 1}[model_id]
    x = np.random.default_rng(0).random((1, channels, 24, 38), dtype=np.float32)
    whole = core.compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": 2,
                                                  "INFERENCE_PRECISION_HINT": "f32"})
    want = whole.create_infer_request().infer({0: x})[0]
    got = SRModel(path, scale=scale, channels=channels, backend="openvino", threads=2).run(x)
    assert got.shape == want.shape == (1, channels, 24 * scale, 38 * scale)
    np.testing.assert_array_equal(got, want)
