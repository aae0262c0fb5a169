"""SR evaluation as the literature reports it: Y-PSNR and SSIM on BT.601 Y.

Y is MATLAB's ``rgb2ycbcr`` luma (16..235 on 8-bit images), ``scale`` pixels are
cropped from every border, and the SR output is rounded to 8 bits before scoring.
``evaluate_set`` runs a callable ``upscale(lr_rgb_float) -> sr`` over a test folder
laid out as ``<set>/LRbicx<s>/*.png`` and ``<set>/GTmod12/*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..stages.resize import resize
from .data import list_images, read_rgb, rgb_to_y601


def y_matlab(img: np.ndarray) -> np.ndarray:
    """MATLAB BT.601 Y in [16, 235] (float64) from RGB (H, W, 3) or Y' (H, W) in [0, 1]."""
    y = rgb_to_y601(img) if img.ndim == 3 else img
    return 16.0 + 219.0 * np.asarray(y, dtype=np.float64)


def _crop(a: np.ndarray, border: int) -> np.ndarray:
    return a[border:-border, border:-border] if border > 0 else a


def psnr_y(sr: np.ndarray, hr: np.ndarray, *, border: int) -> float:
    """Y-PSNR in dB; inputs RGB (H, W, 3) or Y' (H, W) float in [0, 1]; SR rounded to 8 bits."""
    sr8 = np.round(np.clip(sr, 0, 1) * 255.0) / 255.0
    a, b = _crop(y_matlab(sr8), border), _crop(y_matlab(hr), border)
    mse = float(np.mean((np.round(a) - np.round(b)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim_y(sr: np.ndarray, hr: np.ndarray, *, border: int) -> float:
    """SSIM (Wang et al. 2004: 11x11 Gaussian, sigma 1.5) on rounded MATLAB Y."""
    sr8 = np.round(np.clip(sr, 0, 1) * 255.0) / 255.0
    a = np.round(_crop(y_matlab(sr8), border))
    b = np.round(_crop(y_matlab(hr), border))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REPLICATE)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a ** 2
    sbb = blur(b * b) - mu_b ** 2
    sab = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
    den = (mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2)
    return float(np.mean(num / den))


def has_lr(folder: str | Path, scale: int) -> bool:
    """Whether a test set ships its own ``LRbicx<scale>`` inputs."""
    return (Path(folder) / f"LRbicx{scale}").is_dir()


def evaluate_set(folder: str | Path, upscale: Callable[[np.ndarray], np.ndarray], *,
                 scale: int, make_lr: bool = False) -> dict[str, float]:
    """Mean Y-PSNR/SSIM of ``upscale`` over a test set.

    ``upscale`` receives LR RGB float32 (H, W, 3) in [0, 1] and returns SR as RGB
    (H*s, W*s, 3) or Y' (H*s, W*s). With ``make_lr`` and no ``LRbicx<s>`` folder, the
    LR inputs are made from GTmod12 with the MATLAB-compatible bicubic resize,
    rounded to 8 bits (reproduces the official LR files within one level).
    """
    folder = Path(folder)
    psnrs, ssims = [], []
    own_lr = has_lr(folder, scale)
    names = list_images([folder / (f"LRbicx{scale}" if own_lr or not make_lr else "GTmod12")])
    for lr_path in names:
        hr = read_rgb(folder / "GTmod12" / lr_path.name).astype(np.float32) / 255.0
        if own_lr:
            lr = read_rgb(lr_path).astype(np.float32) / 255.0
        else:
            lr = np.round(np.clip(resize(hr, scale=1 / scale, kernel="bicubic"), 0, 1) * 255) / 255
            lr = lr.astype(np.float32)
        sr = upscale(lr)
        if sr.shape[:2] != hr.shape[:2]:
            raise ValueError(f"{lr_path.name}: SR shape {sr.shape} does not match HR {hr.shape}")
        psnrs.append(psnr_y(sr, hr, border=scale))
        ssims.append(ssim_y(sr, hr, border=scale))
    return {"psnr_y": float(np.mean(psnrs)), "ssim_y": float(np.mean(ssims)), "images": len(psnrs)}
