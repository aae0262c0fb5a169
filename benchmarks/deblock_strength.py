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
   18, 28 and 38, which reports no quantiser), each decoded file
   restored by the `deblock` stage itself (INT8) at strength 1 and at ``"auto"``.

3. ``--fit-jpeg``: JPEG images and Motion-JPEG video report their quantisation tables, not
   a QP. On the calibration clips' frames (libjpeg quality 5-95), the intra-coded x264 QP
   with the same RGB PSNR is found for every image and quality; its median over images,
   against the log2 of libjpeg's table scale, gives the curve `revival.io.quantiser`
   uses (``JPEG_CURVE_LOG2_SCALE``, ``JPEG_CURVE_QP``). The same
   images then show what the manifest's rule does on JPEG: `deblock.x1`'s gain at the
   rule's strength, at the fallback and at strength 1, per quality.

Usage: python benchmarks/deblock_strength.py [--calibrate | --fit-jpeg] [--frames 12]
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

from revival.io.quantiser import coded_quantiser, frame_quantiser  # noqa: E402
from revival.io.x264 import x264_options  # noqa: E402
from revival.models.registry import WEIGHTS_DIR, load_manifest  # noqa: E402

D = SHARED_DATA
T = SHARED_DATA.parent / "train"
TRAIN_FOLDERS = ["BSD200_train", "T91", "Vimeo90K_septuplet_train", "SAM2_demo_clips"]
STRENGTHS = np.round(np.arange(0.0, 1.51, 0.05), 2)
MODEL = "deblock.x1"
WORST_DB = -0.1  # the most the rule may cost any calibration frame


def encode(clip8: np.ndarray, *, codec: str, crf: int | None = None, bitrate: int | None = None,
           preset: str = "medium") -> bytes:
    """(T, H, W, 3) uint8 RGB through one encoder (4:2:0) into Matroska bytes."""
    buf = io.BytesIO()
    h, w = clip8.shape[1:3]
    with av.open(buf, "w", format="matroska") as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
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


def calibrate(model) -> dict:
    """Per-frame error statistics over the calibration encodes, and the best (a, b)."""
    clips = calibration_clips()
    rows = []   # (clip QP, |r|^2, <d, r>, |d|^2, pixels) per decoded frame
    t0 = time.perf_counter()
    for n, (name, clip8) in enumerate(clips):
        clean = clip8.astype(np.float32) / 255.0
        preset = "medium" if n % 2 == 0 else "veryfast"
        for crf in range(12, 49, 4):
            dec, qps = decode(encode(clip8, codec="libx264", crf=crf, preset=preset))
            known = [q for q in qps if q is not None]
            clip_qp = float(np.mean(known))
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


JPEG_QUALITIES = (5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95)


def x264_intra_psnr(img8: np.ndarray) -> np.ndarray:
    """RGB PSNR of one image coded as an x264 I-frame (4:2:0, preset medium) at QP 0-51."""
    out = []
    for qp in range(52):
        buf = io.BytesIO()
        h, w = img8.shape[:2]
        with av.open(buf, "w", format="matroska") as mux:
            st = mux.add_stream("libx264", rate=25)
            st.width, st.height, st.pix_fmt = w, h, "yuv420p"
            st.codec_context.options = x264_options({"qp": str(qp), "preset": "medium"})
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img8),
                                                              format="rgb24")):
                mux.mux(pkt)
            for pkt in st.encode(None):
                mux.mux(pkt)
        out.append(psnr8(decode(buf.getvalue())[0][0], img8))
    return np.array(out)


def fit_jpeg(model) -> dict:
    """Part 3: the JPEG table scale -> H.264 QP line, and the strength rule on JPEG."""
    import cv2

    from revival.io.quantiser import jpeg_luma_table, jpeg_table_scale

    images = [clip8[i] for _, clip8 in calibration_clips() for i in (0, 3)]
    rule_cfg = load_manifest(MODEL)["auto_strength"]
    log2s, eq, stats = [], [], []   # per quality; per image and quality; per image and quality
    t0 = time.perf_counter()
    for n, img8 in enumerate(images):
        curve = x264_intra_psnr(img8)  # falls with QP
        row_eq, row_stats = [], []
        for q in JPEG_QUALITIES:
            ok, data = cv2.imencode(".jpg", np.ascontiguousarray(img8[:, :, ::-1]),
                                    [cv2.IMWRITE_JPEG_QUALITY, q])
            if n == 0:
                log2s.append(float(np.log2(jpeg_table_scale(jpeg_luma_table(data.tobytes())[0])
                                           / 100.0)))
            dec = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255.0
            p = psnr8(dec, img8)
            # the QP with the same PSNR; outside x264's range it stays at 0 or 51
            row_eq.append(float(np.interp(-p, -curve, np.arange(52.0))))
            clean = img8.astype(np.float64) / 255.0
            d = model.upscale(dec).astype(np.float64) - dec
            r = clean - dec
            row_stats.append((float((r * r).sum()), float((d * r).sum()), float((d * d).sum())))
        eq.append(row_eq)
        stats.append(row_stats)
        print(f"jpeg {n + 1}/{len(images)} ({time.perf_counter() - t0:.0f} s) "
              f"{[round(v, 1) for v in row_eq]}", flush=True)
    eq_a, st = np.array(eq), np.array(stats)        # (images, qualities), (images, q, 3)
    med = np.median(eq_a, axis=0)
    x = np.array(log2s)
    # the curve bends (5 QP per doubling of the steps at low quality, 11 at the highest), so
    # it is kept as points, joined by straight lines; `revival.io.quantiser` holds a copy
    line = np.interp(x, x[::-1], med[::-1])
    rr, dr, dd = st[..., 0], st[..., 1], st[..., 2]

    def gain(sv: np.ndarray) -> np.ndarray:
        return 10 * np.log10(rr / (rr - 2 * sv * dr + sv * sv * dd))

    s_rule = rule(line, rule_cfg["qp_zero"], rule_cfg["qp_span"])
    g_rule = gain(np.broadcast_to(s_rule, rr.shape))
    g_fb = gain(np.full(rr.shape, float(rule_cfg["fallback_strength"])))
    g_one = gain(np.ones(rr.shape))
    # the best rule for JPEG alone, by the criterion of the H.264 calibration
    own = (0.0, 1.0, -np.inf)
    for a in np.arange(-20.0, 40.01, 0.5):
        for b in np.arange(1.0, 60.01, 1.0):
            g = gain(np.broadcast_to(rule(line, a, b), rr.shape))
            if g.min() >= WORST_DB and g.mean() > own[2]:
                own = (float(a), float(b), float(g.mean()))
    held_out = jpeg_evaluation(model, JPEG_QUALITIES, x, med, rule_cfg, own) \
        if (D / "Set14").is_dir() else None
    per_q = []
    for k, q in enumerate(JPEG_QUALITIES):
        best = max(STRENGTHS, key=lambda sv: gain(np.full(rr.shape, sv))[:, k].mean())
        per_q.append({"quality": q, "log2_scale": x[k], "equal_psnr_qp_median": float(med[k]),
                      "equal_psnr_qp_spread": float(eq_a[:, k].std()),
                      "rule_strength": float(s_rule[k]), "gain_rule": float(g_rule[:, k].mean()),
                      "worst_rule": float(g_rule[:, k].min()),
                      "gain_fallback": float(g_fb[:, k].mean()), "gain_at_1": float(g_one[:, k].mean()),
                      "best_strength": float(best),
                      "gain_best": float(gain(np.full(rr.shape, best))[:, k].mean())})
    return {"images": len(images), "qualities": list(JPEG_QUALITIES),
            "curve_log2_scale": [round(float(v), 4) for v in x],
            "curve_qp": [round(float(v), 1) for v in med],
            "mean_gain_rule": float(g_rule.mean()), "worst_rule": float(g_rule.min()),
            "mean_gain_fallback": float(g_fb.mean()), "worst_fallback": float(g_fb.min()),
            "mean_gain_at_1": float(g_one.mean()), "worst_at_1": float(g_one.min()),
            "jpeg_rule": {"a": own[0], "b": own[1], "mean_gain": own[2]},
            "per_quality": per_q, "evaluation": held_out}


def jpeg_evaluation(model, qualities, log2s, curve_qp, rule_cfg, own) -> dict:
    """The rules on evaluation images never used above: Set5 and Set14 at each quality."""
    import cv2

    from revival.io.quantiser import jpeg_luma_table, jpeg_table_scale

    files = sorted((D / "Set5" / "GTmod12").glob("*.png")) + sorted(
        (D / "Set14" / "GTmod12").glob("*.png"))
    names = ("H.264 rule", "JPEG rule", "fallback", "strength 1")
    gains = {n: [] for n in names}     # per image, per quality
    for f in files:
        img8 = cv2.imread(str(f), cv2.IMREAD_COLOR)[:, :, ::-1]
        per = {n: [] for n in names}
        for q in qualities:
            ok, data = cv2.imencode(".jpg", np.ascontiguousarray(img8[:, :, ::-1]),
                                    [cv2.IMWRITE_JPEG_QUALITY, q])
            # the fitted curve itself, so the figures hold before the module is updated
            x = float(np.log2(jpeg_table_scale(jpeg_luma_table(data.tobytes())[0]) / 100.0))
            qp = float(np.interp(x, log2s[::-1], curve_qp[::-1]))
            dec = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].astype(np.float32) / 255.0
            out = model.upscale(dec)
            p_in = psnr8(dec, img8)
            for n, sv in zip(names, (rule(qp, rule_cfg["qp_zero"], rule_cfg["qp_span"]),
                                     rule(qp, own[0], own[1]), rule_cfg["fallback_strength"], 1.0)):
                per[n].append(psnr8(dec + float(sv) * (out - dec), img8) - p_in)
        for n in names:
            gains[n].append(per[n])
        print(f"evaluation {f.parent.parent.name}/{f.stem}: "
              f"{ {n: round(float(np.mean(v)), 3) for n, v in per.items()} }", flush=True)
    arr = {n: np.array(v) for n, v in gains.items()}
    labels = [f"{f.parent.parent.name}/{f.stem}" for f in files]

    def where(a: np.ndarray) -> str:
        i, k = np.unravel_index(int(np.argmin(a)), a.shape)
        return f"{labels[i]} q{qualities[k]}"

    return {"images": labels,
            "mean": {n: float(a.mean()) for n, a in arr.items()},
            "worst": {n: float(a.min()) for n, a in arr.items()},
            "worst_at": {n: where(a) for n, a in arr.items()},
            "per_quality_mean": {n: [float(v) for v in a.mean(axis=0)] for n, a in arr.items()}}


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
    from revival.frames.spec import VideoSpec
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
    # HEVC reports no quantiser: the rule's fallback strength applies
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
                qp = coded_quantiser(path)
                with VideoReader(path) as reader:
                    spec = reader.spec.with_(coded_qp=qp)
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
    ap.add_argument("--fit-jpeg", action="store_true",
                    help="fit the JPEG table -> QP line and check the rule on JPEG (part 3)")
    ap.add_argument("--frames", type=int, default=12, help="frames per evaluation clip")
    ap.add_argument("--update-manifest", action="store_true",
                    help="with --calibrate or --fit-jpeg: write the rule into deblock.x1's "
                         "manifest")
    args = ap.parse_args()
    from revival.runtime.session import load_sr_model

    if args.fit_jpeg:
        if not T.is_dir():
            print(f"training data not found at {T}", file=sys.stderr)
            return 2
        res = fit_jpeg(load_sr_model(MODEL, precision="int8"))
        print({k: v for k, v in res.items() if k != "per_quality"})
        table = markdown_table(
            ["JPEG quality", "equal-PSNR x264 QP (median, spread)", "rule's strength", "gain with the rule (worst image)", "gain at the fallback",
             "gain at strength 1", "best strength (gain)"],
            [[r["quality"], f"{r['equal_psnr_qp_median']:.1f} ({r['equal_psnr_qp_spread']:.1f})",
              f"{r['rule_strength']:.2f}",
              f"{r['gain_rule']:+.3f} ({r['worst_rule']:+.3f})", f"{r['gain_fallback']:+.3f}",
              f"{r['gain_at_1']:+.3f}", f"{r['best_strength']:g} ({r['gain_best']:+.3f})"]
             for r in res["per_quality"]])
        notes = (f"{res['images']} images (frames 0 and 3 of the strength calibration clips: "
                 f"held-out training sources and VSPW video frames), OpenCV/libjpeg 4:2:0 at "
                 f"each quality, decoded by OpenCV as Revival reads images; x264 intra at QP "
                 f"0-51 (preset medium, 4:2:0); the QP of a table is read off the medians "
                 f"(joined by straight lines in log2 of libjpeg's scale). `deblock.x1` INT8, RGB "
                 f"PSNR gain: the manifest's rule {res['mean_gain_rule']:+.3f} dB mean (worst image "
                 f"{res['worst_rule']:+.3f}), the fallback strength {res['mean_gain_fallback']:+.3f} "
                 f"({res['worst_fallback']:+.3f}), strength 1 {res['mean_gain_at_1']:+.3f} "
                 f"({res['worst_at_1']:+.3f}). The best rule fitted to these JPEG images alone "
                 f"by the H.264 calibration's criterion: s = clip((QP - {res['jpeg_rule']['a']:g}) "
                 f"/ {res['jpeg_rule']['b']:g}, 0, 1), mean {res['jpeg_rule']['mean_gain']:+.3f} dB.")
        from revival.io import quantiser
        shipped = np.interp(res["curve_log2_scale"], quantiser.JPEG_CURVE_LOG2_SCALE,
                            quantiser.JPEG_CURVE_QP)
        if np.abs(shipped - np.array(res["curve_qp"])).max() > 0.051:
            print("revival.io.quantiser's JPEG curve differs from this fit; copy in:\n"
                  f"JPEG_CURVE_LOG2_SCALE = {res['curve_log2_scale'][::-1]}\n"
                  f"JPEG_CURVE_QP = {res['curve_qp'][::-1]}")
        ev = res["evaluation"]
        if ev is not None:
            names = list(ev["mean"])
            table += "\n\nEvaluation (Set5 and Set14, never used to fit): mean RGB PSNR gain " \
                     "(dB) per quality\n\n" + markdown_table(
                ["JPEG quality"] + names,
                [[q] + [f"{ev['per_quality_mean'][n][k]:+.3f}" for n in names]
                 for k, q in enumerate(res["qualities"])]
                + [["all, mean (worst image)"] + [
                    f"{ev['mean'][n]:+.3f} ({ev['worst'][n]:+.3f}, {ev['worst_at'][n]})"
                    for n in names]])
        write_results("deblock_strength_jpeg", res, table, notes=notes)
        if args.update_manifest:
            manifest = load_manifest(MODEL)
            manifest["auto_strength"].setdefault("families", {})["jpeg"] = {
                "qp_zero": res["jpeg_rule"]["a"], "qp_span": res["jpeg_rule"]["b"],
                "calibration": "python benchmarks/deblock_strength.py --fit-jpeg "
                               "--update-manifest (frames of the calibration clips as "
                               "libjpeg quality 5-95 images)",
                "mean_gain_db": round(res["jpeg_rule"]["mean_gain"], 4)}
            (WEIGHTS_DIR / f"{MODEL}.json").write_text(json.dumps(manifest, indent=2))
            print(f"wrote the JPEG rule into {MODEL}'s manifest")
        return 0
    if args.calibrate:
        if not T.is_dir():
            print(f"training data not found at {T}", file=sys.stderr)
            return 2
        res = calibrate(load_sr_model(MODEL, precision="int8"))
        print({k: v for k, v in res.items() if k != "bins"})
        table = markdown_table(
            ["QP (H.264 scale)", "frames", "gain at strength 1 (dB)", "best strength",
             "gain at best", "rule's strength (bin centre)", "gain with the rule"],
            [[f"{b['qp_from']}-{b['qp_to']}", b["frames"], f"{b['gain_at_1']:+.3f}",
              b["best_strength"], f"{b['gain_at_best']:+.3f}", f"{b['rule_strength']:.2f}",
              f"{b['gain_rule']:+.3f}"] for b in res["bins"]])
        notes = (f"Calibration: {res['clips']} clean clips (the held-out sources of the "
                 f"deblocking recipe and the VSPW video frames), libx264 CRF 12-48, "
                 f"{res['frames']} decoded frames, "
                 f"`deblock.x1` INT8. Best rule: s = clip((QP - {res['a']:g}) / {res['b']:g}, 0, 1); "
                 f"mean gain {res['mean_gain_rule']:+.3f} dB against {res['mean_gain_at_1']:+.3f} "
                 f"at strength 1 and {res['mean_gain_at_0_5']:+.3f} at 0.5. Where the source "
                 f"reports no quantiser: strength {res['fallback_strength']:g} (mean gain "
                 f"{res['mean_gain_fallback']:+.3f} dB, worst frame "
                 f"{res['worst_frame_fallback']:+.3f}).")
        write_results("deblock_strength_calibration", res, table, notes=notes)
        if args.update_manifest:
            manifest = load_manifest(MODEL)
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
            (WEIGHTS_DIR / f"{MODEL}.json").write_text(json.dumps(manifest, indent=2))
            print(f"wrote auto_strength into {MODEL}'s manifest")
        return 0
    return evaluate(args.frames)


if __name__ == "__main__":
    raise SystemExit(main())
