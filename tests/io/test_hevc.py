from __future__ import annotations

from pathlib import Path

import av
import pytest

from revival.io import hevc
from revival.io.quantiser import read_quantiser
from revival.testing.clips import coded_scene
from revival.testing.headers import trace_headers

QUIET = "log-level=none:pools=none"


def x265(path: Path, params: str, *, frames: int = 12, size: tuple[int, int] = (128, 96),
         pix_fmt: str = "yuv420p", fmt: str | None = None) -> Path:
    """A clip through libx265; a brightness ramp gives weighted prediction work."""
    return coded_scene(path, "libx265", {"x265-params": f"{QUIET}:{params}"}, frames=frames,
                       size=size, pix_fmt=pix_fmt, fmt=fmt)


@pytest.mark.parametrize("qp", [14, 30, 44])
def test_constant_qp_reads_back_exactly(tmp_path, qp):
    path = x265(tmp_path / "a.mkv", f"qp={qp}:ipratio=1.0:pbratio=1.0:aq-mode=0")
    found = read_quantiser(path)
    assert found.family == "hevc" and found.qp == pytest.approx(qp, abs=1e-9)


@pytest.mark.parametrize("fmt,suffix", [("matroska", "mkv"), ("mp4", "mp4"), ("hevc", "hevc"),
                                        ("mpegts", "ts")])
def test_every_container_gives_the_same_slices(tmp_path, fmt, suffix):
    """hvcC parameter sets with length-prefixed packets, and Annex B start codes."""
    path = x265(tmp_path / f"a.{suffix}", "crf=30:bframes=3:weightb=1", fmt=fmt)
    ref = x265(tmp_path / "ref.mkv", "crf=30:bframes=3:weightb=1")
    assert read_quantiser(path).qp == pytest.approx(read_quantiser(ref).qp)


def trace_headers_qps(path: Path) -> list[int]:
    """Each picture's first slice QP as FFmpeg's own header parser (trace_headers) reads it."""
    qps, init, first = [], 0, 0
    for name, value in trace_headers(path):
        if name == "init_qp_minus26":
            init = value
        elif name == "first_slice_segment_in_pic_flag":
            first = value
        elif name == "slice_qp_delta" and first:
            qps.append(26 + init + value)
    return qps


@pytest.mark.parametrize("params,pix_fmt", [
    ("crf=32:bframes=6:b-pyramid=1:ref=5:weightb=1", "yuv420p"),  # weighted P and B tables
    ("crf=32:keyint=4:min-keyint=4:open-gop=1:scaling-list=default", "yuv420p"),
    ("crf=32:ctu=16:no-sao=1", "yuv444p"),
    ("crf=32", "gray"),  # no chroma: no chroma weights, no chroma SAO flag
    ("crf=32:repeat-headers=1:aud=1", "yuv420p10le"),
])
def test_slice_qps_match_ffmpegs_own_header_parser(tmp_path, params, pix_fmt):
    path = x265(tmp_path / "a.mkv", params, frames=16, pix_fmt=pix_fmt)
    with av.open(str(path)) as c:
        from revival.io.quantiser import _hevc_qps
        ours = _hevc_qps(c, c.streams.video[0], 1000)
    theirs = trace_headers_qps(path)
    assert len(theirs) == 16 and [int(q) for q in ours] == theirs


def test_bit_reader_and_emulation_prevention():
    r = hevc._Bits(bytes([0b10100110, 0b01000000]))  # ue 0, ue 1, ue 2, se: k=3 -> +2
    assert [r.ue(), r.ue(), r.ue(), r.se()] == [0, 1, 2, 2]
    assert hevc.unescape(b"\x01\x00\x00\x03\x01\x00\x00\x03\x00") == b"\x01\x00\x00\x01\x00\x00\x00"
    with pytest.raises(ValueError):
        hevc._Bits(b"\x00").ue()  # runs past the data


def test_a_slice_before_its_parameter_sets_is_refused(tmp_path):
    path = x265(tmp_path / "a.hevc", "qp=30:ipratio=1.0:pbratio=1.0", fmt="hevc")
    nals = list(hevc.annex_b(path.read_bytes()))
    slices = [n for n in nals if (n[0] >> 1) & 0x3F <= 21]
    with pytest.raises(ValueError, match="parameter set"):
        list(hevc.slice_qps(slices))
    assert list(hevc.slice_qps(nals))[:3] == [30, 30, 30]
