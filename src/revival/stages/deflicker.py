"""Deflicker: remove luminance and colour flicker (old film, time-lapse, mains hum).

Flicker is a fast, smooth change of exposure and colour balance that the scene
itself does not explain: per-frame gain, offset and gamma, constant over the
frame (global) or varying slowly across it (uneven film development, vignetting
that breathes). This stage models it as a local affine colour transform per
channel and undoes it:

1. every frame of a window of ``2 * radius + 1`` frames is reduced to a small
   copy (``analysis_width`` pixels wide);
2. each neighbour is aligned to the centre frame with DIS optical flow (DIS
   normalises patch means, so flicker does not disturb the match);
3. local mean and standard deviation of each channel (Gaussian window of
   ``spatial`` times the frame width) are measured on every aligned neighbour;
4. the targets are trimmed temporal means of those statistics (the extremes,
   such as dust or a neighbour the flow got wrong, are left out); neighbours
   beyond a scene cut are left out too;
5. the centre frame is mapped ``(x - mean) * std_target / std + mean_target``
   with the small maps upsampled to full resolution.

``mode="global"`` uses one transform per channel for the whole frame (faster,
and the right model for pure exposure flicker). Frames: RGB float32
(H, W, 3) in [0, 1], gamma-encoded; the output is clipped to [0, 1].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from ..errors import UnsupportedFormatError
from ..flow.dis import check_frame, estimate_flow
from ..flow.scenecut import CutDetector, frame_features, transition_score
from ..flow.warping import inside_mask, warp
from ..pipeline.stage import Stage, check_range

log = logging.getLogger(__name__)

Mode = Literal["local", "global"]
_EPS = 0.02  # std regulariser: flat areas keep a gain near 1


@dataclass(frozen=True)
class DeflickerParams:
    """Parameters of the ``deflicker`` stage.

    Attributes:
        strength: fraction of the estimated flicker removed, in [0, 1]; 0 returns the input.
        radius: temporal radius in frames (window of 2 * radius + 1 frames).
        mode: ``local`` (spatially varying correction) or ``global`` (one per channel).
        spatial: size of the local statistics window as a fraction of the frame width.
        analysis_width: width in pixels of the copies on which statistics are measured.
        max_gain: largest contrast change applied (and 1 / max_gain the smallest).
        motion: align neighbours with optical flow before measuring (off for locked-off shots).
        trim: fraction of the lowest and of the highest neighbour statistics left out
            of the temporal mean (0 is a plain mean, 0.45 close to a median); a
            trimmed mean averages random flicker better than a median and still
            ignores dust and neighbours the flow got wrong.
    """

    strength: float = 1.0
    radius: int = 10
    mode: Mode = "local"
    spatial: float = 0.04
    analysis_width: int = 192
    max_gain: float = 2.0
    motion: bool = True
    trim: float = 0.1

    def __post_init__(self) -> None:
        check_range("deflicker", "strength", self.strength, 0.0, 1.0)
        check_range("deflicker", "radius", self.radius, 1, 15)
        check_range("deflicker", "spatial", self.spatial, 0.005, 1.0)
        check_range("deflicker", "analysis_width", self.analysis_width, 32, 1024)
        check_range("deflicker", "max_gain", self.max_gain, 1.0, 8.0)
        check_range("deflicker", "trim", self.trim, 0.0, 0.45)


def _small(frame: np.ndarray, width: int) -> np.ndarray:
    h, w = frame.shape[:2]
    ws = min(width, w)
    hs = max(8, round(h * ws / w))
    return cv2.resize(np.ascontiguousarray(frame, dtype=np.float32), (ws, hs),
                      interpolation=cv2.INTER_AREA)


def _stats(img: np.ndarray, mask: np.ndarray, sigma: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Masked local (or global when sigma is None) mean and std per channel."""
    m = mask.astype(np.float32)[..., None]
    if sigma is None:
        n = max(float(m.sum()), 1.0)
        mean = (img * m).sum(axis=(0, 1)) / n
        var = (img * img * m).sum(axis=(0, 1)) / n - mean * mean
        shape = (1, 1, img.shape[2])
        return (np.broadcast_to(mean.reshape(shape), img.shape),
                np.broadcast_to(np.sqrt(np.maximum(var, 0)).reshape(shape), img.shape))
    blur = lambda a: cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    wsum = np.maximum(blur(m[..., 0]), 1e-3)[..., None]
    mean = blur(img * m) / wsum
    var = blur(img * img * m) / wsum - mean * mean
    return mean, np.sqrt(np.maximum(var, 0.0))


def _robust_mean(stack: np.ndarray, trim: float) -> np.ndarray:
    """Mean over axis 0 after dropping the ``trim`` fraction of lowest and highest values."""
    n = stack.shape[0]
    k = int(n * trim)
    if k == 0 or n - 2 * k < 1:
        return stack.mean(axis=0)
    return np.sort(stack, axis=0)[k:n - k].mean(axis=0)


def _segment(smalls: list[np.ndarray], centre: int) -> tuple[int, int]:
    """[first, last] indices of the window frames in the centre frame's shot."""
    det = CutDetector()
    feats = [frame_features(f, 160) for f in smalls]
    first, last = 0, len(smalls) - 1
    scores = {t: transition_score(feats[t - 1], feats[t]) for t in range(1, len(smalls))
              if smalls[t] is not smalls[t - 1]}
    if not scores:
        return first, last
    base = float(np.median([s.residual for s in scores.values()]))
    for t, score in scores.items():
        if det.is_cut(score, base=base):
            if t <= centre:
                first = t
            elif last == len(smalls) - 1:
                last = t - 1
    return first, last


def deflicker_frame(window: np.ndarray, *, centre: int, params: DeflickerParams) -> np.ndarray:
    """Deflicker ``window[centre]`` using the other frames of ``window``.

    Args:
        window: (T, H, W, 3) float32 RGB in [0, 1] (or a list of frames; repeated
            frames at the ends of a clip are fine).
        centre: index in ``window`` of the frame to correct.
        params: validated parameters.

    Returns:
        (H, W, 3) float32 in [0, 1].

    Raises:
        UnsupportedFormatError: frames are not (H, W, 3) float, or differ in size.
    """
    frame = window[centre]
    check_frame(frame, "frame")
    if frame.ndim != 3:
        raise UnsupportedFormatError(f"deflicker expects (H, W, 3) RGB frames, got {frame.shape}")
    if params.strength == 0:
        return frame
    smalls: list[np.ndarray] = []
    for i, f in enumerate(window):
        if f.shape != frame.shape:
            raise UnsupportedFormatError(f"window frame {i} is {f.shape}, centre is {frame.shape}")
        if i > 0 and f is window[i - 1]:
            smalls.append(smalls[-1])
        else:
            smalls.append(_small(f, params.analysis_width))
    first, last = _segment(smalls, centre)
    ref = smalls[centre]
    hs, ws = ref.shape[:2]
    sigma = None if params.mode == "global" else max(0.8, params.spatial * ws)
    means, stds = [], []
    for k in range(first, last + 1):
        img, mask = smalls[k], np.ones((hs, ws), bool)
        if k != centre and params.motion:
            flow = estimate_flow(ref, img, preset="fast")
            img, mask = warp(img, flow), inside_mask(flow)
        mu, sd = _stats(img, mask, sigma)
        means.append(mu)
        stds.append(sd)
    mu_c, sd_c = means[centre - first], stds[centre - first]
    mu_t = _robust_mean(np.stack(means), params.trim)
    sd_t = _robust_mean(np.stack(stds), params.trim)
    s = params.strength
    gain = np.clip((sd_t + _EPS) / (sd_c + _EPS), 1 / params.max_gain, params.max_gain)
    gain = 1.0 + s * (gain - 1.0)
    target = mu_c + s * (mu_t - mu_c)
    # out = (x - mu_c) * gain + target = x * gain + (target - mu_c * gain)
    offset = (target - mu_c * gain).astype(np.float32)
    gain = gain.astype(np.float32)
    H, W = frame.shape[:2]
    if params.mode == "global":
        out = frame * gain[0, 0] + offset[0, 0]
    else:
        gain = cv2.resize(gain, (W, H), interpolation=cv2.INTER_LINEAR)
        offset = cv2.resize(offset, (W, H), interpolation=cv2.INTER_LINEAR)
        out = cv2.add(cv2.multiply(np.ascontiguousarray(frame, dtype=np.float32), gain), offset)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def deflicker(frames: np.ndarray, *, strength: float = 1.0, radius: int = 10,
              mode: Mode = "local", spatial: float = 0.04, analysis_width: int = 192,
              max_gain: float = 2.0, motion: bool = True, trim: float = 0.1) -> np.ndarray:
    """Remove luminance and colour flicker from a clip.

    Args:
        frames: (T, H, W, 3) float32 RGB in [0, 1].
        strength, radius, mode, spatial, analysis_width, max_gain, motion, trim: see
            :class:`DeflickerParams`.

    Returns:
        (T, H, W, 3) float32 in [0, 1]; frame count unchanged.

    Raises:
        ConfigError: a parameter is out of range.
        UnsupportedFormatError: frames are not (T, H, W, 3) float.

    Example:
        >>> clip = np.full((5, 32, 32, 3), 0.5, np.float32)
        >>> clip[2] *= 1.3
        >>> out = deflicker(clip, radius=2, mode="global")
        >>> bool(abs(out[2].mean() - 0.5) < 0.01)
        True
    """
    params = DeflickerParams(strength=strength, radius=radius, mode=mode, spatial=spatial,
                             analysis_width=analysis_width, max_gain=max_gain, motion=motion,
                             trim=trim)
    if getattr(frames, "ndim", 0) != 4:
        raise UnsupportedFormatError(f"frames: expected (T, H, W, 3), got "
                                     f"{getattr(frames, 'shape', type(frames).__name__)}")
    n = len(frames)
    views = [frames[i] for i in range(n)]
    out = np.empty(frames.shape, np.float32)
    for t in range(n):
        window = [views[min(max(t + d, 0), n - 1)] for d in range(-radius, radius + 1)]
        out[t] = deflicker_frame(window, centre=radius, params=params)
    return out


class Deflicker(Stage):
    """Stage wrapper of :func:`deflicker`; window ``(radius, radius)``, stateless."""

    name = "deflicker"
    Params = DeflickerParams

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.window = (self.params.radius, self.params.radius)

    def process(self, window: np.ndarray, *, state: Any = None) -> np.ndarray:
        return deflicker_frame(window, centre=self.window[0], params=self.params)
