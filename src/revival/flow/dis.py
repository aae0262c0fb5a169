"""Dense optical flow with OpenCV's DIS (Dense Inverse Search) estimator.

Convention used throughout :mod:`revival.flow`: ``estimate_flow(reference,
target)`` returns a ``(H, W, 2)`` float32 field ``F`` in pixels (x, y order) such
that ``reference[y, x] ~= target[y + F[y, x, 1], x + F[y, x, 0]]``. It is the
field :func:`revival.flow.warp.warp` needs to bring ``target`` onto
``reference`` ("backward warping").
"""

from __future__ import annotations

import logging
from typing import Literal

import cv2
import numpy as np

from ..errors import ConfigError, UnsupportedFormatError

log = logging.getLogger(__name__)

Preset = Literal["ultrafast", "fast", "medium"]
_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _dis(preset: str, finest_scale: int | None = None, refine: int | None = None,
         patch_stride: int | None = None) -> cv2.DISOpticalFlow:
    """A fresh DIS object (about 0.2 ms).

    Objects are not reused: OpenCV lowers an object's finest scale in place when
    it meets a small image, which would change every later result.
    """
    dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
    if finest_scale is not None:
        dis.setFinestScale(finest_scale)
    if refine is not None:
        dis.setVariationalRefinementIterations(refine)
    if patch_stride is not None:
        dis.setPatchStride(patch_stride)
    return dis


def check_frame(image: np.ndarray, what: str = "frame") -> None:
    """Raise UnsupportedFormatError unless ``image`` is an (H, W) or (H, W, 3) float array."""
    if not isinstance(image, np.ndarray):
        raise UnsupportedFormatError(f"{what}: expected a NumPy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise UnsupportedFormatError(
            f"{what}: expected shape (H, W, 3) RGB or (H, W) grey, got {image.shape}")
    if image.dtype.kind != "f":
        raise UnsupportedFormatError(
            f"{what}: expected float32 in [0, 1], got dtype {image.dtype}; convert with "
            "image.astype(np.float32) / 255 for 8-bit data")
    if min(image.shape[:2]) < 8:
        raise UnsupportedFormatError(f"{what}: frames must be at least 8x8 pixels, got "
                                     f"{image.shape[1]}x{image.shape[0]}")


def grey(image: np.ndarray) -> np.ndarray:
    """(H, W) grey of an RGB (H, W, 3) float image (BT.601 luma weights); grey passes as is."""
    if image.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2GRAY)
    return image


def to_gray8(image: np.ndarray) -> np.ndarray:
    """Grey uint8 (H, W) image for flow estimation from RGB or grey float in [0, 1].

    Uses BT.601 luma weights (any fixed weights do for matching).
    """
    return np.clip(grey(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def resize_flow(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resample a flow field to (height, width) and rescale its vectors to match."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return out


def downscale(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (float32, grey or RGB) at ``size`` (h, w) for flow estimation.

    Halves with a Gaussian pyramid while the image is at least twice the target, then
    takes the rest by area. A plain area (box) downscale aliases fine texture, and
    aliased frames are not translates of one another: on text and stripes that biases
    the flow (on Set14 images moved by known sub-pixel shifts, DIS at 1/2 and 1/4 scale
    had 2-24% lower end-point error after the pyramid; benchmarks/flow_scale.py). Two
    pyramid levels also cost less than one 4x area step.
    """
    h, w = size
    img = np.ascontiguousarray(image, dtype=np.float32)
    while img.shape[0] >= 2 * h and img.shape[1] >= 2 * w:
        img = cv2.pyrDown(img)
    if img.shape[:2] == (h, w):
        return img
    interp = cv2.INTER_AREA if img.shape[0] > h else cv2.INTER_LINEAR
    return cv2.resize(img, (w, h), interpolation=interp)


def working_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) at which flow is estimated for a given ``scale``; at least 16 px."""
    return max(16, round(height * scale)), max(16, round(width * scale))


def estimate_flow(reference: np.ndarray, target: np.ndarray, *, preset: Preset = "fast",
                  scale: float = 1.0, finest_scale: int | None = None,
                  refine: int | None = None, patch_stride: int | None = None) -> np.ndarray:
    """Dense optical flow from ``reference`` to ``target`` with DIS.

    Args:
        reference: (H, W, 3) RGB or (H, W) grey, float in [0, 1].
        target: same shape as ``reference``.
        preset: ``"ultrafast"``, ``"fast"`` (about 10 ms per 720p pair on 2 cores)
            or ``"medium"`` (about 100 ms, most accurate).
        scale: estimate at this fraction of the resolution (0 < scale <= 1; frames
            downscaled by :func:`downscale`) and resample the field back; 0.5 is about
            4x cheaper.
        finest_scale: finest pyramid level DIS refines (0 = full resolution; the
            presets use 2, 2 and 1). Lower is more accurate on fine motion and
            slower; None keeps the preset's value.
        refine: variational refinement iterations per level (None keeps the preset's,
            5 for ``fast``); about two thirds of the ``fast`` preset's time goes there,
            and 0 still gives vectors good to a fraction of a pixel (enough for an
            occlusion test).
        patch_stride: pixels between the 8x8 patches DIS matches (None keeps the
            preset's 4); 6 halves the patch search at a small loss of detail.

    Returns:
        (H, W, 2) float32 flow in pixels, x then y, with
        ``reference[y, x] ~= target[y + F[..., 1], x + F[..., 0]]``.

    Raises:
        ConfigError: unknown preset, scale out of (0, 1] or finest_scale outside 0-4.
        UnsupportedFormatError: frames of other shapes or dtypes, or shapes that differ.

    Example:
        >>> a = np.random.rand(64, 64).astype(np.float32)
        >>> estimate_flow(a, a).shape
        (64, 64, 2)
    """
    if preset not in _PRESETS:
        raise ConfigError(f"unknown flow preset {preset!r}; expected one of {list(_PRESETS)}",
                          key="flow.preset")
    if not 0 < scale <= 1:
        raise ConfigError(f"flow scale must be in (0, 1], got {scale}", key="flow.scale")
    if finest_scale is not None and not 0 <= finest_scale <= 4:
        raise ConfigError(f"flow finest_scale must be in 0..4, got {finest_scale}",
                          key="flow.finest_scale")
    if refine is not None and not 0 <= refine <= 50:
        raise ConfigError(f"flow refine must be in 0..50, got {refine}", key="flow.refine")
    if patch_stride is not None and not 1 <= patch_stride <= 8:
        raise ConfigError(f"flow patch_stride must be in 1..8 (the patch is 8 pixels), got "
                          f"{patch_stride}", key="flow.patch_stride")
    check_frame(reference, "reference")
    check_frame(target, "target")
    if reference.shape[:2] != target.shape[:2]:
        raise UnsupportedFormatError(f"reference and target differ in size: {reference.shape} vs "
                                     f"{target.shape}; resize one of them first")
    h, w = reference.shape[:2]
    if scale < 1:
        size = working_size(h, w, scale)
        a, b = (to_gray8(downscale(grey(x), size)) for x in (reference, target))
    else:
        a, b = to_gray8(reference), to_gray8(target)
    flow = _dis(preset, finest_scale, refine, patch_stride).calc(a, b, None)
    return resize_flow(flow, h, w).astype(np.float32, copy=False)


def fit_global_motion(flow: np.ndarray, *, step: int = 8, iterations: int = 3,
                      inlier: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Robust affine fit to a flow field: (model flow (H, W, 2), inlier mask (H, W) bool).

    Starting from the median translation, an affine model ``F(x, y) = A [x, y, 1]``
    is refitted by least squares on a grid of every ``step``-th pixel, keeping
    the vectors within a shrinking band (``inlier`` pixels, then half, then a
    quarter) of the current model; the plain translation is kept unless the
    affine model fits clearly better. Averaging over many pixels gives camera
    motion (pans, zooms, small rotations) to a small fraction of a pixel, finer
    than single DIS vectors. The mask marks pixels whose dense flow lies within
    ``inlier`` pixels of the model.

    Example:
        >>> f = np.zeros((32, 32, 2), np.float32); f[..., 0] = 1.5
        >>> model, agree = fit_global_motion(f)
        >>> bool(np.allclose(model, f) and agree.all())
        True
    """
    from .warping import _grid, _sqnorm  # local import: warping imports nothing from here

    h, w = flow.shape[:2]
    grid = _grid(h, w)
    sub = grid[::step, ::step].reshape(-1, 2).astype(np.float64)
    design = np.concatenate([sub, np.ones((len(sub), 1))], axis=1)
    target = flow[::step, ::step].reshape(-1, 2).astype(np.float64)
    coef = np.zeros((3, 2))
    coef[2] = np.median(target, axis=0)
    translation = coef.copy()

    def spread(c: np.ndarray) -> np.ndarray:
        return np.sqrt(((design @ c - target) ** 2).sum(axis=1))

    for i in range(iterations):
        keep = spread(coef) < inlier * 0.5 ** i
        if keep.sum() < 12:
            break
        coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
    if np.median(spread(coef)) > 0.8 * np.median(spread(translation)):
        coef = translation
    m = coef.T.astype(np.float32)                                # (2, 3): [[a, b, tx], [c, d, ty]]
    model = cv2.transform(grid, m)                               # the affine map of each pixel
    agree = _sqnorm(cv2.subtract(flow, model)) < inlier * inlier
    return model.astype(np.float32, copy=False), agree
