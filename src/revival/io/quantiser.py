"""How hard the source was compressed: the quantiser its decoder reports.

FFmpeg's H.264, MPEG-1/2 and MPEG-4 Part 2 decoders can export the quantiser of every
macroblock (``export_side_data=venc_params``). It is the encoder's own choice of how much
detail to throw away, so unlike pixel statistics (blockiness, noise) it does not depend on
what the picture shows. Values are put on the H.264 scale (QP 0-51, the quantiser step
doubling every 6; for video deeper than 8 bits, the QP an 8-bit stream with the same
step relative to the sample range would have): MPEG-style ``qscale`` (1-31) maps to
``12 + 6 * log2(qscale / 0.85)``, the inverse of x264's own ``qp2qscale``. VP9 reports each
frame's quantiser index (0-255, with segment deltas); a measured curve puts it on the
H.264 scale (``VP9_CURVE_*``: the x264 QP that loses as much RGB PSNR on the same clips,
``python benchmarks/deblock_strength_vp9.py``). HEVC exports nothing, but its slice
headers carry the QP on H.264's own scale (:mod:`revival.io.hevc`). AV1 exports nothing
either (FFmpeg's dav1d decoder), but each frame header carries its quantiser index
(``base_q_idx``, 0-255; :mod:`revival.io.av1`), put on the H.264 scale by a measured curve
like VP9's (``AV1_CURVE_*``, ``python benchmarks/deblock_strength_vp9.py --codec av1``).
Lossless streams report nothing usable: None.

JPEG images and Motion-JPEG video carry their quantisation tables in the file; a measured
curve puts them on the H.264 scale (:mod:`revival.io.jpeg`).

Example:
    >>> round(float(h264_qp_from_qscale(8.0)), 1)
    31.4
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from . import av1, hevc
from .jpeg import jpeg_quantiser

log = logging.getLogger(__name__)

_VP9, _H264, _MPEG2 = 0, 1, 2  # AVVideoEncParamsType of FFmpeg's VP9, H.264, MPEG decoders
_JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif"}
_JPEG_CODECS = {"mjpeg"}

# measured by benchmarks/deblock_strength_vp9.py: the median quantiser index of libvpx-vp9
# at CRF 4-63 and the median x264 QP with the same PSNR (the first pinned at the lowest
# QP measured)
VP9_CURVE_QINDEX = [12.0, 37.2, 62.7, 92.3, 123.7, 157.8, 182.7, 207.3, 239.2]
VP9_CURVE_QP = [8.0, 12.0, 15.1, 18.9, 22.8, 27.1, 30.6, 34.1, 39.3]

# measured the same way for SVT-AV1 (deblock_strength_vp9.py --codec av1): the median
# base_q_idx of the displayed frames at CRF 10-63 and the median equal-PSNR x264 QP
AV1_CURVE_QINDEX = [29.5, 60.5, 87.8, 114.9, 142.5, 167.2, 191.0, 213.6, 239.8]
AV1_CURVE_QP = [10.0, 13.8, 17.1, 20.6, 23.7, 26.3, 29.2, 32.8, 39.1]
_AV1_CODECS = {"av1", "libdav1d", "libaom-av1"}


def h264_qp_from_qscale(qscale: float | np.ndarray) -> float | np.ndarray:
    """MPEG-style quantiser scales (1-31) as the H.264 QPs with the same step."""
    return 12.0 + 6.0 * np.log2(np.maximum(qscale, 1e-3) / 0.85)


def h264_qp_from_vp9(index: float) -> float:
    """A VP9 quantiser index (0-255) as the H.264 QP that loses as much (module text)."""
    return _on_curve(index, VP9_CURVE_QINDEX, VP9_CURVE_QP)


def h264_qp_from_av1(index: float) -> float:
    """An AV1 ``base_q_idx`` (0-255) as the H.264 QP that loses as much (module text)."""
    return _on_curve(index, AV1_CURVE_QINDEX, AV1_CURVE_QP)


def _on_curve(index: float, xs: list[float], qps: list[float]) -> float:
    if index > xs[-1]:  # the last segment carried on, to H.264's end
        return min(51.0, qps[-1] + (index - xs[-1]) * (qps[-1] - qps[-2]) / (xs[-1] - xs[-2]))
    return float(np.interp(index, xs, qps))


def frame_quantiser(frame: av.VideoFrame) -> float | None:
    """Mean quantiser (H.264 scale) of one decoded frame, or None where none was exported.

    The frame must come from a decoder opened with ``export_side_data=venc_params``.
    """
    for data in frame.side_data:
        if data.type.name != "VIDEO_ENC_PARAMS":
            continue
        kind = int(data.codec_type)
        if kind == _VP9:  # the frame's index, per segment where segments change it
            return h264_qp_from_vp9(_block_mean(data) if data.nb_blocks else float(data.qp))
        if not data.nb_blocks:
            continue
        if kind == _H264:
            # above 8 bits the decoder reports QP' = QP + 6 * (depth - 8), the step on the
            # deeper sample scale; the same relative step is QP on the 8-bit scale
            bits = max(c.bits for c in frame.format.components)
            return float(np.mean(data.qp_map())) - 6.0 * max(0, bits - 8)
        if kind == _MPEG2:
            return float(np.mean(h264_qp_from_qscale(np.asarray(data.qp_map(), np.float64))))
    return None


def _block_mean(data) -> float:
    """Area-weighted mean quantiser of a frame's coded blocks.

    VP9 reports one block per partition of a segmented frame, in sizes that need not tile
    the picture (PyAV's ``qp_map`` refuses them), so the blocks are weighted by their area.
    """
    blocks = [data.block_params(i) for i in range(data.nb_blocks)]
    area = np.array([b.w * b.h for b in blocks], np.float64)
    delta = np.array([b.delta_qp for b in blocks], np.float64)
    return float(data.qp) + float((area * delta).sum() / max(area.sum(), 1.0))


@dataclass(frozen=True)
class CodedQuantiser:
    """What a source's coding says of its compression.

    Attributes:
        qp: mean quantiser on the H.264 QP scale, None where none was read.
        family: ``"h264"``, ``"hevc"`` (slice QPs), ``"mpeg"`` (MPEG-1/2/4 Part 2
            qscale), ``"vp9"`` or ``"av1"`` (their quantiser indices) or ``"jpeg"`` (JPEG
            images and Motion JPEG: their tables); None with ``qp``.
    """

    qp: float | None = None
    family: str | None = None


def coded_quantiser(path: str | Path, *, stream_index: int | None = None,
                    frames: int = 30) -> float | None:
    """Mean quantiser (H.264 scale) of a source; :func:`read_quantiser`'s ``qp``."""
    return read_quantiser(path, stream_index=stream_index, frames=frames).qp


def read_quantiser(path: str | Path, *, stream_index: int | None = None,
                   frames: int = 30) -> CodedQuantiser:
    """Mean quantiser (H.264 scale) of the first ``frames`` frames of a video stream.

    Also takes a JPEG image (its tables) and a folder of images (the mean over the first
    ``frames`` JPEG files, none if it holds none). Opens its own handle on the file, so a
    reader of the same file is unaffected. The quantiser is None where the codec reports
    none (see the module text) or nothing decodes.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _JPEG_SUFFIXES)[:frames]
        return _found([v for v in (_image_quantiser(f) for f in files) if v is not None], "jpeg")
    if path.suffix.lower() in _JPEG_SUFFIXES:
        return _found([v for v in [_image_quantiser(path)] if v is not None], "jpeg")
    values: list[float] = []
    family = None
    try:
        with av.open(str(path), "r") as container:
            streams = container.streams.video
            if not streams:
                return CodedQuantiser()
            stream = (streams[0] if stream_index is None
                      else next(s for s in streams if s.index == stream_index))
            if stream.codec_context.name == "hevc":
                return _found(_hevc_qps(container, stream, frames), "hevc")
            if stream.codec_context.name in _AV1_CODECS:
                return _found([h264_qp_from_av1(q) for q in av1_qindices(container, stream,
                                                                          frames)], "av1")
            if stream.codec_context.name in _JPEG_CODECS:
                # Motion JPEG: every packet is a JPEG image with its own tables
                for packet in container.demux(stream):
                    if packet.size:
                        qp = jpeg_quantiser(bytes(packet))
                        if qp is not None:
                            values.append(qp)
                    if len(values) >= frames:
                        break
                return _found(values, "jpeg")
            stream.codec_context.options = {"export_side_data": "venc_params"}
            # not frame threads: with them FFmpeg's H.264 decoder exported the tables of some
            # frames before their last rows were decoded (QP 0 there; a clip coded at QP 14
            # read 4.7-14 per frame, and another value on every run)
            stream.thread_type = "SLICE"
            family = {"h264": "h264", "vp9": "vp9"}.get(stream.codec_context.name, "mpeg")
            for i, frame in enumerate(container.decode(stream)):
                qp = frame_quantiser(frame)
                if qp is not None:
                    values.append(qp)
                if i + 1 >= frames:
                    break
    except (av.error.FFmpegError, StopIteration, ValueError, RuntimeError) as exc:
        # best effort: a quantiser that cannot be read is no quantiser, and the job goes on
        log.warning("coded quantiser of %s not read (%s); treated as unknown", path.name, exc)
        return CodedQuantiser()
    return _found(values, family)


def _hevc_qps(container, stream, frames: int) -> list[float]:
    """Slice QPs of the first ``frames`` HEVC pictures, read from packets (no decoding)."""
    extradata = bytes(stream.codec_context.extradata or b"")
    if extradata[:1] == b"\x01":  # hvcC: length-prefixed packets (MP4, Matroska)
        params, size = hevc.hvcc_nals(extradata)

        def units(packet: bytes):
            return hevc.length_prefixed(packet, size)
    else:  # Annex B: start codes (raw .hevc, MPEG-TS)
        params = list(hevc.annex_b(extradata)) if extradata else []
        units = hevc.annex_b

    def nals():
        yield from params
        for packet in container.demux(stream):
            if packet.size:
                yield from units(bytes(packet))

    values: list[float] = []
    for qp in hevc.slice_qps(nals()):
        values.append(float(qp))
        if len(values) >= frames:
            break
    return values


def av1_qindices(container, stream, frames: int) -> list[int]:
    """``base_q_idx`` of the first ``frames`` displayed AV1 frames, read from packets."""
    reader = av1.FrameQuantisers(bytes(stream.codec_context.extradata or b""))
    values: list[int] = []
    for packet in container.demux(stream):
        if packet.size:
            values.extend(reader.feed(bytes(packet)))
            if len(values) >= frames:
                break
    return values[:frames]


def _found(values: list[float], family: str | None) -> CodedQuantiser:
    return CodedQuantiser(float(np.mean(values)), family) if values else CodedQuantiser()


def _image_quantiser(path: Path) -> float | None:
    try:
        with open(path, "rb") as f:
            return jpeg_quantiser(f.read())
    except OSError as exc:
        log.debug("quantiser of %s not read: %s", path, exc)
        return None
