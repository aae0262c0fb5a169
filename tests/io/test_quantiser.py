from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from revival.io.quantiser import coded_quantiser, h264_qp_from_qscale
from revival.io.x264 import x264_options
from revival.testing.clips import scene

FLAT_QP = "ipratio=1.0:pbratio=1.0:aq-mode=0"  # every frame and macroblock at the given QP


def write(path: Path, codec: str, *, pix_fmt: str = "yuv420p", options: dict | None = None,
          bit_rate: int | None = None, frames: int = 8) -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 96, 64, pix_fmt
        if codec == "libx264":
            s.codec_context.options = x264_options(dict(options or {}))
        elif options:
            s.codec_context.options = options
        if bit_rate:
            s.bit_rate = bit_rate
        for i in range(frames):
            rgb = (np.clip(scene(i, 64, 96), 0, 1) * 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    return path


@pytest.mark.parametrize("qp", [14, 30, 44])
def test_h264_reports_the_quantiser_it_was_coded_with(tmp_path, qp):
    path = write(tmp_path / "a.mkv", "libx264", options={"qp": str(qp), "x264-params": FLAT_QP})
    # every run: with frame-threaded decoding, tables of small frames were exported half
    # decoded (a QP 14 clip read 9.8-14.0 across eight runs)
    assert [coded_quantiser(path) for _ in range(6)] == [pytest.approx(qp, abs=1e-9)] * 6


def test_10bit_h264_is_put_on_the_8bit_scale(tmp_path):
    """x264's QP at 10 bits is QP' = QP + 12 (the step on the 10-bit sample scale)."""
    path = write(tmp_path / "a.mkv", "libx264", pix_fmt="yuv420p10le",
                 options={"qp": "42", "x264-params": FLAT_QP})
    assert coded_quantiser(path) == pytest.approx(30.0, abs=1e-9)
    # at one CRF the two depths land within a step of each other (measured 49.3 and 49.4)
    crf8 = coded_quantiser(write(tmp_path / "b.mkv", "libx264", options={"crf": "45"}))
    crf10 = coded_quantiser(write(tmp_path / "c.mkv", "libx264", pix_fmt="yuv420p10le",
                                  options={"crf": "45"}))
    assert abs(crf8 - crf10) < 3


def test_quantiser_follows_the_rate_of_mpeg2(tmp_path):
    # 25 frames give the rate control room to act (over 8 the 40 kbit/s clip measured 29.1)
    high = coded_quantiser(write(tmp_path / "a.mkv", "mpeg2video", bit_rate=4_000_000, frames=25))
    low = coded_quantiser(write(tmp_path / "b.mkv", "mpeg2video", bit_rate=40_000, frames=25))
    assert high is not None and low is not None
    assert low > high + 6  # measured 40.2 against 25.4: the step more than doubled
    assert 12 <= high and low <= h264_qp_from_qscale(31.0) + 1e-9


def test_mpeg_qscale_maps_to_the_h264_step():
    assert float(h264_qp_from_qscale(0.85)) == pytest.approx(12.0)
    assert float(h264_qp_from_qscale(8.0) - h264_qp_from_qscale(4.0)) == pytest.approx(6.0)


def test_codecs_without_a_quantiser_and_unreadable_files_give_none(tmp_path):
    assert coded_quantiser(write(tmp_path / "a.mkv", "ffv1")) is None
    text = tmp_path / "notes.mkv"
    text.write_text("not a video")
    assert coded_quantiser(text) is None
    assert coded_quantiser(tmp_path / "missing.mkv") is None
