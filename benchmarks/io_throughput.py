"""Decode -> no-op -> encode throughput of the pipeline next to plain PyAV transcoding.

For 720p and 1080p synthetic H.264 clips, three jobs with identical encoder
settings (libx264, same CRF and preset, same threads):

* ``ffmpeg``: PyAV's own transcode loop (demux, decode, encode, mux) — the peer;
* ``copy``: ``revival.restore(..., preset="copy")`` (decoded pictures re-encoded as they are);
* ``rgb``: a pixel stage that returns its input (``resize`` at scale 1), so every frame
  goes YUV -> float RGB -> YUV as the frame contract requires.

Ratio = pipeline fps / ffmpeg fps, measured in the same run. Target: >= 0.9.

Usage: python benchmarks/io_throughput.py [--frames N] [--preset medium] [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import markdown_table, write_results  # noqa: E402

from revival.io.encode import EncodeOptions  # noqa: E402
from revival.pipeline.job import restore  # noqa: E402
from revival.testing.clips import ClipSpec, make_clip  # noqa: E402


def plain_transcode(src: Path, dst: Path, *, crf: int, preset: str) -> int:
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        vs = out.add_stream("libx264", rate=vin.average_rate)
        vs.width, vs.height, vs.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        vs.time_base = vin.time_base
        vs.codec_context.time_base = vin.time_base
        vs.codec_context.thread_count = 0
        vs.options = {"crf": str(crf), "preset": preset}
        n = 0
        for frame in inp.decode(vin):
            frame.pict_type = av.video.frame.PictureType.NONE
            out.mux(vs.encode(frame))
            n += 1
        out.mux(vs.encode())
    return n


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--preset", default="medium", help="x264 preset for every job")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    results, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        for name, (w, h) in {"720p": (1280, 720), "1080p": (1920, 1080)}.items():
            src = make_clip(tmpd / f"{name}.mp4", ClipSpec(width=w, height=h, frames=args.frames,
                                                           options={"crf": "18", "preset": "veryfast"},
                                                           audio="aac"))
            enc = EncodeOptions(codec="h264", crf=args.crf, preset=args.preset)
            jobs = {
                "ffmpeg": lambda: plain_transcode(src, tmpd / "ff.mp4", crf=args.crf, preset=args.preset),
                "copy": lambda: restore(src, tmpd / "copy.mp4", preset="copy", encode=enc,
                                        overwrite=True),
                "rgb": lambda: restore(src, tmpd / "rgb.mp4", stages=["resize"],
                                       overrides={"resize.scale": 1.0}, encode=enc, overwrite=True),
            }
            secs = {k: timed(fn, args.repeat) for k, fn in jobs.items()}
            fps = {k: args.frames / v for k, v in secs.items()}
            results[name] = {"frames": args.frames, "fps": fps,
                             "ratio_copy": fps["copy"] / fps["ffmpeg"],
                             "ratio_rgb": fps["rgb"] / fps["ffmpeg"]}
            rows.append([name, f"{fps['ffmpeg']:.1f}", f"{fps['copy']:.1f}",
                         f"{fps['copy'] / fps['ffmpeg']:.2f}", f"{fps['rgb']:.1f}",
                         f"{fps['rgb'] / fps['ffmpeg']:.2f}"])
            print(name, results[name], flush=True)
    table = markdown_table(["clip", "PyAV transcode fps", "copy fps", "copy ratio",
                            "RGB no-op fps", "RGB ratio"], rows)
    notes = (f"libx264 CRF {args.crf}, preset {args.preset}, {args.frames} frames per clip, best of "
             f"{args.repeat}. Target: ratio >= 0.9. `copy` re-encodes decoded pictures directly; "
             "`RGB no-op` converts every frame to float RGB and back (the cost of the frame contract).")
    write_results("io_throughput", results, table, notes=notes)


if __name__ == "__main__":
    main()
