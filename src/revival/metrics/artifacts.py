"""Compression and sharpening artifacts: blockiness and ringing (no reference needed).

* :func:`blockiness` -- ratio of the mean absolute luma step across block
  boundaries (every ``block`` pixels, grid anchored at the top-left as codecs do)
  to the mean step everywhere else (after Wu and Yuen's GBIM, 1997). 1.0 means no
  blocking; JPEG at quality 10 gives about 1.5-3.
* :func:`grid_pattern` -- a fixed pattern repeating every ``period`` pixels, as
  a sub-pixel convolution upscaler pushed by an adversarial loss prints on its
  output grid: the spread (luma on [0, 255]) of the mean high-pass luma at each
  of the ``period`` x ``period`` pixel phases. Natural images and interpolation
  give about 0.0-0.3 on Set14; a visible grid is 1 and more.
* :func:`ringing` -- RMS oscillation (luma on [0, 255]) in a band 2-4 pixels
  away from strong edges: the residual after a 5x5 median filter, which keeps
  edges and flattens over- and undershoot ripples. With a reference, the band
  comes from the reference's edges and the residual is taken of the error image.

Example:
    >>> import numpy as np
    >>> flat = np.full((32, 32, 3), 0.5, np.float32)
    >>> blockiness(flat, data_range=1.0), ringing(flat, data_range=1.0)
    (1.0, 0.0)
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ConfigError
from ._common import as_image, check_data_range, check_pair, luma

_EPS = 1e-6


def _luma255(img: np.ndarray, data_range: float) -> np.ndarray:
    return luma(img) * (255.0 / check_data_range(data_range))


def _grid_luma(image: np.ndarray, data_range: float, what: str, key: str, size: int,
               times: int) -> np.ndarray:
    """Luma on [0, 255] of an image checked for a grid measure: ``size`` (the grid's
    spacing, named ``key``) an integer >= 2 and the image at least ``times`` grid cells
    each way."""
    img = as_image(image, name="image")
    if int(size) != size or size < 2:
        raise ConfigError(f"{key} must be an integer >= 2, got {size!r}", key=key)
    h, w = img.shape[:2]
    if h < times * size or w < times * size:
        raise ConfigError(f"{what} needs an image of at least {times * size}x{times * size}, "
                          f"got {w}x{h}", key="image")
    return _luma255(img, data_range)


def blockiness(image: np.ndarray, *, data_range: float, block: int = 8) -> float:
    """Block-edge luma steps relative to steps inside blocks.

    Args:
        image: ``(H, W, 3)`` RGB in ``[0, data_range]``, larger than two blocks each way.
        data_range: nominal peak.
        block: block size in pixels (8 for JPEG/MPEG-2/H.264 transforms, 16 for macroblocks).

    Returns:
        Ratio >= 0; 1.0 for no blocking (and for flat images).

    Raises:
        ConfigError: bad ``block`` or an image smaller than two blocks.
    """
    y = _grid_luma(image, data_range, "blockiness", "block", block, 2)
    h, w = y.shape
    dh = np.abs(np.diff(y, axis=1))          # step between column j and j + 1
    dv = np.abs(np.diff(y, axis=0))
    bh = (np.arange(w - 1) + 1) % block == 0
    bv = (np.arange(h - 1) + 1) % block == 0
    edge = np.concatenate([dh[:, bh].ravel(), dv[bv, :].ravel()])
    inner = np.concatenate([dh[:, ~bh].ravel(), dv[~bv, :].ravel()])
    return float((edge.mean() + _EPS) / (inner.mean() + _EPS))


def grid_pattern(image: np.ndarray, *, data_range: float, period: int = 4) -> float:
    """Strength of a pattern locked to the ``period``-pixel grid (0 = none).

    The luma minus its 5x5 box mean (so smooth content does not count) is averaged
    at each of the ``period`` x ``period`` phases (rows ``i::period``, columns
    ``j::period``); the result is the standard deviation of those means, in 8-bit
    levels. Texture that is not tied to the grid averages out.

    Raises:
        ConfigError: bad ``period`` or an image smaller than four periods each way.
    """
    y = _grid_luma(image, data_range, "grid_pattern", "period", period, 4).astype(np.float32)
    h, w = y.shape
    hp = y - cv2.blur(y, (5, 5), borderType=cv2.BORDER_REPLICATE)
    h, w = h - h % period, w - w % period
    means = hp[:h, :w].reshape(h // period, period, w // period, period).mean(axis=(0, 2))
    return float(means.std())


def _edge_band(y: np.ndarray, *, inner: int = 1, outer: int = 4,
               low: float = 100.0, high: float = 200.0) -> np.ndarray:
    edges = cv2.Canny(np.clip(np.rint(y), 0, 255).astype(np.uint8), low, high) > 0
    if not edges.any():
        return edges

    def dilate(r: int) -> np.ndarray:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        return cv2.dilate(edges.astype(np.uint8), k) > 0

    return dilate(outer) & ~dilate(inner)


def ringing(image: np.ndarray, *, data_range: float, reference: np.ndarray | None = None) -> float:
    """RMS ripple near strong edges, luma on [0, 255] (0 for clean edges).

    Args:
        image: ``(H, W, 3)`` RGB in ``[0, data_range]``.
        data_range: nominal peak of ``image`` (and ``reference``).
        reference: optional clean ``(H, W, 3)`` image; edges are then found on it and
            the ripple is measured on ``image - reference``.

    Returns:
        RMS ripple in 8-bit code values; 0.0 when there are no strong edges.
    """
    if reference is None:
        img = as_image(image, name="image")
        y = _luma255(img, data_range)
        band = _edge_band(y)
        signal = y
    else:
        ref, img = check_pair(reference, image)
        y_ref = _luma255(ref, data_range)
        band = _edge_band(y_ref)
        signal = _luma255(img, data_range) - y_ref + 128.0
    if not band.any():
        return 0.0
    s32 = signal.astype(np.float32)
    resid = s32 - cv2.medianBlur(s32, 5)
    return float(np.sqrt(np.mean(resid[band].astype(np.float64) ** 2)))
