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


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--models", default=",".join(
        m for m in MODELS if (WEIGHTS_DIR / f"{m}.json").is_file() and MODELS[m].scale > 1))
    p.add_argument("--repeats", type=int, default=10)
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
                if with_city:
                    quality["Vid4 city"] = evaluate_city(up, scale=scale)
                ms, ms_min = time_model(model, repeats=args.repeats)
                ms_720p = time_720p(model, repeats=max(3, args.repeats // 3))
                log.info("%s %s %s: %s, %.1f ms", model_id, precision, backend,
                         {s: round(q["psnr_y"], 3) for s, q in quality.items()}, ms)
                entry["runs"].append({"precision": precision, "backend": backend,
                                      "quality": quality, "ms_per_320x180": ms,
                                      "ms_per_320x180_min": ms_min,
                                      "ms_per_720p": ms_720p, "fps_720p": 1000 / ms_720p})
                rows.append([model_id, precision, backend,
                             *[f"{quality[s]['psnr_y']:.2f} / {quality[s]['ssim_y']:.4f}"
                               for s in columns], f"{ms:.1f} ({ms_min:.1f})",
                             f"{ms_720p:.0f} ({1000 / ms_720p:.1f} fps)"])
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
              f"ms / 320x180, median (min), {args.threads} threads",
              "ms / 1280x720 input (fps)"]
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in rows)
    made = [f"{s} x{k}" for s in sets for k in (2, 4) if not has_lr(SHARED_DATA / s, k)]
    notes = ("Y-PSNR/SSIM: BT.601 Y, border crop = scale, MATLAB-bicubic LR inputs "
             "(LRbicx<s>) vs GTmod12, outputs rounded to 8 bits. Sets without official LR "
             f"files ({', '.join(made) or 'none'}) use LR made from GTmod12 with "
             "revival.stages.resize (MATLAB-compatible bicubic, 8-bit); Vid4 city: first "
             f"{CITY_FRAMES} GT frames, LR made the same way. Speed: model time only "
             "(ONNX input to output), median over repeats; the load average at the start "
             "is recorded with the environment (other jobs make times upper bounds). Targets: "
             + json.dumps(TARGETS))
    write_results("sr_models", results, table, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
