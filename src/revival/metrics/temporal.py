"""Temporal consistency: warping error, tOF and a motion-compensated flicker index.

Every function here works on consecutive frame pairs and returns one value per
pair (``T - 1`` values for ``T`` frames); the clip value is their mean.

* :func:`warping_error` -- E_warp of Lai et al. 2018 ("Learning Blind Video Temporal
  Consistency"): optical flow between consecutive *source* frames (DIS here), an
  occlusion mask from a forward-backward check, and the mean squared difference,
  over visible pixels, between output ``t`` and output ``t-1`` warped to ``t``.
  RGB on [0, 1]; Lai et al. report it multiplied by 1e3.
* :func:`tof` -- tOF of Chu et al. 2020 (TecoGAN): the mean per-pixel Euclidean
  distance, in pixels, between the Farneback flow of the output and of the reference.
* :func:`flicker_index` -- the absolute change of mean luma (full-range BT.601 on
  [0, 1]) between frame ``t`` and frame ``t-1`` warped to ``t``, over visible pixels.
  Motion does not count as flicker; a global brightness step of ``d`` gives ``d``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> clip = np.repeat(rng.random((1, 64, 64, 3)), 3, axis=0).astype(np.float32)
    >>> [round(v, 6) for v in flicker_index(clip)]
    [0.0, 0.0]
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ConfigError
from ._common import as_image, luma, to_uint8_gray

_DIS = None


def _check_clip(frames: np.ndarray | list, name: str) -> list[np.ndarray]:
    clip = [as_image(f, name=f"{name}[{i}]") for i, f in enumerate(frames)]
    if len(clip) < 2:
        raise ConfigError(f"{name}: temporal metrics need at least 2 frames, got {len(clip)}",
                          key=name)
    shape = clip[0].shape
    for i, f in enumerate(clip):
        if f.shape != shape:
            raise ConfigError(f"{name}[{i}] has shape {f.shape}, frame 0 has {shape}; "
                              "all frames of a clip must have one size", key=name)
    return clip


def dis_flow(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Dense flow ``F`` with ``src(x) ~ dst(x + F(x))`` (DIS, OpenCV medium preset).

    Args:
        src, dst: ``(H, W, 3)`` RGB in [0, 1].

    Returns:
        ``(H, W, 2)`` float32 flow in pixels, (dx, dy).
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(to_uint8_gray(src), to_uint8_gray(dst), None)


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out(x) = img(x + flow(x))``, bilinear, border replicated."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = gx + flow[..., 0].astype(np.float32)
    my = gy + flow[..., 1].astype(np.float32)
    return cv2.remap(img.astype(np.float32), mx, my, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def visible_mask(flow_fw: np.ndarray, flow_bw: np.ndarray) -> np.ndarray:
    """Pixels that pass the forward-backward check (Sundaram et al. 2010, as in Lai et al.).

    Args:
        flow_fw: flow from frame ``t`` to ``t-1``.
        flow_bw: flow from frame ``t-1`` to ``t``.

    Returns:
        ``(H, W)`` bool, True where ``t`` is visible in ``t-1`` and inside the frame.
    """
    h, w = flow_fw.shape[:2]
    bw_at = warp(flow_bw, flow_fw)
    total = flow_fw + bw_at
    err = np.sum(total ** 2, axis=-1)
    bound = 0.01 * (np.sum(flow_fw ** 2, axis=-1) + np.sum(bw_at ** 2, axis=-1)) + 0.5
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    tx, ty = gx + flow_fw[..., 0], gy + flow_fw[..., 1]
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    return (err <= bound) & inside


def pair_alignment(src_prev: np.ndarray, src_cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flow from frame ``t`` to ``t-1`` and its visibility mask (RGB in [0, 1])."""
    fw = dis_flow(src_cur, src_prev)   # t -> t-1
    bw = dis_flow(src_prev, src_cur)   # t-1 -> t
    return fw, visible_mask(fw, bw)


def warping_error_pair(prev: np.ndarray, cur: np.ndarray, flow: np.ndarray,
                       mask: np.ndarray) -> float:
    """E_warp of one pair of [0, 1] RGB frames given :func:`pair_alignment` output."""
    diff = np.sum((cur - warp(prev, flow)) ** 2, axis=-1) / 3.0
    n = int(mask.sum())
    return float(diff[mask].sum() / n) if n else 0.0


def flicker_value(prev: np.ndarray, cur: np.ndarray, flow: np.ndarray, mask: np.ndarray) -> float:
    """Flicker index of one pair of [0, 1] RGB frames given :func:`pair_alignment` output."""
    if not mask.any():
        mask = np.ones(mask.shape, dtype=bool)
    y_cur = luma(cur)
    y_prev = warp(luma(prev).astype(np.float32), flow)
    return float(abs(y_cur[mask].mean() - y_prev[mask].mean()))


def warping_error(frames: np.ndarray | list, *, source: np.ndarray | list | None = None,
                  data_range: float = 1.0) -> list[float]:
    """E_warp per consecutive pair (Lai et al. 2018).

    Args:
        frames: ``(T, H, W, 3)`` output clip, RGB in ``[0, data_range]``.
        source: the clip the flow is computed on (the processed video's input, or the
            reference); defaults to ``frames`` itself. Same shape as ``frames``.
        data_range: nominal peak of both clips.

    Returns:
        ``T - 1`` mean squared errors on the [0, 1] scale (multiply by 1e3 to compare
        with tables that report E_warp x 10^-3).

    Raises:
        ConfigError: fewer than 2 frames, or mismatched shapes.
    """
    out = [f / data_range for f in _check_clip(frames, "frames")]
    src = out if source is None else [f / data_range for f in _check_clip(source, "source")]
    if len(src) != len(out) or src[0].shape != out[0].shape:
        raise ConfigError(f"source has {len(src)} frames of {src[0].shape}, frames has "
                          f"{len(out)} of {out[0].shape}; they must match", key="source")
    return [warping_error_pair(out[t - 1], out[t], *pair_alignment(src[t - 1], src[t]))
            for t in range(1, len(out))]


def farneback_flow(prev: np.ndarray, cur: np.ndarray, *, data_range: float = 1.0) -> np.ndarray:
    """TecoGAN's Farneback flow (0.5, 3, 15, 3, 5, 1.2) from ``prev`` to ``cur``."""
    return cv2.calcOpticalFlowFarneback(to_uint8_gray(prev, data_range=data_range),
                                        to_uint8_gray(cur, data_range=data_range),
                                        None, 0.5, 3, 15, 3, 5, 1.2, 0)


def tof(reference: np.ndarray | list, distorted: np.ndarray | list, *,
        data_range: float = 1.0) -> list[float]:
    """tOF per consecutive pair (Chu et al. 2020), in pixels; 0 when motion matches.

    Args:
        reference, distorted: ``(T, H, W, 3)`` RGB clips in ``[0, data_range]``.

    Returns:
        ``T - 1`` values, mean over pixels of ``|OF(dist) - OF(ref)|_2``.
    """
    ref = _check_clip(reference, "reference")
    dis = _check_clip(distorted, "distorted")
    if len(ref) != len(dis) or ref[0].shape != dis[0].shape:
        raise ConfigError("reference and distorted clips differ in length or size", key="distorted")
    values = []
    for t in range(1, len(ref)):
        of_r = farneback_flow(ref[t - 1], ref[t], data_range=data_range)
        of_d = farneback_flow(dis[t - 1], dis[t], data_range=data_range)
        values.append(float(np.mean(np.sqrt(np.sum((of_d - of_r) ** 2, axis=-1)))))
    return values


def flicker_pair(prev: np.ndarray, cur: np.ndarray, *, src_prev: np.ndarray | None = None,
                 src_cur: np.ndarray | None = None) -> float:
    """Flicker of one pair of [0, 1] RGB frames (flow from ``src_*`` when given)."""
    sp = prev if src_prev is None else src_prev
    sc = cur if src_cur is None else src_cur
    return flicker_value(prev, cur, *pair_alignment(sp, sc))


def flicker_index(frames: np.ndarray | list, *, source: np.ndarray | list | None = None,
                  data_range: float = 1.0) -> list[float]:
    """Motion-compensated change of mean luma per consecutive pair.

    Args:
        frames: ``(T, H, W, 3)`` RGB clip in ``[0, data_range]``.
        source: clip to estimate motion on (e.g. the reference); defaults to ``frames``.
        data_range: nominal peak.

    Returns:
        ``T - 1`` values on the [0, 1] luma scale (x255 for 8-bit code values).
    """
    out = [f / data_range for f in _check_clip(frames, "frames")]
    src = None if source is None else [f / data_range for f in _check_clip(source, "source")]
    if src is not None and (len(src) != len(out) or src[0].shape != out[0].shape):
        raise ConfigError("source and frames differ in length or size", key="source")
    return [flicker_pair(out[t - 1], out[t],
                         src_prev=None if src is None else src[t - 1],
                         src_cur=None if src is None else src[t])
            for t in range(1, len(out))]
