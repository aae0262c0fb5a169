"""``revival compare REFERENCE DISTORTED``: argument parsing and output only.

The work is :func:`revival.metrics.compare.compare`; the report is
:func:`revival.metrics.report.write_html`. Exit codes: 0 success, 1 processing
error, 2 usage error (bad arguments, missing input, mismatched clips).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ..errors import (ConfigError, InputNotFoundError, MissingDependencyError, OutputPathError,
                      RevivalError)

log = logging.getLogger(__name__)

_USAGE = (ConfigError, InputNotFoundError, OutputPathError, MissingDependencyError)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``compare`` on the ``revival`` sub-command parser."""
    from ..metrics.registry import BY_KEY, DEFAULT_KEYS
    p = subparsers.add_parser(
        "compare", help="measure a distorted clip against its reference",
        description="Full-reference, no-reference and temporal metrics of DISTORTED against "
                    "REFERENCE (videos, images or image folders). Metric keys: "
                    + ", ".join(BY_KEY) + ". Defaults: " + ",".join(DEFAULT_KEYS) + ".")
    p.add_argument("reference", help="reference video, image or folder of images")
    p.add_argument("distorted", help="distorted/processed video, image or folder")
    p.add_argument("--metrics", help="comma-separated metric keys, 'all' or 'default'")
    p.add_argument("--json", metavar="FILE", help="write all values to FILE ('-' for stdout)")
    p.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    p.add_argument("--crop-border", type=int, default=0,
                   help="pixels ignored at each side by PSNR/SSIM/NIQE (SR convention: the scale)")
    p.add_argument("--align", choices=["refuse", "resize", "crop"], default="refuse",
                   help="when sizes differ: refuse (default), resize distorted to the reference "
                        "(bicubic), or crop both to the common top-left area")
    p.add_argument("--length", choices=["refuse", "shortest"], default="refuse",
                   help="when frame counts differ: refuse (default) or compare the common frames")
    p.add_argument("--max-frames", type=int, help="compare at most this many frames")
    p.add_argument("--jitter-sigma", type=float, default=5.0,
                   help="smoothing of the intended camera path in frames (jitter)")
    p.set_defaults(func=run)
    return p


def format_table(result) -> str:
    from ..metrics.registry import BY_KEY
    lines = [f"reference: {result.reference}", f"distorted: {result.distorted}",
             f"frames: {result.frames}  size: {result.width}x{result.height}", ""]
    width = max(len(k) for k in result.mean)
    for key, value in result.mean.items():
        m = BY_KEY[key]
        shown = "n/a" if value is None else f"{value:.6g}"
        arrow = "higher=better" if m.higher_is_better else "lower=better"
        lines.append(f"{key:<{width}}  {shown:>12} {m.unit:<12} ({arrow}; {m.description})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Execute ``revival compare``; returns the exit code."""
    from ..metrics.compare import compare
    from ..metrics.report import write_html, write_text_atomic
    try:
        if args.max_frames is not None and args.max_frames < 1:
            raise ConfigError(f"--max-frames must be >= 1, got {args.max_frames}", key="max_frames")
        compared = {Path(args.reference).resolve(), Path(args.distorted).resolve()}
        for flag, out in (("--json", args.json), ("--report", args.report)):
            if not out or out == "-":
                continue
            if Path(out).resolve() in compared:
                raise OutputPathError(f"{flag} {out} is one of the compared files; choose "
                                      "another path", path=out)
            if not Path(out).resolve().parent.is_dir():
                raise OutputPathError(f"cannot write {out}: its folder does not exist", path=out)
        result = compare(args.reference, args.distorted, metrics=args.metrics,
                         crop_border=args.crop_border, align=args.align, length=args.length,
                         max_frames=args.max_frames, jitter_sigma=args.jitter_sigma,
                         keep_visuals=bool(args.report))
        if args.json:
            text = json.dumps(result.to_dict(), indent=2)
            if args.json == "-":
                sys.stdout.write(text + "\n")
            else:
                write_text_atomic(Path(args.json), text + "\n")
        if args.report:
            write_html(result, Path(args.report))
        if args.json != "-":
            print(format_table(result))
        return 0
    except _USAGE as exc:
        if getattr(args, "debug", False):
            raise
        print(f"revival: error: {exc}", file=sys.stderr)
        return 2
    except (RevivalError, OSError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"revival: error: {exc}", file=sys.stderr)
        return 1
