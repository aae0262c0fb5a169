"""Training pairs for joint denoising, deblocking and upscaling of video.

Web and home video is small, noisy and compressed at the size it is delivered in, and
a video codec codes most frames from their neighbours. So every sample here is a clip
(panned crops of a still, a Vimeo-90K sequence or a run of video frames, as in
:mod:`revival.train.codec_pairs`), degraded the way a camera and an encoder would:

1. optics: with probability ``blur_prob`` one random blur kernel for the whole clip;
2. the downscale to the LR size, one random kernel for the clip;
3. sensor noise drawn afresh for every frame (Gaussian, or Poisson shot + read noise),
   one noise level for the clip, luma-only in a share of clips;
4. compression of the LR clip through a real codec (PyAV): H.264 with inter-coded
   frames, MPEG-2 or MPEG-4 Part 2, or JPEG frame by frame.

The ranges (:data:`WEB`) are those of watchable web and home video: noise up to 15
code values, H.264 CRF 18-38. Heavier blocking is the ``deblock`` model's job. Pairs
are 8-bit (LR frame, clean HR frame); generation is deterministic for a seed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .codec_pairs import list_sources, source_clips
from .data import PairSet
from .degrade import (apply_kernel, gaussian_noise, jpeg, poisson_noise, random_kernel,
                      random_resize, video_codec)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JointConfig:
    """Probabilities and ranges of :func:`degrade_clip` (8-bit code values for noise)."""

    blur_prob: float = 0.4
    blur_sigma: tuple[float, float] = (0.3, 1.6)
    # weights of the downscaling kernels: bicubic, bilinear, Lanczos, area; None = equal
    resample_weights: tuple[float, float, float, float] | None = None
    noise_sigma: tuple[float, float] = (0.0, 15.0)
    poisson_prob: float = 0.3
    photons: tuple[float, float] = (150.0, 3000.0)
    gray_noise_prob: float = 0.3
    h264_prob: float = 0.6
    h264_crf: tuple[int, int] = (18, 38)
    mpeg_prob: float = 0.15
    mpeg_bpp: tuple[float, float] = (0.08, 0.6)
    jpeg_quality: tuple[int, int] = (30, 95)


WEB = JointConfig()
# half of the clips downscaled by bicubic, as FFmpeg's scaler does by default, and a
# quarter blurred, more lightly
WEB_BICUBIC = JointConfig(blur_prob=0.25, blur_sigma=(0.3, 1.2),
                          resample_weights=(0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3))
CONFIGS = {"web": WEB, "web-bicubic": WEB_BICUBIC}


def degrade_clip(clip: np.ndarray, *, scale: int, rng: np.random.Generator,
                 config: JointConfig = WEB) -> tuple[np.ndarray, str]:
    """Degrade a clean clip (T, H, W, 3) float32 in [0, 1] to its LR version.

    H and W must be multiples of ``2 * scale`` (4:2:0 coding needs even LR sides).
    Returns the decoded (T, H/scale, W/scale, 3) float32 clip and a label of the codec.
    """
    t, h, w, _ = clip.shape
    if h % (2 * scale) or w % (2 * scale):
        raise ConfigError(f"clip size {w}x{h} must be a multiple of {2 * scale}", key="clip")
    frames = [np.asarray(f, np.float32) for f in clip]
    if rng.random() < config.blur_prob:
        kernel = random_kernel(rng, size=int(rng.choice([7, 11, 15])), sigma=config.blur_sigma,
                               sinc_prob=0.0)
        frames = [apply_kernel(f, kernel) for f in frames]
    size = (h // scale, w // scale)
    kernels = ["bicubic", "bilinear", "lanczos", "area"]
    if config.resample_weights is None:
        resample = str(rng.choice(kernels))
    else:
        weights = np.asarray(config.resample_weights, np.float64)
        resample = str(rng.choice(kernels, p=weights / weights.sum()))
    frames = [random_resize(f, size=size, kernel=resample) for f in frames]
    gray = rng.random() < config.gray_noise_prob
    if rng.random() < config.poisson_prob:
        photons, read = rng.uniform(*config.photons), rng.uniform(0, 3 / 255)
        frames = [poisson_noise(f, photons, rng=rng, read_sigma=read, gray=gray) for f in frames]
    else:
        sigma = rng.uniform(*config.noise_sigma) / 255
        frames = [gaussian_noise(f, sigma, rng=rng, gray=gray) for f in frames]
    lr = np.clip(np.stack(frames), 0, 1)
    u = rng.random()
    if u < config.h264_prob:
        crf = int(rng.integers(config.h264_crf[0], config.h264_crf[1] + 1))
        preset = str(rng.choice(["veryfast", "medium"]))
        return video_codec(lr, codec="h264", crf=crf, preset=preset), f"h264 crf{crf} {preset}"
    if u < config.h264_prob + config.mpeg_prob:
        codec = str(rng.choice(["mpeg2video", "mpeg4"]))
        bpp = float(np.exp(rng.uniform(*np.log(config.mpeg_bpp))))
        rate = max(20_000, int(bpp * size[0] * size[1] * 25))
        return video_codec(lr, codec=codec, bitrate=rate), f"{codec} {rate // 1000}k"
    q = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    return np.stack([jpeg(f, q) for f in lr]), f"jpeg q{q}"


def build_joint_pairs(folders: list[str | Path], *, scale: int, seed: int, frames: int = 6,
                      keep: tuple[int, ...] = (0, 2, 5), min_lr: int = 24,
                      config: JointConfig = WEB, skip: set[int] | None = None,
                      only: set[int] | None = None) -> PairSet:
    """(LR, HR) 8-bit pairs: every source's clips degraded by :func:`degrade_clip`.

    Args:
        folders: image folders, Vimeo-90K sequence folders or folders of video files
            (training material only; see :func:`revival.train.codec_pairs.list_sources`).
        scale: upscaling factor the pairs train (2..4).
        seed: seeds every random choice.
        frames: clip length; ``keep`` picks which decoded frames become pairs.
        min_lr: clips whose LR would be smaller than this on a side are left out.
        skip, only: indices (into the list of sources) to leave out or to use alone.
    """
    rng = np.random.default_rng(seed)
    sources = list_sources(folders)
    lrs, hrs = [], []
    m = 2 * scale  # LR sides even, for 4:2:0 coding
    for idx, (kind, path) in enumerate(sources):
        if (skip and idx in skip) or (only is not None and idx not in only):
            rng.random()  # keep the stream aligned with the full run
            continue
        for clip in source_clips(kind, path, frames=frames, rng=rng):
            h, w = clip.shape[1] - clip.shape[1] % m, clip.shape[2] - clip.shape[2] % m
            if min(h, w) // scale < min_lr:
                continue
            clip = clip[:, :h, :w]
            lr, _ = degrade_clip(clip.astype(np.float32) / 255.0, scale=scale, rng=rng,
                                 config=config)
            lr8 = np.round(lr * 255.0).astype(np.uint8)
            for k in keep:
                if k < len(clip):
                    lrs.append(lr8[k])
                    hrs.append(np.ascontiguousarray(clip[k]))
    log.info("built %d joint pairs from %d sources", len(lrs), len(sources))
    return PairSet(lr=lrs, hr=hrs, scale=scale)
