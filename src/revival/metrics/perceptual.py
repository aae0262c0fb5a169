"""Perceptual distance: ST-LPIPS (shift-tolerant LPIPS, AlexNet), optional extra ``perceptual``.

Standard LPIPS needs torchvision's ImageNet AlexNet weights, which no registry
package ships (the ``lpips`` wheel holds only its linear heads). The
``stlpips-pytorch`` wheel (Ghildyal and Liu, ECCV 2022; BSD-2-Clause licence text,
its classifier says MIT) ships complete weights -- backbone and linear heads -- of
its shift-tolerant AlexNet variant, so it runs with no download. Its network
code imports torchvision, which is not needed for this variant, so the network
is re-implemented here from the published architecture and only the weight file
is read from the installed package (sha256 verified). Inference uses PyTorch on
CPU. Values are *ST-LPIPS*, not LPIPS: comparable with each other, not with
published LPIPS tables.

Install: ``pip install torch`` (CPU build) and ``pip install stlpips-pytorch``.

Example (needs the extra):
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    >>> STLPIPS().distance(img, img)  # doctest: +SKIP
    0.0
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ChecksumError, MissingDependencyError
from ._common import check_pair

log = logging.getLogger(__name__)

WEIGHTS_RELPATH = "weights/vST0.0/alex_shift_tolerant.pth"
WEIGHTS_SHA256 = "b356b382f96010f77d085ee8343ecd9fd322d0a56e8de2b2d0549fafcad8b9ee"
_FIX = ("pip install torch stlpips-pytorch (CPU torch first; stlpips-pytorch ships the "
        "ST-LPIPS AlexNet weights)")
_CHANNELS = (64, 192, 384, 256, 256)


def weights_path() -> Path:
    """Path of ``alex_shift_tolerant.pth`` inside the installed ``stlpips_pytorch`` package.

    Raises:
        MissingDependencyError: the package is not installed.
    """
    spec = importlib.util.find_spec("stlpips_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the lpips metric needs the stlpips-pytorch package. Fix: {_FIX}")
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_RELPATH
    if not path.is_file():
        raise MissingDependencyError(f"{path} is missing from the stlpips-pytorch install. Fix: "
                                     "pip install --force-reinstall stlpips-pytorch")
    return path


@lru_cache(maxsize=1)
def _load_state() -> dict:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(f"the lpips metric needs PyTorch. Fix: {_FIX}") from None
    path = weights_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ChecksumError(f"{path}: sha256 {digest} != expected {WEIGHTS_SHA256}; reinstall "
                            "stlpips-pytorch==0.0.2", path=path)
    return torch.load(path, map_location="cpu", weights_only=True)


def _build():
    state = _load_state()  # first: says how to install PyTorch when it is missing
    import torch
    import torch.nn.functional as F

    def blur(x, filt):  # Downsample(filt_size=3, stride=2, pad_more=True): reflect pad 2
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), filt, stride=2, groups=x.shape[1])

    def features(x):
        s = state
        h = F.conv2d(x, s["net.slice1.0.weight"], s["net.slice1.0.bias"], padding=2)
        h = F.relu(blur(h, s["net.slice1.1.filt"]))
        r1 = h
        h = F.max_pool2d(h, 3, stride=1)
        h = blur(h, s["net.slice2.4.filt"])
        h = F.relu(F.conv2d(h, s["net.slice2.5.weight"], s["net.slice2.5.bias"], padding=2))
        r2 = h
        h = F.max_pool2d(h, 3, stride=1)
        h = blur(h, s["net.slice3.8.filt"])
        h = F.relu(F.conv2d(h, s["net.slice3.9.weight"], s["net.slice3.9.bias"], padding=1))
        r3 = h
        h = F.relu(F.conv2d(h, s["net.slice4.11.weight"], s["net.slice4.11.bias"], padding=1))
        r4 = h
        h = F.relu(F.conv2d(h, s["net.slice5.13.weight"], s["net.slice5.13.bias"], padding=1))
        return r1, r2, r3, r4, h

    def distance(a, b):
        with torch.no_grad():
            shift, scale = state["scaling_layer.shift"], state["scaling_layer.scale"]
            fa = features((a - shift) / scale)
            fb = features((b - shift) / scale)
            total = 0.0
            for k, (x, y) in enumerate(zip(fa, fb)):
                x = x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + 1e-10)
                y = y / (torch.sqrt(torch.sum(y * y, dim=1, keepdim=True)) + 1e-10)
                lin = state[f"lin{k}.model.1.weight"]
                total = total + F.conv2d((x - y) ** 2, lin).mean(dim=(2, 3))
            return total[:, 0]

    return torch, distance


class STLPIPS:
    """ST-LPIPS AlexNet distance (the ``lpips`` key); weights load on first use.

    Raises:
        MissingDependencyError: PyTorch or stlpips-pytorch is not installed.
        ChecksumError: the weight file does not match its recorded sha256.
    """

    def __init__(self) -> None:
        self._torch, self._distance = _build()

    def distance(self, reference: np.ndarray, distorted: np.ndarray, *,
                 data_range: float = 1.0) -> float:
        """ST-LPIPS between two ``(H, W, 3)`` RGB images in ``[0, data_range]`` (0 = identical).

        Images must be at least 32x32.
        """
        ref, dis = check_pair(reference, distorted)
        torch = self._torch

        def tensor(img: np.ndarray):
            x = np.clip(img / data_range, 0, 1) * 2.0 - 1.0
            return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32))

        return float(self._distance(tensor(ref), tensor(dis))[0])
