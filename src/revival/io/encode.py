"""Encoding and muxing with PyAV.

The writer encodes the processed video, stream-copies every audio, subtitle and
data stream packet by packet (bit-exact), and carries over chapters, container
and stream metadata, dispositions, rotation, sample aspect ratio and colour
tags. Output goes to a temporary file beside the target and is renamed into
place only by :meth:`VideoWriter.close`; :meth:`VideoWriter.abort` removes it.
"""

from __future__ import annotations

import logging
import os
import queue
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import ConfigError, EncodeError, OutputFormatError
from ..frames.convert import rgb_to_planes
from ..frames.frame import Frame
from ..frames.spec import VideoSpec
from .formats import (CODECS, choose_layout, codec_bit_depths, container_codecs, container_format,
                      encoder_name, muxer_refuses, planar_format)
from .x264 import x264_options

log = logging.getLogger(__name__)

_DEFAULTS = {
    "libx264": {"crf": "18", "preset": "medium"},
    "libx265": {"crf": "20", "preset": "medium", "x265-params": "log-level=error"},
    "libsvtav1": {"crf": "30", "preset": "8"},
    "ffv1": {"level": "3", "slicecrc": "1"},
}
_CRF_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libsvtav1": (1, 63)}
# speed presets each encoder accepts: x264 and x265 by name (fastest first), SVT-AV1 by
# number (-1 slowest .. 13 fastest; FFmpeg's wrapper takes that range)
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
_SVT_PRESETS = range(-1, 14)
# x265 stamps the first packets with dts = pts - (pts of frame 2 - pts of frame 0), B-frames
# with b-pyramid (every preset) delaying decode by two frames, but it only learns that delay
# when frame 2 (0-based) arrives; before that it reads an uninitialised value, so an encode of
# 1 or 2 frames got a garbage dts (e.g. pts - 2**54) that the MP4 muxer refuses ("pts/dts pair
# unsupported") or accepts, as heap contents decide. See VideoWriter._mux_video.
_X265_DELAY_FRAME = 2
# libx265 (4.x, as built into PyAV's FFmpeg) can crash when it is flushed: its lookahead pops
# a decided frame from a queue that a thread-pool worker may still be filling
# (Lookahead::getDecidedPicture -> PicList::popFront, SIGSEGV). One 12-frame 64x48 10-bit
# encode per process crashed 2 times in about 200 runs; with x265's thread pool off
# ("pools=none": the lookahead then runs on the calling thread) none of 250 runs did. Without
# the pool x265 cost the same at 352x288 (22 against 18-25 ms per frame on two cores) but
# 40-60% more from 640x360 up, so the pool is switched off for frames up to this size only.
_X265_NO_POOL_PIXELS = 352 * 288
_SKIP_META = {"duration", "encoder", "major_brand", "minor_version", "compatible_brands",
              "creation_time", "handler_name", "vendor_id"}


@dataclass(frozen=True)
class EncodeOptions:
    """How the video stream is encoded.

    Attributes:
        codec: ``"h264"``, ``"h265"``, ``"av1"`` or ``"ffv1"`` (lossless).
        crf: constant rate factor (lower is better; ignored for ffv1); None = codec default.
        preset: encoder speed preset (x264/x265 names, SVT-AV1 -1 to 13); None = what
            the pipeline preset's ``[encode.<codec>]`` table sets, else the encoder default.
        bit_depth: output bits per sample; None keeps the source's when the codec can.
    """

    codec: str = "h264"
    crf: int | None = None
    preset: str | None = None
    bit_depth: int | None = None

    def __post_init__(self) -> None:
        name = encoder_name(self.codec)
        if self.crf is not None:
            if name == "ffv1":
                raise ConfigError("--crf does not apply to ffv1 (lossless)", key="crf")
            lo, hi = _CRF_RANGE[name]
            if not lo <= self.crf <= hi:
                raise ConfigError(f"crf for {self.codec} must be in [{lo}, {hi}], got {self.crf}",
                                  key="crf")
        if self.preset is not None:
            check_encoder_preset(name, self.preset)
        if self.bit_depth is not None and self.bit_depth not in (8, 10, 12, 16):
            raise ConfigError(f"bit depth must be 8, 10, 12 or 16, got {self.bit_depth}",
                              key="bit_depth")
        if self.bit_depth is not None and self.bit_depth not in codec_bit_depths(self.codec):
            depths = "/".join(str(d) for d in sorted(codec_bit_depths(self.codec)))
            other = next(c for c in CODECS if self.bit_depth in codec_bit_depths(c))
            raise ConfigError(f"{self.codec} writes {depths}-bit video, not {self.bit_depth}-bit; "
                              f"use --codec {other} for {self.bit_depth}-bit or a bit depth "
                              f"{self.codec} can write", key="bit_depth")


def check_encoder_preset(encoder: str, preset: str) -> None:
    """Raise ConfigError unless ``preset`` is a speed preset of ``encoder`` (an FFmpeg name).

    Checked before anything is decoded: libx264 itself only refuses a bad name when the
    first frame is encoded.
    """
    if encoder in ("libx264", "libx265"):
        if str(preset) not in X26X_PRESETS:
            raise ConfigError(f"{encoder} has no preset {preset!r}; expected one of "
                              f"{', '.join(X26X_PRESETS)} (fastest first)", key="preset")
        return
    if encoder == "libsvtav1":
        try:
            ok = int(str(preset)) in _SVT_PRESETS
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"SVT-AV1 presets are numbers from {_SVT_PRESETS.start} (slowest) "
                              f"to {_SVT_PRESETS.stop - 1} (fastest), got {preset!r}",
                              key="preset")
        return
    raise ConfigError(f"{encoder} has no speed presets; drop the preset", key="preset")


def fmt_name(container: av.container.Container) -> str:
    return container.format.name.split(",")[0]


def temp_path(path: Path) -> Path:
    """The temporary name an output is written under before being renamed into place."""
    return path.with_name(f".{path.stem}.revival-tmp{path.suffix}")


def _fill(plane: av.video.plane.VideoPlane, arr: np.ndarray) -> None:
    item = arr.dtype.itemsize
    if plane.line_size == arr.shape[1] * item:
        plane.update(np.ascontiguousarray(arr))
        return
    buf = np.zeros((plane.height, plane.line_size // item), dtype=arr.dtype)
    buf[:, : arr.shape[1]] = arr
    plane.update(buf)


class VideoWriter:
    """Encode frames of ``spec`` into ``path``, copying the other streams of ``source``.

    Args:
        path: final output path; the container comes from its extension.
        spec: the output VideoSpec (size, colour, time base, rate, source layout).
        options: codec settings.
        source: the :class:`~revival.io.decode.VideoReader` whose other streams,
            chapters and metadata are carried over (None for image input).
        rotation: display rotation in degrees to write.
    """

    def __init__(self, path: str | Path, spec: VideoSpec, *, options: EncodeOptions = EncodeOptions(),
                 source: object | None = None, rotation: int = 0) -> None:
        self.path = Path(path)
        if spec.color.matrix == 0:  # RGB source (images): store as BT.709 YUV, keep its transfer
            spec = spec.with_(color=spec.color.with_(matrix=1, range="limited"))
            log.info("RGB input written as BT.709 YUV (transfer and primaries kept)")
        self.options = options
        self.tmp = temp_path(self.path)
        fmt = container_format(self.path.suffix)
        codec = encoder_name(options.codec)
        allowed = container_codecs(fmt)
        if options.codec not in allowed:
            choice = " or ".join(filter(None, [", ".join(allowed[:-1]), allowed[-1]]))
            raise OutputFormatError(f"{options.codec} video cannot be stored in {self.path.suffix} "
                                    f"files; use --codec {choice}, or a .mkv output",
                                    path=self.path)
        # AVI stores one frame per tick of 1/fps and no timestamps: a finer time base makes
        # the muxer report that finer rate and pad every gap with empty frames. So: constant
        # rate at the source's frame rate, pts = frame number; uneven timing is refused
        # before anything is written. FFmpeg's default shift of all streams when audio starts
        # before zero (AAC priming) is turned off: rounded to a whole frame it put an empty
        # frame after the first. AVI audio has no timestamps either, so its first packet
        # plays at 0 (for AAC priming, 1024 samples = 21 ms at 48 kHz, less than a frame).
        self.constant_rate = fmt == "avi"
        if self.constant_rate:
            if source is not None and source.variable_frame_rate():
                raise OutputFormatError(
                    f"{source.path.name} has a variable frame rate, which {self.path.suffix} "
                    "files cannot store (one frame every 1/fps); use a .mkv or .mp4 output to "
                    "keep its timing", path=self.path)
            spec = spec.with_(time_base=1 / Fraction(spec.frame_rate))
        self.spec = spec
        depth, chroma = choose_layout(options.codec, bit_depth=options.bit_depth or spec.bit_depth,
                                      chroma=spec.chroma)
        if chroma != "444" and codec != "ffv1" and (spec.width % 2 or spec.height % 2):
            if codec == "libsvtav1" and fmt == "webm":  # no other codec to offer in WebM
                raise OutputFormatError(
                    f"{options.codec} cannot encode an odd frame size {spec.width}x{spec.height}, "
                    f"and {self.path.suffix} files hold only av1 here; write a .mkv or .mp4 "
                    "output (h264 and h265 take odd sizes as 4:4:4), or resize to an even size",
                    path=self.path)
            if codec == "libsvtav1":
                raise OutputFormatError(
                    f"{options.codec} cannot encode an odd frame size {spec.width}x{spec.height}; "
                    "use --codec ffv1, h264 or h265 (4:4:4 is chosen for odd sizes), or resize",
                    path=self.path)
            chroma = "444"
            log.info("odd frame size %dx%d: writing 4:4:4 chroma", spec.width, spec.height)
        self.bit_depth, self.chroma = depth, chroma
        self.pix_fmt = planar_format(depth, chroma)
        self.frames_written = 0
        self._fix_dts = codec == "libx265"
        self._first_pts: list[Fraction] = []  # seconds, first frames sent (libx265 only)
        self._held: list[av.Packet] = []  # video packets whose dts the writer sets
        self._pending: queue.SimpleQueue = queue.SimpleQueue()
        self._copy_map: dict[int, av.stream.Stream] = {}
        try:
            self.container = av.open(str(self.tmp), "w", format=fmt, container_options=(
                {"avoid_negative_ts": "disabled"} if self.constant_rate else {}))
        except (av.error.FFmpegError, OSError) as exc:
            raise EncodeError(f"cannot create {self.tmp}: {exc}", path=self.path) from None
        try:
            self._add_video(codec, rotation)
            if source is not None:
                self._copy_from(source)
        except BaseException:
            self.abort()
            raise

    def _add_video(self, codec: str, rotation: int) -> None:
        spec = self.spec
        vs = self.container.add_stream(codec, rate=spec.frame_rate)
        vs.width, vs.height = spec.width, spec.height
        vs.pix_fmt = self.pix_fmt
        vs.time_base = spec.time_base
        cc = vs.codec_context
        cc.time_base = spec.time_base
        cc.framerate = spec.frame_rate
        cc.thread_count = 0
        if self.constant_rate:  # AVI has no pts: frames must be stored in display order
            cc.max_b_frames = 0
        if codec == "libx265" and fmt_name(self.container) in ("mov", "mp4"):
            cc.codec_tag = "hvc1"  # FFmpeg writes 'hev1', which Apple players refuse
        color = spec.color
        cc.colorspace, cc.color_trc, cc.color_primaries = color.matrix, color.transfer, color.primaries
        cc.color_range = 1 if color.range == "limited" else 2
        if spec.sample_aspect_ratio != 1:
            cc.sample_aspect_ratio = spec.sample_aspect_ratio
        if codec == "libsvtav1" and not log.isEnabledFor(logging.DEBUG):
            # SVT-AV1 writes a banner and info lines to stderr; like x265's log-level=error,
            # keep errors only. It has no option for this, only its SVT_LOG environment
            # variable (read when the encoder opens); a value the user set is kept.
            os.environ.setdefault("SVT_LOG", "1")
        opts = dict(_DEFAULTS.get(codec, {}))
        if self.options.crf is not None:
            opts["crf"] = str(self.options.crf)
        if self.options.preset is not None:
            opts["preset"] = str(self.options.preset)
        if codec == "libx265" and spec.width * spec.height <= _X265_NO_POOL_PIXELS:
            opts["x265-params"] += ":pools=none"
        if codec == "libx264":
            opts = x264_options(opts, bit_depth=self.bit_depth)
        vs.options = opts
        if rotation:
            vs.set_display_rotation(rotation)
        self.video = vs

    def _copy_from(self, source: object) -> None:
        in_c = source.container
        for s in source.copy_streams():
            name = s.codec_context.name if s.codec_context else None
            refused = OutputFormatError(
                f"the {s.type} stream #{s.index} ({name}) cannot be stored in "
                f"{self.path.suffix} files; use a .mkv output to keep it", path=self.path)
            # Not a check against container.supported_codecs: muxers that cannot answer
            # FFmpeg's query (MPEG-TS) list only their default codecs there, which refused
            # AAC in .ts. add_stream_from_template refuses what a muxer rules out, and
            # muxer_refuses() what such a muxer would write as unreadable private data.
            canonical = s.codec_context.codec.canonical_name if s.codec_context else None
            if muxer_refuses(fmt_name(self.container), canonical):
                raise refused
            try:
                out_s = self.container.add_stream_from_template(s)
            except (av.error.FFmpegError, ValueError) as exc:
                log.debug("add_stream_from_template: %s", exc)
                raise refused from None
            for k, v in s.metadata.items():
                if k.lower() not in _SKIP_META and not k.upper().startswith("DURATION"):
                    out_s.metadata[k] = v
            if "name" in s.metadata and "title" not in s.metadata:
                out_s.metadata["title"] = s.metadata["name"]  # how MP4 stores a track title
            try:
                out_s.disposition = s.disposition
            except (AttributeError, TypeError, ValueError):
                pass
            self._copy_map[s.index] = out_s
        for s in getattr(source.container, "streams", []):
            if s.type == "attachment":  # fonts for styled subtitles, cover art ...
                if fmt_name(self.container) not in ("matroska", "webm"):
                    log.warning("attachment %s not kept: %s files cannot hold attachments; "
                                "use .mkv", s.name, self.path.suffix)
                    continue
                self.container.add_attachment(s.name or f"attachment{s.index}",
                                              s.mimetype or "application/octet-stream",
                                              bytes(s.data or b""))
        for k, v in source.stream.metadata.items():
            if k.lower() not in _SKIP_META and not k.upper().startswith("DURATION"):
                self.video.metadata[k] = v
        for k, v in in_c.metadata.items():
            if k.lower() not in _SKIP_META:
                self.container.metadata[k] = v
        chapters = in_c.chapters()
        if chapters:
            self.container.set_chapters(chapters)

    def set_rotation(self, degrees: int) -> None:
        """Set the display rotation; only before the first frame is written."""
        if degrees and self.frames_written == 0:
            self.video.set_display_rotation(degrees)

    def queue_packet(self, packet: av.Packet) -> None:
        """Thread-safe: hand over a packet of a copied stream; it is muxed by the writer."""
        self._pending.put(packet)

    def _drain(self) -> None:
        while True:
            try:
                packet = self._pending.get_nowait()
            except queue.Empty:
                return
            out_s = self._copy_map.get(packet.stream.index)
            if out_s is None:
                continue
            packet.stream = out_s
            self.container.mux(packet)

    def _mux_video(self, packets: list[av.Packet], *, final: bool = False) -> None:
        """Mux encoder packets, setting the dts of x265's first ones (see _X265_DELAY_FRAME).

        Packets that come out before frame 2 is sent are held back (two at most: in practice
        only the flush of a 1- or 2-frame encode). Once frame 2 has been sent, they get the dts
        x265 would have given them; at the end of a shorter encode, the lowest dts that puts
        them in pts order without exceeding any pts (dts = pts, as they are in display order).
        """
        if self._fix_dts:
            if len(self._first_pts) <= _X265_DELAY_FRAME:
                self._held += packets
                if not final:
                    return
                packets = []
            if self._held:
                self._set_dts(self._held)
                self.container.mux(self._held)
                self._held = []
        self.container.mux(packets)

    def _set_dts(self, packets: list[av.Packet]) -> None:
        pts = [p.pts * p.time_base for p in packets]  # decode order, in seconds
        order = sorted(pts)
        if len(self._first_pts) > _X265_DELAY_FRAME:
            delay = self._first_pts[_X265_DELAY_FRAME] - self._first_pts[0]
        else:
            delay = max(s - t for s, t in zip(order, pts))  # >= 0; 0 in display order
        for p, s in zip(packets, order):
            p.dts = round((s - delay) / p.time_base)

    def _to_av(self, frame: Frame) -> av.VideoFrame:
        src = frame.source
        if (not frame.has_rgb and isinstance(src, av.VideoFrame) and src.format.name == self.pix_fmt
                and src.width == self.spec.width and src.height == self.spec.height):
            out = src  # untouched decoder output: re-encode the very same samples
        else:
            rgb = frame.rgb
            if rgb.shape[:2] != (self.spec.height, self.spec.width):
                raise EncodeError(f"frame {frame.index} is {rgb.shape[1]}x{rgb.shape[0]}, the "
                                  f"output stream is {self.spec.width}x{self.spec.height}",
                                  path=self.path)
            planes = rgb_to_planes(rgb, self.spec.color, bit_depth=self.bit_depth, chroma=self.chroma)
            out = av.VideoFrame(self.spec.width, self.spec.height, self.pix_fmt)
            for plane, arr in zip(out.planes, (planes.y, planes.u, planes.v)):
                _fill(plane, arr)
        out.pts = self.frames_written if self.constant_rate else frame.pts
        out.time_base = self.spec.time_base
        out.pict_type = av.video.frame.PictureType.NONE
        return out

    def write(self, frame: Frame) -> None:
        """Encode one frame (pts in the output time base) and mux pending copied packets."""
        try:
            out = self._to_av(frame)
            if self._fix_dts and len(self._first_pts) <= _X265_DELAY_FRAME:
                self._first_pts.append(out.pts * out.time_base)
            packets = self.video.encode(out)
            self._drain()
            self._mux_video(packets)
        except av.error.FFmpegError as exc:
            raise EncodeError(f"encoding frame {frame.index} into {self.path} failed: {exc}",
                              path=self.path) from None
        self.frames_written += 1

    def close(self, *, expected_frames: int | None = None) -> Path:
        """Flush, finish the file and rename it into place. Returns the final path."""
        try:
            self._mux_video(self.video.encode(), final=True)
            self._drain()
            self.container.close()
        except av.error.FFmpegError as exc:
            self.abort()
            raise EncodeError(f"finishing {self.path} failed: {exc}", path=self.path) from None
        if expected_frames is not None and expected_frames != self.frames_written:
            self.abort()
            raise EncodeError(f"wrote {self.frames_written} frames, expected {expected_frames}",
                              path=self.path)
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise EncodeError(f"cannot move the finished output into place at {self.path} "
                              f"({exc.strerror}); nothing was written there",
                              path=self.path) from None
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; the final path is left untouched."""
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the file is being discarded anyway
            log.debug("closing aborted output failed", exc_info=True)
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass

    def finish_partial(self) -> Path:
        """Close what was written so far and rename it into place (``--keep-partial``)."""
        try:
            self._mux_video(self.video.encode(), final=True)
            self._drain()
            self.container.close()
        except av.error.FFmpegError:
            log.warning("partial output could not be finalised cleanly", exc_info=True)
        os.replace(self.tmp, self.path)
        return self.path
