import cv2
import numpy as np
import pytest

from revival.io import x264
from revival.train.degrade import video_codec


@pytest.fixture
def features(monkeypatch):
    def use(feats):
        monkeypatch.setattr(x264, "_cpu_features", lambda: dict(feats))
        x264.reproducible_params.cache_clear()
    yield use
    x264.reproducible_params.cache_clear()


AVX512 = {"AVX2": True, "AVX512F": True, "AVX512BW": True, "AVX512DQ": True, "AVX512VL": True}


def test_avx512_cpus_get_a_mask_without_avx512(features):
    features(AVX512)
    mask = int(x264.reproducible_params().removeprefix("asm="))
    assert not mask & x264.X264_CPU_AVX512
    assert mask & (1 << 15) and mask & (1 << 3)  # AVX2 and SSE2 kept
    assert not mask & (0b11 << 10)  # no XOP / FMA4, which AVX-512 CPUs lack
    opts = x264.x264_options({"crf": "30", "x264-params": "keyint=12"})
    assert opts == {"crf": "30", "x264-params": f"keyint=12:asm={mask}"}
    assert x264.x264_options({"x264-params": "asm=0"}) == {"x264-params": "asm=0"}


@pytest.mark.parametrize("feats", [{}, {"AVX2": True, "AVX512F": True}])
def test_other_cpus_keep_x264_detection(features, feats):
    features(feats)
    assert x264.reproducible_params() == ""
    assert x264.x264_options({"crf": "30"}) == {"crf": "30"}


def test_x264_codes_the_same_clip_identically_every_time():
    # preset medium, CRF 40: on AVX-512 CPUs, before the mask, 15 repeats almost always gave
    # two or more different outputs on this clip
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((200, 260, 3)).astype(np.float32), (0, 0), 2)
    base = (base - base.min()) / (base.max() - base.min())
    clip = np.stack([base[2 * i:2 * i + 96, 3 * i:3 * i + 96] for i in range(6)])
    first = video_codec(clip, codec="h264", crf=40, preset="medium")
    for _ in range(15):
        np.testing.assert_array_equal(video_codec(clip, codec="h264", crf=40, preset="medium"), first)


def test_deep_input_is_coded_on_one_thread_and_identically_every_time():
    """10-bit 704x576 through libx264's frame threads gave 5 bitstreams in 20 runs."""
    import hashlib
    import io

    import av

    from revival.testing.clips import scene

    assert x264.x264_options({"crf": "45"}, bit_depth=10)["threads"] == "1"
    assert "threads" not in x264.x264_options({"crf": "45"})
    assert x264.x264_options({"threads": "4"}, bit_depth=10)["threads"] == "4"  # kept
    frames = [(np.clip(scene(i, 576, 704), 0, 1) * 255).astype(np.uint8) for i in range(12)]

    def digest() -> str:
        buf = io.BytesIO()
        with av.open(buf, "w", format="matroska") as out:
            s = out.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = 704, 576, "yuv420p10le"
            s.codec_context.options = x264.x264_options({"crf": "45", "preset": "medium"},
                                                        bit_depth=10)
            for f in frames:
                frame = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format=s.pix_fmt)
                for pkt in s.encode(frame):
                    out.mux(pkt)
            for pkt in s.encode(None):
                out.mux(pkt)
        with av.open(io.BytesIO(buf.getvalue())) as inp:  # the packets, not the muxing date
            return hashlib.sha1(b"".join(bytes(p) for p in inp.demux(video=0))).hexdigest()

    assert len({digest() for _ in range(10)}) == 1


def test_writer_passes_the_mask(features, tmp_path):
    from revival.frames.color import ColorInfo
    from revival.frames.spec import VideoSpec
    from revival.io.encode import EncodeOptions, VideoWriter

    features(AVX512)
    spec = VideoSpec(width=64, height=64, color=ColorInfo.bt709())
    w = VideoWriter(tmp_path / "a.mkv", spec, options=EncodeOptions(codec="h264", crf=30))
    try:
        assert w.video.options["x264-params"] == x264.reproducible_params()
        assert w.video.options["crf"] == "30" and "threads" not in w.video.options
    finally:
        w.abort()
    deep = VideoWriter(tmp_path / "b.mkv", spec, options=EncodeOptions(codec="h264", crf=30,
                                                                        bit_depth=10))
    try:
        assert deep.video.options["threads"] == "1"
    finally:
        deep.abort()
