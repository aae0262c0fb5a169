from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from revival.io.jpeg import (JPEG_CURVE_QP, K1_LUMA, jpeg_luma_table, jpeg_quantiser,
                             jpeg_table_scale)
from revival.io.quantiser import (AV1_CURVE_QP, VP9_CURVE_QP, coded_quantiser,
                                  h264_qp_from_av1, h264_qp_from_qscale, h264_qp_from_vp9,
                                  read_quantiser)
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


def test_vp9_reports_its_quantiser_index_through_the_curve(tmp_path):
    opts = {"b": "0", "deadline": "realtime", "cpu-used": "8"}
    fine = write(tmp_path / "a.webm", "libvpx-vp9", options={**opts, "crf": "10"})
    coarse = write(tmp_path / "b.webm", "libvpx-vp9", options={**opts, "crf": "60"})
    with av.open(str(coarse)) as inp:  # the indices as FFmpeg reports them, mapped here
        st = inp.streams.video[0]
        st.codec_context.options = {"export_side_data": "venc_params"}
        index = [float(sd.qp) for f in inp.decode(st) for sd in f.side_data
                 if sd.type.name == "VIDEO_ENC_PARAMS"]
    assert len(index) == 8
    found = read_quantiser(coarse)
    assert found.family == "vp9"
    assert found.qp == pytest.approx(np.mean([h264_qp_from_vp9(i) for i in index]))
    assert found.qp > coded_quantiser(fine) + 6


def test_segmented_vp9_weighs_its_segments(tmp_path):
    """libvpx's cyclic refresh (aq-mode 3) codes some blocks finer; FFmpeg reports them as
    blocks that do not tile the frame, which PyAV's qp_map() refuses."""
    path = write(tmp_path / "a.webm", "libvpx-vp9", frames=12, options={
        "b": "0", "crf": "40", "deadline": "realtime", "cpu-used": "8", "aq-mode": "3"})
    with av.open(str(path)) as inp:
        st = inp.streams.video[0]
        st.codec_context.options = {"export_side_data": "venc_params"}
        params = [(sd.qp, sd.nb_blocks) for f in inp.decode(st) for sd in f.side_data
                  if sd.type.name == "VIDEO_ENC_PARAMS"]
    assert any(n for _, n in params)  # segments were coded
    frame_only = np.mean([h264_qp_from_vp9(q) for q, _ in params])
    found = read_quantiser(path)
    assert found.family == "vp9" and found.qp is not None
    assert found.qp < frame_only - 1  # the finer segments count (measured 21.5 against 25.5)


def test_vp9_curve_rises_and_stays_on_the_h264_scale():
    qps = [h264_qp_from_vp9(i) for i in range(0, 256, 5)] + [h264_qp_from_vp9(255)]
    assert all(a <= b for a, b in zip(qps, qps[1:])) and np.all(np.diff(VP9_CURVE_QP) > 0)
    assert qps[0] >= 0 and qps[-1] <= 51


def test_av1_reports_its_frame_headers_quantiser_index_through_the_curve(tmp_path):
    from revival.io.av1 import FrameQuantisers

    fine = write(tmp_path / "a.mkv", "libsvtav1", options={"crf": "15", "preset": "10"})
    coarse = write(tmp_path / "b.mp4", "libsvtav1", options={"crf": "55", "preset": "10"})
    with av.open(str(coarse)) as inp:
        st = inp.streams.video[0]
        reader = FrameQuantisers(st.codec_context.extradata)
        index = [q for pkt in inp.demux(st) if pkt.size for q in reader.feed(bytes(pkt))]
    assert len(index) == 8
    found = read_quantiser(coarse)
    assert found.family == "av1"
    assert found.qp == pytest.approx(np.mean([h264_qp_from_av1(i) for i in index]))
    assert found.qp > coded_quantiser(fine) + 6


def test_av1_curve_rises_and_stays_on_the_h264_scale():
    qps = [h264_qp_from_av1(i) for i in range(0, 256, 5)] + [h264_qp_from_av1(255)]
    assert all(a <= b for a, b in zip(qps, qps[1:])) and np.all(np.diff(AV1_CURVE_QP) > 0)
    assert qps[0] >= 0 and qps[-1] <= 51


def test_a_damaged_av1_stream_is_unknown_not_an_error(tmp_path, caplog):
    good = write(tmp_path / "a.ivf", "libsvtav1", options={"crf": "40", "preset": "10"})
    data = bytearray(good.read_bytes())
    data[32 + 12:32 + 40] = b"\xff" * 28  # the first frame's OBUs (after the IVF headers)
    bad = tmp_path / "b.ivf"
    bad.write_bytes(bytes(data))
    found = read_quantiser(bad)
    assert found.qp is None and found.family is None
    assert "treated as unknown" in caplog.text


def test_codecs_without_a_quantiser_and_unreadable_files_give_none(tmp_path):
    assert coded_quantiser(write(tmp_path / "a.mkv", "ffv1")) is None
    text = tmp_path / "notes.mkv"
    text.write_text("not a video")
    assert coded_quantiser(text) is None
    assert coded_quantiser(tmp_path / "missing.mkv") is None


def jpeg_bytes(quality: int, seed: int = 0) -> bytes:
    rgb = (np.clip(scene(seed, 64, 96), 0, 1) * 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("quality", [3, 10, 25, 50, 75, 90, 98])
def test_jpeg_tables_are_read_in_natural_order_and_their_scale_recovered(quality):
    table, bits = jpeg_luma_table(jpeg_bytes(quality))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality  # libjpeg's rule
    assert bits == 8
    np.testing.assert_array_equal(table, np.clip(np.floor((K1_LUMA * scale + 50) / 100), 1, 255))
    assert jpeg_table_scale(table) == scale


def test_jpeg_quantiser_rises_as_quality_falls():
    qps = [jpeg_quantiser(jpeg_bytes(q)) for q in (100, 98, 95, 85, 70, 50, 30, 15, 5, 1)]
    assert all(a < b for a, b in zip(qps[1:-1], qps[2:-1]))
    assert qps[0] == 0.0 and qps[1] < qps[2] and qps[-1] == 51.0  # clamped to H.264's range
    assert qps[5] == pytest.approx(JPEG_CURVE_QP[6])  # quality 50 is K.1 itself
    assert np.all(np.diff(JPEG_CURVE_QP) > 0)


def test_jpeg_without_tables_or_at_12_bits_gives_none():
    data = jpeg_bytes(50)
    assert jpeg_quantiser(data[:40]) is None  # cut inside the tables
    assert jpeg_quantiser(b"\x89PNG\r\n\x1a\n" + data[2:]) is None
    # a 12-bit baseline header: 16-bit DQT entries, precision 12 in the frame header
    dqt = b"\xff\xdb" + (2 + 1 + 128).to_bytes(2, "big") + b"\x10" + (
        np.full(64, 40, ">u2").tobytes())
    sof = b"\xff\xc1" + (8 + 3).to_bytes(2, "big") + bytes([12, 0, 8, 0, 8, 1, 1, 0x11, 0])
    deep = b"\xff\xd8" + dqt + sof + b"\xff\xd9"
    assert jpeg_luma_table(deep)[1] == 12
    np.testing.assert_array_equal(jpeg_luma_table(deep)[0], np.full(64, 40.0))
    assert jpeg_quantiser(deep) is None


def test_jpeg_images_and_folders_report_their_tables(tmp_path):
    (tmp_path / "shots").mkdir()
    for name, quality in (("a.jpg", 20), ("b.jpeg", 80)):
        (tmp_path / "shots" / name).write_bytes(jpeg_bytes(quality))
    cv2.imwrite(str(tmp_path / "shots" / "c.png"), np.zeros((8, 8, 3), np.uint8))
    low = coded_quantiser(tmp_path / "shots" / "a.jpg")
    high = coded_quantiser(tmp_path / "shots" / "b.jpeg")
    assert low == pytest.approx(jpeg_quantiser(jpeg_bytes(20)))
    assert low > high + 8
    assert coded_quantiser(tmp_path / "shots") == pytest.approx((low + high) / 2)
    assert coded_quantiser(tmp_path / "shots" / "c.png") is None
    (tmp_path / "pngs").mkdir()
    cv2.imwrite(str(tmp_path / "pngs" / "c.png"), np.zeros((8, 8, 3), np.uint8))
    assert coded_quantiser(tmp_path / "pngs") is None


def test_motion_jpeg_reads_the_tables_of_its_packets(tmp_path):
    # FFmpeg's encoder scales MPEG-1's matrix, not K.1, by a rate-controlled qscale (which
    # takes a dozen frames to settle): other tables than libjpeg's land on the same scale
    high = write(tmp_path / "a.avi", "mjpeg", pix_fmt="yuvj420p", bit_rate=4_000_000, frames=25)
    low = write(tmp_path / "b.avi", "mjpeg", pix_fmt="yuvj420p", bit_rate=20_000, frames=25)
    q_high, q_low = coded_quantiser(high), coded_quantiser(low)
    with av.open(str(low)) as inp:
        per_packet = [jpeg_quantiser(bytes(p)) for p in inp.demux(video=0) if p.size]
    assert q_low == pytest.approx(np.mean(per_packet))
    assert q_low > q_high + 6  # measured 35.6 against 23.4
