"""What the CPU offers: model name and the SIMD extensions inference speed and INT8 results
depend on.

INT8 convolutions run on different kernels with and without integer dot-product
instructions (VNNI): besides speed, the results themselves can differ (on AVX2, ONNX
Runtime's u8 x s8 kernels add products pairwise in 16 bits, which can saturate), so
figures measured with INT8 models record the extensions of the CPU they came from.
"""

from __future__ import annotations

import platform
from pathlib import Path

SIMD = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8",
        "amx_bf16")


def cpu_features(cpuinfo: str | Path = "/proc/cpuinfo") -> tuple[str, list[str]]:
    """(model name, the extensions of :data:`SIMD` the CPU reports); no extensions where
    ``cpuinfo`` cannot be read (not Linux)."""
    name, flags = None, set()
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("model name") and name is None:
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), [f for f in SIMD if f in flags]


def has_bf16() -> bool:
    """Whether the CPU has native bf16 arithmetic (AVX-512 BF16 or AMX BF16)."""
    simd = cpu_features()[1]
    return "avx512_bf16" in simd or "amx_bf16" in simd


def isa_class(simd: list[str]) -> str:
    """The instruction-set class that decides INT8 speed: ``amx``, ``avx512_vnni``,
    ``avx_vnni``, ``avx512`` or ``avx2`` (``baseline`` below that)."""
    for flag, name in (("amx_int8", "amx"), ("avx512_vnni", "avx512_vnni"),
                       ("avx_vnni", "avx_vnni"), ("avx512f", "avx512"), ("avx2", "avx2")):
        if flag in simd:
            return name
    return "baseline"
