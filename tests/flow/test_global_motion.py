import numpy as np
import pytest

from revival.errors import ConfigError
from revival.flow import endpoint_error, estimate_flow, warp
from revival.flow.dis import fit_global_motion
from revival.testing.motion import crop_at, textured_image


def test_global_fit_is_subpixel_accurate_on_a_pan():
    canvas = textured_image(200, 260, seed=5)
    a = crop_at(canvas, (30.0, 30.0), 120, 160)
    b = crop_at(canvas, (31.7, 30.6), 120, 160)
    flow = estimate_flow(a, b, preset="fast", scale=0.5)
    truth = np.broadcast_to(np.array([-1.7, -0.6], np.float32), flow.shape)  # o_a - o_b
    model, agree = fit_global_motion(flow)
    interior = np.zeros(flow.shape[:2], bool)
    interior[12:-12, 12:-12] = True
    assert agree[interior].mean() > 0.9
    model_epe = endpoint_error(model, truth, mask=interior)
    assert model_epe < 0.08
    assert model_epe <= endpoint_error(flow, truth, mask=interior)


def test_global_fit_recovers_zoom_and_rejects_outliers():
    h, w = 90, 120
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    truth = np.stack([0.03 * (gx - 60) + 0.4, 0.03 * (gy - 45) - 0.2], axis=2)
    noisy = truth + np.random.default_rng(0).normal(0, 0.1, truth.shape).astype(np.float32)
    noisy[10:40, 10:40] = (6.0, -4.0)          # an independently moving object
    model, agree = fit_global_motion(noisy)
    assert np.abs(model - truth).max() < 0.05
    assert not agree[15:35, 15:35].any() and agree[50:, 60:].mean() > 0.9


@pytest.mark.parametrize("interpolation", ["linear", "cubic", "lanczos"])
def test_warp_interpolations_agree_on_smooth_content(interpolation):
    img = textured_image(64, 64, seed=2)
    flow = np.full((64, 64, 2), 0.5, np.float32)
    out = warp(img, flow, interpolation=interpolation)
    ref = warp(img, flow, interpolation="lanczos")
    assert out.shape == img.shape
    assert np.abs(out - ref)[4:-4, 4:-4].mean() < 0.02


def test_warp_unknown_interpolation():
    img = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ConfigError):
        warp(img, np.zeros((8, 8, 2), np.float32), interpolation="nearest")
