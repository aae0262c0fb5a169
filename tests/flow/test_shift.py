import numpy as np
import pytest

from revival.errors import ConfigError
from revival.flow import shift, warp


def _waves(h=48, w=64, dx=0.0, dy=0.0):
    """Band-limited picture (sum of sines below half the sampling rate) sampled at x+dx, y+dy."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    xs, ys = xs + dx, ys + dy
    out = (0.5 + 0.2 * np.sin(2 * np.pi * 0.31 * xs + 0.4) + 0.15 * np.sin(2 * np.pi * 0.27 * ys)
           + 0.1 * np.sin(2 * np.pi * (0.12 * xs + 0.22 * ys)))
    return np.repeat(out[..., None], 3, axis=2).astype(np.float32)


def test_whole_pixel_shift_is_a_copy():
    img = np.random.default_rng(0).random((20, 30, 3), dtype=np.float32)
    out = shift(img, 3.0, -2.0)
    np.testing.assert_array_equal(out[2:, :27], img[:18, 3:])
    assert out.shape == img.shape and out.dtype == np.float32


@pytest.mark.parametrize("dx, dy", [(0.5, 0.5), (0.25, -0.7), (-1.6, 2.3)])
def test_sub_pixel_shift_matches_the_true_signal(dx, dy):
    img, truth = _waves(), _waves(dx=dx, dy=dy)
    flow = np.zeros(img.shape[:2] + (2,), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    inner = np.s_[12:-12, 12:-12]
    err_sinc = np.abs(shift(img, dx, dy) - truth)[inner].max()
    err_cubic = np.abs(warp(img, flow, interpolation="cubic") - truth)[inner].max()
    assert err_sinc < 0.01
    assert err_sinc < 0.25 * err_cubic


def test_round_trip_keeps_fine_detail():
    img = _waves()
    back = shift(shift(img, 0.5, 0.3), -0.5, -0.3)
    assert np.abs(back - img)[12:-12, 12:-12].max() < 0.02


def test_grey_images_and_errors():
    img = np.random.default_rng(1).random((16, 16), dtype=np.float32)
    assert shift(img, 0.3, 0.2).shape == (16, 16)
    with pytest.raises(ConfigError):
        shift(img, 0.5, 0.5, half=1)
    with pytest.raises(ConfigError):
        shift(img, float("nan"), 0.0)


def test_warp_where_matches_warp_on_the_mask_only():
    from revival.flow import warp_where

    rng = np.random.default_rng(2)
    img = rng.random((30, 40, 3), dtype=np.float32)
    flow = rng.uniform(-3, 3, (30, 40, 2)).astype(np.float32)
    mask = rng.random((30, 40)) < 0.3
    base = np.zeros_like(img)
    out = warp_where(img, flow, mask, base.copy(), interpolation="cubic")
    full = warp(img, flow, interpolation="cubic")
    np.testing.assert_allclose(out[mask], full[mask], atol=1e-5)
    np.testing.assert_array_equal(out[~mask], base[~mask])


def _reference_shift(img, dx, dy, half=8):
    """Direct evaluation of the windowed-sinc sum on an edge-replicated copy (float64)."""
    from revival.flow.warping import _sinc_taps

    h, w = img.shape[:2]
    nx, ny = int(np.floor(dx)), int(np.floor(dy))
    kx, ky = _sinc_taps(dx - nx, half).astype(np.float64), _sinc_taps(dy - ny, half)
    pad = 2 * half + max(abs(nx), abs(ny))
    big = np.pad(img.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    offsets = np.arange(1 - half, half + 1)
    rows = sum(k * big[pad + ny + o:pad + ny + o + h] for k, o in zip(ky, offsets))
    return sum(k * rows[:, pad + nx + o:pad + nx + o + w] for k, o in zip(kx, offsets))


@pytest.mark.parametrize("dx, dy", [(0.37, -1.21), (-7.5, 6.2), (9.3, -0.4), (-20.6, 31.1)])
def test_shift_equals_the_direct_sum_near_edges_too(dx, dy):
    # both code paths: whole-pixel part inside the filter anchor (|n| < 8) and padded (|n| >= 8)
    img = np.random.default_rng(3).random((40, 52, 3), dtype=np.float32)
    np.testing.assert_allclose(shift(img, dx, dy), _reference_shift(img, dx, dy), atol=2e-6)


def test_shift_in_bands_equals_one_band():
    import cv2

    img = np.random.default_rng(4).random((720, 400, 3), dtype=np.float32)  # above the band size
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = shift(img, 1.37, -2.61)
        cv2.setNumThreads(4)
        bands = shift(img, 1.37, -2.61)
    finally:
        cv2.setNumThreads(threads)
    np.testing.assert_array_equal(one, bands)
    assert bands.flags.c_contiguous


def test_warp_where_writes_into_a_strided_view():
    from revival.flow import warp_where

    rng = np.random.default_rng(5)
    img = rng.random((20, 24, 3), dtype=np.float32)
    flow = rng.uniform(-2, 2, (20, 24, 2)).astype(np.float32)
    mask = rng.random((20, 24)) < 0.5
    base = rng.random((30, 40, 3), dtype=np.float32)[5:25, 8:32]  # not contiguous
    out = warp_where(img, flow, mask, base, interpolation="linear")
    full = warp(img, flow, interpolation="linear")
    np.testing.assert_array_equal(out[mask], full[mask])
    np.testing.assert_array_equal(out[~mask], base[~mask])


def test_warp_where_reads_a_coarse_flow_as_resize_flow_would():
    from revival.errors import UnsupportedFormatError
    from revival.flow import resize_flow, warp_where

    rng = np.random.default_rng(6)
    img = _waves(90, 160)
    ys, xs = np.mgrid[0:23, 0:40].astype(np.float32)
    coarse = np.stack([0.3 * np.sin(xs / 6) + 0.1 * ys, 0.2 * np.cos(ys / 5) - 0.05 * xs],
                      axis=2).astype(np.float32)  # smooth field, 1/4 resolution (23 x 40)
    mask = rng.random((90, 160)) < 0.3
    base = np.zeros_like(img)
    out = warp_where(img, coarse, mask, base.copy(), interpolation="cubic")
    ref = warp_where(img, resize_flow(coarse, 90, 160), mask, base.copy(), interpolation="cubic")
    # the coarse field is read at positions rounded to 1/32 of a coarse pixel, and the image
    # at positions rounded to 1/32 of a pixel: on this texture (slope up to 0.4 per pixel)
    # that allows differences of about 0.01
    diff = np.abs(out - ref)[mask]
    assert diff.max() < 0.01 and diff.mean() < 1e-3
    assert np.abs(out[mask] - img[mask]).max() > 0.05  # the flow did move the pixels
    np.testing.assert_array_equal(out[~mask], base[~mask])
    with pytest.raises(UnsupportedFormatError):
        warp_where(img[:10, :10], coarse, mask[:10, :10], base[:10, :10])
