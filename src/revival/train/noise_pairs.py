"""Training data for blind denoising: clean images, with noise drawn afresh for every batch.

The network sees a new noise realisation at every iteration (a fixed noisy copy
per image would let it memorise the noise). Per sample, the noise is

- white Gaussian, independent per RGB channel, sigma ~ U(0, ``sigma_max``), or
- (with probability ``p_sensor``) signal-dependent sensor noise: Poisson-like
  shot noise of variance ``a * x`` plus Gaussian read noise, with a random share
  of it common to the three channels (luma noise) and the rest per channel
  (chroma noise).

Noisy inputs are clipped to [0, 1], as a camera or codec clips them. The
generator for iteration ``it`` is ``default_rng([seed, it])``, so a resumed run
draws exactly the noise an uninterrupted one would.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .data import PairSet, list_images, read_rgb, shrunk

log = logging.getLogger(__name__)

SIGMA_MAX = 55.0 / 255.0
P_SENSOR = 0.3


def build_clean_pairs(folders: list[str | Path], *, shrink: tuple[float, ...] = (1.0,),
                      min_size: int = 96, skip: set[int] = frozenset(),
                      only: set[int] | None = None) -> PairSet:
    """Clean 8-bit RGB images as a scale-1 :class:`PairSet` (input and target the same array).

    ``skip`` / ``only`` select images by their index in :func:`list_images` order
    (held-out validation images).
    """
    imgs = []
    for i, path in enumerate(list_images(folders)):
        if i in skip or (only is not None and i not in only):
            continue
        for img in shrunk(read_rgb(path), shrink):
            if min(img.shape[:2]) >= min_size:
                imgs.append(img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2])
    log.info("%d clean images for denoising from %s", len(imgs), [str(f) for f in folders])
    return PairSet(lr=imgs, hr=imgs, scale=1)


def add_noise(clean: np.ndarray, rng: np.random.Generator, *, sigma_max: float = SIGMA_MAX,
              p_sensor: float = P_SENSOR) -> np.ndarray:
    """Noisy copy of a (N, 3, H, W) float32 batch in [0, 1]; see the module docstring."""
    n = clean.shape[0]
    out = np.empty_like(clean)
    for i in range(n):
        x = clean[i]
        if rng.random() < p_sensor:
            # shot noise (variance a * x) and read noise, partly shared by the channels
            a = rng.uniform(0.0, 0.02)
            read = rng.uniform(0.0, 0.5) * sigma_max
            std = np.sqrt(a * x + read * read)
            shared = rng.uniform(0.0, 1.0)
            common = rng.standard_normal((1,) + x.shape[1:], dtype=np.float32)
            own = rng.standard_normal(x.shape, dtype=np.float32)
            z = np.sqrt(shared) * common + np.sqrt(1.0 - shared) * own
            noisy = x + std.astype(np.float32) * z
        else:
            sigma = rng.uniform(0.0, sigma_max)
            noisy = x + np.float32(sigma) * rng.standard_normal(x.shape, dtype=np.float32)
        out[i] = np.clip(noisy, 0.0, 1.0)
    return out


def noisy_validation(pairs: PairSet, *, sigma: float = 25.0 / 255.0, seed: int = 0) -> PairSet:
    """Held-out pairs with fixed white Gaussian noise (8-bit, as :func:`evaluate_pairs` reads)."""
    rng = np.random.default_rng([seed, 12345])
    lrs = []
    for img in pairs.hr:
        x = img.astype(np.float32) / 255.0
        noisy = np.clip(x + sigma * rng.standard_normal(x.shape, dtype=np.float32), 0, 1)
        lrs.append(np.round(noisy * 255.0).astype(np.uint8))
    return PairSet(lr=lrs, hr=list(pairs.hr), scale=1)
