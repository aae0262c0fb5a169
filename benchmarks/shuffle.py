"""OpenVINO model time with the final pixel shuffle in the graph and outside it.

Every SR model ends in a float ``DepthToSpace``. ``revival.runtime.session`` cuts it
from the OpenVINO graph and does it with :func:`revival.runtime.shuffle.depth_to_space`
(identical output). This script times both ways for every SR model, fp32 and INT8,
at 320x180 and 1280x720 input, in interleaved rounds (the best round's median is
kept: other jobs only add time), and checks that the outputs are equal.

Usage: python benchmarks/shuffle.py [--models fast.x2,realworld.x4] [--rounds 3]
       [--repeats 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import markdown_table, write_results  # noqa: E402

from revival.models.registry import MODELS, WEIGHTS_DIR, load_manifest, weight_path  # noqa: E402
from revival.runtime.shuffle import depth_to_space, strip_depth_to_space  # noqa: E402

SIZES = {"320x180": (180, 320), "1280x720": (720, 1280)}


def compile_both(path: Path, threads: int):
    """(in-graph run, outside run) callables for one ONNX file."""
    import openvino as ov

    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": "f32"}
    whole = core.compile_model(str(path), "CPU", cfg).create_infer_request()
    graph, block = strip_depth_to_space(core.read_model(str(path)))
    if block == 1:
        raise SystemExit(f"{path.name} does not end in a DepthToSpace")
    cut = core.compile_model(graph, "CPU", cfg).create_infer_request()
    pool = ThreadPoolExecutor(threads)

    def in_graph(x: np.ndarray) -> np.ndarray:
        return whole.infer({0: x}, share_inputs=True)[0]

    def outside(x: np.ndarray) -> np.ndarray:
        return depth_to_space(cut.infer({0: x}, share_inputs=True)[0], block, pool=pool)

    return in_graph, outside


def median_ms(run, x: np.ndarray, repeats: int) -> float:
    run(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(
        m for m in MODELS if (WEIGHTS_DIR / f"{m}.json").is_file() and MODELS[m].scale > 1))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    results, rows = {}, []
    for model_id in args.models.split(","):
        manifest = load_manifest(model_id)
        channels = int(manifest["input"]["channels"])
        for precision in sorted(manifest["files"]):
            in_graph, outside = compile_both(weight_path(model_id, precision), args.threads)
            entry = {}
            for size, (h, w) in SIZES.items():
                x = np.random.default_rng(0).random((1, channels, h, w), dtype=np.float32)
                if not np.array_equal(in_graph(x), outside(x)):
                    raise SystemExit(f"{model_id} {precision}: outputs differ")
                repeats = args.repeats if size == "320x180" else max(3, args.repeats // 2)
                best = {"in_graph": [], "outside": []}
                for _ in range(args.rounds):
                    best["in_graph"].append(median_ms(in_graph, x, repeats))
                    best["outside"].append(median_ms(outside, x, repeats))
                a, b = min(best["in_graph"]), min(best["outside"])
                entry[size] = {"in_graph_ms": round(a, 2), "outside_ms": round(b, 2),
                               "saved_percent": round(100 * (a - b) / a, 1)}
                rows.append([model_id, precision, size, f"{a:.1f}", f"{b:.1f}",
                             f"{100 * (a - b) / a:+.0f}%"])
                print(" | ".join(rows[-1]), flush=True)
            results[f"{model_id}_{precision}"] = entry
    header = ["model", "precision", "input", "ms, DepthToSpace in the graph",
              "ms, shuffled outside (runtime default)", "time saved"]
    notes = (f"OpenVINO, {args.threads} threads, model time (input to shuffled output) per "
             f"frame: best of {args.rounds} interleaved rounds, each the median of its runs. "
             "Outputs were checked equal, element for element, before timing.")
    write_results("shuffle", results, markdown_table(header, rows), notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
