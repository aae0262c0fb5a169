"""Revival's own SR models against bicubic: fidelity (Set5/Set14) and speed.

For every registered model with shipped weights, at each precision (fp32, INT8)
and backend (ONNX Runtime, OpenVINO): Y-PSNR/SSIM on Set5 and Set14 (BT.601 Y,
border crop = scale, LRbic x<s> inputs vs GTmod12, outputs rounded to 8 bits), and
milliseconds of model time per 320x180 input frame (median of ``--repeats`` runs
after a warm-up, ``--threads`` threads; all precisions and backends of a model timed in
``--rounds`` interleaved rounds, best round kept). Bicubic is the MATLAB-compatible
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
           "fidelity.x2": {"Set5": 37.8},
           "fast.x2": {"Vid4 city gain over bicubic": 1.0, "fps_720p_int8": 24.0}}
CITY_FRAMES = 10


def evaluate_city(upscale, *, scale: int) -> dict[str, float] | None:
    """Mean Y-PSNR/SSIM over the first Vid4 city frames, LR = MATLAB bicubic (8-bit)."""
    from revival.train.data import read_rgb
    from revival.train.evaluate import psnr_y, ssim_y

    folder = SHARED_DATA / "Vid4" / "GT" / "city"
    if not folder.is_dir():
        return None
    ps, ss = [], []
    for path in sorted(folder.glob("*.png"))[:CITY_FRAMES]:
        hr = read_rgb(path).astype(np.float32) / 255
        hr = hr[:hr.shape[0] // scale * scale, :hr.shape[1] // scale * scale]
        lr = np.round(np.clip(resize(hr, scale=1 / scale, kernel="bicubic"), 0, 1) * 255) / 255
        sr = upscale(lr.astype(np.float32))
        ps.append(psnr_y(sr, hr, border=scale))
        ss.append(ssim_y(sr, hr, border=scale))
    return {"psnr_y": float(np.mean(ps)), "ssim_y": float(np.mean(ss)), "images": len(ps)}


def time_720p(model, *, repeats: int) -> float:
    """Median milliseconds of model time for one 1280x720 input frame."""
    x = np.random.default_rng(0).random((1, model.channels, 720, 1280), dtype=np.float32)
    model.run(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def time_model(model, *, repeats: int) -> tuple[float, float]:
    x = np.random.default_rng(0).random((1, model.channels, 180, 320), dtype=np.float32)
    model.run(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times), 1000 * min(times)


def int8_speedups(results: dict, sets: list[str]) -> list[list[str]]:
    """Rows of the INT8 table: fastest fp32 against fastest INT8 (any backend) per model."""
    rows = []
    for model_id, entry in results.items():
        runs = entry.get("runs") or []
        fp32 = [r for r in runs if r["precision"] == "fp32"]
        int8 = [r for r in runs if r["precision"] == "int8"]
        if not fp32 or not int8:
            continue
        cells = [model_id]
        for key in ("ms_per_320x180", "ms_per_720p"):
            f = min(fp32, key=lambda r: r[key])
            i = min(int8, key=lambda r: r[key])
            cells.append(f"{f[key]:.1f} ({f['backend']}) / {i[key]:.1f} ({i['backend']}) = "
                         f"{f[key] / i[key]:.2f}x")
        loss = max(r["quality"][s]["psnr_y"] - q["quality"][s]["psnr_y"]
                   for r in fp32 for q in int8 if r["backend"] == q["backend"] for s in sets)
        cells.append(f"{loss:+.3f}")
        rows.append(cells)
    return rows


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--models", default=",".join(
        m for m in MODELS if (WEIGHTS_DIR / f"{m}.json").is_file() and MODELS[m].scale > 1))
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3,
                   help="interleaved timing rounds over all precisions and backends")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--update-manifests", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sets = [s for s in ("Set5", "Set14") if (SHARED_DATA / s).is_dir()]
    with_city = (SHARED_DATA / "Vid4" / "GT" / "city").is_dir()
    columns = sets + (["Vid4 city"] if with_city else [])
    results: dict[str, dict] = {}
    rows = []
    for scale in sorted({MODELS[m].scale for m in args.models.split(",")}):
        def bicubic(lr: np.ndarray, scale: int = scale) -> np.ndarray:
            return resize(lr, scale=scale, kernel="bicubic")

        res = {s: evaluate_set(SHARED_DATA / s, bicubic, scale=scale, make_lr=True)
               for s in sets}
        if with_city:
            res["Vid4 city"] = evaluate_city(bicubic, scale=scale)
        results[f"bicubic.x{scale}"] = {"quality": res}
        rows.append([f"bicubic x{scale}", "-", "-", *[f"{res[s]['psnr_y']:.2f} / "
                                                    f"{res[s]['ssim_y']:.4f}" for s in columns],
                     "-", "-"])
    for model_id in args.models.split(","):
        manifest = load_manifest(model_id)
        scale = manifest["input"]["scale"]
        entry: dict = {"params": manifest.get("params"), "arch": manifest.get("arch"),
                       "runs": []}
        models = {(precision, backend): load_sr_model(model_id, precision=precision,
                                                      backend=backend, threads=args.threads)
                  for precision in sorted(manifest["files"]) for backend in available_backends()}
        # timing in interleaved rounds, so fp32 and INT8 see the same machine; each figure
        # is the best round's median (other jobs on a shared machine only add time)
        times: dict = {key: ([], []) for key in models}
        for _ in range(args.rounds):
            for key, model in models.items():
                times[key][0].append(time_model(model, repeats=args.repeats))
                times[key][1].append(time_720p(model, repeats=max(3, args.repeats // 3)))
        for (precision, backend), model in models.items():
            def up(lr: np.ndarray, model=model) -> np.ndarray:
                if model.channels == 1:
                    return model.upscale(rgb_to_y601(lr)[..., None])[..., 0]
                return model.upscale(lr)

            quality = {s: evaluate_set(SHARED_DATA / s, up, scale=scale, make_lr=True)
                       for s in sets}
            if with_city:
                quality["Vid4 city"] = evaluate_city(up, scale=scale)
            small, large = times[(precision, backend)]
            ms = min(m for m, _ in small)
            ms_min = min(m for _, m in small)
            ms_720p = min(large)
            log.info("%s %s %s: %s, %.1f ms", model_id, precision, backend,
                     {s: round(q["psnr_y"], 3) for s, q in quality.items()}, ms)
            entry["runs"].append({"precision": precision, "backend": backend,
                                  "quality": quality, "ms_per_320x180": ms,
                                  "ms_per_320x180_min": ms_min,
                                  "ms_per_320x180_rounds": [m for m, _ in small],
                                  "ms_per_720p": ms_720p, "ms_per_720p_rounds": large,
                                  "fps_720p": 1000 / ms_720p})
            rows.append([model_id, precision, backend,
                         *[f"{quality[s]['psnr_y']:.2f} / {quality[s]['ssim_y']:.4f}"
                           for s in columns], f"{ms:.1f} ({ms_min:.1f})",
                         f"{ms_720p:.0f} ({1000 / ms_720p:.1f} fps)"])
        del models
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
                       for s, q in r["quality"].items()},
                    "ms_per_720p": round(r["ms_per_720p"], 1)} for r in entry["runs"]}
            manifest["benchmark"]["threads"] = args.threads
            path = WEIGHTS_DIR / f"{model_id}.json"
            path.write_text(json.dumps(manifest, indent=2))
    header = ["method", "precision", "backend", *[f"{s} Y-PSNR / SSIM" for s in columns],
              f"ms / 320x180, median (min), best of {args.rounds} rounds, {args.threads} threads",
              "ms / 1280x720 input (fps)"]
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in rows)
    speedups = int8_speedups(results, sets)
    if speedups:
        table += ("\n\n## INT8 against fp32 of the same model\n\n"
                  "Fastest fp32 run against fastest INT8 run, whatever the backend; Y-PSNR loss: "
                  "the largest fp32 - INT8 difference on " + " and ".join(sets) + " on one "
                  "backend. Target: at least 3x faster at no more than 0.1 dB loss.\n\n"
                  "| model | ms per 320x180: fp32 / INT8 = speed-up | ms per 1280x720 input: "
                  "fp32 / INT8 = speed-up | largest Y-PSNR loss (dB) |\n|---|---|---|---|\n")
        table += "\n".join("| " + " | ".join(r) + " |" for r in speedups)
    made = [f"{s} x{k}" for s in sets for k in (2, 4) if not has_lr(SHARED_DATA / s, k)]
    notes = ("Y-PSNR/SSIM: BT.601 Y, border crop = scale, MATLAB-bicubic LR inputs "
             "(LRbicx<s>) vs GTmod12, outputs rounded to 8 bits. Sets without official LR "
             f"files ({', '.join(made) or 'none'}) use LR made from GTmod12 with "
             "revival.stages.resize (MATLAB-compatible bicubic, 8-bit); Vid4 city: first "
             f"{CITY_FRAMES} GT frames, LR made the same way. Speed: model time only "
             "(ONNX input to output): every precision and backend of a model is timed in "
             f"{args.rounds} interleaved rounds, each the median of its repeats (min in "
             "parentheses), and the table shows the best round; the load average at the start "
             "is recorded with the environment (other jobs make times upper bounds). Targets: "
             + json.dumps(TARGETS))
    write_results("sr_models", results, table, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
