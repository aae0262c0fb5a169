"""NIQE, the "completely blind" natural image quality evaluator (Mittal et al. 2013).

A NumPy re-implementation of the authors' MATLAB ``computequality.m`` with their
pristine model (see :mod:`._niqe_params`): 96x96 blocks without overlap, two
scales (the second by MATLAB-style bicubic halving), 18 AGGD features per scale,
and the Mahalanobis-like distance between the image's MVG fit and the pristine
one. Lower is more natural. Computed on BT.601 Y on [0, 255], rounded to integers
as MATLAB's ``rgb2ycbcr`` on uint8 does.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.random((192, 192, 3)).astype(np.float32)
    >>> niqe(img, data_range=1.0) > 10  # white noise is far from natural
    True
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import math

from ..errors import ConfigError
from ..stages.resize import resize
from ._common import as_image, check_crop, check_data_range, crop, rgb_to_y
from ._niqe_params import pristine_model

BLOCK = 96


_vgamma = np.vectorize(math.gamma, otypes=[np.float64])


def _gamma(x: np.ndarray | float) -> np.ndarray:
    return _vgamma(x)


@lru_cache(maxsize=1)
def _aggd_table() -> tuple[np.ndarray, np.ndarray]:
    gam = np.arange(0.2, 10.001, 0.001)
    r_gam = _gamma(2.0 / gam) ** 2 / (_gamma(1.0 / gam) * _gamma(3.0 / gam))
    return gam, r_gam


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    """MATLAB ``fspecial('gaussian', 7, 7/6)``."""
    ax = np.arange(7, dtype=np.float64) - 3
    g = np.exp(-(ax ** 2) / (2 * (7.0 / 6.0) ** 2))
    w = np.outer(g, g)
    return w / w.sum()


def aggd_params(values: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit by moment matching: ``(alpha, beta_l, beta_r)``."""
    v = values.ravel()
    neg, pos = v[v < 0], v[v > 0]
    left = np.sqrt(np.mean(neg ** 2)) if neg.size else 0.0
    right = np.sqrt(np.mean(pos ** 2)) if pos.size else 0.0
    gam, r_gam = _aggd_table()
    with np.errstate(divide="ignore", invalid="ignore"):
        gammahat = left / right
        rhat = np.mean(np.abs(v)) ** 2 / np.mean(v ** 2)
        rhatnorm = rhat * (gammahat ** 3 + 1) * (gammahat + 1) / (gammahat ** 2 + 1) ** 2
    if not np.isfinite(rhatnorm):
        return float("nan"), float("nan"), float("nan")
    alpha = float(gam[np.argmin((r_gam - rhatnorm) ** 2)])
    k = np.sqrt(_gamma(1 / alpha) / _gamma(3 / alpha))
    return alpha, float(left * k), float(right * k)


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one block of MSCN coefficients."""
    alpha, bl, br = aggd_params(block)
    feat = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):  # MATLAB circshift offsets
        a, bl, br = aggd_params(block * np.roll(block, shift, axis=(0, 1)))
        mean = (br - bl) * (_gamma(2 / a) / _gamma(1 / a))
        feat.extend([a, float(mean), bl, br])
    return feat


def niqe_features(y: np.ndarray) -> np.ndarray:
    """Per-block features ``(n_blocks, 36)`` of a luma image on [0, 255]."""
    h, w = y.shape
    nh, nw = h // BLOCK, w // BLOCK
    if nh < 1 or nw < 1:
        raise ConfigError(f"NIQE needs at least a {BLOCK}x{BLOCK} image, got {w}x{h}",
                          key="image")
    img = y[: nh * BLOCK, : nw * BLOCK].astype(np.float64)
    per_scale = []
    for scale in (1, 2):
        mu = cv2.filter2D(img, cv2.CV_64F, _window(), borderType=cv2.BORDER_REPLICATE)
        ex2 = cv2.filter2D(img * img, cv2.CV_64F, _window(), borderType=cv2.BORDER_REPLICATE)
        sigma = np.sqrt(np.abs(ex2 - mu * mu))
        mscn = (img - mu) / (sigma + 1)
        b = BLOCK // scale
        feats = [block_features(mscn[i * b:(i + 1) * b, j * b:(j + 1) * b])
                 for j in range(nw) for i in range(nh)]
        per_scale.append(np.asarray(feats))
        if scale == 1:
            img = resize((img / 255.0)[..., None], scale=0.5, kernel="bicubic")[..., 0] * 255.0
    return np.concatenate(per_scale, axis=1)


def niqe_from_luma(y: np.ndarray) -> float:
    """NIQE of a luma image on [0, 255] (already rounded if MATLAB parity is wanted)."""
    feats = niqe_features(y)
    mu_p, cov_p = pristine_model()
    mu_d = np.nanmean(feats, axis=0)
    ok = feats[~np.isnan(feats).any(axis=1)]
    if ok.shape[0] < 2:
        raise ConfigError("NIQE needs at least two valid 96x96 blocks (an image of at least "
                          "192x96 with texture); the image is too small or flat", key="image")
    cov_d = np.cov(ok, rowvar=False)
    diff = mu_p - mu_d
    q = diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff
    return float(np.sqrt(q))


def niqe(image: np.ndarray, *, data_range: float, crop_border: int = 0) -> float:
    """NIQE of one RGB image (no reference; lower is more natural).

    Args:
        image: ``(H, W, 3)`` RGB in ``[0, data_range]``, at least 192x96 after cropping.
        data_range: nominal peak of the input.
        crop_border: pixels dropped from each side first.

    Returns:
        NIQE score (about 3 to 6 for natural photographs, larger for distorted ones).

    Raises:
        ConfigError: image too small, bad ``data_range`` or ``crop_border``.
    """
    img = as_image(image, name="image")
    data_range = check_data_range(data_range)
    border = check_crop(crop_border, img.shape)
    y = np.rint(rgb_to_y(np.clip(crop(img, border) / data_range, 0.0, 1.0)) * 255.0)
    return niqe_from_luma(y)
