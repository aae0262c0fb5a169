"""Degradation synthesis for training restoration/SR models; seeded and deterministic.

Every function takes RGB float32 ``(H, W, 3)`` in [0, 1] (video codecs take
``(T, H, W, 3)``) and returns the same layout; randomness comes only from an
explicit ``numpy.random.Generator`` or explicit parameters, so a seed reproduces
a sample exactly. Kernels are odd-sized, non-negative where physical and sum to 1.

Parts: blur kernels (isotropic/anisotropic Gaussian, generalised Gaussian,
plateau, defocus disc, Airy diffraction, linear motion), sinc ringing, resizing
with a random kernel, Gaussian and Poisson-plus-read noise (luma-only or per
channel), JPEG (OpenCV), real video codecs (H.264, MPEG-2, MPEG-4 through
PyAV) and a second-order chain (:func:`degrade_chain`) in the style of
Real-ESRGAN.

Example:
    >>> rng = np.random.default_rng(0)
    >>> lr = degrade_chain(np.zeros((64, 64, 3), np.float32), scale=4, rng=rng)
    >>> lr.shape
    (16, 16, 3)
"""

from __future__ import annotations

import io
from fractions import Fraction
import math
from dataclasses import dataclass
from typing import Literal

import av
import cv2
import numpy as np

from ..errors import ConfigError
from ..io.x264 import x264_options
from ..stages.resize import resize

Codec = Literal["h264", "mpeg2video", "mpeg4"]


# ---------------------------------------------------------------- kernels

def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    if size < 1 or size % 2 == 0:
        raise ConfigError(f"kernel size must be odd and >= 1, got {size}", key="size")
    r = size // 2
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    return xx, yy


def _normalise(k: np.ndarray) -> np.ndarray:
    return (k / k.sum()).astype(np.float32)


def _quadratic(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """x^T Sigma^-1 x on the grid, for a covariance rotated by ``theta`` radians."""
    if sigma_x <= 0 or sigma_y <= 0:
        raise ConfigError(f"sigmas must be > 0, got {sigma_x}, {sigma_y}", key="sigma")
    xx, yy = _grid(size)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float | None = None,
                    theta: float = 0.0) -> np.ndarray:
    """Isotropic (``sigma_y`` None) or anisotropic Gaussian, rotated by ``theta`` radians."""
    return _normalise(np.exp(-0.5 * _quadratic(size, sigma_x, sigma_y or sigma_x, theta)))


def generalized_gaussian_kernel(size: int, sigma_x: float, sigma_y: float | None = None,
                                theta: float = 0.0, beta: float = 1.0) -> np.ndarray:
    """exp(-(x^T S^-1 x)^beta / 2): beta < 1 heavier tails, beta > 1 flatter top."""
    if beta <= 0:
        raise ConfigError(f"beta must be > 0, got {beta}", key="beta")
    q = _quadratic(size, sigma_x, sigma_y or sigma_x, theta)
    return _normalise(np.exp(-0.5 * np.power(q, beta)))


def plateau_kernel(size: int, sigma_x: float, sigma_y: float | None = None,
                   theta: float = 0.0, beta: float = 2.0) -> np.ndarray:
    """Plateau-shaped kernel 1 / (1 + (x^T S^-1 x)^beta)."""
    if beta <= 0:
        raise ConfigError(f"beta must be > 0, got {beta}", key="beta")
    q = _quadratic(size, sigma_x, sigma_y or sigma_x, theta)
    return _normalise(1.0 / (1.0 + np.power(q, beta)))


def defocus_kernel(size: int, radius: float) -> np.ndarray:
    """Uniform disc of ``radius`` pixels (out-of-focus blur), anti-aliased 4x4 supersampled."""
    if radius <= 0:
        raise ConfigError(f"radius must be > 0, got {radius}", key="radius")
    xx, yy = _grid(size)
    acc = np.zeros_like(xx)
    for dy in (-0.375, -0.125, 0.125, 0.375):
        for dx in (-0.375, -0.125, 0.125, 0.375):
            acc += ((xx + dx) ** 2 + (yy + dy) ** 2) <= radius ** 2
    if acc.sum() == 0:
        acc[size // 2, size // 2] = 1
    return _normalise(acc)


def _bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1(x) = (1/pi) * integral_0^pi cos(t - x sin t) dt (midpoint rule, 64 nodes)."""
    t = (np.arange(64) + 0.5) * (math.pi / 64)
    return np.cos(t[None, :] - x.reshape(-1, 1) * np.sin(t)[None, :]).mean(axis=1).reshape(x.shape)


def airy_kernel(size: int, radius: float) -> np.ndarray:
    """Lens diffraction (Airy pattern, (2 J1(r') / r')^2) with its first zero at ``radius`` px."""
    if radius <= 0:
        raise ConfigError(f"radius must be > 0, got {radius}", key="radius")
    xx, yy = _grid(size)
    r = np.hypot(xx, yy) * (3.8317 / radius)
    safe = np.where(r == 0, 1.0, r)
    k = np.where(r == 0, 1.0, (2 * _bessel_j1(safe) / safe) ** 2)
    return _normalise(k)


def motion_kernel(size: int, length: float, angle: float) -> np.ndarray:
    """Linear motion blur of ``length`` pixels at ``angle`` radians, anti-aliased line."""
    if length <= 0:
        raise ConfigError(f"length must be > 0, got {length}", key="length")
    k = np.zeros((size, size), np.float64)
    c = size // 2
    n = max(2, int(math.ceil(length * 4)))
    for t in np.linspace(-length / 2, length / 2, n):
        x, y = c + t * math.cos(angle), c + t * math.sin(angle)
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for yy, xx, w in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)),
                          (y0 + 1, x0, (1 - fx) * fy), (y0 + 1, x0 + 1, fx * fy)):
            if 0 <= yy < size and 0 <= xx < size:
                k[yy, xx] += w
    return _normalise(k)


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """Circular low-pass (2-D sinc, jinc) with ``cutoff`` in radians/pixel (0, pi]; rings."""
    if not 0 < cutoff <= math.pi:
        raise ConfigError(f"cutoff must be in (0, pi], got {cutoff}", key="cutoff")
    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    safe = np.where(r == 0, 1.0, r)
    k = np.where(r == 0, cutoff ** 2 / (4 * math.pi),
                 cutoff * _bessel_j1(cutoff * safe) / (2 * math.pi * safe))
    return _normalise(k)


def random_kernel(rng: np.random.Generator, *, size: int = 21, sigma: tuple[float, float] = (0.2, 3.0),
                  sinc_prob: float = 0.1) -> np.ndarray:
    """One kernel of a random family with random parameters (the chain's blur step)."""
    kind = rng.choice(["iso", "aniso", "generalized", "plateau", "defocus", "airy", "motion",
                       "sinc"], p=[0.3, 0.25, 0.1, 0.05, 0.05, 0.05, 0.1, 0.1])
    sx, sy = rng.uniform(*sigma, size=2)
    theta = rng.uniform(0, math.pi)
    if kind == "sinc" or rng.random() < sinc_prob:
        return sinc_kernel(size, rng.uniform(math.pi / 3, math.pi))
    if kind == "iso":
        return gaussian_kernel(size, sx)
    if kind == "aniso":
        return gaussian_kernel(size, sx, sy, theta)
    if kind == "generalized":
        return generalized_gaussian_kernel(size, sx, sy, theta, rng.uniform(0.5, 4))
    if kind == "plateau":
        return plateau_kernel(size, sx, sy, theta, rng.uniform(1, 2))
    if kind == "defocus":
        return defocus_kernel(size, rng.uniform(1, size / 3))
    if kind == "airy":
        return airy_kernel(size, rng.uniform(1, size / 4))
    return motion_kernel(size, rng.uniform(2, size - 2), theta)


def apply_kernel(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every channel with ``kernel`` (reflect-101 borders); float32 out, unclipped."""
    return cv2.filter2D(np.asarray(img, np.float32), -1, kernel[::-1, ::-1].astype(np.float32),
                        borderType=cv2.BORDER_REFLECT_101)


# ---------------------------------------------------------------- resize, noise, compression

def random_resize(img: np.ndarray, *, size: tuple[int, int],
                  kernel: Literal["bicubic", "bilinear", "lanczos", "area", "nearest"]) -> np.ndarray:
    """Resize to ``size`` = (height, width) with the given kernel."""
    if kernel in ("bicubic", "bilinear", "lanczos"):
        return resize(np.asarray(img, np.float32), size=size, kernel=kernel)
    interp = {"area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST}.get(kernel)
    if interp is None:
        raise ConfigError(f"unknown resize kernel {kernel!r}", key="kernel")
    return cv2.resize(np.asarray(img, np.float32), (size[1], size[0]), interpolation=interp)


def gaussian_noise(img: np.ndarray, sigma: float, *, rng: np.random.Generator,
                   gray: bool = False) -> np.ndarray:
    """Add N(0, sigma^2) noise (sigma on the [0, 1] scale); ``gray`` = same noise in R, G, B
    (luma-only noise), else independent per channel (chroma noise too)."""
    shape = img.shape[:2] + (1,) if gray else img.shape
    return (img + rng.normal(0.0, sigma, shape)).astype(np.float32)


def poisson_noise(img: np.ndarray, photons: float, *, rng: np.random.Generator,
                  read_sigma: float = 0.0, gray: bool = False) -> np.ndarray:
    """Shot noise for a sensor with ``photons`` electrons at full scale, plus Gaussian read
    noise ``read_sigma``. ``gray`` applies the luma's noise to all channels."""
    if photons <= 0:
        raise ConfigError(f"photons must be > 0, got {photons}", key="photons")
    x = np.clip(img, 0, 1)
    if gray:
        y = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None]
        noise = rng.poisson(y * photons) / photons - y
    else:
        noise = rng.poisson(x * photons) / photons - x
    out = img + noise
    if read_sigma > 0:
        out = out + rng.normal(0.0, read_sigma, out.shape[:2] + (1,) if gray else out.shape)
    return out.astype(np.float32)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip through OpenCV at ``quality`` (1..100), 4:2:0."""
    if not 1 <= quality <= 100:
        raise ConfigError(f"JPEG quality must be 1..100, got {quality}", key="quality")
    bgr = np.round(np.clip(img[..., ::-1], 0, 1) * 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode JPEG")
    return (cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0)


def video_codec(frames: np.ndarray, *, codec: Codec, crf: int | None = None,
                bitrate: int | None = None, fps: int = 25,
                preset: str = "veryfast") -> np.ndarray:
    """Encode (T, H, W, 3) frames with a real codec (PyAV, single thread) and decode them.

    The blocking, ringing and mosquito noise are the codec's own. H.264 takes ``crf``
    (0..51) and an x264 ``preset``; MPEG-2 and MPEG-4 Part 2 take ``bitrate`` (bits/s). Frames
    are padded to whole 16x16 macroblocks by edge replication and cropped back, and libx264
    runs without its AVX-512 routines where the CPU has them (:mod:`revival.io.x264`); both
    keep the round trip deterministic. Frame count is preserved.
    """
    if frames.ndim != 4 or frames.shape[3] != 3:
        raise ConfigError(f"video_codec expects (T, H, W, 3), got {frames.shape}", key="frames")
    t, h, w, _ = frames.shape
    # whole 16x16 macroblocks: with partial ones libx264 read bytes beyond the picture and
    # the same clip coded differently from run to run (a test builds the same pairs twice)
    ph, pw = h + (-h) % 16, w + (-w) % 16
    padded = np.pad(frames, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    rgb8 = np.round(np.clip(padded, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream({"h264": "libx264"}.get(codec, codec), rate=fps)
        stream.width, stream.height, stream.pix_fmt = pw, ph, "yuv420p"
        opts = {"threads": "1"}
        if codec == "h264":
            opts = x264_options({**opts, "crf": str(23 if crf is None else crf), "preset": preset})
        else:
            stream.bit_rate = int(bitrate or 1_000_000)
        stream.codec_context.options = opts
        stream.thread_count = 1
        for i, f in enumerate(rgb8):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            # explicit timestamps: without them the first packets' timing was left to the
            # encoder and the round trip differed between runs of the same seed
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    buf.seek(0)
    decoded = []
    with av.open(buf, "r") as inp:
        inp.streams.video[0].thread_type = "SLICE"
        for frame in inp.decode(video=0):
            decoded.append(frame.to_ndarray(format="rgb24"))
    if len(decoded) != t:
        raise RuntimeError(f"{codec} round trip returned {len(decoded)} frames, expected {t}")
    return np.stack(decoded)[:, :h, :w].astype(np.float32) / 255.0


# ---------------------------------------------------------------- second-order chain

@dataclass(frozen=True)
class ChainConfig:
    """Probabilities and ranges of :func:`degrade_chain` (Real-ESRGAN-like defaults)."""

    blur_prob: tuple[float, float] = (1.0, 0.8)
    resize_range: tuple[tuple[float, float], tuple[float, float]] = ((0.15, 1.5), (0.3, 1.2))
    gaussian_sigma: tuple[tuple[float, float], tuple[float, float]] = ((1 / 255, 30 / 255),
                                                                         (1 / 255, 25 / 255))
    poisson_prob: float = 0.4
    gray_noise_prob: float = 0.4
    jpeg_quality: tuple[tuple[int, int], tuple[int, int]] = ((30, 95), (30, 95))
    codec_prob: float = 0.3
    # share of chains whose second round resizes straight to the LR size and compresses
    # last, as footage is compressed at the resolution it is delivered in (the codec's
    # 8x8 grid then lands on the LR pixel grid instead of being resampled)
    compress_last_prob: float = 0.0


def degrade_chain(hr: np.ndarray, *, scale: int, rng: np.random.Generator,
                  config: ChainConfig = ChainConfig()) -> np.ndarray:
    """Two rounds of blur -> resize -> noise -> compression, then resize to HR/scale.

    The first resize factor (``resize_range[0]``) is relative to the HR size, the
    second (``resize_range[1]``) to the final LR size, so the picture's effective
    resolution before the last resize is ``f2 / scale`` of the HR, whatever ``f1`` was.
    With probability ``config.compress_last_prob`` the second round resizes to the LR
    size itself and its compression is the last step (no final resize).

    Args:
        hr: (H, W, 3) float32 RGB in [0, 1]; H and W multiples of ``scale``.
        scale: final downscaling factor.
        rng: the only source of randomness.

    Returns:
        (H/scale, W/scale, 3) float32 in [0, 1], rounded to 8 bits like real frames.
    """
    h, w = hr.shape[:2]
    if h % scale or w % scale:
        raise ConfigError(f"HR size {w}x{h} must be a multiple of scale {scale}", key="scale")
    img = np.asarray(hr, np.float32)
    # drawn only when enabled, so configurations without it keep their random stream
    last = config.compress_last_prob > 0 and rng.random() < config.compress_last_prob
    for order in (0, 1):
        if rng.random() < config.blur_prob[order]:
            img = apply_kernel(img, random_kernel(rng, size=int(rng.choice([7, 11, 15, 21]))))
        if order == 1 and last:
            size = (h // scale, w // scale)
        else:
            # first round: relative to the HR size; second round: relative to the final LR
            # size (as in Real-ESRGAN), so the two factors do not compound
            f = rng.uniform(*config.resize_range[order]) / (scale if order else 1)
            f = max(f, 4.0 / min(h, w))
            size = (max(4, round(h * f)), max(4, round(w * f)))
        img = random_resize(img, size=size, kernel=str(rng.choice(
            ["bicubic", "bilinear", "lanczos", "area"])))
        gray = rng.random() < config.gray_noise_prob
        if rng.random() < config.poisson_prob:
            img = poisson_noise(img, rng.uniform(50, 3000), rng=rng,
                                read_sigma=rng.uniform(0, 3 / 255), gray=gray)
        else:
            img = gaussian_noise(img, rng.uniform(*config.gaussian_sigma[order]), rng=rng,
                                 gray=gray)
        img = np.clip(img, 0, 1)
        if order == 1 and rng.random() < config.codec_prob:
            codec = str(rng.choice(["h264", "mpeg2video", "mpeg4"]))
            img = video_codec(img[None], codec=codec, crf=int(rng.integers(18, 40)),
                              bitrate=int(rng.integers(200_000, 2_000_000)))[0]
        else:
            img = jpeg(img, int(rng.integers(*config.jpeg_quality[order])))
    if not last:
        img = random_resize(img, size=(h // scale, w // scale),
                            kernel=str(rng.choice(["bicubic", "bilinear", "lanczos", "area"])))
    return np.round(np.clip(img, 0, 1) * 255).astype(np.float32) / 255.0
