"""JPEG sources for `deblock`'s automatic strength: quantisation tables on the H.264 scale.

JPEG images and Motion-JPEG video report their quantisation tables, not a QP. On frames
of the strength calibration clips of ``deblock_strength.py`` (libjpeg quality 5-95), the
intra-coded x264 QP with the same RGB PSNR is found for every image and quality; its median
over images, against the log2 of libjpeg's table scale, gives the curve
`revival.io.jpeg` uses (``JPEG_CURVE_LOG2_SCALE``, ``JPEG_CURVE_QP``). The same images
then show what strengths do on JPEG: `deblock.x1`'s gain at the manifest's rule, at a rule
of JPEG's own (fitted by the H.264 calibration's criterion, no image worse than -0.1 dB),
at the fallback and at strength 1, per quality; and Set5 and Set14, never used to fit,
show the same strengths.

Usage: python benchmarks/deblock_strength_jpeg.py [--update-manifest]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import markdown_table, write_results  # noqa: E402
from deblock_strength import (MODEL, STRENGTHS, WORST_DB, D, calibration_clips,  # noqa: E402
                              calibration_model, decode, encode, psnr8, rule, write_family_rule)

from revival.models.registry import load_manifest  # noqa: E402

JPEG_QUALITIES = (5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95)


def x264_intra_psnr(img8: np.ndarray) -> np.ndarray:
    """RGB PSNR of one image coded as an x264 I-frame (4:2:0, preset medium) at QP 0-51."""
    return np.array([psnr8(decode(encode(img8[None], codec="libx264",
                                         options={"qp": str(qp), "preset": "medium"}))[0][0], img8)
                     for qp in range(52)])


def fit_jpeg(model) -> dict:
    """The JPEG table scale -> H.264 QP curve, and the strength rules on JPEG."""
    import cv2

    from revival.io.jpeg import jpeg_luma_table, jpeg_table_scale

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
    # it is kept as points, joined by straight lines; `revival.io.jpeg` holds a copy
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

    from revival.io.jpeg import jpeg_luma_table, jpeg_table_scale

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update-manifest", action="store_true",
                    help="write JPEG's rule into deblock.x1's manifest")
    args = ap.parse_args()
    model = calibration_model()
    if model is None:
        return 2
    res = fit_jpeg(model)
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
    from revival.io import jpeg as jpeg_tables
    shipped = np.interp(res["curve_log2_scale"], jpeg_tables.JPEG_CURVE_LOG2_SCALE,
                        jpeg_tables.JPEG_CURVE_QP)
    if np.abs(shipped - np.array(res["curve_qp"])).max() > 0.051:
        print("revival.io.jpeg's JPEG curve differs from this fit; copy in:\n"
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
        write_family_rule("jpeg", res["jpeg_rule"]["a"], res["jpeg_rule"]["b"],
                          res["jpeg_rule"]["mean_gain"],
                          "python benchmarks/deblock_strength_jpeg.py --update-manifest (frames "
                          "of the calibration clips as libjpeg quality 5-95 images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
