"""VP9 and AV1 sources for `deblock`'s automatic strength: quantiser indices on the H.264 scale.

FFmpeg's VP9 decoder reports each frame's quantiser index (``base_q_idx``, 0-255, plus
segment deltas); AV1 frame headers carry one too (``base_q_idx``, 0-255, read by
`revival.io.av1`). Each is on a scale of its own. This script measures what an index
means on the H.264 QP scale and how strongly `deblock.x1` should act on such video:

1. the calibration clips of ``deblock_strength.py`` (held-out training sources and VSPW
   video frames, 6 frames each) through libvpx-vp9 or SVT-AV1 in constant-quality mode
   over their CRF range, and through x264 at every constant QP 8-51 (no I/P/B offsets, no
   adaptive quantisation); for each encode, the x264 QP with the same mean RGB PSNR. The
   medians of those QPs per CRF, against the median mean index, give the curve
   `revival.io.quantiser` uses (``VP9_CURVE_*``, ``AV1_CURVE_*``);
2. `deblock.x1`'s gain on the same frames at the manifest's rule, at a rule of the
   codec's own (fitted by the H.264 calibration's criterion, no frame worse than -0.1 dB),
   at the fallback and at strength 1;
3. the same strengths on the evaluation clips of ``deblock_strength.py`` (Vid4 city and
   calendar, bigbuckbunny at half size) at four CRFs, never used to fit.

Usage: python benchmarks/deblock_strength_vp9.py [--codec vp9|av1] [--update-manifest]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import markdown_table, write_results  # noqa: E402
from deblock_strength import (MODEL, STRENGTHS, WORST_DB, calibration_clips,  # noqa: E402
                              calibration_model, encode, eval_clips, psnr8, rule,
                              write_family_rule)

from revival.io.quantiser import av1_qindices  # noqa: E402
from revival.models.registry import load_manifest  # noqa: E402

# per codec: label, encoder, its options at a CRF, calibration CRFs, evaluation CRFs,
# encoder description for the notes
CODECS = {
    "vp9": ("VP9", "libvpx-vp9", lambda crf: {"crf": str(crf), "b": "0", "deadline": "good",
                                               "cpu-used": "4", "row-mt": "1"},
            (4, 12, 20, 28, 36, 44, 50, 56, 63), (20, 36, 50, 63),
            "libvpx-vp9 constant quality (deadline good, cpu-used 4)"),
    "av1": ("AV1", "libsvtav1", lambda crf: {"crf": str(crf), "preset": "8"},
            (10, 20, 28, 35, 42, 48, 54, 59, 63), (25, 40, 50, 60),
            "SVT-AV1 constant quality (CRF, preset 8)"),
}
X264_QPS = np.arange(8, 52)
FLAT = "ipratio=1.0:pbratio=1.0:aq-mode=0"
CODEC = "vp9"  # set by main()


def coded(clip8: np.ndarray, crf: int) -> bytes:
    _, encoder, options, *_ = CODECS[CODEC]
    return encode(clip8, codec=encoder, options=options(crf))


def decode(data: bytes) -> tuple[np.ndarray, list[float]]:
    """Decoded RGB frames (float32) and each frame's mean quantiser index as reported (VP9:
    by the decoder; AV1: read from the frame headers)."""
    frames, q = [], []
    if CODEC == "av1":
        with av.open(io.BytesIO(data)) as inp:
            q = [float(v) for v in av1_qindices(inp, inp.streams.video[0], 10_000)]
    with av.open(io.BytesIO(data)) as inp:
        st = inp.streams.video[0]
        if CODEC != "av1":
            st.codec_context.options = {"export_side_data": "venc_params"}
        st.thread_type = "SLICE"
        for f in inp.decode(st):
            frames.append(f.to_ndarray(format="rgb24"))
            for sd in f.side_data:
                if sd.type.name == "VIDEO_ENC_PARAMS":
                    q.append(float(np.mean(sd.qp_map())) if sd.nb_blocks else float(sd.qp))
    return np.stack(frames).astype(np.float32) / 255.0, q


def clip_psnr(dec: np.ndarray, clip8: np.ndarray) -> float:
    return float(np.mean([psnr8(d, c) for d, c in zip(dec, clip8)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", choices=sorted(CODECS), default="vp9")
    ap.add_argument("--update-manifest", action="store_true",
                    help="write the codec's rule into deblock.x1's manifest")
    args = ap.parse_args()
    global CODEC
    CODEC = args.codec
    label, _, _, crfs, _, encoder_note = CODECS[CODEC]
    model = calibration_model()
    if model is None:
        return 2
    clips = calibration_clips()
    scatter = []     # (clip, crf, mean q index, equal-PSNR x264 QP)
    frame_rows = []  # (clip q index, |r|^2, <d, r>, |d|^2) per decoded frame
    t0 = time.perf_counter()
    for n, (name, clip8) in enumerate(clips):
        curve = np.array([clip_psnr(decode(encode(clip8, codec="libx264", options={
            "qp": str(qp), "preset": "medium", "x264-params": FLAT}))[0], clip8) for qp in X264_QPS])
        for crf in crfs:
            dec, q = decode(coded(clip8, crf))
            qi = float(np.mean(q))
            eq = float(np.interp(-clip_psnr(dec, clip8), -curve, X264_QPS.astype(float)))
            scatter.append((n, crf, qi, eq))
            clean = clip8.astype(np.float64) / 255.0
            for i in (0, 2, 5):
                d = model.upscale(dec[i]).astype(np.float64) - dec[i]
                r = clean[i] - dec[i]
                frame_rows.append((qi, float((r * r).sum()), float((d * r).sum()),
                                   float((d * d).sum())))
        print(f"{n + 1}/{len(clips)} {name} ({time.perf_counter() - t0:.0f} s): "
              + ", ".join(f"q{s[2]:.0f}->QP{s[3]:.1f}" for s in scatter[-len(crfs):]),
              flush=True)
    sc, st = np.array(scatter), np.array(frame_rows)
    # the curve: per CRF, the median index and the median equal-PSNR QP over the clips
    qidx = [float(np.median(sc[sc[:, 1] == c, 2])) for c in crfs]
    qp_eq = [float(np.median(sc[sc[:, 1] == c, 3])) for c in crfs]
    spread = [float(sc[sc[:, 1] == c, 3].std()) for c in crfs]
    qp_frames = np.interp(st[:, 0], qidx, qp_eq)
    rr, dr, dd = st[:, 1], st[:, 2], st[:, 3]

    def gain(sv: np.ndarray, sel=slice(None)) -> np.ndarray:
        return 10 * np.log10(rr[sel] / (rr[sel] - 2 * sv * dr[sel] + sv * sv * dd[sel]))

    cfg = load_manifest(MODEL)["auto_strength"]
    own = (0.0, 1.0, -np.inf)
    for a in np.arange(-20.0, 40.01, 0.5):
        for b in np.arange(1.0, 60.01, 1.0):
            g = gain(rule(qp_frames, a, b))
            if g.min() >= WORST_DB and g.mean() > own[2]:
                own = (float(a), float(b), float(g.mean()))
    strengths = {"H.264 rule": rule(qp_frames, cfg["qp_zero"], cfg["qp_span"]),
                 f"{label} rule": rule(qp_frames, own[0], own[1]),
                 "fallback": np.full_like(qp_frames, float(cfg["fallback_strength"])),
                 "strength 1": np.ones_like(qp_frames)}
    calib = {n: {"mean": float(gain(v).mean()), "worst": float(gain(v).min())}
             for n, v in strengths.items()}
    per_crf = []
    for k, crf in enumerate(crfs):
        sel = np.repeat(sc[:, 1] == crf, 3)
        best = max(STRENGTHS, key=lambda v: gain(np.full(int(sel.sum()), v), sel).mean())
        per_crf.append({"crf": crf, "qindex": qidx[k], "qp": qp_eq[k], "qp_spread": spread[k],
                        **{n: float(gain(v[sel], sel).mean()) for n, v in strengths.items()},
                        "best_strength": float(best),
                        "gain_best": float(gain(np.full(int(sel.sum()), best), sel).mean())})
    evaluation = evaluate(model, qidx, qp_eq, cfg, own)
    res = {"codec": CODEC, "clips": len(clips), "crfs": list(crfs),
           "curve_qindex": [round(v, 1) for v in qidx],
           "curve_qp": [round(v, 1) for v in qp_eq], f"{CODEC}_rule": {"a": own[0], "b": own[1],
                                                                       "mean_gain": own[2]},
           "calibration": calib, "per_crf": per_crf, "evaluation": evaluation}
    names = list(strengths)
    table = markdown_table(
        [f"{label} CRF", "mean quantiser index", "equal-PSNR x264 QP (median, spread)"]
        + [f"gain, {n} (dB)" for n in names] + ["best strength (gain)"],
        [[r["crf"], f"{r['qindex']:.0f}", f"{r['qp']:.1f} ({r['qp_spread']:.1f})"]
         + [f"{r[n]:+.3f}" for n in names] + [f"{r['best_strength']:g} ({r['gain_best']:+.3f})"]
         for r in per_crf]
        + [["all", "", ""] + [f"{calib[n]['mean']:+.3f} ({calib[n]['worst']:+.3f})" for n in names]
           + [""]])
    table += ("\n\nEvaluation (never used to fit): RGB PSNR gain (dB) of the `deblock` stage "
              "(INT8) per clip and CRF\n\n" + markdown_table(
                  ["clip", f"{label} CRF", "mean quantiser index", "QP (curve)", "PSNR input"]
                  + [f"{n} (strength)" for n in names],
                  [[r["clip"], r["crf"], f"{r['qindex']:.0f}", f"{r['qp']:.1f}",
                    f"{r['psnr_input']:.2f}"]
                   + [f"{r['gains'][n]:+.3f} ({r['strengths'][n]:.2f})" for n in names]
                   for r in evaluation["rows"]]
                  + [["all rows, mean (worst)", "", "", "", ""]
                     + [f"{evaluation['mean'][n]:+.3f} ({evaluation['worst'][n]:+.3f})"
                        for n in names]]))
    notes = (f"Calibration: {len(clips)} clips of 6 frames (the strength calibration clips of "
             f"deblock_strength.py), {encoder_note} at CRF {crfs[0]}-{crfs[-1]} "
             f"and x264 constant QP {X264_QPS[0]}-{X264_QPS[-1]} ({FLAT}); `deblock.x1` INT8 "
             f"on frames 0, 2 and 5, RGB PSNR gain, mean (worst frame) in the last row. "
             f"{label}'s own rule: s = clip((QP {'-' if own[0] >= 0 else '+'} {abs(own[0]):g}) / "
             f"{own[1]:g}, 0, 1). A curve QP "
             f"at x264 QP {X264_QPS[0]} is pinned there (the lowest measured).")
    write_results(f"deblock_strength_{CODEC}", res, table, notes=notes)
    from revival.io import quantiser
    name = CODEC.upper()
    if (list(np.round(getattr(quantiser, f"{name}_CURVE_QINDEX"), 1)) != res["curve_qindex"]
            or list(np.round(getattr(quantiser, f"{name}_CURVE_QP"), 1)) != res["curve_qp"]):
        print(f"revival.io.quantiser's {label} curve differs from this fit; copy in:\n"
              f"{name}_CURVE_QINDEX = {res['curve_qindex']}\n{name}_CURVE_QP = {res['curve_qp']}")
    if args.update_manifest:
        write_family_rule(CODEC, own[0], own[1], own[2],
                          f"python benchmarks/deblock_strength_vp9.py --codec {CODEC} "
                          f"--update-manifest (the strength calibration clips through "
                          f"{CODECS[CODEC][1]} CRF {crfs[0]}-{crfs[-1]})")
    return 0


def evaluate(model, qidx: list[float], qp_eq: list[float], cfg: dict, own: tuple) -> dict:
    """Part 3: every strength on the evaluation clips through the codec."""
    label, _, _, _, eval_crfs, _ = CODECS[CODEC]
    rows = []
    for clip_name, clip8 in eval_clips(12).items():
        for crf in eval_crfs:
            dec, q = decode(coded(clip8, crf))
            qi = float(np.mean(q[:30]))
            qp = float(np.interp(qi, qidx, qp_eq))
            sv = {"H.264 rule": float(rule(qp, cfg["qp_zero"], cfg["qp_span"])),
                  f"{label} rule": float(rule(qp, own[0], own[1])),
                  "fallback": float(cfg["fallback_strength"]), "strength 1": 1.0}
            outs = [model.upscale(d) for d in dec]
            p_in = clip_psnr(dec, clip8)
            gains = {n: float(np.mean([psnr8(d + v * (o - d), c) for d, o, c
                                       in zip(dec, outs, clip8)]) - p_in) for n, v in sv.items()}
            rows.append({"clip": clip_name, "crf": crf, "qindex": qi, "qp": qp,
                         "psnr_input": p_in, "strengths": sv, "gains": gains})
            print(f"evaluation {clip_name} CRF {crf}: q {qi:.0f} QP {qp:.1f} input {p_in:.2f} "
                  + ", ".join(f"{n} {g:+.3f}" for n, g in gains.items()), flush=True)
    names = list(rows[0]["gains"])
    return {"rows": rows, "mean": {n: float(np.mean([r["gains"][n] for r in rows])) for n in names},
            "worst": {n: float(min(r["gains"][n] for r in rows)) for n in names}}


if __name__ == "__main__":
    raise SystemExit(main())
