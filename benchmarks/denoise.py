"""Denoising on real video: Revival's spatial and temporal modes next to FFmpeg's denoisers.

Vid4 city (real footage, ground truth from ../shared/data) with white Gaussian noise
added to every frame (seeded). Peers run through PyAV's FFmpeg filter graph in the same
run: bm3d (spatial), nlmeans (spatial), atadenoise and fftdnoiz (temporal). Each peer's
strength is swept and its best setting reported (an advantage the peers get and Revival,
with its automatic noise estimate, does not). PSNR is RGB on [0, 255] over the scored
frames (the first and last ``radius`` frames are excluded for every method alike).

A second section denoises Set14 (sigma 25) with Revival's spatial denoisers (the learned
``denoise.x1`` model and non-local means) next to FFmpeg's bm3d and nlmeans.

Usage: python benchmarks/denoise.py [--frames 12] [--sigmas 15,25]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402
from _peers import ffmpeg_filter, psnr  # noqa: E402

from revival.analysis import estimate_noise  # noqa: E402
from revival.stages.denoise import Denoise, DenoiseParams, run_clip  # noqa: E402


def _model_available(model_id: str = "denoise.x1") -> bool:
    from revival.models.registry import MODELS

    return model_id in MODELS


def set14_section(sigma: float = 25.0) -> tuple[dict, list[list]]:
    """Set14 with white Gaussian noise: Revival's spatial denoisers against FFmpeg bm3d/nlmeans.

    Time per image is wall time of the whole denoiser call (model load excluded).
    """
    folder = SHARED_DATA / "Set14" / "GTmod12"
    images = [cv2.imread(str(f))[:, :, ::-1].astype(np.float32) / 255
              for f in sorted(folder.glob("*.png"))]
    rng = np.random.default_rng(2500 + int(sigma))
    noisy = [np.clip(im + rng.normal(0, sigma / 255, im.shape), 0, 1).astype(np.float32)
             for im in images]
    entry: dict[str, dict] = {}

    def score(name: str, outs: list[np.ndarray], seconds: float, setting: str = "") -> None:
        p = float(np.mean([psnr(o, c) for o, c in zip(outs, images)]))
        entry[name] = {"psnr": p, "seconds_per_image": seconds / len(images), "setting": setting}
        print(f"Set14 sigma {sigma:g} {name:30s} {p:6.2f} dB {seconds / len(images):6.3f} s/image "
              f"{setting}", flush=True)

    score("noisy input", noisy, 0.0)
    stages = {"revival spatial (auto)": DenoiseParams(mode="spatial"),
              "revival spatial nlm": DenoiseParams(mode="spatial", spatial_method="nlm")}
    if _model_available():
        stages["revival spatial model (fp32)"] = DenoiseParams(mode="spatial", spatial_method="model")
        stages["revival spatial model (int8)"] = DenoiseParams(mode="spatial", spatial_method="model",
                                                               precision="int8")
    for name, params in stages.items():
        stage = Denoise(params)
        outs, secs = [], 0.0
        for im in noisy:
            t = time.perf_counter()
            outs.append(stage.process(im[None], state=stage.start()))
            secs += time.perf_counter() - t
        score(name, outs, secs, "blind" if "model" in name else "automatic sigma")
    for name, settings in {
        "ffmpeg bm3d": [f"bm3d=sigma={sigma * k:g}" for k in (3, 4, 5, 6)],
        "ffmpeg nlmeans": [f"nlmeans=s={min(30.0, v):g}" for v in (sigma / 2, sigma * 2 / 3, sigma)],
    }.items():
        best = None
        for chain in settings:
            outs, secs = [], 0.0
            for im in noisy:
                t = time.perf_counter()
                outs.append(ffmpeg_filter(im[None], chain)[0])
                secs += time.perf_counter() - t
            p = float(np.mean([psnr(o, c) for o, c in zip(outs, images)]))
            if best is None or p > best[0]:
                best = (p, outs, secs, chain)
        score(name, best[1], best[2], best[3])
    rows = [[f"{sigma:g}", name, f"{v['psnr']:.2f}", f"{v['seconds_per_image']:.3f}", v["setting"]]
            for name, v in entry.items()]
    return entry, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--sigmas", default="15,25")
    args = ap.parse_args()
    folder = SHARED_DATA / "Vid4" / "GT" / "city"
    if not folder.is_dir():
        sys.exit(f"{folder} not found: this benchmark needs ../shared/data")
    files = sorted(folder.glob("*.png"))[: args.frames]
    clean = np.stack([cv2.imread(str(f))[:, :, ::-1].astype(np.float32) / 255 for f in files])
    scored = slice(2, len(files) - 2)
    results, rows = {}, []
    for sigma in [float(s) for s in args.sigmas.split(",")]:
        rng = np.random.default_rng(int(sigma))
        noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1).astype(np.float32)
        entry: dict[str, dict] = {}

        def score(name: str, out: np.ndarray, seconds: float, setting: str = "") -> None:
            p = float(np.mean([psnr(o, c) for o, c in zip(out[scored], clean[scored])]))
            entry[name] = {"psnr": p, "seconds_per_frame": seconds / len(files), "setting": setting}
            print(f"sigma {sigma:g} {name:28s} {p:6.2f} dB {seconds / len(files):6.3f} s/frame {setting}",
                  flush=True)

        score("noisy input", noisy, 0.0)
        runs = [("spatial", "auto"), ("spatial", "nlm"), ("temporal", "auto")]
        if _model_available():
            runs.insert(1, ("spatial", "model"))
        for mode, method in runs:
            stage = Denoise(DenoiseParams(mode=mode, spatial_method=method))  # loads the model
            t = time.perf_counter()
            out = run_clip(stage, noisy)
            name = f"revival {mode}" + (f" ({method})" if mode == "spatial" else "")
            score(name, out, time.perf_counter() - t,
                  "blind model" if method == "model" else "automatic sigma")
        entry["estimated_sigma"] = {"value": float(np.median([estimate_noise(f) for f in noisy[:5]]))}
        peers = {
            # FFmpeg's bm3d sigma is not in code values: its best lies near 4-5x the noise sigma
            "ffmpeg bm3d": [f"bm3d=sigma={sigma * k:g}" for k in (3, 4, 5, 6)],
            "ffmpeg nlmeans": [f"nlmeans=s={min(30.0, s):g}" for s in (sigma / 2, sigma * 2 / 3, sigma)],
            "ffmpeg atadenoise (temporal)": [
                f"atadenoise=0a={a}:0b={b}:1a={a}:1b={b}:2a={a}:2b={b}:s=9"
                for a, b in ((0.2, 0.4), (0.3, 0.6), (0.3, 1.2), (0.3, 2.4))],
            "ffmpeg fftdnoiz (temporal)": [f"fftdnoiz=sigma={s:g}:prev=1:next=1"
                                           for s in (sigma, sigma * 2, sigma * 3, sigma * 4)],
        }
        for name, settings in peers.items():
            best = None
            for chain in settings:
                t = time.perf_counter()
                out = ffmpeg_filter(noisy, chain)
                secs = time.perf_counter() - t
                p = float(np.mean([psnr(o, c) for o, c in zip(out[scored], clean[scored])]))
                if best is None or p > best[0]:
                    best = (p, out, secs, chain)
            score(name, best[1], best[2], best[3])
        results[f"sigma_{sigma:g}"] = entry
        for name, v in entry.items():
            if name != "estimated_sigma":
                rows.append([f"{sigma:g}", name, f"{v['psnr']:.2f}", f"{v['seconds_per_frame']:.3f}",
                             v["setting"]])
    table = markdown_table(["noise σ", "method", "PSNR (dB)", "s / frame", "setting"], rows)
    notes = (f"Vid4 city, first {len(files)} frames (704x576), white Gaussian noise per RGB channel, "
             "PSNR on RGB over frames 2..N-3. Peers' strengths are swept and the best is shown. "
             "Target (issue 6): temporal >= spatial + 1 dB.")
    results["set14_sigma_25"], set14_rows = set14_section(25.0)
    table += "\n\n## Set14, white Gaussian noise σ = 25, spatial denoisers\n\n" + markdown_table(
        ["noise σ", "method", "PSNR (dB)", "s / image", "setting"], set14_rows)
    notes += (" Set14 (GTmod12, 14 images): PSNR on RGB over the whole image, noise seeded; the "
              "learned model is blind (no sigma given). Target (issue 6): within 0.5 dB of "
              "FFmpeg bm3d or better, at >= 5x its speed.")
    write_results("denoise", results, table, notes=notes)


if __name__ == "__main__":
    main()
