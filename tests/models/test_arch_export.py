from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
pytest.importorskip("onnx", reason="onnx is the optional `train` extra")

from revival.models.arch import build_arch, count_params, parse_arch  # noqa: E402
from revival.models.export import ParityError, export_onnx  # noqa: E402


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(scale, channels):
    net = build_arch("anchor_c8_b2", scale=scale, channels=channels)
    assert net(torch.rand(2, channels, 7, 9)).shape == (2, channels, 7 * scale, 9 * scale)


def test_untrained_net_is_nearest_upsampling():
    torch.manual_seed(0)
    net = build_arch("anchor_c8_b2", scale=2, channels=3)
    x = torch.rand(1, 3, 5, 6)
    nearest = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    assert float((net(x) - nearest).abs().max()) < 0.05


def test_bad_names_raise_value_error():
    with pytest.raises(ValueError, match="anchor_c"):
        parse_arch("resnet50", scale=4, channels=1)
    with pytest.raises(ValueError, match="scale"):
        parse_arch("anchor_c8_b2", scale=8, channels=1)


def test_count_params():
    # head 1*8*9+8, 2 body 8*8*9+8, tail 8*4*9+4
    assert count_params(build_arch("anchor_c8_b2", scale=2, channels=1)) == 80 + 2 * 584 + 292


def test_export_parity_and_dynamic_size(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(1)
    net = build_arch("anchor_c8_b2", scale=4, channels=1)
    report = export_onnx(net, tmp_path / "m.onnx", channels=1)
    assert report.max_abs_diff <= report.tolerance
    assert report.opset == 17 and report.size_bytes == (tmp_path / "m.onnx").stat().st_size
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 1, 13, 29), dtype=np.float32)
    got = sess.run(None, {"input": x})[0]
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 1, 52, 116)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_export_parity_failure_raises(tmp_path):
    net = build_arch("anchor_c8_b2", scale=2, channels=3)
    with pytest.raises(ParityError):
        export_onnx(net, tmp_path / "m.onnx", channels=3, tolerance=-1.0)
    assert not (tmp_path / "m.onnx").exists()
