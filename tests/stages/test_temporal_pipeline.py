"""`temporal` and `deflicker` inside the real Pipeline: frames, pts and source plumbing."""

from fractions import Fraction

import cv2
import numpy as np

from revival.frames.frame import Frame
from revival.pipeline.pipeline import Pipeline
from revival.pipeline.stage import Stage
from revival.stages.deflicker import Deflicker, DeflickerParams
from revival.stages.temporal import Temporal, stabilise_temporal
from revival.testing.motion import known_motion_clip, pan_offsets, textured_image


class _NoisyBlur(Stage):
    """A per-frame stage with independent per-frame errors (what `temporal` must steady)."""

    name = "noisy_blur_test"
    Params = type(None)

    def __init__(self) -> None:
        self.params = None

    def process(self, window, *, state=None):
        frame = window[0]
        seed = int(frame.sum() * 1e3) % (2**32)
        noise = np.random.default_rng(seed).normal(0, 0.03, frame.shape).astype(np.float32)
        return np.clip(cv2.GaussianBlur(frame, (0, 0), 0.7) + noise, 0, 1)


def _frames(clip, tb=Fraction(1, 25)):
    return [Frame.from_rgb(f, index=i, pts=3 * i + 7, time_base=tb) for i, f in enumerate(clip)]


def test_pipeline_gives_temporal_the_input_frames_and_keeps_timing():
    canvas = textured_image(140, 180, seed=8)
    clip = known_motion_clip(canvas, pan_offsets(9, velocity=(1.0, 0.5), start=(20, 20)), 64, 80)
    out = list(Pipeline([_NoisyBlur(), Temporal()]).run(_frames(clip)))
    assert [f.index for f in out] == list(range(9))
    assert [f.pts for f in out] == [3 * i + 7 for i in range(9)]
    per_frame = np.stack([f.rgb for f in Pipeline([_NoisyBlur()]).run(_frames(clip))])
    expected = stabilise_temporal(per_frame, clip)     # source = the pipeline's input frames
    np.testing.assert_allclose(np.stack([f.rgb for f in out]), expected, atol=1e-6)


def test_pipeline_runs_deflicker_window():
    rng = np.random.default_rng(0)
    base = textured_image(48, 64, seed=1)
    clip = np.stack([np.clip(base * g, 0, 1) for g in rng.uniform(0.8, 1.2, 7)]).astype(np.float32)
    out = list(Pipeline([Deflicker(DeflickerParams(radius=2))]).run(_frames(clip)))
    assert len(out) == 7 and [f.pts for f in out] == [3 * i + 7 for i in range(7)]
    means = [f.rgb.mean() for f in out]
    assert np.std(means) < 0.5 * np.std(clip.mean(axis=(1, 2, 3)))
