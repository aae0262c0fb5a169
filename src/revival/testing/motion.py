"""Synthetic clips with known motion, shared by the flow/temporal tests and benchmarks.

A clip is cut from a larger canvas at sub-pixel offsets ``o_t`` (x, y), so
``frame_t[y, x] = canvas[y + o_t.y, x + o_t.x]`` and the true flow from frame
``t`` to frame ``s`` is the constant ``o_s - o_t`` (see :mod:`revival.flow.dis`).

Two samplers: Lanczos-4 (:func:`crop_at`, the default; values stay in [0, 1]) and
an exact Fourier translation (``exact=True``, :func:`translate_exact`). With
Lanczos-4 the frames are only approximately translates of one another (a
sub-pixel cut of fine texture differs from an ideal one by a few code values), so
even a perfectly stable restoration measures a little flicker against them; with
the Fourier sampler every frame is a sample of the same band-limited image and
the motion is exact.
"""

from __future__ import annotations

import cv2
import numpy as np


def textured_image(height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """A natural-looking RGB texture (H, W, 3) float32 in [0, 1]: blobs, edges and fine detail."""
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for sigma, weight in ((24.0, 0.5), (6.0, 0.3), (1.5, 0.2)):
        noise = rng.standard_normal((height, width, 3)).astype(np.float32)
        layer = cv2.GaussianBlur(noise, (0, 0), sigma)
        layer /= max(float(layer.std()), 1e-6)
        out += weight * layer
    # a few hard-edged shapes so that flow has corners to lock on
    for _ in range(max(2, height * width // 4000)):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(3, max(4, min(height, width) // 8)))
        colour = tuple(float(v) for v in rng.uniform(-1.5, 1.5, 3))
        if rng.random() < 0.5:
            cv2.circle(out, (cx, cy), r, colour, -1, lineType=cv2.LINE_AA)
        else:
            cv2.rectangle(out, (cx - r, cy - r), (cx + r, cy + r // 2), colour, -1)
    out = 0.5 + 0.16 * out
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def crop_at(canvas: np.ndarray, offset: tuple[float, float], height: int,
            width: int) -> np.ndarray:
    """``canvas`` sampled at ``(x + offset[0], y + offset[1])`` for an (height, width) frame.

    Uses Lanczos-4 interpolation, so sub-pixel shifts keep their detail.
    """
    m = np.array([[1, 0, offset[0]], [0, 1, offset[1]]], np.float32)
    out = cv2.warpAffine(canvas, m, (width, height),
                         flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REFLECT101)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def translate_exact(image: np.ndarray, offset: tuple[float, float]) -> np.ndarray:
    """``image`` sampled at ``(x + offset[0], y + offset[1])`` by band-limited interpolation.

    The image is mirrored into a periodic, continuous signal of twice its size and
    translated by a phase ramp of its Fourier transform, so translations compose
    exactly (a shift by ``a`` then by ``b`` equals a shift by ``a + b``) and an integer
    offset is a plain (mirrored) crop. Values are not clipped: Gibbs ringing at
    hard edges may leave [0, 1] by a few percent. (H, W) or (H, W, C) float arrays.
    """
    img = np.asarray(image, np.float64)
    h, w = img.shape[:2]
    ext = np.concatenate([img, img[::-1]], axis=0)
    ext = np.concatenate([ext, ext[:, ::-1]], axis=1)
    spec = np.fft.rfft2(ext, axes=(0, 1))
    ky = np.fft.fftfreq(2 * h)[:, None]
    kx = np.fft.rfftfreq(2 * w)[None, :]
    ramp = np.exp(2j * np.pi * (ky * offset[1] + kx * offset[0]))
    if img.ndim == 3:
        ramp = ramp[..., None]
    out = np.fft.irfft2(spec * ramp, s=(2 * h, 2 * w), axes=(0, 1))[:h, :w]
    return out.astype(np.float32)


def pan_offsets(frames: int, *, velocity: tuple[float, float], start: tuple[float, float]
                = (0.0, 0.0), jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """(T, 2) offsets of a linear pan plus optional uniform random sub-pixel jitter (pixels)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=np.float64)[:, None]
    offs = np.asarray(start, np.float64)[None] + t * np.asarray(velocity, np.float64)[None]
    if jitter:
        offs += rng.uniform(-jitter, jitter, size=offs.shape)
    return offs


def known_motion_clip(canvas: np.ndarray, offsets: np.ndarray, height: int,
                      width: int, *, exact: bool = False) -> np.ndarray:
    """(T, height, width, 3) clip cut from ``canvas`` at each of ``offsets`` (T, 2).

    ``exact``: sample with :func:`translate_exact` (offsets must stay inside the
    canvas; values are not clipped) instead of Lanczos-4.
    """
    if not exact:
        return np.stack([crop_at(canvas, (float(o[0]), float(o[1])), height, width)
                         for o in offsets])
    out = []
    for o in offsets:
        iy, ix = int(np.floor(o[1])), int(np.floor(o[0]))
        if iy < 0 or ix < 0 or iy + height + 1 > canvas.shape[0] or ix + width + 1 > canvas.shape[1]:
            raise ValueError(f"offset {tuple(o)} takes a {height}x{width} frame outside the "
                             f"{canvas.shape[0]}x{canvas.shape[1]} canvas")
        # the whole canvas moves, so every frame samples the same band-limited image
        moved = translate_exact(canvas, (float(o[0]) - ix, float(o[1]) - iy))
        out.append(moved[iy:iy + height, ix:ix + width])
    return np.stack(out)


def align_to_first(clip: np.ndarray, offsets: np.ndarray, *, exact: bool = False) -> np.ndarray:
    """Undo known motion: frame t resampled so it lines up with frame 0.

    Lanczos-4, or with ``exact`` the Fourier translation of :func:`translate_exact`.
    Pixels that come from outside frame t are NaN (exclude them from statistics).
    """
    out = np.empty_like(clip)
    h, w = clip.shape[1:3]
    for t, frame in enumerate(clip):
        d = offsets[0] - offsets[t]
        if exact:
            out[t] = translate_exact(frame, (float(d[0]), float(d[1])))
            out[t][_outside(h, w, d)] = np.nan
            continue
        m = np.array([[1, 0, d[0]], [0, 1, d[1]]], np.float32)
        out[t] = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(np.nan,) * 4)
    return out


def _outside(h: int, w: int, d: np.ndarray) -> np.ndarray:
    """(h, w) mask of the pixels whose source ``(x + d.x, y + d.y)`` lies outside the frame."""
    ys = np.arange(h)[:, None] + d[1]
    xs = np.arange(w)[None, :] + d[0]
    return (ys < 0) | (ys > h - 1) | (xs < 0) | (xs > w - 1)
