from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from revival.errors import ConfigError
from revival.frames.color import ColorInfo
from revival.frames.spec import VideoSpec
from revival.models.registry import WEIGHTS_DIR
from revival.stages.registry import STAGES, stage_class
from revival.stages.resize import resize
from revival.stages.upscale import (Upscale, UpscaleParams, ensemble_upscale, resolve_model,
                                    rgb_to_ycc, upscale, ycc_to_rgb)
from revival.testing.clips import scene


class LanczosModel:
    """Stand-in luma model that upsamples with Lanczos (the chroma kernel)."""

    channels, scale = 1, 2

    def upscale(self, image: np.ndarray, *, tile: int = 0) -> np.ndarray:
        return resize(image[..., 0], scale=self.scale, kernel="lanczos")[..., None]


@pytest.fixture(scope="module")
def stage() -> Upscale:
    return Upscale.from_dict({"model": "fidelity.x4", "scale": 4, "threads": 2,
                              "backend": "onnxruntime"})


def test_registered():
    assert stage_class("upscale") is Upscale and "upscale" in STAGES


def test_configure_scales_spec(stage):
    spec = VideoSpec(width=33, height=21, color=ColorInfo.bt709(), frame_rate=Fraction(24))
    out = stage.configure(spec)
    assert (out.width, out.height) == (132, 84) and out.frame_rate == spec.frame_rate


def test_process_shape_and_range(stage):
    window = np.random.default_rng(0).random((1, 21, 33, 3), dtype=np.float32)
    out = stage.process(window)
    assert out.shape == (84, 132, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_window_of_frames():
    frames = np.random.default_rng(1).random((3, 6, 7, 3), dtype=np.float32)
    out = upscale(frames, model=LanczosModel())
    assert out.shape == (3, 12, 14, 3)


def test_scale_mismatch_is_config_error():
    with pytest.raises(ConfigError, match="upscale.scale"):
        Upscale.from_dict({"model": "fidelity.x4", "scale": 2})


def test_unknown_key_and_bad_values():
    with pytest.raises(ConfigError, match="upscale"):
        Upscale.from_dict({"modle": "fidelity.x4"})
    with pytest.raises(ConfigError, match="precision"):
        Upscale.from_dict({"precision": "fp8"})
    with pytest.raises(ConfigError, match="model"):
        Upscale.from_dict({"model": "nope.x4"})


def test_bad_frame_shape_is_config_error():
    with pytest.raises(ConfigError, match="RGB"):
        upscale(np.zeros((5, 5), np.float32), model=LanczosModel())


@pytest.mark.parametrize("matrix", [1, 5, 9])
def test_ycc_round_trip(matrix):
    rgb = np.random.default_rng(matrix).random((9, 11, 3), dtype=np.float32)
    np.testing.assert_allclose(ycc_to_rgb(rgb_to_ycc(rgb, matrix), matrix), rgb, atol=1e-6)


@pytest.mark.parametrize("matrix", [1, 6])
def test_luma_path_is_colour_exact(matrix):
    # where the luma model equals the chroma kernel, the result is that kernel applied to RGB
    rgb = np.random.default_rng(3).random((12, 15, 3), dtype=np.float32) * 0.6 + 0.2
    got = upscale(rgb, model=LanczosModel(), matrix=matrix)
    ref = np.clip(resize(rgb, scale=2, kernel="lanczos"), 0, 1)
    np.testing.assert_allclose(got, ref, atol=2e-5)


def test_grey_stays_grey(stage):
    grey = np.repeat(np.random.default_rng(4).random((10, 12, 1), dtype=np.float32), 3, axis=2)
    out = stage.process(grey[None])
    assert np.abs(out[..., 0] - out[..., 1]).max() < 1e-5
    assert np.abs(out[..., 2] - out[..., 1]).max() < 1e-5


def test_output_independent_of_tile(stage):
    frame = np.random.default_rng(5).random((30, 41, 3), dtype=np.float32)
    whole = upscale(frame, model=stage.model, tile=0)
    tiled = upscale(frame, model=stage.model, tile=13)
    assert np.abs(whole - tiled).max() <= 1 / 255


def test_beats_bicubic_on_real_crop(stage, shared_data):
    from revival.train.data import read_rgb
    from revival.train.evaluate import psnr_y

    hr = read_rgb(shared_data / "Set5" / "GTmod12" / "butterfly.png")[:160, :160]
    lr = read_rgb(shared_data / "Set5" / "LRbicx4" / "butterfly.png")[:40, :40]
    hr, lr = hr.astype(np.float32) / 255, lr.astype(np.float32) / 255
    sr = stage.process(lr[None])
    bicubic = np.clip(resize(lr, scale=4, kernel="bicubic"), 0, 1)
    gain = psnr_y(sr, hr, border=4) - psnr_y(bicubic, hr, border=4)
    assert gain > 1.0, f"SR gains only {gain:.2f} dB over bicubic"


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def test_family_resolves_to_the_model_of_the_scale():
    assert resolve_model("fidelity", 2) == "fidelity.x2"
    assert resolve_model("fidelity", 4) == "fidelity.x4"
    assert resolve_model("fidelity.x4", 4) == "fidelity.x4"
    with pytest.raises(ConfigError, match="fidelity.x2"):
        resolve_model("fidelity", 3)
    with pytest.raises(ConfigError, match="available"):
        resolve_model("nosuch", 2)


@pytest.mark.parametrize("scale", [2, 4])
def test_family_model_beats_lanczos_on_a_synthetic_scene(scale):
    hr = scene(3, 96, 128)
    lr = np.clip(resize(hr, scale=1 / scale, kernel="bicubic"), 0, 1)
    stage = Upscale(UpscaleParams(model="fidelity", scale=scale))
    out = stage.process(lr[None])
    lanczos = resize(lr, scale=float(scale), kernel="lanczos")
    assert out.shape == hr.shape
    assert _psnr(out, hr) > _psnr(lanczos, hr) + 0.3


def test_forensic_refuses_models_not_declared_non_adversarial(monkeypatch):
    import revival.models.registry as registry

    real = registry.load_manifest

    def adversarial(model_id, **kw):
        return {**real(model_id, **kw), "adversarial": True}

    monkeypatch.setattr(registry, "load_manifest", adversarial)
    with pytest.raises(ConfigError, match="forensic"):
        Upscale(UpscaleParams(model="fidelity", scale=2, forensic=True))
    Upscale(UpscaleParams(model="fidelity", scale=2, forensic=False))  # allowed otherwise


@pytest.mark.skipif(not (WEIGHTS_DIR / "perceptual.x4.json").is_file(),
                    reason="perceptual.x4 weights are not in this checkout")
def test_forensic_refuses_the_shipped_perceptual_model():
    with pytest.raises(ConfigError, match="forensic"):
        Upscale(UpscaleParams(model="perceptual", scale=4, forensic=True))


@pytest.mark.parametrize("model_id", ["realworld.x2", "realworld.x4", "perceptual.x4"])
def test_rgb_models_beat_bicubic_where_they_should(model_id):
    """RGB models run on the RGB frame; each must at least be sharper than bicubic."""
    if not (WEIGHTS_DIR / f"{model_id}.json").is_file():
        pytest.skip(f"{model_id} weights are not in this checkout")
    family, scale = model_id.split(".x")
    stage = Upscale(UpscaleParams(model=family, scale=int(scale), threads=2))
    assert stage.model.channels == 3
    hr = scene(0, 96, 128)
    lr = np.clip(resize(hr, scale=1 / int(scale), kernel="bicubic"), 0, 1)
    out = stage.process(lr[None])
    bicubic = np.clip(resize(lr, scale=float(scale), kernel="bicubic"), 0, 1)

    def detail(x):
        return float(np.abs(np.diff(x, axis=1)).mean())

    assert out.shape == hr.shape
    assert detail(out) > detail(bicubic)


class NearestModel:
    """Stand-in RGB model: nearest-neighbour 2x, plus a ramp that grows to the right when
    ``ramp`` is set (a model that is not mirror-symmetric)."""

    channels, scale = 3, 2

    def __init__(self, ramp: float = 0.0) -> None:
        self.ramp, self.calls = ramp, []

    def upscale(self, image: np.ndarray, *, tile: int = 0) -> np.ndarray:
        self.calls.append(image.shape)
        out = image.repeat(2, axis=0).repeat(2, axis=1)
        return out + self.ramp * np.linspace(0, 1, out.shape[1], dtype=np.float32)[None, :, None]


@pytest.mark.parametrize("ensemble", [2, 4, 8])
def test_ensemble_maps_every_copy_back(ensemble):
    # a model that commutes with flips and transposes gives the plain answer back exactly:
    # a copy mapped back the wrong way would scramble the non-symmetric picture
    frame = np.random.default_rng(7).random((6, 9, 3), dtype=np.float32)
    model = NearestModel()
    np.testing.assert_allclose(ensemble_upscale(model, frame, ensemble=ensemble),
                               model.upscale(frame), atol=1e-6)
    assert len(model.calls) == ensemble + 1
    assert ((9, 6, 3) in model.calls) == (ensemble == 8)  # only 8 includes the transposes


def test_ensemble_averages_the_mirrored_answers():
    # the ramp is added left to right on the plain copy and right to left on the mirrored
    # one (after mapping back), so the average carries half the ramp, flat
    frame = np.zeros((4, 5, 3), np.float32)
    out = ensemble_upscale(NearestModel(ramp=0.2), frame, ensemble=2)
    np.testing.assert_allclose(out, 0.1, atol=1e-6)


def test_ensemble_must_be_1_2_4_or_8():
    with pytest.raises(ConfigError, match="ensemble"):
        UpscaleParams(ensemble=3)
    with pytest.raises(ConfigError, match="ensemble"):
        ensemble_upscale(NearestModel(), np.zeros((4, 4, 3), np.float32), ensemble=0)


def test_ensemble_raises_fidelity_on_a_real_crop(stage, shared_data):
    from revival.train.data import read_rgb
    from revival.train.evaluate import psnr_y

    hr = read_rgb(shared_data / "Set5" / "GTmod12" / "butterfly.png")[:160, :160]
    lr = read_rgb(shared_data / "Set5" / "LRbicx4" / "butterfly.png")[:40, :40]
    hr, lr = hr.astype(np.float32) / 255, lr.astype(np.float32) / 255
    once = upscale(lr, model=stage.model)
    four = upscale(lr, model=stage.model, ensemble=4)
    gain = psnr_y(four, hr, border=4) - psnr_y(once, hr, border=4)
    assert gain > 0.05, f"the ensemble of 4 gains only {gain:.3f} dB"
