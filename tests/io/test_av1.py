from __future__ import annotations

from pathlib import Path

import av
import pytest

from revival.io import av1
from revival.testing.clips import coded_scene
from revival.testing.headers import trace_headers


def svtav1(path: Path, params: str = "", *, frames: int = 12, size: tuple[int, int] = (176, 144),
           pix_fmt: str = "yuv420p", fmt: str | None = None, crf: int = 40) -> Path:
    """A moving, brightening clip through SVT-AV1 (hidden alt-ref frames and all)."""
    options = {"crf": str(crf), "preset": "10", **({"svtav1-params": params} if params else {})}
    return coded_scene(path, "libsvtav1", options, frames=frames, size=size, pix_fmt=pix_fmt,
                       fmt=fmt)


def ours(path: Path) -> tuple[list[int], list[int]]:
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        fq = av1.FrameQuantisers(st.codec_context.extradata)
        shown = [q for pkt in c.demux(st) if pkt.size for q in fq.feed(bytes(pkt))]
    return fq.coded, shown


@pytest.mark.parametrize("params,pix_fmt,size,element", [
    ("", "yuv420p", (176, 144), "show_existing_frame"),  # hidden alt-refs shown later
    ("enable-overlays=1", "yuv420p", (176, 144), "show_existing_frame"),
    ("tile-columns=2:tile-rows=1", "yuv420p", (640, 360), "context_update_tile_id"),
    ("superres-mode=1:superres-denom=12:superres-kf-denom=12", "yuv420p", (320, 180),
     "use_superres"),
    ("resize-mode=2", "yuv420p", (320, 180), "render_and_frame_size_different"),  # sizes vary
    ("", "yuv420p10le", (176, 144), "base_q_idx"),
])
def test_frame_quantisers_match_ffmpegs_own_header_parser(tmp_path, params, pix_fmt, size,
                                                          element):
    path = svtav1(tmp_path / "a.mkv", params, frames=16, size=size, pix_fmt=pix_fmt)
    trace = trace_headers(path)
    assert any(k == element and v for k, v in trace), f"{element} never set: path not exercised"
    coded, shown = ours(path)
    assert coded == [v for k, v in trace if k == "base_q_idx"]
    assert len(shown) == 16 and set(shown) <= set(coded)


@pytest.mark.parametrize("fmt,suffix", [("matroska", "mkv"), ("mp4", "mp4"), ("ivf", "ivf"),
                                        ("webm", "webm")])
def test_every_container_gives_the_same_frames(tmp_path, fmt, suffix):
    """av1C extradata in MP4 and Matroska; sequence headers in the stream in IVF."""
    ref = ours(svtav1(tmp_path / "ref.mkv"))
    assert ours(svtav1(tmp_path / f"a.{suffix}", fmt=fmt)) == ref


def test_a_shown_alt_ref_counts_with_its_own_quantiser(tmp_path):
    """The displayed sequence, rebuilt from FFmpeg's parse: a shown frame gives its own index,
    ``show_existing_frame`` the index of the slot it shows, and ``refresh_frame_flags``
    (all slots for a shown key frame) decides which slots a coded frame fills."""
    path = svtav1(tmp_path / "a.mkv", frames=16)
    trace = trace_headers(path)
    slots, expected, header = [None] * 8, [], {}

    def finish(h: dict) -> None:
        if h.get("show_existing_frame"):
            expected.append(slots[h["frame_to_show_map_idx"]])
            return
        refresh = h.get("refresh_frame_flags", 0xFF)
        for i in range(8):
            if refresh >> i & 1:
                slots[i] = h["base_q_idx"]
        if h["show_frame"]:
            expected.append(h["base_q_idx"])

    for k, v in trace:
        if k == "show_existing_frame":
            if "show_existing_frame" in header:  # not the sequence header's elements
                finish(header)
            header = {}
        header.setdefault(k, v)
    finish(header)
    coded, shown = ours(path)
    assert any(k == "show_existing_frame" and v for k, v in trace)
    assert len(expected) == 16 and shown == expected


def test_descriptors():
    assert av1._Bits(bytes([0b11000000])).uvlc() == 0
    assert av1._Bits(bytes([0b01100000])).uvlc() == 2  # one zero, then 1 and value bit 1
    assert av1._Bits(bytes([0x96, 0x01])).leb128() == 150
    # ns(5): w = 3, m = 3; values under m take two bits, the rest three
    assert av1._Bits(bytes([0b10000000])).ns(5) == 2
    assert av1._Bits(bytes([0b11000000])).ns(5) == 3
    assert av1._Bits(bytes([0b11100000])).ns(5) == 4
    with pytest.raises(ValueError):
        av1._Bits(b"").f(1)


def test_bad_streams_are_refused(tmp_path):
    with pytest.raises(ValueError, match="forbidden"):
        list(av1.obus(b"\x80\x00"))
    with pytest.raises(ValueError, match="past its packet"):
        list(av1.obus(bytes([0x32, 0x05, 0x00])))  # a frame OBU of 5 bytes holding 1
    path = svtav1(tmp_path / "a.ivf", fmt="ivf")
    with av.open(str(path)) as c:
        first = next(bytes(p) for p in c.demux(c.streams.video[0]) if p.size)
    kinds = [k for k, _, _, _ in av1.obus(first)]
    assert av1.SEQUENCE_HEADER in kinds  # IVF carries it in the key frame's packet
    rest = b"".join(bytes([k << 3 | 2]) + leb128(len(p)) + p
                    for k, _, _, p in av1.obus(first) if k != av1.SEQUENCE_HEADER)
    with pytest.raises(ValueError, match="before any sequence header"):
        av1.FrameQuantisers().feed(rest)
    assert av1.FrameQuantisers().feed(first)  # the whole packet reads


def leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
