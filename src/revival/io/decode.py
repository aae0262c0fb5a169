"""Decoding with PyAV: frames with timing and colour, plus the packets of every
other stream so that they can be copied bit-exactly."""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator

import av
import numpy as np

from ..errors import DecodeError, InputNotFoundError, UnsupportedFormatError
from ..frames.color import ColorInfo, resolve_color
from ..frames.convert import Planes, planes_to_rgb, uint_to_rgb
from ..frames.frame import Frame
from ..frames.spec import VideoSpec
from .formats import layout_of, read_format

log = logging.getLogger(__name__)

_RANGE = {1: "limited", 2: "full"}


def open_container(path: str | Path) -> av.container.InputContainer:
    """Open a media file, mapping FFmpeg's failures to Revival errors."""
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(path)
    if path.is_dir():
        raise UnsupportedFormatError(f"{path} is a folder, not a video file", path=path)
    try:
        return av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise UnsupportedFormatError(
            f"{path}: not a readable video or image ({exc.strerror or exc}); "
            "check that the file is complete and is a media file", path=path) from None


def plane_array(plane: av.video.plane.VideoPlane, dtype: type) -> np.ndarray:
    """A (height, width) view of one plane without the line padding."""
    item = np.dtype(dtype).itemsize
    arr = np.frombuffer(memoryview(plane), dtype=dtype)
    return arr.reshape(plane.height, plane.line_size // item)[:, : plane.width]


def tagged_color(frame_or_ctx: object, *, full_range_j: bool = False) -> ColorInfo:
    """The colour tags as written in the stream (2 = unspecified where absent)."""
    rng = getattr(frame_or_ctx, "color_range", 0) or 0
    return ColorInfo(
        matrix=_known(getattr(frame_or_ctx, "colorspace", 2), "matrix"),
        transfer=_known(getattr(frame_or_ctx, "color_trc", 2), "transfer"),
        primaries=_known(getattr(frame_or_ctx, "color_primaries", 2), "primaries"),
        range="full" if full_range_j or rng == 2 else "limited",
    )


def _known(code: int | None, what: str) -> int:
    from ..frames.color import MATRIX_NAMES, PRIMARIES_NAMES, TRANSFER_NAMES
    names = {"matrix": MATRIX_NAMES, "transfer": TRANSFER_NAMES, "primaries": PRIMARIES_NAMES}[what]
    code = int(code or 2)
    if code not in names:
        log.warning("unrecognised %s code %d treated as unspecified", what, code)
        return 2
    return code


def is_variable_rate(pts: Iterable[int]) -> bool:
    """True when the gaps between consecutive presentation times (in stream ticks, any
    order) differ by more than one tick; a one-tick wobble is rounding (29.97 fps in
    Matroska's milliseconds alternates 33 and 34)."""
    ordered = sorted(pts)
    deltas = {b - a for a, b in zip(ordered, ordered[1:])}
    return len(deltas) > 1 and (max(deltas) - min(deltas)) > 1


def make_converter(color: ColorInfo) -> Callable[[av.VideoFrame], np.ndarray]:
    """A function turning a decoded ``av.VideoFrame`` into float32 RGB with ``color``."""

    def convert(frame: av.VideoFrame) -> np.ndarray:
        fmt = frame.format
        bits = max(c.bits for c in fmt.components)
        target = read_format(fmt.name, is_rgb=fmt.is_rgb, has_palette=fmt.has_palette,
                             component_bits=bits, chroma_w=fmt.chroma_width(frame.width),
                             chroma_h=fmt.chroma_height(frame.height), width=frame.width, height=frame.height)
        if target is not None:
            frame = frame.reformat(format=target)
            if target.startswith("rgb"):
                pixels = frame.to_ndarray()
                return uint_to_rgb(pixels, 16 if target == "rgb48le" else 8)
        lay = layout_of(frame.format.name, component_bits=bits, chroma_shift=None)
        dtype = np.uint8 if lay.bit_depth == 8 else np.uint16
        y = plane_array(frame.planes[0], dtype)
        if lay.kind == "gray":
            planes = Planes(y, None, None, lay.bit_depth, "444")
        else:
            planes = Planes(y, plane_array(frame.planes[1], dtype),
                            plane_array(frame.planes[2], dtype), lay.bit_depth, lay.chroma)
        return planes_to_rgb(planes, color)

    return convert


def _declared_end(stream: av.video.stream.VideoStream,
                  container: av.container.InputContainer) -> float | None:
    """The video stream's declared duration in seconds, if the file states one.

    Matroska's per-track DURATION tag comes first: there the demuxer's stream
    duration is the whole segment's (the longest stream), not the video's.
    """
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        m = re.match(r"(\d+):(\d+):(\d+(?:\.\d+)?)", tag)
        if m:
            h, mi, s = m.groups()
            return int(h) * 3600 + int(mi) * 60 + float(s)
    if stream.duration and container.format.name.split(",")[0] not in ("matroska", "webm"):
        return float(stream.duration * stream.time_base)
    return None


class VideoReader:
    """Decode one video stream of a file, handing other streams' packets to a callback.

    Attributes:
        path: the input file.
        container: the open PyAV input container.
        stream: the video stream decoded.
        spec: the clip's VideoSpec (colour resolved: argument, then tags, then default).
        rotation: display rotation in degrees (counter-clockwise) from the stream.
    """

    def __init__(self, path: str | Path, *, color: ColorInfo | None = None) -> None:
        self.path = Path(path)
        self.container = open_container(self.path)
        try:
            if not self.container.streams.video:
                raise UnsupportedFormatError(f"{self.path}: no video stream (streams: "
                                             f"{[s.type for s in self.container.streams]})",
                                             path=self.path)
            self.stream = self.container.streams.video[0]
            self.stream.thread_type = "AUTO"
            self.spec, self.rotation = self._spec(color)
        except BaseException:
            self.container.close()
            raise
        self.frames_decoded = 0

    def _spec(self, override: ColorInfo | None) -> tuple[VideoSpec, int]:
        cc = self.stream.codec_context
        fmt = cc.format
        if fmt is None or not cc.width:
            raise UnsupportedFormatError(f"{self.path}: the video stream has no decodable "
                                         "pictures (unknown size or pixel format)", path=self.path)
        bits = max(c.bits for c in fmt.components)
        lay = layout_of(fmt.name, component_bits=bits, chroma_shift=None)
        is_rgb = fmt.is_rgb or fmt.has_palette
        tagged = tagged_color(cc, full_range_j=lay.full_range_j)
        if is_rgb and tagged.matrix == 2:
            tagged = tagged.with_(matrix=0, range="full")
        color = resolve_color(tagged, cc.height, is_rgb=is_rgb, override=override,
                              what=str(self.path))
        if color.matrix == 0 and not is_rgb:
            raise UnsupportedFormatError(f"{self.path}: YUV samples tagged as RGB (matrix 0)",
                                         path=self.path)
        if is_rgb:
            color = color.with_(range="full")
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        chroma = lay.chroma if lay.kind == "yuv" else "444"
        spec = VideoSpec(
            width=cc.width, height=cc.height, color=color,
            time_base=self.stream.time_base or Fraction(1, 25), frame_rate=Fraction(rate),
            bit_depth=lay.bit_depth if lay.kind != "other" else bits, chroma=chroma,
            frame_count=self.stream.frames or None,
            sample_aspect_ratio=Fraction(cc.sample_aspect_ratio or 1),
        )
        return spec, 0

    def variable_frame_rate(self) -> bool:
        """Whether the video stream's frame times are unevenly spaced (see
        :func:`is_variable_rate`). Reads every packet of the stream (no decoding) through a
        second handle on the file, so decoding here is unaffected."""
        with open_container(self.path) as container:
            stream = container.streams[self.stream.index]
            return is_variable_rate(p.pts for p in container.demux(stream)
                                    if p.size and p.pts is not None)

    def copy_streams(self) -> list[av.stream.Stream]:
        """Audio, subtitle and data streams to be stream-copied."""
        return [s for s in self.container.streams
                if s.index != self.stream.index and s.type in ("audio", "subtitle", "data")]

    def frames(self, on_packet: Callable[[av.Packet], None] | None = None) -> Iterator[Frame]:
        """Decode every frame in order.

        Args:
            on_packet: receives each packet of the streams in :meth:`copy_streams`.

        Raises:
            DecodeError: the stream could not be read to its end, or ended before the
                duration the file declares (truncated file). Frames before the break
                have been yielded; the error names the first missing frame.
        """
        copy = {s.index for s in self.copy_streams()}
        wanted = [self.stream] + ([s for s in self.container.streams if s.index in copy]
                                  if on_packet else [])
        convert = make_converter(self.spec.color)
        tb = self.spec.time_base
        last_pts: int | None = None
        index = 0
        try:
            for packet in self.container.demux(wanted):
                if packet.stream.index != self.stream.index:
                    if packet.dts is not None and on_packet is not None:
                        on_packet(packet)
                    continue
                for av_frame in packet.decode():
                    if index == 0:
                        self.rotation = int(round(av_frame.rotation or 0))
                    pts = av_frame.pts
                    if pts is None:
                        pts = _synth_pts(index, last_pts, tb, self.spec.frame_rate)
                    last_pts = pts
                    yield Frame(index=index, pts=pts, time_base=tb, source=av_frame, _to_rgb=convert)
                    index += 1
                    self.frames_decoded = index
        except av.error.FFmpegError as exc:
            raise DecodeError(f"{self.path}: decoding failed at frame {index} "
                              f"({exc.strerror or exc}); frames 0-{index - 1} were read",
                              path=self.path, frame_index=index) from None
        self._check_complete(index, last_pts)

    def _check_complete(self, count: int, last_pts: int | None) -> None:
        end = _declared_end(self.stream, self.container)
        if end is None or last_pts is None:
            if count == 0:
                raise DecodeError(f"{self.path}: no frame could be decoded", path=self.path,
                                  frame_index=0)
            return
        start = float((self.stream.start_time or 0) * self.spec.time_base)
        frame_s = float(1 / self.spec.frame_rate) if self.spec.frame_rate else 0.04
        reached = float(last_pts * self.spec.time_base) - start + frame_s
        if reached + 3 * frame_s + 0.1 < end:
            raise DecodeError(f"{self.path}: stream ended at frame {count} ({reached:.2f} s) "
                              f"but the file declares {end:.2f} s (truncated or damaged file)",
                              path=self.path, frame_index=count)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _synth_pts(index: int, last: int | None, tb: Fraction, rate: Fraction) -> int:
    step = max(1, round(1 / (rate * tb))) if rate else 1
    return index * step if last is None else last + step
