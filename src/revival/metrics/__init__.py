"""Fidelity, perceptual, temporal, artifact, stability and colour metrics.

Every metric takes RGB frames in the house convention (``(H, W, 3)``, nominal
range ``[0, data_range]``) with an explicit ``data_range``; see ``docs/metrics.md``
for definitions, conventions and the values each one was checked against.
Optional metrics (VMAF, ST-LPIPS) live in their own modules and raise
:class:`~revival.errors.MissingDependencyError` with the install command.
"""

from .artifacts import blockiness, grid_pattern, ringing
from .color import ciede2000, delta_e_itp
from .compare import CompareResult, compare, compare_frames
from .fidelity import psnr, ssim
from .niqe import niqe
from .registry import DEFAULT_KEYS, METRICS
from .stability import JitterResult, jitter
from .temporal import flicker_index, tof, warping_error

__all__ = [
    "CompareResult", "DEFAULT_KEYS", "JitterResult", "METRICS", "blockiness", "ciede2000",
    "compare", "compare_frames", "delta_e_itp", "flicker_index", "grid_pattern", "jitter", "niqe",
    "psnr", "ringing", "ssim", "tof", "warping_error",
]
