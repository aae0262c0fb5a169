"""Pixel-format knowledge: the only module that speaks FFmpeg ``pix_fmt`` names."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import OutputFormatError

# planar YUV formats read and written natively: name -> (bit_depth, chroma, full_range_j)
_PLANAR_YUV: dict[str, tuple[int, str, bool]] = {}
for _chroma in ("420", "422", "444"):
    _PLANAR_YUV[f"yuv{_chroma}p"] = (8, _chroma, False)
    _PLANAR_YUV[f"yuvj{_chroma}p"] = (8, _chroma, True)
    for _bits in (9, 10, 12, 14, 16):
        _PLANAR_YUV[f"yuv{_chroma}p{_bits}le"] = (_bits, _chroma, False)
_GRAY = {"gray": 8, "gray9le": 9, "gray10le": 10, "gray12le": 12, "gray14le": 14, "gray16le": 16}

CODECS = {"h264": "libx264", "h265": "libx265", "av1": "libsvtav1", "ffv1": "ffv1"}
# codec -> (bit depths it can write, chroma layouts it can write)
_CODEC_LAYOUTS = {
    "libx264": ({8, 10}, {"420", "422", "444"}),
    "libx265": ({8, 10, 12}, {"420", "422", "444"}),
    "libsvtav1": ({8, 10}, {"420"}),
    "ffv1": ({8, 10, 12, 16}, {"420", "422", "444"}),
}
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
              ".avi": "avi", ".ts": "mpegts", ".mts": "mpegts", ".nut": "nut"}
DEFAULT_CODEC = {".webm": "av1", ".avi": "ffv1"}
# The codecs of CODECS each container holds as FFmpeg writes and reads them back. WebM is
# AV1/VP8/VP9 only; FFmpeg's MOV muxer has no FFV1 or AV1 (it fails at the trailer), its AVI
# muxer no HEVC; in MPEG-TS FFV1 becomes private data and AV1 is not read back.
_CONTAINER_CODECS = {"mp4": frozenset(CODECS), "mov": frozenset({"h264", "h265"}),
                     "matroska": frozenset(CODECS), "webm": frozenset({"av1"}),
                     "avi": frozenset({"h264", "av1", "ffv1"}),
                     "mpegts": frozenset({"h264", "h265"}), "nut": frozenset(CODECS)}
# Codecs to which FFmpeg's MPEG-TS muxer gives a stream type; it writes anything else as
# unlabelled private data that players ignore (SubRip subtitles, FLAC ...). The muxer
# cannot answer FFmpeg's codec query, so PyAV's supported_codecs is no help for it.
_MUXER_CODECS = {"mpegts": frozenset({
    "mpeg1video", "mpeg2video", "mpeg4", "h264", "hevc", "vvc", "cavs", "dirac", "vc1", "av1",
    "mp2", "mp3", "aac", "aac_latm", "ac3", "eac3", "dts", "truehd", "opus", "s302m",
    "dvb_subtitle", "dvb_teletext", "arib_caption", "smpte_klv", "timed_id3", "smpte_2038"})}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


@dataclass(frozen=True)
class Layout:
    """How a decoded picture's samples are laid out, in Revival's terms."""

    kind: str          # "yuv", "gray" or "rgb"
    bit_depth: int
    chroma: str = "444"
    full_range_j: bool = False


def layout_of(pix_fmt: str, *, component_bits: int, chroma_shift: tuple[int, int] | None) -> Layout:
    """Classify a decoder pix_fmt. Formats not read natively are read through swscale
    after :func:`read_format` names a lossless planar equivalent."""
    if pix_fmt in _PLANAR_YUV:
        bits, chroma, full = _PLANAR_YUV[pix_fmt]
        return Layout("yuv", bits, chroma, full)
    if pix_fmt in _GRAY:
        return Layout("gray", _GRAY[pix_fmt])
    return Layout("other", component_bits)


def read_format(pix_fmt: str, *, is_rgb: bool, has_palette: bool, component_bits: int,
                chroma_w: int, chroma_h: int, width: int, height: int) -> str | None:
    """The pix_fmt to convert an unusual decoder format into, or None if read natively.

    Packed or semi-planar YUV (nv12, p010, yuyv422, yuva420p ...) becomes the planar
    format of the same depth and subsampling; RGB, palette and anything else becomes
    rgb24 or rgb48le.
    """
    if pix_fmt in _PLANAR_YUV or pix_fmt in _GRAY:
        return None
    if is_rgb or has_palette or pix_fmt.startswith(("ya", "monow", "monob", "bayer")):
        return "rgb48le" if component_bits > 8 else "rgb24"
    bits = 8 if component_bits <= 8 else (10 if component_bits <= 10 else
                                           12 if component_bits <= 12 else 16)
    chroma = "444"  # other layouts (4:1:1 DV, 4:4:0 ...) are up-sampled to 4:4:4 as YUV,
    if chroma_w and chroma_h:  # so Revival's own matrix and range handling still apply
        sx, sy = round(width / chroma_w), round(height / chroma_h)
        chroma = {(2, 2): "420", (2, 1): "422"}.get((sx, sy), "444")
    return f"yuv{chroma}p" if bits == 8 else f"yuv{chroma}p{bits}le"


def planar_format(bit_depth: int, chroma: str) -> str:
    """The planar YUV pix_fmt name for a bit depth and chroma layout."""
    return f"yuv{chroma}p" if bit_depth == 8 else f"yuv{chroma}p{bit_depth}le"


def encoder_name(codec: str) -> str:
    try:
        return CODECS[codec]
    except KeyError:
        raise OutputFormatError(
            f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}") from None


def codec_bit_depths(codec: str) -> frozenset[int]:
    """The bit depths the encoder for ``codec`` (``"h264"`` ...) can write."""
    return frozenset(_CODEC_LAYOUTS[encoder_name(codec)][0])


def choose_layout(codec: str, *, bit_depth: int, chroma: str) -> tuple[int, str]:
    """The (bit_depth, chroma) an encoder writes for a wished-for layout.

    Keeps the source's depth and subsampling when the encoder supports them,
    otherwise the nearest it can do (never fewer bits than asked if avoidable).
    """
    depths, chromas = _CODEC_LAYOUTS[encoder_name(codec)]
    depth = min((d for d in depths if d >= bit_depth), default=max(depths))
    out_chroma = chroma if chroma in chromas else "420"
    return depth, out_chroma


def container_format(suffix: str) -> str:
    try:
        return CONTAINERS[suffix.lower()]
    except KeyError:
        raise OutputFormatError(
            f"cannot tell the container from the extension {suffix!r}; use one of "
            f"{', '.join(sorted(CONTAINERS))} (or an image extension / a folder)") from None


def container_codecs(container: str) -> tuple[str, ...]:
    """The codecs (``"h264"`` ...) that the container format ``container`` (an FFmpeg muxer
    name from :data:`CONTAINERS`) can hold, in the order of :data:`CODECS`."""
    allowed = _CONTAINER_CODECS.get(container, frozenset(CODECS))
    return tuple(c for c in CODECS if c in allowed)


def muxer_refuses(container: str, codec: str | None) -> bool:
    """True when the container format ``container`` (an FFmpeg muxer name such as
    ``"mpegts"``) is known to be unable to carry ``codec`` (a canonical codec name)
    as a stream that players recognise; False when it can or when that is not known."""
    known = _MUXER_CODECS.get(container)
    return known is not None and codec is not None and codec not in known
