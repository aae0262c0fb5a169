import os
from pathlib import Path

import numpy as np
import pytest

from revival.errors import ConfigError, UnsupportedFormatError
from revival.flow import CutDetector, cut_scores, detect_cuts
from revival.testing.motion import known_motion_clip, pan_offsets, textured_image

DATA = Path(os.environ.get("REVIVAL_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def _pan(seed, frames=8, velocity=(2.5, 1.0)):
    canvas = textured_image(200, 260, seed=seed)
    return known_motion_clip(canvas, pan_offsets(frames, velocity=velocity, start=(10, 10)), 96, 128)


def test_synthetic_cut_is_found_and_only_it():
    clip = np.concatenate([_pan(1), _pan(2, velocity=(-3.0, 0.5))])
    assert detect_cuts(clip) == [8]


def test_cut_between_similar_shots_with_flicker_is_found_but_flicker_is_not_a_cut():
    a, b = _pan(5), _pan(6)
    gains = np.array([1.0, 0.7, 1.2, 0.8, 1.1, 0.75, 1.25, 0.9])[:, None, None, None]
    clip = np.concatenate([np.clip(a * gains, 0, 1), np.clip(b * gains + 0.05, 0, 1)])
    assert detect_cuts(clip) == [8]


def test_fast_motion_is_not_a_cut():
    clip = _pan(3, frames=10, velocity=(9.0, -4.0))
    assert detect_cuts(clip) == []
    scores = cut_scores(clip)
    assert len(scores) == len(clip) and scores[0].residual == 0.0
    assert max(s.residual for s in scores) < 0.5


def test_online_detector_matches_offline():
    clip = np.concatenate([_pan(1, frames=5), _pan(2, frames=5)])
    det = CutDetector()
    assert [i for i, f in enumerate(clip) if det.update(f)] == detect_cuts(clip) == [5]
    det.reset()
    assert det.update(clip[0]) is False


def test_errors():
    with pytest.raises(ConfigError):
        CutDetector(threshold=0.0)
    clip = np.zeros((3, 32, 32, 3), np.float32)
    with pytest.raises(UnsupportedFormatError):
        detect_cuts([clip[0], np.zeros((32, 40, 3), np.float32)])
    with pytest.raises(UnsupportedFormatError):
        detect_cuts(clip.astype(np.uint8))


def _read_pngs(folder: Path):
    cv2 = pytest.importorskip("cv2")
    files = sorted(folder.glob("*.png"))
    return np.stack([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]
                    ).astype(np.float32) / 255


@pytest.mark.skipif(not (DATA / "Vid4" / "GT" / "city").is_dir(),
                    reason="evaluation data (shared/data/Vid4) not present; set REVIVAL_DATA")
def test_real_motion_no_cut_and_spliced_real_cut():
    import cv2
    city = _read_pngs(DATA / "Vid4" / "GT" / "city")[:12]
    calendar = _read_pngs(DATA / "Vid4" / "GT" / "calendar")
    assert detect_cuts(city) == []
    assert detect_cuts(calendar) == []
    city = np.stack([cv2.resize(f, calendar.shape[2:0:-1]) for f in city])
    assert detect_cuts(np.concatenate([city, calendar])) == [len(city)]
