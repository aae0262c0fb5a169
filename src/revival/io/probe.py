"""``probe()``: what a media file holds, without decoding more than one frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ..errors import InputNotFoundError
from .decode import is_variable_rate, open_container, tagged_color
from .formats import layout_of
from .images import ImageReader, is_image_path


@dataclass
class StreamInfo:
    index: int
    type: str
    codec: str | None
    language: str | None = None
    title: str | None = None
    time_base: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class MediaInfo:
    """Summary of a media file (or image / image folder) for ``revival probe``."""

    path: str
    format: str
    duration: float | None
    size_bytes: int
    streams: list[StreamInfo]
    chapters: int = 0
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.type == "video"), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _video_details(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> dict[str, Any]:
    cc = stream.codec_context
    fmt = cc.format
    bits = max(c.bits for c in fmt.components) if fmt else None
    lay = layout_of(fmt.name, component_bits=bits or 8, chroma_shift=None) if fmt else None
    tags = tagged_color(cc, full_range_j=bool(lay and lay.full_range_j)).to_dict()
    if not cc.color_range and not (lay and lay.full_range_j):
        tags["range"] = "unspecified"
    pts: list[int] = []
    rotation = 0
    first_done = False
    coded_bytes = 0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        coded_bytes += packet.size
        if packet.pts is not None:
            pts.append(packet.pts)
        if not first_done:
            try:
                for frame in packet.decode():
                    rotation = int(round(frame.rotation or 0))
                    first_done = True
            except av.error.FFmpegError:
                first_done = True
    vfr = is_variable_rate(pts)
    rate = stream.average_rate or stream.guessed_rate
    return {
        "width": cc.width, "height": cc.height,
        "pix_fmt": fmt.name if fmt else None, "bit_depth": lay.bit_depth if lay else None,
        "chroma": lay.chroma if lay and lay.kind == "yuv" else None,
        "fps": float(rate) if rate else None, "fps_fraction": str(rate) if rate else None,
        "vfr": vfr, "frame_count": len(pts),
        # coded size of the video stream per pixel and frame: how hard it was compressed
        "bits_per_pixel": (8.0 * coded_bytes / (cc.width * cc.height * len(pts))
                           if pts and cc.width and cc.height else None),
        "color": tags, "rotation": rotation,
        "sample_aspect_ratio": str(Fraction(cc.sample_aspect_ratio or 1)),
    }


def probe(path: str | Path) -> MediaInfo:
    """Describe ``path``: streams, codecs, rate and time base, VFR, frame count, colour tags.

    Raises:
        InputNotFoundError: no such path.
        UnsupportedFormatError: not a media file.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(path)
    if path.is_dir() or is_image_path(path):
        reader = ImageReader(path)
        spec = reader.spec
        size = sum(f.stat().st_size for f in reader.files)
        details = {"width": spec.width, "height": spec.height, "bit_depth": spec.bit_depth,
                   "frame_count": len(reader.files), "fps": float(spec.frame_rate), "vfr": False,
                   "color": spec.color.to_dict(), "rotation": 0, "chroma": None,
                   "pix_fmt": f"rgb{spec.bit_depth * 3}", "sample_aspect_ratio": "1"}
        return MediaInfo(str(path), "image folder" if path.is_dir() else "image", None, size,
                         [StreamInfo(0, "video", "image", details=details)])
    container = open_container(path)
    try:
        streams = []
        for s in container.streams:
            info = StreamInfo(index=s.index, type=s.type,
                              codec=s.codec_context.name if s.codec_context else None,
                              language=s.metadata.get("language"),
                              title=s.metadata.get("title") or s.metadata.get("name"),
                              time_base=str(s.time_base) if s.time_base else None)
            if s.type == "audio":
                cc = s.codec_context
                info.details = {"sample_rate": cc.sample_rate, "channels": cc.channels,
                                "layout": cc.layout.name if cc.layout else None}
            streams.append(info)
        video = container.streams.video[0] if container.streams.video else None
        if video is not None:
            streams[video.index].details = _video_details(container, video)
        duration = container.duration / 1_000_000 if container.duration else None
        return MediaInfo(str(path), container.format.name, duration, path.stat().st_size, streams,
                         chapters=len(container.chapters()), metadata=dict(container.metadata))
    finally:
        container.close()


def format_probe(info: MediaInfo) -> str:
    """Human-readable ``revival probe`` output."""
    lines = [f"{info.path}: {info.format}, "
             f"{'%.3f s' % info.duration if info.duration else 'duration unknown'}, "
             f"{info.size_bytes} bytes, {info.chapters} chapters"]
    for s in info.streams:
        head = f"  #{s.index} {s.type}: {s.codec}"
        if s.language:
            head += f" [{s.language}]"
        if s.title:
            head += f" \"{s.title}\""
        lines.append(head)
        d = s.details
        if s.type == "video" and d:
            lines.append(f"      {d['width']}x{d['height']} {d.get('pix_fmt')} {d.get('bit_depth')}-bit, "
                         f"{d.get('fps_fraction') or d.get('fps')} fps{' (VFR)' if d.get('vfr') else ''}, "
                         f"{d.get('frame_count')} frames, time base {s.time_base}"
                         + (f", {d['bits_per_pixel']:.3f} bits per pixel"
                            if d.get("bits_per_pixel") is not None else ""))
            c = d["color"]
            lines.append(f"      colour: matrix {c['matrix']}, transfer {c['transfer']}, "
                         f"primaries {c['primaries']}, range {c['range']}; rotation {d.get('rotation')}, "
                         f"SAR {d.get('sample_aspect_ratio')}")
        elif s.type == "audio" and d:
            lines.append(f"      {d['sample_rate']} Hz, {d['channels']} channels ({d['layout']})")
    return "\n".join(lines)
