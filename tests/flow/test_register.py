import numpy as np
import pytest

from revival.errors import UnsupportedFormatError
from revival.flow.register import refine_translation
from revival.testing.motion import textured_image, translate_exact


def _grey(seed=0, h=96, w=128):
    return textured_image(h, w, seed=seed)[..., 1]


@pytest.mark.parametrize("true", [(0.37, -0.21), (1.62, 0.55), (-0.8, 1.1)])
def test_recovers_a_sub_pixel_translation_from_a_biased_start(true):
    prev = _grey(1)
    cur = translate_exact(prev, true)           # cur[y, x] = prev[y + dy, x + dx]
    start = (true[0] + 0.15, true[1] - 0.12)    # the bias a flow fit can have
    dx, dy = refine_translation(cur, prev, start)
    assert abs(dx - true[0]) < 0.01 and abs(dy - true[1]) < 0.01


def test_mask_excludes_moving_content():
    prev = _grey(2)
    cur = translate_exact(prev, (0.4, 0.3))
    cur[20:60, 30:80] = translate_exact(prev, (-2.0, 1.5))[20:60, 30:80]  # an object moving on its own
    mask = np.ones(cur.shape, bool)
    mask[16:64, 26:84] = False
    masked = refine_translation(cur, prev, (0.5, 0.2), mask=mask)
    unmasked = refine_translation(cur, prev, (0.5, 0.2))
    assert np.hypot(masked[0] - 0.4, masked[1] - 0.3) < 0.01
    assert np.hypot(unmasked[0] - 0.4, unmasked[1] - 0.3) > np.hypot(masked[0] - 0.4, masked[1] - 0.3)


def test_flat_or_one_directional_frames_keep_the_start():
    flat = np.full((64, 64), 0.5, np.float32)
    assert refine_translation(flat, flat, (0.3, 0.2)) == (0.3, 0.2)
    stripes = np.tile(np.sin(np.arange(64) / 3.0).astype(np.float32)[None, :], (64, 1))
    # vertical stripes constrain x only: y is not observable, so nothing is changed
    assert refine_translation(stripes, stripes, (0.1, 0.4)) == (0.1, 0.4)


def test_shape_errors():
    with pytest.raises(UnsupportedFormatError):
        refine_translation(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32), (0, 0))
    with pytest.raises(UnsupportedFormatError):
        refine_translation(np.zeros((8, 8), np.float32), np.zeros((8, 9), np.float32), (0, 0))
