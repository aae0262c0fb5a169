import os
from pathlib import Path

import numpy as np
import pytest

from revival.errors import ConfigError, UnsupportedFormatError
from revival.stages.deflicker import Deflicker, deflicker
from revival.stages.registry import stage_class
from revival.testing.flicker import add_flicker
from revival.testing.motion import known_motion_clip, pan_offsets, textured_image

DATA = Path(os.environ.get("REVIVAL_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def _clip(frames=14, velocity=(2.0, 0.5), seed=0, h=144, w=192):
    canvas = textured_image(h + 80, w + 80, seed=seed)
    return known_motion_clip(canvas, pan_offsets(frames, velocity=velocity, start=(20, 20)), h, w)


def _fi(clip):
    """Frame-to-frame change of global and 4x4-block mean luma."""
    y = clip @ np.array([0.299, 0.587, 0.114], np.float32)
    t, h, w = y.shape
    blocks = y[:, : h // 4 * 4, : w // 4 * 4].reshape(t, 4, h // 4, 4, w // 4).mean(axis=(2, 4))
    return float(np.abs(np.diff(y.mean(axis=(1, 2)))).mean() + np.abs(np.diff(blocks, axis=0)).mean())


@pytest.mark.parametrize("spatial", [0.0, 0.15])
def test_removes_most_added_flicker_on_moving_clip(spatial):
    clean = _clip()
    flick = add_flicker(clean, spatial=spatial, seed=3)
    out = deflicker(flick)
    added = _fi(flick) - _fi(clean)
    left = _fi(out) - _fi(clean)
    assert added > 0.02
    assert left < 0.25 * added
    assert np.mean((out - clean) ** 2) < 0.6 * np.mean((flick - clean) ** 2)


def test_strength_zero_returns_input_and_shapes():
    flick = add_flicker(_clip(6), seed=1)
    out = deflicker(flick, strength=0.0, radius=2)
    np.testing.assert_array_equal(out, flick)
    out = deflicker(flick, radius=2)
    assert out.shape == flick.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_steady_clip_is_left_alone():
    clean = _clip(8)
    out = deflicker(clean, radius=3)
    assert np.abs(out - clean)[:, 8:-8, 8:-8].mean() < 0.01


def test_scene_cut_keeps_each_shot_brightness():
    dark = np.clip(_clip(8, seed=1) * 0.5, 0, 1)
    bright = np.clip(_clip(8, seed=2) * 0.6 + 0.4, 0, 1)
    clip = np.concatenate([dark, bright])
    out = deflicker(clip, radius=4)
    # frames next to the cut keep the level of their own shot
    assert abs(out[7].mean() - dark[7].mean()) < 0.01
    assert abs(out[8].mean() - bright[0].mean()) < 0.01


def test_stage_window_and_driver_matches_function():
    flick = add_flicker(_clip(7), seed=2)
    stage = stage_class("deflicker").from_dict({"radius": 2, "mode": "global"})
    assert stage.window == (2, 2)
    n = len(flick)
    outs = []
    for t in range(n):
        idx = [min(max(t + d, 0), n - 1) for d in range(-2, 3)]
        outs.append(stage.process(flick[idx]))
    np.testing.assert_allclose(np.stack(outs), deflicker(flick, radius=2, mode="global"), atol=1e-6)


def test_errors():
    with pytest.raises(ConfigError) as info:
        Deflicker.from_dict({"radius": 0})
    assert info.value.key == "deflicker.radius"
    with pytest.raises(ConfigError):
        Deflicker.from_dict({"mode": "both"})
    with pytest.raises(ConfigError):
        deflicker(np.zeros((3, 16, 16, 3), np.float32), strength=2.0)
    with pytest.raises(UnsupportedFormatError):
        deflicker(np.zeros((16, 16, 3), np.float32))
    with pytest.raises(UnsupportedFormatError):
        deflicker(np.zeros((3, 16, 16, 3), np.uint8))


@pytest.mark.skipif(not (DATA / "OldFilm_RTN" / "001").is_dir(),
                    reason="evaluation data (shared/data/OldFilm_RTN) not present; set REVIVAL_DATA")
def test_archival_clip_gets_steadier():
    import cv2
    files = sorted((DATA / "OldFilm_RTN" / "001").glob("*.png"))[:12]
    clip = np.stack([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)[::2, ::2]
                     for f in files]).astype(np.float32) / 255
    out = deflicker(clip)
    assert _fi(out) < 0.8 * _fi(clip)
