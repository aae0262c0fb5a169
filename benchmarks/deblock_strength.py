"""How strongly to deblock: the `deblock` model's gain against the source's coded quantiser.

`deblock.x1` was trained mostly on heavy compression (x264 CRF 32-48 in three samples
of four). Applied at full strength to well-coded video it removes real detail. The
quantiser the encoder used (read back from the decoder, `revival.io.quantiser`, on the
H.264 QP scale) says how much the picture was compressed, whatever it shows.

Two parts:

1. ``--calibrate``: the held-out sources of the model's own training recipe (every 25th
   source of BSD200 train, T91, the Vimeo-90K septuplets and the SAM 2 clips, never
   trained on) and the VSPW video frames (not among its sources) as short clips, each through libx264 (preset medium or veryfast) at CRF
   12-48 and decoded with the quantiser exported. For every decoded frame the
   mean-squared-error of ``decoded + s * (model(decoded) - decoded)`` is a quadratic in
   ``s``, so one model run gives the error at every strength. The strength rule
   ``s(QP) = clip((QP - a) / b, 0, 1)`` whose (a, b) gives the highest mean PSNR gain
   over all frames is what `deblock` uses with ``strength = "auto"``.
2. the evaluation (default): Vid4 city and calendar and bigbuckbunny (1/2 size) through
   libx264 preset medium at CRF 12-45 (and MPEG-2 at three bit rates, and libx265 at CRF
   18, 28 and 38, whose slice headers give the QP), each decoded file
   restored by the `deblock` stage itself (INT8) at strength 1 and at ``"auto"``.

JPEG and VP9 sources: ``deblock_strength_jpeg.py`` and ``deblock_strength_vp9.py``.

Usage: python benchmarks/deblock_strength.py [--calibrate] [--frames 12]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402

from revival.io.quantiser import frame_quantiser, read_quantiser  # noqa: E402
from revival.io.x264 import x264_options  # noqa: E402
from revival.models.registry import WEIGHTS_DIR, load_manifest  # noqa: E402

D = SHARED_DATA
T = SHARED_DATA.parent / "train"
TRAIN_FOLDERS = ["BSD200_train", "T91", "Vimeo90K_septuplet_train", "SAM2_demo_clips"]
STRENGTHS = np.round(np.arange(0.0, 1.51, 0.05), 2)
MODEL = "deblock.x1"
WORST_DB = -0.1  # the most the rule may cost any calibration frame


def encode(clip8: np.ndarray, *, codec: str, crf: int | None = None, bitrate: int | None = None,
           preset: str = "medium", options: dict[str, str] | None = None) -> bytes:
    """(T, H, W, 3) uint8 RGB through one encoder (4:2:0) into Matroska bytes.

    ``options`` replace the encoder options made from ``crf`` and ``preset`` (x264's pass
    through :func:`revival.io.x264.x264_options`).
    """
    buf = io.BytesIO()
    h, w = clip8.shape[1:3]
    with av.open(buf, "w", format="matroska") as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if options is not None:
            s.codec_context.options = x264_options(options) if codec == "libx264" else options
        elif codec == "libx264":
            s.codec_context.options = x264_options({"crf": str(crf), "preset": preset})
        elif codec == "libx265":  # no thread pool: see revival.io.encode on x265's flush race
            s.codec_context.options = {"crf": str(crf), "preset": preset,
                                       "x265-params": "log-level=none:pools=none"}
        else:
            s.bit_rate = int(bitrate)
        for f in clip8:
            for pkt in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    return buf.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, list[float | None]]:
    """Decoded RGB frames (float32 in [0, 1]) and each frame's quantiser (H.264 scale)."""
    frames, qps = [], []
    with av.open(io.BytesIO(data)) as inp:
        st = inp.streams.video[0]
        st.codec_context.options = {"export_side_data": "venc_params"}
        st.thread_type = "SLICE"  # frame threads export incomplete tables (revival.io.quantiser)
        for f in inp.decode(st):
            frames.append(f.to_ndarray(format="rgb24"))
            qps.append(frame_quantiser(f))
    return np.stack(frames).astype(np.float32) / 255.0, qps


def calibration_model():
    """``deblock.x1`` INT8 for a calibration, or None (said on stderr) without ../shared/train."""
    if not T.is_dir():
        print(f"training data not found at {T}", file=sys.stderr)
        return None
    from revival.runtime.session import load_sr_model

    return load_sr_model(MODEL, precision="int8")


def write_family_rule(family: str, a: float, b: float, mean_gain: float,
                      calibration: str) -> None:
    """Store a family's own rule under ``auto_strength.families`` of the model's manifest."""
    manifest = load_manifest(MODEL)
    manifest["auto_strength"].setdefault("families", {})[family] = {
        "qp_zero": a, "qp_span": b, "calibration": calibration,
        "mean_gain_db": round(mean_gain, 4)}
    (WEIGHTS_DIR / f"{MODEL}.json").write_text(json.dumps(manifest, indent=2))
    print(f"wrote the {family} rule into {MODEL}'s manifest")


def rule(qp: np.ndarray | float, a: float, b: float) -> np.ndarray:
    return np.clip((np.asarray(qp, dtype=np.float64) - a) / b, 0.0, 1.0)


def calibration_clips(frames: int = 6) -> list[tuple[str, np.ndarray]]:
    """Clean uint8 clips of the held-out sources of the deblocking recipe."""
    from revival.train.codec_pairs import list_sources, source_clips
    from revival.train.sr import VAL_EVERY_SOURCE

    sources = list_sources([T / f for f in TRAIN_FOLDERS])
    rng = np.random.default_rng(0)
    clips = []
    for idx in range(0, len(sources), VAL_EVERY_SOURCE):
        kind, path = sources[idx]
        for k, clip in enumerate(source_clips(kind, path, frames=frames, rng=rng, video_limit=4)):
            h, w = clip.shape[1] - clip.shape[1] % 16, clip.shape[2] - clip.shape[2] % 16
            clips.append((f"{path.stem}#{k}", np.ascontiguousarray(clip[:, :h, :w])))
    # real video besides the panned stills: the VSPW frames (HD video runs, not among the
    # model's training sources), area-downscaled 2x as the SAM 2 clips are, in runs of 6
    import cv2

    for seq in sorted(p for p in (T / "VSPW_demo_frames").iterdir() if p.is_dir()):
        files = sorted(seq.glob("*.jpg"))
        frames8 = [cv2.resize(cv2.imread(str(f))[:, :, ::-1], None, fx=0.5, fy=0.5,
                              interpolation=cv2.INTER_AREA) for f in files]
        for k in range(len(frames8) // frames):
            clip = np.stack(frames8[k * frames:(k + 1) * frames])
            h, w = clip.shape[1] - clip.shape[1] % 16, clip.shape[2] - clip.shape[2] % 16
            clips.append((f"{seq.name}#{k}", np.ascontiguousarray(clip[:, :h, :w])))
    return clips


def calibrate(model, codec: str = "libx264") -> dict:
    """Per-frame error statistics over the calibration encodes, and the best (a, b).

    ``codec`` libx264 (the main rule) or libx265 (HEVC's rule; its QP read from the
    slice headers, the same scale).
    """
    clips = calibration_clips()
    rows = []   # (clip QP, |r|^2, <d, r>, |d|^2, pixels) per decoded frame
    t0 = time.perf_counter()
    for n, (name, clip8) in enumerate(clips):
        clean = clip8.astype(np.float32) / 255.0
        preset = "medium" if n % 2 == 0 else "veryfast"
        for crf in range(12, 49, 4):
            data = encode(clip8, codec=codec, crf=crf, preset=preset)
            dec, qps = decode(data)
            if codec == "libx265":
                with tempfile.TemporaryDirectory() as tmp:
                    (Path(tmp) / "coded.mkv").write_bytes(data)
                    clip_qp = read_quantiser(Path(tmp) / "coded.mkv").qp
            else:
                clip_qp = float(np.mean([q for q in qps if q is not None]))
            for i in (0, 2, 5):
                d = model.upscale(dec[i]).astype(np.float64) - dec[i]
                r = clean[i].astype(np.float64) - dec[i]
                rows.append((clip_qp, float((r * r).sum()), float((d * r).sum()),
                             float((d * d).sum()), r.size))
        print(f"calibration {n + 1}/{len(clips)} {name} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    stats = np.array(rows)
    qp, rr, dr, dd, px = stats.T

    def gain_db(s: np.ndarray, sel: np.ndarray | slice = slice(None)) -> np.ndarray:
        """PSNR gain (dB) of each selected frame at strength(s) ``s``."""
        mse = rr[sel] - 2 * s * dr[sel] + s * s * dd[sel]
        return 10 * np.log10(rr[sel] / mse)

    # the rule with the highest mean gain among those that cost no calibration frame more
    # than WORST_DB (the unconstrained best, a = 2, b = 41, gained 0.004 dB more on average
    # but lost up to 0.21 dB on single frames)
    best = (0.0, 1.0, -np.inf)
    for a in np.arange(-20.0, 40.01, 0.5):
        for b in np.arange(1.0, 60.01, 1.0):
            g = gain_db(rule(qp, a, b))
            if g.min() >= WORST_DB and g.mean() > best[2]:
                best = (float(a), float(b), float(g.mean()))
    a, b = best[0], best[1]
    bins = []
    for lo in range(10, 52, 4):
        sel = (qp >= lo) & (qp < lo + 4)
        if not sel.any():
            continue
        per = {float(s): float(gain_db(s, sel).mean()) for s in STRENGTHS}
        s_best = max(per, key=per.get)
        bins.append({"qp_from": lo, "qp_to": lo + 4, "frames": int(sel.sum()),
                     "gain_at_1": per[1.0], "best_strength": s_best, "gain_at_best": per[s_best],
                     "rule_strength": float(rule(lo + 2.0, a, b)),
                     "gain_rule": float(gain_db(rule(qp[sel], a, b), sel).mean())})
    # one strength for sources that report no quantiser (HEVC, AV1, images): by the same
    # criterion among constants, else the constant whose worst frame loses least
    const = {float(s): gain_db(np.full_like(qp, s)) for s in STRENGTHS}
    allowed = [s for s, g in const.items() if g.min() >= WORST_DB]
    fallback = (max(allowed, key=lambda s: const[s].mean()) if allowed
                else max(const, key=lambda s: const[s].min()))
    return {"clips": len(clips), "frames": int(len(stats)), "a": a, "b": b,
            "mean_gain_rule": best[2], "mean_gain_at_1": float(gain_db(np.ones_like(qp)).mean()),
            "mean_gain_at_0_5": float(gain_db(np.full_like(qp, 0.5)).mean()),
            "fallback_strength": fallback, "mean_gain_fallback": float(const[fallback].mean()),
            "worst_frame_fallback": float(const[fallback].min()), "bins": bins}


EVAL_X264_CRFS = (12, 18, 23, 28, 33, 38, 40, 45)
EVAL_MPEG2_BPP = (0.6, 0.25, 0.1)
EVAL_X265_CRFS = (18, 28, 38)


def eval_clips(frames: int) -> dict[str, np.ndarray]:
    """uint8 (T, H, W, 3) clips of the evaluation data (never used for calibration): the
    deblocking benchmark's clips and Vid4 calendar."""
    import cv2
    from deblock import load_clips

    base = load_clips(frames)
    files = sorted((D / "Vid4" / "GT" / "calendar").glob("*.png"))[:frames]
    clips = {"Vid4 city": base["Vid4 city"],
             "Vid4 calendar": np.stack([cv2.imread(str(f))[:, :, ::-1] for f in files]),
             "bigbuckbunny (1/2)": base["bigbuckbunny (1/2)"]}
    return {k: np.ascontiguousarray(v[:, :v.shape[1] // 16 * 16, :v.shape[2] // 16 * 16])
            for k, v in clips.items()}


def psnr8(out: np.ndarray, clean8: np.ndarray) -> float:
    """PSNR (dB) of float RGB rounded to 8 bits against the clean 8-bit frame."""
    a = np.clip(np.rint(out * 255.0), 0, 255)
    mse = float(np.mean((a - clean8.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / mse)


def evaluate(frames: int) -> int:
    """Part 2: the `deblock` stage (INT8) at strength 1 and "auto" on coded evaluation clips."""
    from revival.io.decode import VideoReader
    from revival.stages.deblock import Deblock, DeblockParams

    if not (D / "Vid4").is_dir():
        print(f"evaluation data not found at {D}", file=sys.stderr)
        return 2
    fixed = Deblock(DeblockParams(strength=1.0, precision="int8"))
    auto = Deblock(DeblockParams(strength="auto", precision="int8"))
    rows = []
    settings = [("x264 medium", f"CRF {c}", dict(codec="libx264", crf=c)) for c in EVAL_X264_CRFS]
    settings += [("MPEG-2", f"{b} bit/px", dict(codec="mpeg2video", bpp=b)) for b in EVAL_MPEG2_BPP]
    # HEVC: the QP of its slice headers and HEVC's own rule
    settings += [("x265 medium", f"CRF {c}", dict(codec="libx265", crf=c)) for c in EVAL_X265_CRFS]
    with tempfile.TemporaryDirectory() as tmp:
        for clip_name, clip8 in eval_clips(frames).items():
            t, h, w = clip8.shape[:3]
            for codec_name, setting, kw in settings:
                kw = dict(kw)
                if "bpp" in kw:
                    kw["bitrate"] = int(kw.pop("bpp") * h * w * 25)
                path = Path(tmp) / "coded.mkv"
                data = encode(clip8, **kw)
                path.write_bytes(data)
                coded = read_quantiser(path)
                qp = coded.qp
                with VideoReader(path) as reader:
                    spec = reader.spec.with_(coded_qp=qp, coded_family=coded.family)
                    decoded = [f.rgb for f in reader.frames()]
                auto.configure(spec)
                fixed.configure(spec)
                p_in = np.mean([psnr8(d, c) for d, c in zip(decoded, clip8)])
                p_fixed = np.mean([psnr8(fixed.process(d[None]), c) for d, c in zip(decoded, clip8)])
                p_auto = np.mean([psnr8(auto.process(d[None]), c) for d, c in zip(decoded, clip8)])
                row = {"clip": clip_name, "codec": codec_name, "setting": setting,
                       "kbit_per_frame": len(data) * 8 / 1000 / t, "coded_qp": qp,
                       "strength_auto": auto.strength, "psnr_input": float(p_in),
                       "gain_strength_1": float(p_fixed - p_in), "gain_auto": float(p_auto - p_in)}
                rows.append(row)
                shown = "none" if qp is None else f"{qp:5.1f}"
                print(f"{clip_name:20s} {codec_name:11s} {setting:12s} QP {shown} auto strength "
                      f"{auto.strength:.2f}: input {p_in:.2f} dB, strength 1 {p_fixed - p_in:+.3f}, "
                      f"auto {p_auto - p_in:+.3f}", flush=True)
    table = markdown_table(
        ["clip", "codec", "setting", "coded QP (H.264 scale)", "automatic strength",
         "PSNR input (dB)", "gain at strength 1 (dB)", "gain, automatic (dB)"],
        [[r["clip"], r["codec"], r["setting"],
          "none" if r["coded_qp"] is None else f"{r['coded_qp']:.1f}", f"{r['strength_auto']:.2f}",
          f"{r['psnr_input']:.2f}", f"{r['gain_strength_1']:+.3f}", f"{r['gain_auto']:+.3f}"]
         for r in rows])
    worst_fixed = min(r["gain_strength_1"] for r in rows)
    worst_auto = min(r["gain_auto"] for r in rows)
    notes = (f"{frames} frames per clip, 4:2:0, decoded by Revival's own decoder; `deblock` "
             f"(`deblock.x1` INT8) on every frame; RGB PSNR with the output rounded to 8 bits. "
             f"Automatic strength: the rule in the model's manifest from the coded quantiser "
             f"(`python benchmarks/deblock_strength.py --calibrate`, held-out training clips; "
             f"see deblock_strength_calibration.md). Worst row: {worst_fixed:+.3f} dB at "
             f"strength 1, {worst_auto:+.3f} dB automatic.")
    write_results("deblock_strength", {"rows": rows, "frames": frames}, table, notes=notes)
    return 0



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true", help="fit the strength rule (part 1)")
    ap.add_argument("--frames", type=int, default=12, help="frames per evaluation clip")
    ap.add_argument("--codec", choices=("libx264", "libx265"), default="libx264",
                    help="with --calibrate: libx265 fits HEVC's own rule (families.hevc)")
    ap.add_argument("--update-manifest", action="store_true",
                    help="with --calibrate: write the rule into deblock.x1's manifest")
    args = ap.parse_args()
    if args.calibrate:
        model = calibration_model()
        if model is None:
            return 2
        res = calibrate(model, codec=args.codec)
        print({k: v for k, v in res.items() if k != "bins"})
        table = markdown_table(
            ["QP (H.264 scale)", "frames", "gain at strength 1 (dB)", "best strength",
             "gain at best", "rule's strength (bin centre)", "gain with the rule"],
            [[f"{b['qp_from']}-{b['qp_to']}", b["frames"], f"{b['gain_at_1']:+.3f}",
              b["best_strength"], f"{b['gain_at_best']:+.3f}", f"{b['rule_strength']:.2f}",
              f"{b['gain_rule']:+.3f}"] for b in res["bins"]])
        notes = (f"Calibration: {res['clips']} clean clips (the held-out sources of the "
                 f"deblocking recipe and the VSPW video frames), {args.codec} CRF 12-48, "
                 f"{res['frames']} decoded frames, "
                 f"`deblock.x1` INT8. Best rule: s = clip((QP - {res['a']:g}) / {res['b']:g}, 0, 1); "
                 f"mean gain {res['mean_gain_rule']:+.3f} dB against {res['mean_gain_at_1']:+.3f} "
                 f"at strength 1 and {res['mean_gain_at_0_5']:+.3f} at 0.5. Where the source "
                 f"reports no quantiser: strength {res['fallback_strength']:g} (mean gain "
                 f"{res['mean_gain_fallback']:+.3f} dB, worst frame "
                 f"{res['worst_frame_fallback']:+.3f}).")
        hevc = args.codec == "libx265"
        write_results("deblock_strength_calibration" + ("_hevc" if hevc else ""), res, table,
                      notes=notes)
        if args.update_manifest and hevc:
            write_family_rule("hevc", res["a"], res["b"], res["mean_gain_rule"],
                              "python benchmarks/deblock_strength.py --calibrate --codec libx265 "
                              "--update-manifest (the same clips, x265 CRF 12-48)")
        elif args.update_manifest:
            manifest = load_manifest(MODEL)
            families = manifest.get("auto_strength", {}).get("families")
            manifest["auto_strength"] = {
                "rule": "strength = clip((qp - qp_zero) / qp_span, 0, 1); qp: the source's mean "
                        "coded quantiser on the H.264 scale; fallback_strength where the "
                        "source reports none",
                "qp_zero": res["a"], "qp_span": res["b"],
                "fallback_strength": res["fallback_strength"], "precision": "int8",
                "calibration": "python benchmarks/deblock_strength.py --calibrate "
                               "--update-manifest (held-out training clips and VSPW video "
                               "frames, x264 CRF 12-48)",
                "mean_gain_db": round(res["mean_gain_rule"], 4),
                "mean_gain_db_at_strength_1": round(res["mean_gain_at_1"], 4)}
            if families:  # JPEG, VP9 and HEVC keep their own rules
                manifest["auto_strength"]["families"] = families
            (WEIGHTS_DIR / f"{MODEL}.json").write_text(json.dumps(manifest, indent=2))
            print(f"wrote auto_strength into {MODEL}'s manifest")
        return 0
    return evaluate(args.frames)


if __name__ == "__main__":
    raise SystemExit(main())
