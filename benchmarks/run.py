"""Run named benchmark suites; each writes docs/benchmarks/<suite>.json and .md.

Usage: python benchmarks/run.py [SUITE ...] [-- extra args for a single suite]
       python benchmarks/run.py --list

Suites are an explicit list (no folder scanning); each is a script in this folder
that records machine, versions, commit and its exact command with its figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SUITES = {
    "sr_baselines": ("sr_baselines.py", "bicubic, Lanczos, FFmpeg and Real-ESRGAN x4 on Set5, "
                                        "Set14 and Vid4 city"),
    "denoise": ("denoise.py", "Revival denoise vs FFmpeg denoisers on noisy Vid4 city"),
    "io_throughput": ("io_throughput.py", "decode/encode throughput vs PyAV transcoding"),
    "temporal": ("temporal.py", "temporal consistency, deflicker (vs FFmpeg), scene cuts, speed"),
    "sr_models": ("sr_models.py", "shipped SR models (fp32/INT8, ONNX Runtime/OpenVINO) on Set5 "
                                  "and Set14, time per 320x180 frame"),
    "deblock": ("deblock.py", "deblock model vs FFmpeg deblock/spp/pp7/nlmeans on H.264 CRF "
                              "40/45 of Vid4 city and bigbuckbunny"),
    "sr_ensemble": ("sr_ensemble.py", "geometric self-ensemble (1/2/4/8 runs) of the fidelity "
                                      "models: Set5, Set14, Vid4 city and time per frame"),
    "flow_scale": ("flow_scale.py", "reduced-scale optical flow: Gaussian pyramid vs box "
                                    "downscaling, end-point error on known shifts"),
    "preset_speed": ("preset_speed.py", "end-to-end time of the fast, web, realworld and fidelity "
                                        "presets on real clips, with and without temporal"),
    "int8_speed": ("int8_speed.py", "model time of every shipped model, fp32 vs INT8 on both "
                                    "backends, written per CPU instruction-set class"),
    "shuffle": ("shuffle.py", "OpenVINO model time with the final pixel shuffle in the graph "
                              "and outside it, every SR model, fp32 and INT8"),
    "joint": ("joint.py", "joint denoise + deblock + x2 SR (realworld.x2) vs the same stages in "
                          "sequence on degraded Set14 and Vid4 city"),
    "backend_choice": ("backend_choice.py", "ONNX Runtime against OpenVINO for the same-size "
                                            "models (deblock.x1, denoise.x1)"),
    "deblock_strength": ("deblock_strength.py", "deblocking at strength 1 and at the automatic "
                                                "strength from the coded quantiser (H.264, "
                                                "MPEG-2, HEVC)"),
    "deblock_strength_jpeg": ("deblock_strength_jpeg.py", "JPEG quantisation tables on the "
                                                          "H.264 QP scale, and the JPEG rule"),
    "deblock_strength_vp9": ("deblock_strength_vp9.py", "VP9 quantiser index on the H.264 QP "
                                                        "scale, and the VP9 rule"),
}


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    if "--list" in argv or "-h" in argv or "--help" in argv:
        for name, (script, what) in SUITES.items():
            print(f"{name:16s} {what} ({script})")
        return 0
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITES)}", file=sys.stderr)
        return 2
    if extra and len(names) != 1:
        print("extra arguments after -- need exactly one suite", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        script = HERE / SUITES[name][0]
        if not script.exists():
            print(f"{name}: {script.name} is not in this checkout; skipped", file=sys.stderr)
            continue
        rc = subprocess.call([sys.executable, str(script.relative_to(HERE.parent)), *extra],
                             cwd=HERE.parent)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
