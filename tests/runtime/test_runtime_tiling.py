from __future__ import annotations

import numpy as np
import pytest

from revival.errors import ConfigError
from revival.runtime.session import available_backends, load_sr_model
from revival.runtime.tiling import run_tiled, tile_spans


def box_model(radius: int, scale: int):
    """NumPy stand-in with receptive radius ``radius``: zero-padded box blur + nearest upscale."""

    def run(x: np.ndarray) -> np.ndarray:
        k = 2 * radius + 1
        p = np.pad(x, ((0, 0), (0, 0), (radius, radius), (radius, radius)))
        acc = np.zeros_like(x)
        for dy in range(k):
            for dx in range(k):
                acc += p[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]
        return (acc / k**2).repeat(scale, axis=2).repeat(scale, axis=3)

    return run


def test_tile_spans_cover_exactly():
    spans = tile_spans(101, 32)
    assert spans[0][0] == 0 and spans[-1][1] == 101
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert max(b - a for a, b in spans) <= 32
    assert tile_spans(10, 0) == [(0, 10)]


@pytest.mark.parametrize("tile", [7, 16, 33])
def test_tiling_exact_when_overlap_covers_receptive_field(tile):
    img = np.random.default_rng(0).random((1, 41, 57), dtype=np.float32)
    run = box_model(3, 2)
    whole = run_tiled(run, img, scale=2, tile=0, overlap=3)
    tiled = run_tiled(run, img, scale=2, tile=tile, overlap=3)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tiling_too_small_overlap_shows_seams():
    img = np.random.default_rng(0).random((1, 41, 57), dtype=np.float32)
    run = box_model(3, 2)
    whole = run_tiled(run, img, scale=2, tile=0, overlap=0)
    tiled = run_tiled(run, img, scale=2, tile=16, overlap=1)
    assert np.abs(tiled - whole).max() > 1e-3


def test_negative_tile_is_config_error():
    with pytest.raises(ConfigError):
        run_tiled(box_model(1, 2), np.zeros((1, 4, 4), np.float32), scale=2, tile=-1, overlap=0)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("tile", [16, 29])
def test_shipped_model_output_independent_of_tile_size(precision, tile):
    model = load_sr_model("fidelity.x4", precision=precision, backend="onnxruntime", threads=2)
    yy, xx = np.mgrid[0:45, 0:61].astype(np.float32)
    img = (0.5 + 0.3 * np.sin(xx / 3) * np.cos(yy / 4)
           + 0.1 * np.random.default_rng(1).random((45, 61)))[..., None].astype(np.float32)
    whole = model.upscale(img, tile=0)
    tiled = model.upscale(img, tile=tile)
    assert whole.shape == (180, 244, 1)
    assert np.abs(tiled - whole).max() <= 1 / 255


@pytest.mark.skipif("openvino" not in available_backends(), reason="openvino not installed")
def test_openvino_matches_onnxruntime():
    img = np.random.default_rng(2).random((23, 31, 1), dtype=np.float32)
    a = load_sr_model("fidelity.x4", backend="onnxruntime", threads=2).upscale(img)
    b = load_sr_model("fidelity.x4", backend="openvino", threads=2).upscale(img)
    assert np.abs(a - b).max() < 1e-3


def test_wrong_channel_count_is_config_error():
    model = load_sr_model("fidelity.x4", backend="onnxruntime", threads=1)
    with pytest.raises(ConfigError, match="expects"):
        model.upscale(np.zeros((8, 8, 3), np.float32))


def test_unknown_backend_is_config_error():
    with pytest.raises(ConfigError, match="backend"):
        load_sr_model("fidelity.x4", backend="tensorflow")  # type: ignore[arg-type]


def pair_model(radius: int):
    """Stand-in for a half-resolution network: needs even sides, 2x2 blocks interact."""
    inner = box_model(radius, 1)

    def run(x: np.ndarray) -> np.ndarray:
        assert x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0, x.shape
        n, c, h, w = x.shape
        folded = x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
        return x + inner(folded).repeat(2, axis=2).repeat(2, axis=3)

    return run


def test_tile_spans_on_a_grid():
    spans = tile_spans(100, 33, multiple=2)
    assert spans[0][0] == 0 and spans[-1][1] == 100
    assert all(a % 2 == 0 and b % 2 == 0 for a, b in spans)


@pytest.mark.parametrize("tile", [9, 16, 25])
def test_tiling_with_size_multiple_matches_whole_frame(tile):
    img = np.random.default_rng(1).random((1, 40, 58), dtype=np.float32)
    run = pair_model(2)
    whole = run_tiled(run, img, scale=1, tile=0, overlap=0, multiple=2)
    tiled = run_tiled(run, img, scale=1, tile=tile, overlap=5, multiple=2)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tiling_refuses_sizes_off_the_grid():
    with pytest.raises(ConfigError, match="multiple of 2"):
        run_tiled(pair_model(1), np.zeros((1, 9, 10), np.float32), scale=1, tile=4, overlap=2,
                  multiple=2)
