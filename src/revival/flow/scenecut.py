"""Scene-cut (shot boundary) detection.

Each transition ``t-1 -> t`` gets two measures, both computed on a small copy of
the frames (``width`` pixels wide) whose channels are standardised to zero mean
and unit variance, so global exposure flicker (gain, offset) does not look like
a cut:

- ``hist``: half the L1 distance between per-channel histograms of the
  standardised frames, in [0, 1];
- ``residual``: mean absolute difference, in standard deviations, between frame
  ``t`` and frame ``t-1`` warped onto it with DIS optical flow. Motion inside a
  shot is compensated, so it stays low (about 0.1-0.4); across a cut it is near
  1.1 for unrelated pictures.

A transition is a cut when the residual is high both absolutely and relative to
the recent residuals of the shot (fast motion raises all of them), and either
the histograms differ or the residual is very high (two shots with the same
colours).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError, UnsupportedFormatError
from .dis import _dis, check_frame
from .warping import inside_mask, warp

log = logging.getLogger(__name__)

_BINS = 32


@dataclass(frozen=True)
class CutScore:
    """Measures of one transition: histogram distance and flow-compensated residual."""

    hist: float
    residual: float


def frame_features(frame: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(locally contrast-normalised grey small image, per-channel histograms) of a frame."""
    h, w = frame.shape[:2]
    ws = min(width, w)
    hs = max(8, round(h * ws / w))
    small = cv2.resize(np.ascontiguousarray(frame, dtype=np.float32), (ws, hs),
                       interpolation=cv2.INTER_AREA)
    if small.ndim == 2:
        small = small[..., None]
    mean = small.mean(axis=(0, 1))
    std = small.std(axis=(0, 1))
    z = (small - mean) / np.maximum(std, 1e-3)
    hists = [np.histogram(z[..., c], bins=_BINS, range=(-3.0, 3.0))[0] for c in range(z.shape[2])]
    hist = np.concatenate(hists).astype(np.float32)
    hist /= max(hist.sum(), 1.0)
    # local contrast normalisation: spatially varying exposure does not look like new content
    grey = cv2.GaussianBlur(np.ascontiguousarray(z.mean(axis=2), dtype=np.float32), (0, 0), 1.0)
    sigma = max(2.0, ws / 12)
    mean_l = cv2.GaussianBlur(grey, (0, 0), sigma)
    var_l = cv2.GaussianBlur(grey * grey, (0, 0), sigma) - mean_l * mean_l
    grey = (grey - mean_l) / np.sqrt(np.maximum(var_l, 0) + 0.25)
    grey = (grey - grey.mean()) / max(float(grey.std()), 1e-3)
    return grey.astype(np.float32), hist


def transition_score(prev: tuple[np.ndarray, np.ndarray],
                     cur: tuple[np.ndarray, np.ndarray]) -> CutScore:
    """Measures of the transition between two frames given their :func:`frame_features`."""
    g0, h0 = prev
    g1, h1 = cur
    hist = 0.5 * float(np.abs(h0 - h1).sum())
    a = np.clip(g1 * 42.0 + 128.0, 0, 255).astype(np.uint8)   # +-3 std -> 0..255
    b = np.clip(g0 * 42.0 + 128.0, 0, 255).astype(np.uint8)
    flow = _dis("ultrafast").calc(a, b, None)
    warped = warp(g0, flow)
    inside = inside_mask(flow)
    diff = np.abs(g1 - warped)[inside]
    residual = float(diff.mean()) if diff.size > 16 else float(np.abs(g1 - g0).mean())
    return CutScore(hist=hist, residual=residual)


class CutDetector:
    """On-line scene-cut detector: feed frames in order, get True at the first frame of a shot.

    Args:
        threshold: residual (in standard deviations) above which a transition may be a cut.
        relative: the residual must also exceed ``relative`` times the median of the
            shot's recent residuals.
        hist_threshold: histogram distance that confirms a cut.
        strong: residual above which no histogram change is needed.
        width: analysis width in pixels.
        history: number of recent residuals kept for the relative test.

    Example:
        >>> det = CutDetector()
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.random((2, 64, 64, 3), dtype=np.float32)
        >>> [det.update(f) for f in (a, a, b)]
        [False, False, True]
    """

    def __init__(self, *, threshold: float = 0.55, relative: float = 2.5,
                 hist_threshold: float = 0.12, strong: float = 0.75, width: int = 160,
                 history: int = 12) -> None:
        if not 0 < threshold < 2 or relative < 1 or not 0 < hist_threshold < 1 or width < 16:
            raise ConfigError(
                "cut detector: expected 0 < threshold < 2, relative >= 1, "
                f"0 < hist_threshold < 1 and width >= 16, got threshold={threshold}, "
                f"relative={relative}, hist_threshold={hist_threshold}, width={width}",
                key="scenecut")
        self.threshold, self.relative = threshold, relative
        self.hist_threshold, self.strong, self.width = hist_threshold, strong, width
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._recent: deque[float] = deque(maxlen=history)
        self.last: CutScore | None = None

    def reset(self) -> None:
        self._prev, self.last = None, None
        self._recent.clear()

    def is_cut(self, score: CutScore, *, base: float | None = None) -> bool:
        """Decide on one transition given the shot's recent residuals (does not update them).

        ``base`` replaces the median of the recent residuals (for callers that
        score a whole window at once).
        """
        if base is None:
            base = float(np.median(self._recent)) if self._recent else 0.0
        if score.residual < max(self.threshold, self.relative * base):
            return False
        return score.hist >= self.hist_threshold or score.residual >= self.strong

    def update(self, frame: np.ndarray) -> bool:
        """Add the next frame; True when it starts a new shot (never for the first frame)."""
        check_frame(frame)
        feats = frame_features(frame, self.width)
        if self._prev is None or self._prev[0].shape != feats[0].shape:
            self._prev, self.last = feats, None
            return False
        score = transition_score(self._prev, feats)
        self.last = score
        cut = self.is_cut(score)
        self._prev = feats
        if cut:
            self._recent.clear()
            log.debug("scene cut: residual %.3f, histogram distance %.3f",
                      score.residual, score.hist)
        else:
            self._recent.append(score.residual)
        return cut


def cut_scores(frames: np.ndarray, *, width: int = 160) -> list[CutScore]:
    """Measures of every transition; element ``t`` describes ``t-1 -> t`` (element 0 is zeros).

    Args:
        frames: (T, H, W, 3) float32 RGB in [0, 1] (or a sequence of (H, W, 3) frames).
        width: analysis width in pixels.
    """
    scores = [CutScore(0.0, 0.0)]
    prev = None
    for i, frame in enumerate(frames):
        check_frame(frame, f"frame {i}")
        feats = frame_features(frame, width)
        if prev is not None:
            scores.append(transition_score(prev, feats))
        prev = feats
    return scores


def detect_cuts(frames: np.ndarray, *, threshold: float = 0.55, relative: float = 2.5,
                hist_threshold: float = 0.12, strong: float = 0.75,
                width: int = 160) -> list[int]:
    """Indices of the frames that start a new shot (0 is never listed).

    Args:
        frames: (T, H, W, 3) float32 RGB in [0, 1], or a sequence of such frames.
        threshold, relative, hist_threshold, strong, width: see :class:`CutDetector`.

    Returns:
        Sorted list of frame indices ``t`` such that ``t-1 -> t`` is a cut.

    Raises:
        UnsupportedFormatError: a frame is not (H, W, 3) float, or frame sizes differ.
        ConfigError: thresholds out of range.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> a, b = rng.random((2, 48, 64, 3), dtype=np.float32)
        >>> detect_cuts(np.stack([a, a, a, b, b]))
        [3]
    """
    det = CutDetector(threshold=threshold, relative=relative, hist_threshold=hist_threshold,
                      strong=strong, width=width)
    cuts = []
    size = None
    for i, frame in enumerate(frames):
        if size is None:
            size = frame.shape
        elif frame.shape != size:
            raise UnsupportedFormatError(f"frame {i} is {frame.shape}, frame 0 is {size}; "
                                         "all frames of a clip must have one size")
        if det.update(frame):
            cuts.append(i)
    return cuts
