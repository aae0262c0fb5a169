"""Model time of every shipped ONNX model, fp32 against INT8, on this machine's CPU.

The speed-up of static INT8 depends on the CPU's integer dot-product instructions
(AVX-512 VNNI, AVX-VNNI, AMX); the quality side does not, and is measured by
``sr_models.py``. This script times only, so that the speed columns can be taken
on several kinds of machine without re-running the quality sets. Each model's
precisions and backends are timed in interleaved rounds (the best round's median
is kept: other jobs only add time). The output is named after the instruction
set, ``docs/benchmarks/int8_speed_<isa>.{json,md}``, so a run on one kind of CPU
does not overwrite another's.

Usage: python benchmarks/int8_speed.py [--models fast.x2,fidelity.x4] [--rounds 3]
       [--repeats 6] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import markdown_table, write_results  # noqa: E402
from sr_models import time_model  # noqa: E402

from revival.models.registry import MODELS, WEIGHTS_DIR, load_manifest  # noqa: E402
from revival.runtime.cpu import cpu_features, isa_class  # noqa: E402
from revival.runtime.session import available_backends, load_sr_model  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(
        m for m in MODELS if (WEIGHTS_DIR / f"{m}.json").is_file()))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    backends = available_backends()
    isa = isa_class(cpu_features()[1])
    results, rows = {}, []
    for model_id in args.models.split(","):
        manifest = load_manifest(model_id)
        precisions = sorted(manifest["files"])
        models = {(pr, b): load_sr_model(model_id, precision=pr, backend=b, threads=args.threads)
                  for pr in precisions for b in backends}
        best: dict = {}
        for _ in range(args.rounds):
            for key, model in models.items():
                median, _ = time_model(model, repeats=args.repeats)
                best[key] = min(best.get(key, median), median)
        del models
        fastest = {pr: min((best[(pr, b)], b) for b in backends) for pr in precisions}
        entry = {"ms_per_320x180": {f"{pr}_{b}": round(best[(pr, b)], 2)
                                    for pr in precisions for b in backends},
                 "fastest_backend": {pr: fastest[pr][1] for pr in precisions},
                 "manifest_preferred_backend": manifest.get("preferred_backend", {})}
        if "fp32" in fastest and "int8" in fastest:
            entry["int8_speedup"] = fastest["fp32"][0] / fastest["int8"][0]
        results[model_id] = entry
        rows.append([model_id, *[f"{best[(pr, b)]:.1f}" if (pr, b) in best else "-"
                                 for pr in ("fp32", "int8") for b in backends],
                     f"{entry['int8_speedup']:.2f}x" if "int8_speedup" in entry else "-",
                     ", ".join(f"{pr} {b}" for pr, (_, b) in fastest.items()),
                     ", ".join(f"{pr} {b}" for pr, b in entry["manifest_preferred_backend"]
                               .items())])
        print(" | ".join(rows[-1]), flush=True)
    header = ["model", *[f"{pr} {b} ms" for pr in ("fp32", "int8") for b in backends],
              "INT8 speed-up (fastest / fastest)", "fastest here", "manifest prefers"]
    notes = (f"Instruction-set class: {isa}. Model time only (ONNX input to output) per "
             f"320x180 input, {args.threads} threads, best of {args.rounds} interleaved rounds "
             f"of {args.repeats} runs (median). \"manifest prefers\" is the backend that "
             "`backend=\"auto\"` takes, measured by sr_models.py on the machine it last ran "
             "on. Issue 4's target: INT8 at least 3x faster than fp32.")
    write_results(f"int8_speed_{isa}", {"isa": isa, "models": results},
                  markdown_table(header, rows), notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
