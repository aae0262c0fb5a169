"""``restore()``: one input to one output through a pipeline, losing nothing.

Decoding, processing and encoding run in three threads joined by small bounded
queues, so the slowest of them sets the pace and memory stays flat. Output is
written under a temporary name and renamed into place only when complete; on
any failure or interruption the temporary file is removed (or, with
``keep_partial``, what was written is kept at the output path).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from ..errors import (ConfigError, DecodeError, InputNotFoundError, OutputExistsError,
                      OutputFormatError, OutputPathError)
from ..frames.color import ColorInfo
from ..frames.frame import Frame
from ..frames.spec import VideoSpec
from ..io.encode import EncodeOptions, VideoWriter
from ..io.formats import CONTAINERS, DEFAULT_CODEC
from ..io.images import ImageReader, ImageWriter, is_image_path
from ..io.decode import VideoReader
from ..io.quantiser import CodedQuantiser, read_quantiser
from ..stages.registry import stage_class
from .config import PipelineConfig, load_preset
from .handoff import END, Failure, put_until
from .pipeline import Pipeline

log = logging.getLogger(__name__)
_QUEUE = 6


@dataclass(frozen=True)
class Progress:
    """Progress of a running job, handed to the ``progress`` callback."""

    done: int
    total: int | None
    elapsed: float

    @property
    def fps(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if not self.total or not self.done:
            return None
        return max(0.0, (self.total - self.done) / self.fps) if self.fps else None


@dataclass(frozen=True)
class RestoreResult:
    output: Path
    frames: int
    seconds: float
    input_spec: VideoSpec
    output_spec: VideoSpec
    stages: tuple[str, ...]
    choices: tuple[str, ...] = ()  # settings stages chose from the source (``chosen``), in words


def source_quantiser(reader: VideoReader | ImageReader) -> CodedQuantiser:
    """The coded quantiser of an open input: its video stream, JPEG file or JPEG folder."""
    return read_quantiser(reader.path, stream_index=reader.stream.index
                          if isinstance(reader, VideoReader) else None)


def open_input(path: str | Path, *, color: ColorInfo | None = None,
               fps: Fraction | None = None) -> VideoReader | ImageReader:
    """A reader for a video file, an image file or a folder of images."""
    path = Path(path)
    if path.is_dir() or (is_image_path(path) and path.exists()):
        return ImageReader(path, fps=fps or Fraction(25), color=color)
    return VideoReader(path, color=color)


def output_kind(path: Path) -> str:
    if is_image_path(path):
        return "image"
    if path.suffix.lower() in CONTAINERS:
        return "video"
    if path.suffix == "" or path.is_dir():
        return "folder"
    raise OutputFormatError(
        f"cannot tell what to write from {path.name!r}: use a video extension "
        f"({', '.join(sorted(CONTAINERS))}), an image extension, or a folder name", path=path)


def check_output(input_path: Path, output: Path, *, overwrite: bool, what: str = "output",
                 kind: str | None = None) -> None:
    """Refuse outputs that would lose data or cannot be written, before any work starts.

    ``what`` names the file in the messages (``"output"``, ``"report"``); ``kind``
    (from :func:`output_kind`) says what will be written: ``--overwrite`` replaces a file
    with a file, and a folder only when it holds nothing but images.
    """
    if output.resolve() == input_path.resolve():
        raise OutputPathError(f"{what} {output} is the input; choose another {what} path",
                              path=output)
    if output.exists() and not overwrite:
        raise OutputExistsError(output, what=what)
    if output.is_dir() and kind != "folder":
        raise OutputPathError(f"{what} {output} is a folder; give a file name, or a name without "
                              "an extension to write a folder of images", path=output)
    if output.is_dir():  # the writer replaces the whole folder
        other = next((p for p in sorted(output.iterdir())
                      if not (p.is_file() and is_image_path(p))), None)
        if other is not None:
            raise OutputPathError(
                f"output folder {output} holds {other.name!r}, which is not an image; "
                "--overwrite replaces the whole folder, so choose a new or empty folder",
                path=output)
    parent = output.resolve().parent
    if not parent.is_dir():
        raise OutputPathError(f"{what} folder {parent} does not exist; create it first",
                              path=output)
    try:  # a real write, not a permission-bit check: root, read-only mounts, full disks
        with tempfile.TemporaryFile(dir=parent, prefix=".revival-probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{what} folder {parent} is not writable ({exc.strerror}); choose "
                              f"another {what} path or fix its permissions", path=output) from None


def build_config(preset: str | PipelineConfig = "copy", *, stages: list[str] | None = None,
                 overrides: Mapping[str, Any] | None = None,
                 scale: float | None = None) -> PipelineConfig:
    """Preset, then ``stages`` replacing its stage list, then ``scale``, then overrides."""
    cfg = preset if isinstance(preset, PipelineConfig) else load_preset(preset)
    if stages is not None:
        cfg = cfg.with_stages(stages)
    if scale is not None:
        scaling = [n for n in cfg.stages
                   if "scale" in {f.name for f in dataclasses.fields(stage_class(n).Params)}]
        if not scaling:
            raise ConfigError(f"--scale: no stage in {list(cfg.stages) or 'this pipeline'} changes "
                              "the size; add one, e.g. --stages resize", key="scale")
        cfg = cfg.with_overrides({f"{n}.scale": scale for n in scaling})
    if overrides:
        cfg = cfg.with_overrides(overrides)
    return cfg


def restore(input: str | Path, output: str | Path, *, preset: str | PipelineConfig = "copy",
            stages: list[str] | None = None, overrides: Mapping[str, Any] | None = None,
            scale: float | None = None, encode: EncodeOptions | None = None,
            overwrite: bool = False, keep_partial: bool = False, color: ColorInfo | None = None,
            fps: Fraction | None = None,
            progress: Callable[[Progress], None] | None = None) -> RestoreResult:
    """Restore ``input`` into ``output`` with a preset or an explicit stage list.

    Args:
        input: video file, image file or folder of images.
        output: video file (container from the extension), image file, or folder.
        preset: bundled preset name, path to a TOML preset, or a PipelineConfig.
        stages: replaces the preset's stage list.
        overrides: ``{"stage.param": value}``.
        scale: sets ``scale`` of every stage in the pipeline that has one.
        encode: codec settings for video output (default: H.264, or by extension). A CRF
            or speed preset left unset here comes from the preset's ``[encode.<codec>]``
            table where it has one.
        overwrite: replace an existing output.
        keep_partial: on a decode failure keep what was written at ``output``.
        color: colour of the input, overriding its tags.
        fps: frame rate for image-folder input (default 25); an error for video input.
        progress: called from a worker thread after every frame.

    Returns:
        RestoreResult with the output path, frame count and specs.

    Raises:
        InputNotFoundError, UnsupportedFormatError (unreadable input), OutputFormatError (an
        output extension or codec that cannot hold the result), OutputExistsError,
        OutputPathError, ConfigError, DecodeError, EncodeError, StageError.

    Example:
        >>> restore("in.mkv", "out.mkv", preset="copy", encode=EncodeOptions(codec="ffv1"))  # doctest: +SKIP
    """
    input_path, out_path = Path(input), Path(output)
    if not input_path.exists():
        raise InputNotFoundError(input_path)
    if fps is not None and not (input_path.is_dir() or is_image_path(input_path)):
        raise ConfigError(f"--fps sets the frame rate of image input; {input_path.name} is a video "
                          "and keeps its own timing, so drop --fps", key="fps")
    cfg = build_config(preset, stages=stages, overrides=overrides, scale=scale)
    pipeline = cfg.build()
    kind = output_kind(out_path)
    check_output(input_path, out_path, overwrite=overwrite, kind=kind)
    reader = open_input(input_path, color=color, fps=fps)
    try:
        spec_in = reader.spec
        if pipeline.needs_coded_qp:
            coded = source_quantiser(reader)
            spec_in = spec_in.with_(coded_qp=coded.qp, coded_family=coded.family)
        spec_out = pipeline.configure(spec_in)
        if kind == "image" and (reader.spec.frame_count or 1) > 1:
            raise OutputFormatError(
                f"{out_path.name} is a single image but the input has {reader.spec.frame_count} "
                "frames; give a folder name (no extension) to write one image per frame",
                path=out_path)
        if kind == "video":
            options = cfg.encode_options(
                encode or EncodeOptions(codec=DEFAULT_CODEC.get(out_path.suffix.lower(), "h264")))
            writer: VideoWriter | ImageWriter = VideoWriter(
                out_path, spec_out, options=options,
                source=reader if isinstance(reader, VideoReader) else None)
        else:
            writer = ImageWriter(out_path, spec_out)
        start = time.perf_counter()
        frames = _run(reader, pipeline, writer, progress=progress, keep_partial=keep_partial,
                      total=reader.spec.frame_count)
        return RestoreResult(out_path, frames, time.perf_counter() - start, spec_in, spec_out,
                             tuple(pipeline.stage_names),
                             tuple(c for s in pipeline.stages if (c := getattr(s, "chosen", None))))
    finally:
        reader.close()


def _run(reader: VideoReader | ImageReader, pipeline: Pipeline, writer: VideoWriter | ImageWriter,
         *, progress: Callable[[Progress], None] | None, keep_partial: bool,
         total: int | None) -> int:
    stop = threading.Event()
    q_in: queue.Queue = queue.Queue(maxsize=_QUEUE)
    q_out: queue.Queue = queue.Queue(maxsize=_QUEUE)
    enc_error: list[BaseException] = []
    needs_rgb = pipeline.changes_pixels
    start = time.perf_counter()

    def put(q: queue.Queue, item: object) -> bool:
        return put_until(q, item, stop)

    def get(q: queue.Queue) -> object:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return END

    def decode() -> None:
        try:
            for frame in reader.frames(on_packet=writer.queue_packet):
                if needs_rgb:
                    frame.rgb  # convert here, in parallel with processing
                if not put(q_in, frame):
                    return
            put(q_in, END)
        except BaseException as exc:  # handed to the main thread
            put(q_in, Failure(exc))

    def inputs() -> Iterator[Frame]:
        while True:
            item = get(q_in)
            if item is END:
                return
            if isinstance(item, Failure):
                raise item.exc
            yield item  # type: ignore[misc]

    def encode() -> None:
        done = 0
        try:
            while True:
                item = get(q_out)
                if item is END:
                    return
                if done == 0:
                    writer.set_rotation(reader.rotation)
                writer.write(item)  # type: ignore[arg-type]
                done += 1
                if progress is not None:
                    progress(Progress(done, total, time.perf_counter() - start))
        except BaseException as exc:
            enc_error.append(exc)
            stop.set()

    dec_t = threading.Thread(target=decode, name="revival-decode", daemon=True)
    enc_t = threading.Thread(target=encode, name="revival-encode", daemon=True)
    dec_t.start()
    enc_t.start()
    failure: BaseException | None = None
    try:
        for frame in pipeline.run(inputs()):
            if not put(q_out, frame):
                break
    except DecodeError as exc:
        failure = exc  # encode what was decoded, then decide about the partial file
    except BaseException:
        stop.set()
        dec_t.join(timeout=5)
        enc_t.join(timeout=5)
        writer.abort()
        raise
    if not stop.is_set():
        put(q_out, END)
    enc_t.join()
    stop.set()
    dec_t.join(timeout=5)
    if enc_error:
        writer.abort()
        raise enc_error[0]
    if failure is not None:
        if keep_partial:
            path = writer.finish_partial()
            log.warning("kept partial output %s (%d frames)", path, writer.frames_written)
        else:
            writer.abort()
        raise failure
    writer.close(expected_frames=reader.frames_decoded)
    return writer.frames_written
