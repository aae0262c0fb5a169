"""Stabilisation: jitter, the high-frequency part of the global camera motion.

Global motion between consecutive frames is a similarity transform fitted by
RANSAC to tracked corners (Shi-Tomasi + pyramidal Lucas-Kanade). The shift it
gives the frame centre accumulates into a camera path; the path minus a Gaussian-smoothed copy of itself
(``sigma`` frames) is the residual shake. ``jitter`` is its RMS length in pixels;
intentional pans and slow drifts do not count.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> still = np.repeat(rng.random((1, 64, 64, 3)), 4, axis=0).astype(np.float32)
    >>> round(jitter(still).rms_px, 3)
    0.0
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError
from ._common import as_image, to_uint8_gray

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JitterResult:
    """Jitter of one clip.

    Attributes:
        rms_px: RMS residual shake in pixels (the ``jitter`` key).
        per_frame: residual shake length of each frame in pixels (``T`` values).
        path: ``(T, 3)`` accumulated camera path (dx px, dy px, angle rad).
    """

    rms_px: float
    per_frame: list[float]
    path: np.ndarray


def global_motion(prev: np.ndarray, cur: np.ndarray, *, data_range: float = 1.0) -> np.ndarray:
    """``(dx, dy, angle)``: shift of the frame centre (px) and rotation (rad) from ``prev`` to ``cur``."""
    g0 = to_uint8_gray(prev, data_range=data_range)
    g1 = to_uint8_gray(cur, data_range=data_range)
    pts = cv2.goodFeaturesToTrack(g0, maxCorners=300, qualityLevel=0.01, minDistance=8, blockSize=3)
    if pts is None or len(pts) < 6:
        return np.zeros(3)
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(g0, g1, pts, None, winSize=(21, 21), maxLevel=3)
    ok = status.ravel() == 1
    if ok.sum() < 6:
        return np.zeros(3)
    m, _ = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC,
                                       ransacReprojThreshold=1.0)
    if m is None:
        log.warning("global motion could not be estimated; assuming none for this pair")
        return np.zeros(3)
    # displacement of the frame centre, so that rotation or zoom about the centre
    # does not show up as translation (the transform's own offset is about pixel 0, 0)
    h, w = g0.shape
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    moved = m[:, :2] @ c + m[:, 2]
    return np.array([moved[0] - c[0], moved[1] - c[1], np.arctan2(m[1, 0], m[0, 0])])


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    # odd reflection about the end points keeps linear pans linear (no end effect)
    padded = np.pad(x, ((r, r), (0, 0)), mode="reflect", reflect_type="odd") if len(x) > r \
        else np.pad(x, ((r, r), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], k, mode="valid") for c in range(x.shape[1])], axis=1)


def jitter_from_motion(motion: np.ndarray, *, sigma: float = 5.0) -> JitterResult:
    """Jitter from per-pair motions ``(T-1, 3)``."""
    path = np.vstack([np.zeros((1, 3)), np.cumsum(motion, axis=0)])
    resid = path - _gaussian_smooth(path, sigma)
    lengths = np.hypot(resid[:, 0], resid[:, 1])
    return JitterResult(rms_px=float(np.sqrt(np.mean(lengths ** 2))),
                        per_frame=[float(v) for v in lengths], path=path)


def jitter(frames: np.ndarray | list, *, sigma: float = 5.0, data_range: float = 1.0) -> JitterResult:
    """Residual camera shake of a clip.

    Args:
        frames: ``(T, H, W, 3)`` RGB in ``[0, data_range]``, ``T >= 2``.
        sigma: smoothing of the intended camera path, in frames (5 = about 0.2 s at 25 fps).
        data_range: nominal peak.

    Returns:
        :class:`JitterResult`.

    Raises:
        ConfigError: fewer than 2 frames or ``sigma <= 0``.
    """
    clip = [as_image(f, name=f"frames[{i}]") for i, f in enumerate(frames)]
    if len(clip) < 2:
        raise ConfigError(f"jitter needs at least 2 frames, got {len(clip)}", key="frames")
    if not sigma > 0:
        raise ConfigError(f"sigma must be > 0 frames, got {sigma!r}", key="sigma")
    motion = np.array([global_motion(clip[t - 1], clip[t], data_range=data_range)
                       for t in range(1, len(clip))])
    return jitter_from_motion(motion, sigma=sigma)
