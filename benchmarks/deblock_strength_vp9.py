"""VP9 sources for `deblock`'s automatic strength: the quantiser index on the H.264 scale.

FFmpeg's VP9 decoder reports each frame's quantiser index (``base_q_idx``, 0-255, plus
segment deltas), on a scale of its own. This script measures what an index means on the
H.264 QP scale and how strongly `deblock.x1` should act on VP9 video:

1. the calibration clips of ``deblock_strength.py`` (held-out training sources and VSPW
   video frames, 6 frames each) through libvpx-vp9 in constant-quality mode at CRF 4-63,
   and through x264 at every constant QP 8-51 (no I/P/B offsets, no adaptive
   quantisation); for each VP9 encode, the x264 QP with the same mean RGB PSNR. The
   medians of those QPs over bins of the mean quantiser index give the curve
   `revival.io.quantiser` uses (``VP9_CURVE_QINDEX``, ``VP9_CURVE_QP``);
2. `deblock.x1`'s gain on the same VP9 frames at the manifest's rule, at a rule of VP9's
   own (fitted by the H.264 calibration's criterion, no frame worse than -0.1 dB), at the
   fallback and at strength 1;
3. the same strengths on the evaluation clips of ``deblock_strength.py`` (Vid4 city and
   calendar, bigbuckbunny at half size) through VP9 at four CRFs, never used to fit.

Usage: python benchmarks/deblock_strength_vp9.py [--update-manifest]
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

from revival.models.registry import load_manifest  # noqa: E402

VP9_CRFS = (4, 12, 20, 28, 36, 44, 50, 56, 63)
EVAL_CRFS = (20, 36, 50, 63)
X264_QPS = np.arange(8, 52)
FLAT = "ipratio=1.0:pbratio=1.0:aq-mode=0"


def vp9(clip8: np.ndarray, crf: int) -> bytes:
    return encode(clip8, codec="libvpx-vp9", options={"crf": str(crf), "b": "0", "deadline": "good",
                                                      "cpu-used": "4", "row-mt": "1"})


def decode(data: bytes) -> tuple[np.ndarray, list[float]]:
    """Decoded RGB frames (float32) and each frame's mean quantiser index as reported."""
    frames, q = [], []
    with av.open(io.BytesIO(data)) as inp:
        st = inp.streams.video[0]
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
    ap.add_argument("--update-manifest", action="store_true",
                    help="write VP9's rule into deblock.x1's manifest")
    args = ap.parse_args()
    model = calibration_model()
    if model is None:
        return 2
    clips = calibration_clips()
    scatter = []     # (clip, crf, mean q index, equal-PSNR x264 QP)
    frame_rows = []  # (clip q index, |r|^2, <d, r>, |d|^2) per decoded VP9 frame
    t0 = time.perf_counter()
    for n, (name, clip8) in enumerate(clips):
        curve = np.array([clip_psnr(decode(encode(clip8, codec="libx264", options={
            "qp": str(qp), "preset": "medium", "x264-params": FLAT}))[0], clip8) for qp in X264_QPS])
        for crf in VP9_CRFS:
            dec, q = decode(vp9(clip8, crf))
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
              + ", ".join(f"q{s[2]:.0f}->QP{s[3]:.1f}" for s in scatter[-len(VP9_CRFS):]),
              flush=True)
    sc, st = np.array(scatter), np.array(frame_rows)
    # the curve: per CRF, the median index and the median equal-PSNR QP over the clips
    qidx = [float(np.median(sc[sc[:, 1] == c, 2])) for c in VP9_CRFS]
    qp_eq = [float(np.median(sc[sc[:, 1] == c, 3])) for c in VP9_CRFS]
    spread = [float(sc[sc[:, 1] == c, 3].std()) for c in VP9_CRFS]
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
                 "VP9 rule": rule(qp_frames, own[0], own[1]),
                 "fallback": np.full_like(qp_frames, float(cfg["fallback_strength"])),
                 "strength 1": np.ones_like(qp_frames)}
    calib = {n: {"mean": float(gain(v).mean()), "worst": float(gain(v).min())}
             for n, v in strengths.items()}
    per_crf = []
    for k, crf in enumerate(VP9_CRFS):
        sel = np.repeat(sc[:, 1] == crf, 3)
        best = max(STRENGTHS, key=lambda v: gain(np.full(int(sel.sum()), v), sel).mean())
        per_crf.append({"crf": crf, "qindex": qidx[k], "qp": qp_eq[k], "qp_spread": spread[k],
                        **{n: float(gain(v[sel], sel).mean()) for n, v in strengths.items()},
                        "best_strength": float(best),
                        "gain_best": float(gain(np.full(int(sel.sum()), best), sel).mean())})
    evaluation = evaluate(model, qidx, qp_eq, cfg, own)
    res = {"clips": len(clips), "crfs": list(VP9_CRFS), "curve_qindex": [round(v, 1) for v in qidx],
           "curve_qp": [round(v, 1) for v in qp_eq], "vp9_rule": {"a": own[0], "b": own[1],
                                                                  "mean_gain": own[2]},
           "calibration": calib, "per_crf": per_crf, "evaluation": evaluation}
    names = list(strengths)
    table = markdown_table(
        ["VP9 CRF", "mean quantiser index", "equal-PSNR x264 QP (median, spread)"]
        + [f"gain, {n} (dB)" for n in names] + ["best strength (gain)"],
        [[r["crf"], f"{r['qindex']:.0f}", f"{r['qp']:.1f} ({r['qp_spread']:.1f})"]
         + [f"{r[n]:+.3f}" for n in names] + [f"{r['best_strength']:g} ({r['gain_best']:+.3f})"]
         for r in per_crf]
        + [["all", "", ""] + [f"{calib[n]['mean']:+.3f} ({calib[n]['worst']:+.3f})" for n in names]
           + [""]])
    table += ("\n\nEvaluation (never used to fit): RGB PSNR gain (dB) of the `deblock` stage "
              "(INT8) per clip and CRF\n\n" + markdown_table(
                  ["clip", "VP9 CRF", "mean quantiser index", "QP (curve)", "PSNR input"]
                  + [f"{n} (strength)" for n in names],
                  [[r["clip"], r["crf"], f"{r['qindex']:.0f}", f"{r['qp']:.1f}",
                    f"{r['psnr_input']:.2f}"]
                   + [f"{r['gains'][n]:+.3f} ({r['strengths'][n]:.2f})" for n in names]
                   for r in evaluation["rows"]]
                  + [["all rows, mean (worst)", "", "", "", ""]
                     + [f"{evaluation['mean'][n]:+.3f} ({evaluation['worst'][n]:+.3f})"
                        for n in names]]))
    notes = (f"Calibration: {len(clips)} clips of 6 frames (the strength calibration clips of "
             f"deblock_strength.py), libvpx-vp9 constant quality (deadline good, cpu-used 4) "
             f"and x264 constant QP {X264_QPS[0]}-{X264_QPS[-1]} ({FLAT}); `deblock.x1` INT8 "
             f"on frames 0, 2 and 5, RGB PSNR gain, mean (worst frame) in the last row. VP9's own "
             f"rule: s = clip((QP - {own[0]:g}) / {own[1]:g}, 0, 1). The curve's QPs at CRF 4 are "
             f"pinned at x264 QP {X264_QPS[0]} (the lowest measured).")
    write_results("deblock_strength_vp9", res, table, notes=notes)
    from revival.io import quantiser
    if (list(np.round(quantiser.VP9_CURVE_QINDEX, 1)) != res["curve_qindex"]
            or list(np.round(quantiser.VP9_CURVE_QP, 1)) != res["curve_qp"]):
        print("revival.io.quantiser's VP9 curve differs from this fit; copy in:\n"
              f"VP9_CURVE_QINDEX = {res['curve_qindex']}\nVP9_CURVE_QP = {res['curve_qp']}")
    if args.update_manifest:
        write_family_rule("vp9", own[0], own[1], own[2],
                          "python benchmarks/deblock_strength_vp9.py --update-manifest (the "
                          "strength calibration clips through libvpx-vp9 CRF 4-63)")
    return 0


def evaluate(model, qidx: list[float], qp_eq: list[float], cfg: dict, own: tuple) -> dict:
    """Part 3: every strength on the evaluation clips through VP9."""
    rows = []
    for clip_name, clip8 in eval_clips(12).items():
        for crf in EVAL_CRFS:
            dec, q = decode(vp9(clip8, crf))
            qi = float(np.mean(q[:30]))
            qp = float(np.interp(qi, qidx, qp_eq))
            sv = {"H.264 rule": float(rule(qp, cfg["qp_zero"], cfg["qp_span"])),
                  "VP9 rule": float(rule(qp, own[0], own[1])),
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
