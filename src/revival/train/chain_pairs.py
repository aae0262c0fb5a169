"""Training pairs for real-world super-resolution: clean images and their degraded LR.

Each clean image is cropped to a multiple of ``scale`` and sent ``per_image``
times through :func:`revival.train.degrade.degrade_chain` (two rounds of blur,
random resize, sensor noise and JPEG or a real video codec, then the final
downscale), each time with fresh random parameters. The result is one network
that denoises, deblocks and upscales in one pass (the ``realworld`` models).

:data:`REALWORLD` is the chain used for the shipped models: milder than
Real-ESRGAN's (whose first resize goes down to 0.15 and whose noise reaches
30/255), because a PSNR-trained (L1) model that sees hopeless inputs learns to
blur everything; real home and web video sits at the milder end.

Pairs are stored as 8-bit arrays (LR, HR). Generation is deterministic for a seed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .data import PairSet, list_images, read_rgb
from .degrade import ChainConfig, degrade_chain

log = logging.getLogger(__name__)

REALWORLD = ChainConfig(
    blur_prob=(0.7, 0.3),
    resize_range=((0.5, 1.3), (0.7, 1.1)),
    gaussian_sigma=((1 / 255, 12 / 255), (1 / 255, 8 / 255)),
    poisson_prob=0.3,
    gray_noise_prob=0.4,
    jpeg_quality=((40, 95), (50, 95)),
    codec_prob=0.4,
)


def build_chain_pairs(folders: list[str | Path], *, scale: int, seed: int,
                      per_image: int = 2, config: ChainConfig = REALWORLD,
                      min_lr: int = 24, skip: set[int] | None = None,
                      only: set[int] | None = None) -> PairSet:
    """(LR, HR) 8-bit pairs: every image of ``folders`` degraded ``per_image`` times.

    Args:
        folders: image folders (training material only).
        scale: final downscaling factor (2..4).
        seed: seeds every random choice; a source skipped by ``skip``/``only`` still
            advances the stream identically, so a split does not change the other pairs.
        per_image: degraded copies of each image.
        config: the degradation chain's probabilities and ranges.
        min_lr: images whose LR would be smaller than this on a side are left out.
        skip, only: indices (into the sorted image list) to leave out or to use alone.

    Returns:
        A :class:`PairSet` of uint8 (h, w, 3) LR and (h*scale, w*scale, 3) HR arrays.
    """
    paths = list_images(folders)
    lrs, hrs = [], []
    for idx, path in enumerate(paths):
        rng = np.random.default_rng([seed, idx])
        if (skip and idx in skip) or (only is not None and idx not in only):
            continue
        rgb8 = read_rgb(path)
        h, w = (rgb8.shape[0] // scale) * scale, (rgb8.shape[1] // scale) * scale
        if min(h, w) < min_lr * scale:
            continue
        hr8 = np.ascontiguousarray(rgb8[:h, :w])
        hr = hr8.astype(np.float32) / 255.0
        for _ in range(per_image):
            lr = degrade_chain(hr, scale=scale, rng=rng, config=config)
            lrs.append(np.round(lr * 255.0).astype(np.uint8))
            hrs.append(hr8)
    log.info("built %d chain-degraded x%d pairs from %d images", len(lrs), scale, len(paths))
    return PairSet(lr=lrs, hr=hrs, scale=scale)
