"""Revival's own SR models against bicubic: fidelity (Set5/Set14) and speed.

For every registered model with shipped weights, at each precision (fp32, INT8)
and backend (ONNX Runtime, OpenVINO): Y-PSNR/SSIM on Set5 and Set14 (BT.601 Y,
border crop = scale, LRbic x<s> inputs vs GTmod12, outputs rounded to 8 bits), and
milliseconds of model time per 320x180 input frame (median of ``--repeats`` runs
after a warm-up, ``--threads`` threads). Bicubic is the MATLAB-compatible
:func:`revival.stages.resize.resize`. Luma models are scored on the Y they produce.

With ``--update-manifests`` the measured figures and the fastest backend per
precision (``preferred_backend``, read by ``backend="auto"``) are written into the
model manifests.

Usage: python benchmarks/sr_models.py [--models fidelity.x4] [--repeats 10] [--threads 2]
       [--update-manifests]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, write_results  # noqa: E402

from revival.models.registry import MODELS, WEIGHTS_DIR, load_manifest  # noqa: E402
from revival.runtime.session import available_backends, load_sr_model  # noqa: E402
from revival.stages.resize import resize  # noqa: E402
from revival.train.evaluate import evaluate_set, has_lr, rgb_to_y601  # noqa: E402

log = logging.getLogger("sr_models")
TARGETS = {"fidelity.x4": {"Set5": 32.0, "Set14": 28.5, "ms_320x180": 50.0},
           "fidelity.x2": {"Set5": 37.8}}


def time_model(model, *, repeats: int) -> tuple[float, float]:
    x = np.random.default_rng(0).random((1, model.channels, 180, 320), dtype=np.float32)
    model.run(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times), 1000 * min(times)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--models", default=",".join(m for m in MODELS
                                                if (WEIGHTS_DIR / f"{m}.json").is_file()))
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--update-manifests", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sets = [s for s in ("Set5", "Set14") if (SHARED_DATA / s).is_dir()]
    results: dict[str, dict] = {}
    rows = []
    for scale in sorted({MODELS[m].scale for m in args.models.split(",")}):
        res = {s: evaluate_set(SHARED_DATA / s, lambda lr: resize(lr, scale=scale,
                                                                 kernel="bicubic"),
                               scale=scale, make_lr=True) for s in sets}
        results[f"bicubic.x{scale}"] = {"quality": res}
        rows.append([f"bicubic x{scale}", "-", "-", *[f"{res[s]['psnr_y']:.2f} / "
                                                    f"{res[s]['ssim_y']:.4f}" for s in sets], "-"])
    for model_id in args.models.split(","):
        manifest = load_manifest(model_id)
        scale = manifest["input"]["scale"]
        entry: dict = {"params": manifest.get("params"), "arch": manifest.get("arch"),
                       "runs": []}
        for precision in sorted(manifest["files"]):
            for backend in available_backends():
                model = load_sr_model(model_id, precision=precision, backend=backend,
                                      threads=args.threads)

                def up(lr: np.ndarray) -> np.ndarray:
                    if model.channels == 1:
                        return model.upscale(rgb_to_y601(lr)[..., None])[..., 0]
                    return model.upscale(lr)

                quality = {s: evaluate_set(SHARED_DATA / s, up, scale=scale, make_lr=True)
                           for s in sets}
                ms, ms_min = time_model(model, repeats=args.repeats)
                log.info("%s %s %s: %s, %.1f ms", model_id, precision, backend,
                         {s: round(q["psnr_y"], 3) for s, q in quality.items()}, ms)
                entry["runs"].append({"precision": precision, "backend": backend,
                                      "quality": quality, "ms_per_320x180": ms,
                                      "ms_per_320x180_min": ms_min})
                rows.append([model_id, precision, backend,
                             *[f"{quality[s]['psnr_y']:.2f} / {quality[s]['ssim_y']:.4f}"
                               for s in sets], f"{ms:.1f} ({ms_min:.1f})"])
        fastest = {}
        for precision in manifest["files"]:
            runs = [r for r in entry["runs"] if r["precision"] == precision]
            fastest[precision] = min(runs, key=lambda r: r["ms_per_320x180"])["backend"]
        entry["preferred_backend"] = fastest
        entry["targets"] = TARGETS.get(model_id, {})
        results[model_id] = entry
        if args.update_manifests:
            manifest["preferred_backend"] = fastest
            manifest["benchmark"] = {
                r["precision"] + "_" + r["backend"]: {
                    "ms_per_320x180": round(r["ms_per_320x180"], 1),
                    **{s: {"psnr_y": round(q["psnr_y"], 3), "ssim_y": round(q["ssim_y"], 4)}
                       for s, q in r["quality"].items()}} for r in entry["runs"]}
            manifest["benchmark"]["threads"] = args.threads
            path = WEIGHTS_DIR / f"{model_id}.json"
            path.write_text(json.dumps(manifest, indent=2))
    header = ["method", "precision", "backend", *[f"{s} Y-PSNR / SSIM" for s in sets],
              f"ms / 320x180, median (min), {args.threads} threads"]
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in rows)
    made = [f"{s} x{k}" for s in sets for k in (2, 4) if not has_lr(SHARED_DATA / s, k)]
    notes = ("Y-PSNR/SSIM: BT.601 Y, border crop = scale, MATLAB-bicubic LR inputs "
             "(LRbicx<s>) vs GTmod12, outputs rounded to 8 bits. Sets without official LR "
             f"files ({', '.join(made) or 'none'}) use LR made from GTmod12 with "
             "revival.stages.resize (MATLAB-compatible bicubic, 8-bit). Speed: model time only "
             "(ONNX input to output), median over repeats, on a shared machine; other "
             "jobs were running, so times are upper bounds. Targets: "
             + json.dumps(TARGETS))
    write_results("sr_models", results, table, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
