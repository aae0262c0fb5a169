"""Training pairs for super-resolution: image folders -> (LR, HR) patches.

HR images are read as 8-bit RGB, optionally shrunk for scale augmentation,
cropped to a multiple of ``scale`` and down-scaled with the MATLAB-compatible
bicubic :func:`revival.stages.resize.resize`; the LR image is rounded to 8 bits,
as the LR test sets are. For luma models both are converted to BT.601 Y'
(full range, [0, 1]), the luma the SR literature evaluates on.

Sampling is deterministic for a given seed: :class:`PatchSampler` draws crops,
flips and 90-degree rotations from its own ``numpy.random.Generator``;
:class:`TensorPatchSampler` draws the same kind of batch with PyTorch on the
training device (a GPU), in one gather per batch instead of a loop over patches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputNotFoundError, UnsupportedFormatError
from ..stages.resize import resize

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
BT601 = (0.299, 0.587, 0.114)


def rgb_to_y601(rgb: np.ndarray) -> np.ndarray:
    """BT.601 full-range Y' of RGB in [0, 1]: (..., 3) -> (...) float32."""
    r, g, b = BT601
    return (r * rgb[..., 0] + g * rgb[..., 1] + b * rgb[..., 2]).astype(np.float32)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an 8-bit image file as RGB uint8 (H, W, 3)."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(path)
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UnsupportedFormatError(f"cannot read image {path}; expected PNG/BMP/JPEG/TIFF/WebP",
                                     path=path)
    return np.ascontiguousarray(img[:, :, ::-1])


def list_images(folders: list[str | Path]) -> list[Path]:
    """Every image file directly inside the given folders, sorted by name per folder."""
    out: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputNotFoundError(folder)
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise UnsupportedFormatError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}",
                                         path=folder)
        out.extend(found)
    return out


def make_pair(hr_rgb8: np.ndarray, *, scale: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(LR, HR) float32 arrays (H, W, C) for one 8-bit RGB image, bicubic degradation.

    HR is cropped to a multiple of ``scale``; LR = round(imresize(HR, 1/scale)).
    """
    h, w = (hr_rgb8.shape[0] // scale) * scale, (hr_rgb8.shape[1] // scale) * scale
    hr = hr_rgb8[:h, :w].astype(np.float32) / 255.0
    lr = resize(hr, scale=1.0 / scale, kernel="bicubic")
    lr = np.round(np.clip(lr, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0
    if channels == 1:
        return rgb_to_y601(lr)[..., None], rgb_to_y601(hr)[..., None]
    return lr, hr


@dataclass
class PairSet:
    """Pre-computed (LR, HR) images held in memory: float32 in [0, 1] or uint8."""

    lr: list[np.ndarray]
    hr: list[np.ndarray]
    scale: int


def shrunk(rgb8: np.ndarray, shrink: tuple[float, ...]) -> list[np.ndarray]:
    """8-bit copies of an RGB image down-scaled by each factor (bicubic, antialiased)."""
    out = []
    for f in shrink:
        img = rgb8
        if f != 1.0:
            small = resize(rgb8.astype(np.float32) / 255.0, scale=f, kernel="bicubic")
            img = np.round(np.clip(small, 0, 1) * 255.0).astype(np.uint8)
        out.append(img)
    return out


def phase_offsets(scale: int, phases: int) -> list[tuple[int, int]]:
    """HR crop offsets (dy, dx) that give ``phases`` different LR sampling grids.

    ``phases`` = q * q with q dividing ``scale``: offsets i * scale / q, j * scale / q. The
    downscaler samples the HR image on a grid fixed to its corner, so every offset turns
    the same content into a different LR image; 1 is the plain pair.

    Raises:
        ValueError: ``phases`` is not such a square.
    """
    q = int(round(phases ** 0.5))
    if phases < 1 or q * q != phases or scale % q:
        raise ValueError(f"phases must be q*q with q dividing the scale {scale} "
                         f"(1, 4, 9 or 16 as the scale allows), got {phases}")
    step = scale // q
    return [(i * step, j * step) for i in range(q) for j in range(q)]


def build_pairs(folders: list[str | Path], *, scale: int, channels: int,
                shrink: tuple[float, ...] = (1.0,), min_lr: int = 24,
                skip: set[int] | None = None, only: set[int] | None = None,
                phases: int = 1) -> PairSet:
    """Load every image of ``folders`` and make bicubic pairs at each ``shrink`` factor.

    ``shrink`` < 1 first down-scales the HR image (bicubic, antialiased), a standard way
    to get more varied training data from a small set. ``phases`` > 1 makes that many
    pairs of each image, their HR crops shifted by a fraction of the scale
    (:func:`phase_offsets`). ``skip`` / ``only``: indices into the sorted image list to
    leave out or to use alone (a held-out validation split).
    """
    offsets = phase_offsets(scale, phases)
    margin = max(max(o) for o in offsets)
    lrs, hrs = [], []
    for idx, path in enumerate(list_images(folders)):
        if (skip and idx in skip) or (only is not None and idx not in only):
            continue
        for img in shrunk(read_rgb(path), shrink):
            if min(img.shape[:2]) - margin < min_lr * scale:
                continue
            for dy, dx in offsets:
                lr, hr = make_pair(img[dy:, dx:], scale=scale, channels=channels)
                lrs.append(lr)
                hrs.append(hr)
    log.info("built %d training pairs from %s", len(lrs), [str(f) for f in folders])
    return PairSet(lr=lrs, hr=hrs, scale=scale)


class PatchSampler:
    """Random aligned (LR, HR) patches with flips and rotations, seeded.

    Images are drawn with probability proportional to their area.
    """

    def __init__(self, pairs: PairSet, *, patch: int, seed: int) -> None:
        self.patch = patch
        self.rng = np.random.default_rng(seed)
        self.use(pairs)

    def use(self, pairs: PairSet) -> None:
        """Draw from ``pairs`` from now on (a fresh degradation of the same sources); the
        random stream carries on."""
        p = self.patch
        areas = np.array([max(0, lr.shape[0] - p + 1) * max(0, lr.shape[1] - p + 1)
                          for lr in pairs.lr], dtype=np.float64)
        if areas.sum() == 0:
            raise ValueError(f"no training image is at least {p} LR pixels on each side")
        self.pairs = pairs
        self.p = areas / areas.sum()

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(LR, HR) batches, shapes (N, C, p, p) and (N, C, p*s, p*s), float32."""
        s, p = self.pairs.scale, self.patch
        lrs, hrs = [], []
        for i in self.rng.choice(len(self.p), size=size, p=self.p):
            lr, hr = self.pairs.lr[i], self.pairs.hr[i]
            y = int(self.rng.integers(0, lr.shape[0] - p + 1))
            x = int(self.rng.integers(0, lr.shape[1] - p + 1))
            a = lr[y:y + p, x:x + p]
            b = hr[y * s:(y + p) * s, x * s:(x + p) * s]
            k = int(self.rng.integers(0, 8))
            if k & 1:
                a, b = a[:, ::-1], b[:, ::-1]
            if k & 2:
                a, b = a[::-1], b[::-1]
            if k & 4:
                a, b = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
            lrs.append(a.transpose(2, 0, 1))
            hrs.append(b.transpose(2, 0, 1))
        return _as_float(np.stack(lrs)), _as_float(np.stack(hrs))


def _as_float(batch: np.ndarray) -> np.ndarray:
    """float32 in [0, 1]; 8-bit pairs (kept as uint8 to save memory) are scaled here."""
    if batch.dtype == np.uint8:
        return batch.astype(np.float32) / 255.0
    return np.ascontiguousarray(batch, dtype=np.float32)


class TensorPatchSampler:
    """:class:`PatchSampler` on a PyTorch device: the pairs live there, padded into one
    stack, and a batch is cut with one gather, so a GPU is not kept waiting by a Python
    loop over patches. Same distribution (images by valid area, uniform crops, the eight
    flips and rotations), its own seeded ``torch.Generator``.
    """

    def __init__(self, pairs: PairSet, *, patch: int, seed: int, device: str = "cpu") -> None:
        import torch

        self.torch, self.patch, self.device = torch, patch, torch.device(device)
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(seed)
        self.use(pairs)

    def use(self, pairs: PairSet) -> None:
        """Draw from ``pairs`` from now on; the random stream carries on."""
        torch, p, s = self.torch, self.patch, pairs.scale
        keep = [i for i, lr in enumerate(pairs.lr) if lr.shape[0] >= p and lr.shape[1] >= p]
        if not keep:
            raise ValueError(f"no training image is at least {p} LR pixels on each side")
        c_lr, c_hr = pairs.lr[keep[0]].shape[2], pairs.hr[keep[0]].shape[2]
        h = max(pairs.lr[i].shape[0] for i in keep)
        w = max(pairs.lr[i].shape[1] for i in keep)
        lr = torch.zeros((len(keep), c_lr, h, w), dtype=torch.float32)
        hr = torch.zeros((len(keep), c_hr, h * s, w * s), dtype=torch.float32)
        for j, i in enumerate(keep):
            a, b = _as_float(pairs.lr[i]), _as_float(pairs.hr[i])
            lr[j, :, :a.shape[0], :a.shape[1]] = torch.from_numpy(a.transpose(2, 0, 1))
            hr[j, :, :b.shape[0], :b.shape[1]] = torch.from_numpy(b.transpose(2, 0, 1))
        span = torch.tensor([[pairs.lr[i].shape[0] - p + 1, pairs.lr[i].shape[1] - p + 1]
                             for i in keep], dtype=torch.float64)
        self.lr, self.hr = lr.to(self.device), hr.to(self.device)
        self.span = span.to(self.device)
        self.weights = (span[:, 0] * span[:, 1]).to(self.device)
        self.scale = s
        self.pairs = pairs

    def state(self) -> dict:
        return {"torch_generator": self.gen.get_state()}

    def set_state(self, state: dict) -> None:
        if "torch_generator" not in state:
            raise ValueError("this checkpoint's sampler state comes from the NumPy sampler; "
                             "resume it with --sampler numpy")
        self.gen.set_state(state["torch_generator"])

    def _cut(self, stack, idx, y0, x0, size):
        torch = self.torch
        ar = torch.arange(size, device=self.device)
        rows = (y0[:, None] + ar[None, :])[:, None, :, None]
        cols = (x0[:, None] + ar[None, :])[:, None, None, :]
        chans = torch.arange(stack.shape[1], device=self.device)[None, :, None, None]
        return stack[idx[:, None, None, None], chans, rows, cols]

    def batch(self, size: int):
        """(LR, HR) float32 tensors on the device, (N, C, p, p) and (N, C, p*s, p*s)."""
        torch, p, s = self.torch, self.patch, self.scale
        idx = torch.multinomial(self.weights, size, replacement=True, generator=self.gen)
        u = torch.rand((size, 2), generator=self.gen, device=self.device, dtype=torch.float64)
        pos = (u * self.span[idx]).floor().long()
        a = self._cut(self.lr, idx, pos[:, 0], pos[:, 1], p)
        b = self._cut(self.hr, idx, pos[:, 0] * s, pos[:, 1] * s, p * s)
        k = torch.randint(0, 8, (size,), generator=self.gen, device=self.device)
        for bit, op in ((1, lambda t: t.flip(-1)), (2, lambda t: t.flip(-2)),
                        (4, lambda t: t.transpose(-1, -2))):
            m = ((k & bit) > 0)[:, None, None, None]
            a, b = torch.where(m, op(a), a), torch.where(m, op(b), b)
        return a.contiguous(), b.contiguous()
