"""How hard the source was compressed: the quantiser its decoder reports.

FFmpeg's H.264, MPEG-1/2 and MPEG-4 Part 2 decoders can export the quantiser of every
macroblock (``export_side_data=venc_params``). It is the encoder's own choice of how much
detail to throw away, so unlike pixel statistics (blockiness, noise) it does not depend on
what the picture shows. Values are put on the H.264 scale (QP 0-51, the quantiser step
doubling every 6; for video deeper than 8 bits, the QP an 8-bit stream with the same
step relative to the sample range would have): MPEG-style ``qscale`` (1-31) maps to
``12 + 6 * log2(qscale / 0.85)``, the inverse of x264's own ``qp2qscale``. HEVC, AV1,
VP9 (which reports only a frame-level index on another scale), JPEG and lossless streams
report nothing usable: None.

Example:
    >>> round(float(h264_qp_from_qscale(8.0)), 1)
    31.4
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

_H264, _MPEG2 = 1, 2  # AVVideoEncParamsType of FFmpeg's H.264 and MPEG-class decoders


def h264_qp_from_qscale(qscale: float | np.ndarray) -> float | np.ndarray:
    """MPEG-style quantiser scales (1-31) as the H.264 QPs with the same step."""
    return 12.0 + 6.0 * np.log2(np.maximum(qscale, 1e-3) / 0.85)


def frame_quantiser(frame: av.VideoFrame) -> float | None:
    """Mean quantiser (H.264 scale) of one decoded frame, or None where none was exported.

    The frame must come from a decoder opened with ``export_side_data=venc_params``.
    """
    for data in frame.side_data:
        if data.type.name != "VIDEO_ENC_PARAMS" or not data.nb_blocks:
            continue
        kind = int(data.codec_type)
        if kind == _H264:
            # above 8 bits the decoder reports QP' = QP + 6 * (depth - 8), the step on the
            # deeper sample scale; the same relative step is QP on the 8-bit scale
            bits = max(c.bits for c in frame.format.components)
            return float(np.mean(data.qp_map())) - 6.0 * max(0, bits - 8)
        if kind == _MPEG2:
            return float(np.mean(h264_qp_from_qscale(np.asarray(data.qp_map(), np.float64))))
    return None


def coded_quantiser(path: str | Path, *, stream_index: int | None = None,
                    frames: int = 30) -> float | None:
    """Mean quantiser (H.264 scale) of the first ``frames`` frames of a video stream.

    Opens its own handle on the file, so a reader of the same file is unaffected. Returns
    None where the codec reports no quantiser (see the module text) or nothing decodes.
    """
    values: list[float] = []
    try:
        with av.open(str(path), "r") as container:
            streams = container.streams.video
            if not streams:
                return None
            stream = (streams[0] if stream_index is None
                      else next(s for s in streams if s.index == stream_index))
            stream.codec_context.options = {"export_side_data": "venc_params"}
            # not frame threads: with them FFmpeg's H.264 decoder exported the tables of some
            # frames before their last rows were decoded (QP 0 there; a clip coded at QP 14
            # read 4.7-14 per frame, and another value on every run)
            stream.thread_type = "SLICE"
            for i, frame in enumerate(container.decode(stream)):
                qp = frame_quantiser(frame)
                if qp is not None:
                    values.append(qp)
                if i + 1 >= frames:
                    break
    except (av.error.FFmpegError, StopIteration) as exc:
        log.debug("coded quantiser of %s not read: %s", path, exc)
        return None
    return float(np.mean(values)) if values else None
