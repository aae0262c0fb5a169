"""Shared input checks and colour helpers for the metrics.

All metrics take frames in the house convention: ``float32`` (any float is
accepted) ``(H, W, 3)`` RGB, gamma-encoded, nominal range ``[0, data_range]``.
``data_range`` is always explicit: ``1.0`` for Revival frames, ``255.0`` for
8-bit arrays.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

# ITU-R BT.601 luma as used by the super-resolution literature (MATLAB rgb2ycbcr):
# Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1]; Y in [16, 235].
_BT601_Y = np.array([65.481, 128.553, 24.966], dtype=np.float64) / 255.0
_BT601_Y_OFFSET = 16.0 / 255.0


def as_image(img: np.ndarray, *, name: str = "image", channels: tuple[int, ...] = (3,)) -> np.ndarray:
    """Validate one ``(H, W, C)`` image and return it as float64.

    Raises:
        ConfigError: not an array of that shape, or not finite.
    """
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[2] not in channels:
        raise ConfigError(
            f"{name}: expected an (H, W, C) array with C in {channels}, got shape {arr.shape}; "
            "pass RGB frames as (H, W, 3)", key=name)
    if not np.issubdtype(arr.dtype, np.number):
        raise ConfigError(f"{name}: expected a numeric array, got dtype {arr.dtype}", key=name)
    out = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(out)):
        raise ConfigError(f"{name}: contains NaN or infinity; clean the input first", key=name)
    return out


def check_pair(reference: np.ndarray, distorted: np.ndarray, *,
               channels: tuple[int, ...] = (3,)) -> tuple[np.ndarray, np.ndarray]:
    """Validate a reference/distorted pair of equal shape (float64 copies)."""
    ref = as_image(reference, name="reference", channels=channels)
    dis = as_image(distorted, name="distorted", channels=channels)
    if ref.shape != dis.shape:
        raise ConfigError(
            f"reference and distorted differ in shape: {ref.shape} vs {dis.shape}; "
            "resize or crop one of them so that they match", key="distorted")
    return ref, dis


def check_data_range(data_range: float) -> float:
    if not np.isfinite(data_range) or data_range <= 0:
        raise ConfigError(f"data_range must be a positive number (1.0 for float frames, "
                          f"255.0 for 8-bit), got {data_range!r}", key="data_range")
    return float(data_range)


def check_crop(crop_border: int, shape: tuple[int, ...]) -> int:
    if int(crop_border) != crop_border or crop_border < 0:
        raise ConfigError(f"crop_border must be a non-negative integer, got {crop_border!r}",
                          key="crop_border")
    crop_border = int(crop_border)
    if 2 * crop_border >= min(shape[0], shape[1]):
        raise ConfigError(f"crop_border={crop_border} leaves nothing of a {shape[1]}x{shape[0]} "
                          "image; use a smaller crop", key="crop_border")
    return crop_border


def crop(img: np.ndarray, border: int) -> np.ndarray:
    return img[border:-border, border:-border] if border else img


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB in [0, 1], in [16/255, 235/255] (MATLAB ``rgb2ycbcr`` / 255).

    Args:
        rgb: ``(..., 3)`` RGB in [0, 1].

    Returns:
        ``(...)`` float64 luma.
    """
    return np.asarray(rgb, dtype=np.float64) @ _BT601_Y + _BT601_Y_OFFSET


def luma(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` (same range as the input)."""
    return np.asarray(rgb, dtype=np.float64) @ np.array([0.299, 0.587, 0.114])


def to_uint8_gray(rgb: np.ndarray, *, data_range: float = 1.0) -> np.ndarray:
    """Full-range luma as uint8, for OpenCV routines (optical flow, feature tracking)."""
    y = luma(rgb) * (255.0 / data_range)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)
