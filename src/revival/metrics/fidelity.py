"""Full-reference fidelity: PSNR and SSIM, on BT.601 Y or on RGB.

Conventions follow the super-resolution literature (the MATLAB evaluation code
used by SRCNN, VDSR, EDSR and BasicSR):

* ``channel="y"``: BT.601 luma ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` on
  the [0, 255] scale, not rounded.
* ``crop_border``: pixels removed from every side before measuring (the SR
  scale factor by convention).
* SSIM: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), ``K1 = 0.01``,
  ``K2 = 0.03``, "valid" filtering, no down-sampling; on RGB the mean over channels.

Example:
    >>> import numpy as np
    >>> a = np.zeros((16, 16, 3), np.float32); b = a + 0.1
    >>> round(psnr(a, b, data_range=1.0, channel="rgb"), 2)
    20.0
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from ..errors import ConfigError
from ._common import check_crop, check_data_range, check_pair, crop, rgb_to_y

Channel = Literal["y", "rgb"]


def _prepare(reference: np.ndarray, distorted: np.ndarray, data_range: float, channel: str,
             crop_border: int) -> tuple[np.ndarray, np.ndarray]:
    """Both images on the [0, 255] scale, as (H, W, C) float64 after cropping."""
    ref, dis = check_pair(reference, distorted)
    data_range = check_data_range(data_range)
    border = check_crop(crop_border, ref.shape)
    ref = ref / data_range
    dis = dis / data_range
    if channel == "y":
        ref, dis = rgb_to_y(ref)[..., None], rgb_to_y(dis)[..., None]
    elif channel != "rgb":
        raise ConfigError(f"channel must be 'y' or 'rgb', got {channel!r}", key="channel")
    return crop(ref, border) * 255.0, crop(dis, border) * 255.0


def mse(reference: np.ndarray, distorted: np.ndarray, *, data_range: float,
        channel: Channel = "y", crop_border: int = 0) -> float:
    """Mean squared error on the [0, 255] scale (after Y conversion and cropping)."""
    ref, dis = _prepare(reference, distorted, data_range, channel, crop_border)
    return float(np.mean((ref - dis) ** 2))


def psnr(reference: np.ndarray, distorted: np.ndarray, *, data_range: float,
         channel: Channel = "y", crop_border: int = 0) -> float:
    """Peak signal-to-noise ratio in dB.

    Args:
        reference: ``(H, W, 3)`` RGB in ``[0, data_range]``.
        distorted: same shape as ``reference``.
        data_range: the nominal peak of the inputs (1.0 for float frames, 255.0 for uint8).
        channel: ``"y"`` for BT.601 luma, ``"rgb"`` for all three channels.
        crop_border: pixels dropped from each side first (the SR scale by convention).

    Returns:
        PSNR in dB; ``inf`` for identical images.

    Raises:
        ConfigError: shapes differ, bad ``data_range``, ``channel`` or ``crop_border``.
    """
    err = mse(reference, distorted, data_range=data_range, channel=channel, crop_border=crop_border)
    if err == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0 ** 2 / err))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(ax ** 2) / (2 * sigma ** 2))
    w = np.outer(g, g)
    return w / w.sum()


def ssim_map(ref: np.ndarray, dis: np.ndarray, *, peak: float = 255.0) -> np.ndarray:
    """SSIM index map of two single-channel float64 images ("valid" region only).

    Args:
        ref, dis: ``(H, W)`` float64 on the scale ``[0, peak]``.

    Returns:
        ``(H - 10, W - 10)`` float64 map.
    """
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    win = _gaussian_window()
    pad = win.shape[0] // 2
    if ref.shape[0] <= 2 * pad or ref.shape[1] <= 2 * pad:
        raise ConfigError(f"SSIM needs images larger than 11x11 after cropping, got "
                          f"{ref.shape[1]}x{ref.shape[0]}", key="reference")

    def filt(x: np.ndarray) -> np.ndarray:
        out = cv2.filter2D(x, cv2.CV_64F, win, borderType=cv2.BORDER_REFLECT)
        return out[pad:-pad, pad:-pad]

    mu1, mu2 = filt(ref), filt(dis)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = filt(ref * ref) - mu1_sq
    s2 = filt(dis * dis) - mu2_sq
    s12 = filt(ref * dis) - mu12
    return ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))


def ssim(reference: np.ndarray, distorted: np.ndarray, *, data_range: float,
         channel: Channel = "y", crop_border: int = 0) -> float:
    """Structural similarity (Wang et al. 2004), MATLAB ``ssim_index`` settings.

    Args:
        reference: ``(H, W, 3)`` RGB in ``[0, data_range]``.
        distorted: same shape as ``reference``.
        data_range: the nominal peak of the inputs.
        channel: ``"y"`` (BT.601 luma on [0, 255]) or ``"rgb"`` (mean over channels).
        crop_border: pixels dropped from each side first.

    Returns:
        Mean SSIM, 1.0 for identical images.

    Raises:
        ConfigError: as :func:`psnr`, or an image smaller than 11x11 after cropping.
    """
    ref, dis = _prepare(reference, distorted, data_range, channel, crop_border)
    values = [ssim_map(ref[..., c], dis[..., c]).mean() for c in range(ref.shape[2])]
    return float(np.mean(values))
