"""Options that make libx264 code the same input to the same bits on every run.

On CPUs with AVX-512, libx264's AVX-512 routines (as built into PyAV's FFmpeg) code the
same frames differently from run to run of one process: coding one six-frame 96x96 clip
150 times at CRF 40, preset medium, gave four different bitstreams. With the AVX-512
routines masked out, and with all assembly off, every run gave the same bitstream (one of
the four, the same for both settings). So on AVX-512 CPUs the
encoder is given an explicit CPU mask: every x86 feature up to AVX2, FMA3 and BMI2 (all of
which AVX-512 CPUs have), without AVX-512. Elsewhere x264 keeps its own detection.

Above 8 bits that is not enough: with its frame threads, libx264 coded one 704x576,
12-frame clip at 10 bits (4:2:0 or 4:4:4, CRF 45) to 5-10 different bitstreams in 20 runs,
with or without assembly, with sliced threads, one lookahead thread or no lookahead sync.
One thread gave one bitstream every time (8 bits: one bitstream with threads too). So deep
input is coded on one thread: on a 720p clip at 10 bits that took 1.4-1.7 s against
0.9-1.4 s per 24 frames (x264 medium, two cores).
"""

from __future__ import annotations

from functools import lru_cache

# x264.h: X264_CPU_MMX .. X264_CPU_AVX (bits 0-9), FMA3, BMI1, BMI2, AVX2 (bits 12-15);
# XOP and FMA4 (bits 10-11, AMD before Zen) and AVX512 (bit 16) left out
X264_CPU_AVX512 = 1 << 16
X264_MASK_WITHOUT_AVX512 = 0x3FF | 0xF000


def _cpu_features() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return {}
    return dict(__cpu_features__)


@lru_cache(maxsize=1)
def reproducible_params() -> str:
    """``x264-params`` entries that make the encode reproducible here ("" where none are needed)."""
    feats = _cpu_features()
    if all(feats.get(f) for f in ("AVX512F", "AVX512BW", "AVX512DQ", "AVX512VL")):
        return f"asm={X264_MASK_WITHOUT_AVX512}"
    return ""


def x264_options(options: dict[str, str], *, bit_depth: int = 8) -> dict[str, str]:
    """``options`` for libx264 with :func:`reproducible_params` added to its ``x264-params``,
    and one thread for input deeper than 8 bits (see the module text) unless ``options``
    set the threads."""
    out = dict(options)
    if bit_depth > 8:
        out.setdefault("threads", "1")
    extra = reproducible_params()
    if not extra:
        return out
    params = [p for p in out.get("x264-params", "").split(":") if p]
    if not any(p.split("=", 1)[0] == "asm" for p in params):
        params.append(extra)
    out["x264-params"] = ":".join(params)
    return out
