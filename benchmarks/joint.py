"""Joint restoration + SR (``realworld.x2``) against separate stages in sequence.

Test inputs are made from clean material with a fixed, seeded degradation:
bicubic x2 downscaling (MATLAB-compatible), white Gaussian
noise per RGB channel (sigma in 8-bit code values), then real compression — JPEG
for the Set14 stills, libx264 (preset medium, 4:2:0) for the first frames of Vid4
city as one clip. Three conditions: moderate (sigma 5, JPEG q 60 / CRF 28), heavy
(sigma 12, JPEG q 40 / CRF 34), and camera (a Gaussian optical blur of sigma 1.2 HR
pixels before the downscale, sigma 8, JPEG q 50 / CRF 30). Each kind of step lies
inside the ranges the ``realworld`` models were last trained on
(:mod:`revival.train.joint_pairs`); the images do not.

Methods, all from the same degraded LR:

- bicubic x2;
- ``fidelity.x2`` alone (luma model, chroma Lanczos);
- sequential: ``deblock.x1`` then ``fidelity.x2``;
- sequential: non-local-means denoise (automatic sigma), ``deblock.x1``, ``fidelity.x2``;
- sequential: ``deblock.x1`` at the automatic strength of the ``web`` preset (the manifest's
  rule on the source's quantiser: the JPEG tables of Set14's quality, the coded QP of the
  city clip, re-encoded the same way and read back), then ``fidelity.x2``;
- joint: ``realworld.x2`` (one network).

``--scale 4`` runs the same at 4x (``fidelity.x4``, ``realworld.x4``; bicubic x4
downscaling) and writes ``joint_x4`` instead of ``joint``.

Reported: PSNR on RGB and on Y (BT.601, border = scale), and seconds per frame of the
whole chain (ONNX Runtime or OpenVINO as the manifest prefers, fp32, all cores).
Target (issue 6): joint >= sequential + 0.5 dB at equal or lower compute.

``--joint-weights DIR`` scores an unshipped candidate instead of the shipped joint
model: ``realworld.x<s>`` is loaded from DIR (a folder written by
``python -m revival.models.export --out-dir DIR``), and the results go to
``joint_candidate`` / ``joint_x4_candidate`` (ignored by git), not the shipped tables.

Usage: python benchmarks/joint.py [--frames 10] [--scale 2|4] [--joint-weights DIR]
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
from _peers import psnr  # noqa: E402

from revival.analysis import estimate_noise  # noqa: E402
from revival.runtime.session import load_sr_model  # noqa: E402
from revival.stages.deblock import deblock  # noqa: E402
from revival.stages.denoise import nlm  # noqa: E402
from revival.stages.resize import resize  # noqa: E402
from revival.stages.upscale import upscale  # noqa: E402
from revival.train.degrade import jpeg, video_codec  # noqa: E402
from revival.train.evaluate import psnr_y  # noqa: E402

CONDITIONS = {"moderate": {"sigma": 5.0, "jpeg": 60, "crf": 28, "blur": 0.0},
              "heavy": {"sigma": 12.0, "jpeg": 40, "crf": 34, "blur": 0.0},
              "camera": {"sigma": 8.0, "jpeg": 50, "crf": 30, "blur": 1.2}}


def load_sets(frames: int, scale: int = 2) -> dict[str, tuple[str, list[np.ndarray]]]:
    """name -> (kind, clean HR frames as float32 RGB, sides multiples of 2 * scale)."""
    sets = {}
    gt = SHARED_DATA / "Set14" / "GTmod12"
    if gt.is_dir():
        sets["Set14"] = ("images", [cv2.imread(str(p))[:, :, ::-1].astype(np.float32) / 255
                                    for p in sorted(gt.glob("*.png"))])
    city = SHARED_DATA / "Vid4" / "GT" / "city"
    if city.is_dir():
        sets["Vid4 city"] = ("clip", [cv2.imread(str(p))[:, :, ::-1].astype(np.float32) / 255
                                      for p in sorted(city.glob("*.png"))[:frames]])
    if not sets:
        sys.exit(f"no Set14 or Vid4 under {SHARED_DATA}: this benchmark needs ../shared/data")
    m = 2 * max(scale, 2)
    return {k: (kind, [f[:f.shape[0] // m * m, :f.shape[1] // m * m] for f in fr])
            for k, (kind, fr) in sets.items()}


def degrade(kind: str, hrs: list[np.ndarray], cond: dict, seed: int,
            scale: int = 2) -> list[np.ndarray]:
    lrs = noisy_lr(hrs, cond, seed, scale)
    if kind == "images":
        return [jpeg(lr, cond["jpeg"]) for lr in lrs]
    return list(video_codec(np.stack(lrs), codec="h264", crf=cond["crf"], preset="medium"))


def noisy_lr(hrs: list[np.ndarray], cond: dict, seed: int, scale: int) -> list[np.ndarray]:
    """The degradation before the codec: optics, downscale, sensor noise, 8 bits."""
    rng = np.random.default_rng(seed)
    lrs = []
    for hr in hrs:
        if cond["blur"] > 0:  # optics: Gaussian PSF on the full-resolution picture
            hr = cv2.GaussianBlur(hr, (0, 0), cond["blur"], borderType=cv2.BORDER_REFLECT_101)
        lr = resize(hr, scale=1 / scale, kernel="bicubic")
        lr = lr + rng.normal(0, cond["sigma"] / 255, lr.shape).astype(np.float32)
        lrs.append(np.round(np.clip(lr, 0, 1) * 255).astype(np.float32) / 255)
    return lrs


def source_quantiser(kind: str, hrs: list[np.ndarray], cond: dict,
                     scale: int = 2) -> tuple[float | None, str | None]:
    """The quantiser `deblock`'s automatic strength would read from the degraded source."""
    from revival.io.jpeg import jpeg_quantiser
    from revival.io.quantiser import read_quantiser

    if kind == "images":  # OpenCV's tables depend on the quality only
        ok, data = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8),
                                [cv2.IMWRITE_JPEG_QUALITY, int(cond["jpeg"])])
        return jpeg_quantiser(data.tobytes()), "jpeg"
    import tempfile

    from deblock_strength import encode

    lrs = noisy_lr(hrs, cond, seed=0, scale=scale)
    clip8 = np.stack([np.round(np.clip(x, 0, 1) * 255).astype(np.uint8) for x in lrs])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "coded.mkv"
        path.write_bytes(encode(clip8, codec="libx264", crf=int(cond["crf"])))
        coded = read_quantiser(path)
    return coded.qp, coded.family


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10, help="Vid4 city frames")
    ap.add_argument("--threads", type=int, default=0, help="inference threads (0 = all)")
    ap.add_argument("--scale", type=int, default=2, choices=(2, 4),
                    help="2: realworld.x2 against fidelity.x2 chains (writes joint.md); "
                         "4: realworld.x4 against fidelity.x4 chains (writes joint_x4.md)")
    ap.add_argument("--joint-weights", type=Path, default=None,
                    help="folder holding a candidate realworld.x<scale> (ONNX and manifest)")
    args = ap.parse_args()
    th, s = args.threads or None, args.scale
    fid = load_sr_model(f"fidelity.x{s}", threads=th)
    dbk = load_sr_model("deblock.x1", threads=th)
    joint = load_sr_model(f"realworld.x{s}", threads=th, weights_dir=args.joint_weights)

    def bicubic(lr):
        return np.clip(resize(lr, scale=s, kernel="bicubic"), 0, 1)

    def fidelity(lr):
        return upscale(lr, model=fid)

    def seq_deblock(lr):
        return upscale(deblock(lr, model=dbk), model=fid)

    def seq_denoise(lr):
        sigma = estimate_noise(lr)
        return upscale(deblock(nlm(lr, sigma=sigma), model=dbk), model=fid)

    def realworld(lr):
        return upscale(lr, model=joint)

    from revival.models.registry import load_manifest
    from revival.stages.deblock import auto_strength

    rule = load_manifest("deblock.x1")["auto_strength"]
    auto = {"strength": 1.0}  # set per input below

    def seq_auto(lr):
        return upscale(deblock(lr, model=dbk, strength=auto["strength"]), model=fid)

    joint_name = f"realworld.x{s} (joint)"
    methods = {"bicubic": bicubic, f"fidelity.x{s}": fidelity,
               f"deblock.x1 -> fidelity.x{s}": seq_deblock,
               f"nlm denoise -> deblock.x1 -> fidelity.x{s}": seq_denoise,
               f"deblock.x1 (automatic strength) -> fidelity.x{s}": seq_auto,
               joint_name: realworld}
    results, rows = {}, []
    for set_name, (kind, hrs) in load_sets(args.frames, s).items():
        for cond_name, cond in CONDITIONS.items():
            lrs = degrade(kind, hrs, cond, seed=0, scale=s)
            key = f"{set_name} {cond_name}"
            qp, family = source_quantiser(kind, hrs, cond, scale=s)
            auto["strength"] = auto_strength(qp, rule, family)
            if auto["strength"] is None:
                auto["strength"] = float(rule["fallback_strength"])
            entry = {"_condition": {**cond, "frames": len(hrs), "kind": kind},
                     "_automatic_strength": {"qp": qp, "family": family,
                                             "strength": auto["strength"]}}
            print(f"{set_name} {cond_name}: source QP {qp} ({family}), automatic strength "
                  f"{auto['strength']:.2f}", flush=True)
            for name, fn in methods.items():
                fn(lrs[0])  # warm-up
                outs, secs = [], 0.0
                for lr in lrs:
                    t = time.perf_counter()
                    outs.append(fn(lr))
                    secs += time.perf_counter() - t
                p = float(np.mean([psnr(o, h) for o, h in zip(outs, hrs)]))
                py = float(np.mean([psnr_y(o, h, border=s) for o, h in zip(outs, hrs)]))
                entry[name] = {"psnr": p, "psnr_y": py, "seconds_per_frame": secs / len(lrs)}
                print(f"{key:22s} {name:42s} {p:6.2f} dB  Y {py:6.2f}  {secs / len(lrs):6.3f} s/f",
                      flush=True)
            best_seq = max((entry[n]["psnr"], n) for n in methods if "->" in n)
            entry["_joint_minus_best_sequential_db"] = entry[joint_name]["psnr"] - best_seq[0]
            for name in methods:
                v = entry[name]
                rows.append([key, name, f"{v['psnr']:.2f}", f"{v['psnr_y']:.2f}",
                             f"{v['seconds_per_frame']:.3f}"])
            results[key] = entry
    table = markdown_table(["input", "method", "PSNR RGB (dB)", "PSNR Y (dB)", "s / frame"], rows)
    gains = ", ".join(f"{k}: {v['_joint_minus_best_sequential_db']:+.2f} dB"
                      for k, v in results.items())
    notes = (f"Degradation: bicubic x{s}, Gaussian noise per RGB channel, then JPEG (Set14) or "
             "libx264 preset medium (Vid4 city, one clip); moderate = sigma 5, q 60 / CRF 28; "
             "heavy = sigma 12, q 40 / CRF 34; camera = Gaussian blur sigma 1.2 (HR pixels) before "
             "the downscale, sigma 8, q 50 / CRF 30. s / frame covers every stage of the chain. "
             "Automatic strength (the `web` preset's): "
             + ", ".join(f"{k} {v['_automatic_strength']['strength']:.2f} (QP "
                         f"{v['_automatic_strength']['qp']:.1f}, {v['_automatic_strength']['family']})"
                         for k, v in results.items()) + ". "
             f"Joint minus the best sequential chain: {gains}. Target (issue 6): >= +0.5 dB "
             "at equal or lower compute.")
    name = "joint" if s == 2 else f"joint_x{s}"
    if args.joint_weights is not None:
        name += "_candidate"
        notes += f" Joint model: the candidate in {args.joint_weights}, not the shipped one."
    write_results(name, results, table, notes=notes)


if __name__ == "__main__":
    main()
