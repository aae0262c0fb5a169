from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from revival import probe, restore
from revival.errors import ConfigError
from revival.io.decode import VideoReader
from revival.metrics.artifacts import blockiness
from revival.models.registry import WEIGHTS_DIR
from revival.stages.deblock import Deblock, DeblockParams, deblock
from revival.stages.registry import STAGES, stage_class
from revival.testing.clips import ClipSpec, make_clip, scene, shapes
from revival.train.degrade import video_codec

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_model = pytest.mark.skipif(not (WEIGHTS_DIR / "deblock.x1.json").is_file(),
                                 reason="deblock.x1 weights are not in this checkout")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a8 = np.clip(np.rint(a * 255), 0, 255)
    return float(10 * np.log10(255.0 ** 2 / np.mean((a8 - b * 255) ** 2)))


@pytest.fixture(scope="module")
def stage() -> Deblock:
    if not (WEIGHTS_DIR / "deblock.x1.json").is_file():
        pytest.skip("deblock.x1 weights are not in this checkout")
    return Deblock.from_dict({"threads": 2, "backend": "onnxruntime"})


@pytest.fixture(scope="module")
def coded() -> tuple[np.ndarray, np.ndarray]:
    """(clean, H.264 CRF 40) frames of a real image when ../shared is there, else a scene."""
    img = None
    path = SHARED / "Set14" / "GTmod12" / "lenna.png"
    if path.is_file():
        import cv2
        img = cv2.imread(str(path))[:, :, ::-1].astype(np.float32) / 255
    clean = np.stack([scene(i, 144, 176) if img is None else img[60 + i:204 + i, 40:216]
                      for i in range(3)])
    return clean, video_codec(clean, codec="h264", crf=40, preset="medium")


def test_registered():
    assert stage_class("deblock") is Deblock and "deblock" in STAGES


def test_parameters_are_validated():
    with pytest.raises(ConfigError, match="strength"):
        DeblockParams(strength=3.0)
    with pytest.raises(ConfigError, match="tile"):
        DeblockParams(tile=-1)


def test_unregistered_and_resizing_models_are_refused():
    with pytest.raises(ConfigError, match="unknown model"):
        Deblock.from_dict({"model": "nope.x1"})
    with pytest.raises(ConfigError, match="same-size"):
        Deblock.from_dict({"model": "fidelity.x2"})


@needs_model
def test_wrong_frame_shape_is_config_error(stage):
    with pytest.raises(ConfigError, match="RGB"):
        deblock(np.zeros((16, 16), np.float32), model=stage.model)


@needs_model
def test_strength_zero_returns_the_frame(stage, coded):
    frame = coded[1][0]
    np.testing.assert_array_equal(deblock(frame, model=stage.model, strength=0.0), frame)


@needs_model
def test_shape_range_and_odd_sizes(stage):
    frame = np.random.default_rng(0).random((37, 51, 3), dtype=np.float32)
    out = stage.process(frame[None])
    assert out.shape == frame.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


@needs_model
def test_removes_blocking_and_raises_psnr(stage, coded):
    clean, decoded = coded
    out = np.stack([deblock(f, model=stage.model) for f in decoded])
    b_clean = np.mean([blockiness(f, data_range=1.0) for f in clean])
    b_in = np.mean([blockiness(f, data_range=1.0) for f in decoded])
    b_out = np.mean([blockiness(f, data_range=1.0) for f in out])
    assert b_in > b_clean + 0.05  # the codec really blocked it
    # measured with deblock.x1 at CRF 40: lenna crop 31% of the excess removed, +0.27 dB;
    # synthetic scene 22%, +0.40 dB (docs/benchmarks/deblock.md has the real-clip figures)
    assert b_out - b_clean < 0.85 * (b_in - b_clean)
    gain = np.mean([psnr(o, c) for o, c in zip(out, clean)]) - np.mean(
        [psnr(d, c) for d, c in zip(decoded, clean)])
    assert gain > 0.15


@needs_model
def test_strength_blends_towards_the_model(stage, coded):
    frame = coded[1][0]
    full = deblock(frame, model=stage.model)
    half = deblock(frame, model=stage.model, strength=0.5)
    np.testing.assert_allclose(half, np.clip(frame + 0.5 * (full - frame), 0, 1), atol=1e-5)


@needs_model
def test_output_independent_of_tile_size(stage, coded):
    frame = coded[1][0]
    whole = deblock(frame, model=stage.model)
    for tile in (32, 50):
        tiled = deblock(frame, model=stage.model, tile=tile)
        assert np.abs(tiled - whole).max() < 1.0 / 255


# 10-bit: a clip of smooth gradients and flat discs (revival.testing.clips.shapes, seed 0),
# 96x64, 4 frames, libx264 yuv420p10le at CRF 45 preset medium, decoded by revival.io.
# Measured with deblock.x1 fp32 (onnxruntime, 2 threads): decoded 23.68 dB -> 23.93 dB
# (+0.26 dB); blockiness clean 1.280, decoded 1.954, deblocked 1.683 (40% of the excess
# removed). Seeds 1-3 give +0.18 to +0.38 dB and 27-55% at CRF 45. On fine random
# texture the model gains nothing (it smooths texture), so the clip is not noise-textured.
TEN_BIT = ClipSpec(width=96, height=64, frames=4, bit_depth=10, picture=shapes,
                   options={"crf": "45", "preset": "medium"})


@needs_model
def test_10bit_h264_is_deblocked(stage, tmp_path):
    path = make_clip(tmp_path / "in10.mkv", TEN_BIT)
    with VideoReader(path) as reader:
        frames = list(reader.frames())
        assert reader.spec.bit_depth == 10
        assert {f.source.format.name for f in frames} == {"yuv420p10le"}
        decoded = np.stack([f.rgb for f in frames])
    clean = np.stack([shapes(i, TEN_BIT.height, TEN_BIT.width) for i in range(TEN_BIT.frames)])
    out = np.stack([deblock(f, model=stage.model) for f in decoded])

    def mean_psnr(a: np.ndarray) -> float:  # float PSNR: no rounding to 8 bits
        return float(np.mean([10 * np.log10(1 / np.mean((x - c) ** 2)) for x, c in zip(a, clean)]))

    def mean_blockiness(a: np.ndarray) -> float:
        return float(np.mean([blockiness(f, data_range=1.0) for f in a]))

    p_in, p_out = mean_psnr(decoded), mean_psnr(out)
    b_clean, b_in, b_out = mean_blockiness(clean), mean_blockiness(decoded), mean_blockiness(out)
    assert p_in > 20  # measured 23.68; 10-bit codes scaled as 8-bit ones would give 6 dB
    assert b_in > b_clean + 0.3  # the codec really blocked it (measured +0.67)
    assert b_out - b_clean < 0.8 * (b_in - b_clean)  # measured 0.60
    assert p_out - p_in > 0.15  # measured +0.26 dB


def video_pts(path: Path) -> tuple[Fraction, list[int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.time_base, [f.pts for f in container.decode(stream)]


@needs_model
def test_web_preset_keeps_10bit_frames_and_pts(tmp_path):
    src = make_clip(tmp_path / "in10.mkv", ClipSpec(width=96, height=64, frames=8, bit_depth=10,
                                                    vfr=True, picture=shapes,
                                                    options={"crf": "45", "preset": "medium"}))
    out = tmp_path / "out.mkv"
    result = restore(src, out, preset="web")
    assert result.stages == ("deblock", "temporal") and result.frames == 8
    video = probe(out).video.details
    assert (video["pix_fmt"], video["bit_depth"], video["frame_count"]) == ("yuv420p10le", 10, 8)
    tb_in, pts_in = video_pts(src)
    tb_out, pts_out = video_pts(out)
    assert video["vfr"] and len(set(np.diff(pts_in))) > 1
    assert [p * tb_out for p in pts_out] == [p * tb_in for p in pts_in]
    with VideoReader(out) as reader:  # the pixels were processed, not copied
        b_out = np.mean([blockiness(f.rgb, data_range=1.0) for f in reader.frames()])
    with VideoReader(src) as reader:
        b_in = np.mean([blockiness(f.rgb, data_range=1.0) for f in reader.frames()])
    assert b_out < b_in - 0.05  # measured 1.710 -> 1.604; preset copy re-encodes to 1.727


@pytest.fixture(scope="module")
def multi_frame_model(tmp_path_factory):
    """A small untrained three-frame network exported to ONNX, whose neighbour inputs
    carry weight (a trained one learns such weights; an initialised one has zeros)."""
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.models.export import export_onnx
    from revival.runtime.session import SRModel

    torch.manual_seed(0)
    net = build_arch("restore_c8_b2_f3", scale=1, channels=3)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    path = tmp_path_factory.mktemp("mf") / "mf.onnx"
    export_onnx(net, path, channels=9, size_multiple=2)
    return SRModel(path, scale=1, channels=3, frames=3, backend="onnxruntime", overlap=8,
                   multiple=2), net


def test_multi_frame_deblock_uses_the_neighbours(multi_frame_model):
    import torch

    model, net = multi_frame_model
    rng = np.random.default_rng(1)
    centre = rng.random((24, 30, 3), dtype=np.float32)
    stacked = np.concatenate([centre, rng.random((24, 30, 6), dtype=np.float32)], axis=2)
    out = deblock(stacked, model=model)
    with torch.no_grad():
        ref = net(torch.from_numpy(stacked.transpose(2, 0, 1).copy())[None])[0].numpy()
    np.testing.assert_allclose(out, np.clip(ref.transpose(1, 2, 0), 0, 1), atol=1e-4)
    other = stacked.copy()
    other[..., 3:] = 1 - other[..., 3:]
    assert np.abs(deblock(other, model=model) - out).max() > 1e-3  # neighbours matter
    np.testing.assert_array_equal(deblock(stacked, model=model, strength=0), centre)
    half = deblock(stacked, model=model, strength=0.5)
    np.testing.assert_allclose(half, np.clip(centre + 0.5 * (out - centre), 0, 1), atol=1e-5)
    with pytest.raises(ConfigError, match="aligned neighbours"):
        deblock(centre, model=model)


def test_auto_strength_rule():
    from revival.stages.deblock import auto_strength

    rule = {"qp_zero": 6.0, "qp_span": 36.0}
    assert auto_strength(None, rule) is None and auto_strength(30.0, None) is None
    assert auto_strength(3.0, rule) == 0.0 and auto_strength(60.0, rule) == 1.0
    assert auto_strength(24.0, rule) == pytest.approx(0.5)
    # a family with its own zero point and span; other families keep the main rule
    rule["families"] = {"jpeg": {"qp_zero": 18.0, "qp_span": 12.0}}
    assert auto_strength(24.0, rule, "jpeg") == pytest.approx(0.5)
    assert auto_strength(17.0, rule, "jpeg") == 0.0
    assert auto_strength(24.0, rule, "h264") == pytest.approx(0.5)
    assert auto_strength(20.0, rule, "jpeg") < auto_strength(20.0, rule, None)


def test_strength_auto_is_a_valid_setting_and_other_words_are_not():
    assert DeblockParams(strength="auto").strength == "auto"
    with pytest.raises(ConfigError, match="strength"):
        Deblock.from_dict({"strength": "strong"})


@needs_model
def test_auto_strength_follows_the_coded_quantiser(coded, caplog):
    from revival.frames.color import ColorInfo
    from revival.frames.spec import VideoSpec
    from revival.models.registry import load_manifest

    rule = load_manifest("deblock.x1")["auto_strength"]
    auto = Deblock.from_dict({"strength": "auto", "threads": 2, "backend": "onnxruntime"})
    assert auto.needs_coded_qp and not Deblock.from_dict({"strength": 0.5}).needs_coded_qp
    frame = coded[1][0]
    full = deblock(frame, model=auto.model)
    spec = VideoSpec(width=frame.shape[1], height=frame.shape[0], color=ColorInfo.bt709())
    # below the rule's zero point the frame passes untouched
    auto.configure(spec.with_(coded_qp=rule["qp_zero"] - 1))
    assert auto.strength == 0.0
    np.testing.assert_array_equal(auto.process(frame[None]), frame)
    # in between: the blend of the rule's strength
    qp = rule["qp_zero"] + 0.5 * rule["qp_span"]
    auto.configure(spec.with_(coded_qp=qp))
    np.testing.assert_allclose(auto.process(frame[None]),
                               np.clip(frame + 0.5 * (full - frame), 0, 1), atol=1e-5)
    # no quantiser (HEVC, images): the calibrated constant, and the log says why
    with caplog.at_level("INFO", logger="revival.stages.deblock"):
        auto.configure(spec)
    assert 0 < rule["fallback_strength"] < 1
    assert auto.strength == rule["fallback_strength"] and "reports no quantiser" in caplog.text
    # JPEG tables, VP9 and AV1 indices: the family's own rule, and the message says so
    assert {"jpeg", "vp9", "av1", "hevc"} <= set(rule["families"])
    for family, own in rule["families"].items():
        auto.configure(spec.with_(coded_qp=own["qp_zero"] + 0.25 * own["qp_span"],
                                  coded_family=family))
        assert auto.strength == pytest.approx(0.25)
        assert auto.chosen.endswith(f", {family} rule)")
    auto.rule = None  # a model whose manifest has no rule: as trained
    auto.configure(spec.with_(coded_qp=20.0))
    assert auto.strength == 1.0


@needs_model
def test_web_preset_spares_a_well_coded_video(tmp_path):
    """A clip coded at QP 14 goes through `web` nearly untouched; the same frames coded at
    QP 48 get the full correction. The job measures the quantiser only when asked."""
    from revival.io.encode import EncodeOptions
    from revival.io.x264 import x264_options

    def coded(qp: int) -> Path:
        path = tmp_path / f"qp{qp}.mkv"
        with av.open(str(path), "w") as out:
            s = out.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
            s.codec_context.options = x264_options(
                {"qp": str(qp), "x264-params": "ipratio=1.0:pbratio=1.0:aq-mode=0"})
            for i in range(4):
                rgb = (np.clip(scene(i, 64, 96), 0, 1) * 255).astype(np.uint8)
                for pkt in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    out.mux(pkt)
            for pkt in s.encode(None):
                out.mux(pkt)
        return path

    def result_strength(qp: int) -> str:
        from revival.models.registry import load_manifest
        from revival.stages.deblock import auto_strength

        return f"{auto_strength(qp, load_manifest('deblock.x1')['auto_strength']):.2f}"

    changes = {}
    for qp in (14, 48):
        src = coded(qp)
        result = restore(src, tmp_path / f"out{qp}.mkv", preset="web", stages=["deblock"],
                         encode=EncodeOptions(codec="ffv1"))  # lossless: only the stage acts
        assert result.input_spec.coded_qp == pytest.approx(qp)
        assert result.choices == (f"deblock: strength {result_strength(qp)} from the source's "
                                  f"quantiser (QP {qp:.1f})",)
        with VideoReader(src) as a, VideoReader(tmp_path / f"out{qp}.mkv") as b:
            changes[qp] = float(np.mean([np.abs(x.rgb - y.rgb).mean()
                                         for x, y in zip(a.frames(), b.frames())]))
    copy = restore(coded(14), tmp_path / "copy.mkv", preset="copy")
    assert copy.input_spec.coded_qp is None and copy.choices == ()  # no stage asked for it
    # strengths 0.18 and 1: mean change 0.0034 and 0.0192 (5.7 times); both at full
    # strength: 0.0183 and 0.0192
    assert changes[48] > 3 * changes[14]


@needs_model
def test_web_preset_reads_the_tables_of_a_jpeg_photo(tmp_path):
    """A quality 95 photo is barely touched, a quality 10 one gets the full correction."""
    import cv2

    from revival.io.images import read_image
    from revival.io.jpeg import jpeg_quantiser

    rgb = (np.clip(scene(0, 64, 96), 0, 1) * 255).astype(np.uint8)
    changes = {}
    for quality in (95, 10):
        src = tmp_path / f"q{quality}.jpg"
        cv2.imwrite(str(src), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        qp = jpeg_quantiser(src.read_bytes())
        result = restore(src, tmp_path / f"q{quality}.png", preset="web", stages=["deblock"])
        assert result.input_spec.coded_qp == pytest.approx(qp)
        assert result.input_spec.coded_family == "jpeg"
        assert result.choices[0].endswith(f"from the source's quantiser (QP {qp:.1f}, jpeg rule)")
        changes[quality] = float(np.abs(read_image(tmp_path / f"q{quality}.png")[0]
                                        - read_image(src)[0]).mean())
    assert changes[10] > 4 * changes[95]  # strengths 0 and 1 (the JPEG rule): 0 and 0.0201
