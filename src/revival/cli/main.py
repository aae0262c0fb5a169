"""``revival`` command line: argument parsing and rendering only; the work is the public API.

Exit codes: 0 success, 1 processing error, 2 usage error, 130 interrupted (Ctrl-C),
143 terminated (SIGTERM); either way the job cleans up first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from ..errors import (ConfigError, InputNotFoundError, OutputExistsError, OutputFormatError,
                      OutputPathError, RevivalError)

log = logging.getLogger("revival")

USAGE_ERRORS = (ConfigError, InputNotFoundError, OutputExistsError, OutputFormatError,
                OutputPathError)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a job cleans up as on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"revival: error: {message} (see '{self.prog} --help')\n")


def _overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects stage.param=value, got {item!r}", key=item)
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _add_restore(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="restore a video, an image or a folder of images")
    p.add_argument("input", help="video file, image file or folder of images")
    p.add_argument("-o", "--output", required=True,
                   help="output video (container from extension), image, or folder")
    p.add_argument("--preset", default=None, help="preset name or .toml file (see 'revival presets')")
    p.add_argument("--stages", help="comma-separated stage list replacing the preset's")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="STAGE.PARAM=VALUE",
                   help="override a stage parameter (repeatable)")
    p.add_argument("--scale", type=float, help="scale factor for the stages that resize")
    p.add_argument("--codec", choices=["h264", "h265", "av1", "ffv1"], help="video codec")
    p.add_argument("--crf", type=int, help="constant rate factor (lower = better quality)")
    p.add_argument("--encoder-preset", help="encoder speed preset (x264/x265 names, SVT-AV1 0-13)")
    p.add_argument("--bit-depth", type=int, choices=[8, 10, 12, 16],
                   help="output bits per sample (default: the input's)")
    p.add_argument("--fps", help="frame rate for image-folder input (default 25); not for video")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--keep-partial", action="store_true",
                   help="on a decode failure keep what was written at the output path")
    p.add_argument("--report", metavar="FILE.html", help="write an HTML quality report")


def _common_flags(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument("--quiet", action="store_true", default=default, help="no progress output")
    parser.add_argument("--debug", action="store_true", default=default,
                        help="log details and show tracebacks")


class _SubParser(_Parser):
    """Sub-command parser that also accepts --quiet/--debug after the command name."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        _common_flags(self, default=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="revival", description="Restore and enhance video.")
    _common_flags(parser, default=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_SubParser)
    _add_restore(sub)
    p = sub.add_parser("probe", help="describe a media file")
    p.add_argument("input")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--analyze", action="store_true",
                   help="also measure noise, blockiness and blur and recommend a preset")
    sub.add_parser("presets", help="list presets")
    p = sub.add_parser("demo", help="restore a bundled synthetic clip and write a before/after picture")
    p.add_argument("-o", "--output", default="revival-demo", help="output folder (default ./revival-demo)")
    try:
        from . import compare as compare_cli
    except ImportError:
        compare_cli = None
    if compare_cli is not None and hasattr(compare_cli, "add_parser"):
        compare_cli.add_parser(sub)
    return parser


def _restore(args: argparse.Namespace) -> int:
    from ..io.encode import EncodeOptions
    from ..pipeline.job import restore
    from .progress import ProgressPrinter

    stages = [s.strip() for s in args.stages.split(",") if s.strip()] if args.stages is not None else None
    encode = None
    if args.codec or args.crf is not None or args.encoder_preset or args.bit_depth:
        suffix = Path(args.output).suffix.lower()
        from ..io.formats import CONTAINERS, DEFAULT_CODEC
        if suffix not in CONTAINERS:
            raise ConfigError(f"--codec, --crf, --encoder-preset and --bit-depth apply to video "
                              f"output, and {args.output} is an image or a folder of images "
                              "(written 8-bit, or 16-bit PNG/TIFF from a deeper source); "
                              "drop them or give a video extension", key="encode")
        encode = EncodeOptions(codec=args.codec or DEFAULT_CODEC.get(suffix, "h264"), crf=args.crf,
                               preset=args.encoder_preset, bit_depth=args.bit_depth)
    fps = None
    if args.fps:
        try:
            fps = Fraction(args.fps)
        except ValueError:
            raise ConfigError(f"--fps expects a number like 25 or 30000/1001, got {args.fps!r}",
                              key="fps") from None
    if args.report:  # checked before the job: the report must not replace a file it should not
        from ..pipeline.job import check_output
        report = Path(args.report)
        if report.resolve() == Path(args.output).resolve():
            raise OutputPathError(f"report {report} is the output; choose another report path",
                                  path=report)
        check_output(Path(args.input), report, overwrite=args.overwrite, what="report")
    from ..pipeline.memory import keep_freed_memory

    keep_freed_memory()  # frame-sized buffers are reused, not page-faulted in every frame
    printer = None if args.quiet else ProgressPrinter()
    try:
        result = restore(args.input, args.output, preset=args.preset or "copy", stages=stages,
                         overrides=_overrides(args.sets), scale=args.scale, encode=encode,
                         overwrite=args.overwrite, keep_partial=args.keep_partial, fps=fps,
                         progress=printer)
    finally:
        if printer is not None:
            printer.finish()
    if args.report:
        _report(args.input, result.output, Path(args.report), quiet=args.quiet)
    if not args.quiet:
        for choice in result.choices:
            print(choice)
        fps_done = result.frames / result.seconds if result.seconds else 0.0
        print(f"wrote {result.output} ({result.frames} frames, {result.output_spec.width}x"
              f"{result.output_spec.height}, {result.seconds:.1f} s, {fps_done:.1f} fps)")
    return 0


def _report(reference: str, output: Path, report: Path, *, quiet: bool) -> None:
    try:
        from ..metrics.report import write_report
    except ImportError as exc:
        raise ConfigError(f"--report needs the metrics module ({exc})", key="report") from None
    write_report(reference, output, report)
    if not quiet:
        print(f"wrote report {report}")


def _probe(args: argparse.Namespace) -> int:
    from ..io.probe import format_probe, probe
    info = probe(args.input)
    data = info.to_dict()
    analysis = None
    if args.analyze:
        from ..analysis import BLOCK_CODECS, analyze
        from ..pipeline.job import open_input, source_quantiser
        video = info.video
        bpp = (video.details.get("bits_per_pixel")
               if video is not None and video.codec in BLOCK_CODECS else None)
        with open_input(args.input) as reader:
            coded = source_quantiser(reader)
            analysis = analyze((f.rgb for f in reader.frames()), matrix=reader.spec.color.matrix
                               if reader.spec.color.matrix in (1, 4, 5, 6, 7, 9) else 1,
                               bits_per_pixel=bpp, coded_qp=coded.qp,
                               coded_family=coded.family)
        data["analysis"] = analysis.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(format_probe(info))
    if analysis is not None:
        print(f"analysis ({analysis.frames} frames): noise sigma {analysis.noise_sigma:.1f} "
              f"(8-bit code values), blockiness {analysis.blockiness:.2f} (1 = none), "
              f"blur {analysis.blur:.2f} (0 sharp .. 1 blurry)")
        if analysis.coded_qp is not None:
            how = _QUANTISER_SOURCE.get(analysis.coded_family or "", "")
            print(f"coded quantiser: QP {analysis.coded_qp:.1f} on the H.264 scale{how} (the "
                  "`web` preset's deblocking strength follows it)")
        print(f"recommended preset: {analysis.preset} ({analysis.reason})")
    return 0


_QUANTISER_SOURCE = {"hevc": ", from the slice headers",
                     "vp9": ", from VP9's quantiser index", "jpeg": ", from the JPEG tables",
                     "av1": ", from the AV1 frame headers",
                     "mpeg": ", from MPEG's quantiser scale"}


def _presets(args: argparse.Namespace) -> int:
    from ..pipeline.config import load_preset, preset_names
    for name in preset_names():
        cfg = load_preset(name)
        print(f"{name:12s} {', '.join(cfg.stages) or '(no stages)':28s} {cfg.description}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    result = run_demo(Path(args.output), quiet=args.quiet)
    print(f"input:          {result['input']}")
    print(f"restored:       {result['output']}")
    print(f"before/after:   {result['comparison']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="revival: %(levelname)s: %(message)s")
    handlers = {"restore": _restore, "probe": _probe, "presets": _presets, "demo": _demo}
    if args.command not in handlers:
        from . import compare as compare_cli
        handlers[args.command] = compare_cli.run
    on_main = threading.current_thread() is threading.main_thread()
    previous_term = signal.signal(signal.SIGTERM, _on_sigterm) if on_main else None
    try:
        return handlers[args.command](args)
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(f"revival: {what}; no output was left at the final path", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, _Terminated) else 130
    except USAGE_ERRORS as exc:
        if args.debug:
            raise
        print(f"revival: error: {exc}", file=sys.stderr)
        return 2
    except (RevivalError, OSError) as exc:
        if args.debug:
            raise
        print(f"revival: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous_term if previous_term is not None
                          else signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
