from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from revival.analysis import analyze, blur_measure, estimate_noise
from revival.errors import ConfigError
from revival.frames.frame import Frame
from revival.pipeline.pipeline import run_stage
from revival.stages.denoise import Denoise, DenoiseParams, denoise
from revival.testing.clips import scene


def _clip(n: int = 7, h: int = 72, w: int = 96, sigma: float = 12.0, seed: int = 0):
    clean = np.stack([scene(i, h, w) for i in range(n)])
    rng = np.random.default_rng(seed)
    noisy = (clean + rng.normal(0, sigma / 255, clean.shape)).astype(np.float32)
    return clean, noisy


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def test_noise_estimate_tracks_added_noise() -> None:
    clean, _ = _clip(1, 96, 128)
    rng = np.random.default_rng(1)
    for sigma in (5.0, 10.0, 20.0):
        noisy = clean[0] + rng.normal(0, sigma / 255, clean[0].shape).astype(np.float32)
        assert abs(estimate_noise(noisy) - sigma) < 0.25 * sigma + 1.5


def test_blur_measure_rises_with_blur() -> None:
    import cv2
    img = scene(0, 96, 128)
    assert blur_measure(cv2.GaussianBlur(img, (0, 0), 2.0)) > blur_measure(img) + 0.1


def test_temporal_beats_spatial_and_both_beat_input() -> None:
    # non-local means in both modes: what is tested is the motion-compensated fusion (the
    # learned model is tested on natural pictures below; on these flat synthetic shapes it
    # measured 1.6 dB below NLM at sigma 12)
    clean, noisy = _clip()
    spatial = denoise(noisy, mode="spatial", spatial_method="nlm")
    temporal = denoise(noisy, mode="temporal", spatial_method="nlm")
    inner = slice(2, 5)
    p_in = _psnr(noisy[inner], clean[inner])
    p_sp = _psnr(spatial[inner], clean[inner])
    p_te = _psnr(temporal[inner], clean[inner])
    assert p_sp > p_in + 3
    assert p_te > p_sp + 0.5


def test_strength_zero_returns_input_and_keeps_frames() -> None:
    _, noisy = _clip(4)
    stage = Denoise(DenoiseParams(strength=0))
    frames = [Frame.from_rgb(f, index=i, pts=3 * i, time_base=Fraction(1, 75))
              for i, f in enumerate(noisy)]
    out = list(run_stage(stage, iter(frames), state=stage.start()))
    assert [f.pts for f in out] == [0, 3, 6, 9]
    assert all(np.array_equal(o.rgb, f) for o, f in zip(out, noisy))


def test_fast_motion_does_not_ghost() -> None:
    """A frame unlike its neighbours (a cut) is denoised from itself, not blended with them."""
    _, noisy = _clip(5)
    odd = noisy.copy()
    odd[2] = 1.0 - odd[2]  # nothing in the neighbours matches this frame
    out = denoise(odd, mode="temporal", sigma=12.0)
    spatial_only = denoise(odd[1:4], mode="spatial", sigma=12.0)[1]
    assert np.abs(out[2] - spatial_only).mean() < 0.01


def test_parameters_are_validated() -> None:
    with pytest.raises(ConfigError) as info:
        Denoise.from_dict({"strength": 3})
    assert info.value.key == "denoise.strength"
    with pytest.raises(ConfigError):
        Denoise.from_dict({"mode": "wavelet"})
    assert Denoise(DenoiseParams(radius=3)).window == (3, 3)
    assert Denoise(DenoiseParams(mode="spatial")).window == (0, 0)


def test_analyze_recommends_denoise_for_noisy_clip() -> None:
    _, noisy = _clip(3, 96, 128, sigma=15.0)
    result = analyze(list(noisy))
    assert result.preset == "home-video" and result.noise_sigma > 8  # 96 lines: small


@pytest.mark.parametrize("figures, preset", [
    ({"noise_sigma": 9.0, "blockiness": 1.0, "blur": 0.2, "height": 1080}, "denoise"),
    ({"noise_sigma": 9.0, "blockiness": 1.0, "blur": 0.2, "height": 480}, "home-video"),
    ({"noise_sigma": 1.0, "blockiness": 1.6, "blur": 0.2, "height": 720}, "web"),
    ({"noise_sigma": 1.0, "blockiness": 1.0, "blur": 0.2, "height": 360}, "fidelity"),
    ({"noise_sigma": 1.0, "blockiness": 1.0, "blur": 0.1, "height": 2160}, "copy"),
    # starved block codec: the rate says what the in-loop filter hides (carphone_distorted)
    ({"noise_sigma": 0.2, "blockiness": 1.25, "blur": 0.4, "height": 144,
      "bits_per_pixel": 0.0125}, "web"),
    # the same picture without a rate is only small (the blockiness alone is below 1.3)
    ({"noise_sigma": 0.2, "blockiness": 1.25, "blur": 0.4, "height": 144}, "fidelity"),
    # a well-coded cartoon (bigbuckbunny 720p, 0.052 bits per pixel) with grid-like edges
    ({"noise_sigma": 0.6, "blockiness": 1.22, "blur": 0.4, "height": 720,
      "bits_per_pixel": 0.052}, "copy"),
    # a low rate on a picture with no blocking (static content) is not a defect
    ({"noise_sigma": 0.5, "blockiness": 1.02, "blur": 0.2, "height": 720,
      "bits_per_pixel": 0.01}, "copy"),
    # heavy H.264 compression whose in-loop filter hid the blocks (imageio's cockatoo clip,
    # QP 39.6): deblock, not upscale; the same picture well coded (QP 27.7) stays soft
    ({"noise_sigma": 0.1, "blockiness": 1.13, "blur": 0.46, "height": 720,
      "coded_qp": 39.6}, "web"),
    ({"noise_sigma": 0.1, "blockiness": 1.13, "blur": 0.46, "height": 720,
      "coded_qp": 27.7}, "fidelity"),
])
def test_recommendation_names_an_installed_preset(figures, preset) -> None:
    from revival.analysis import recommend
    from revival.pipeline.config import preset_names

    name, reason = recommend(**figures)
    assert name == preset and reason
    assert name in preset_names()



def _natural(sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from revival.testing.motion import textured_image

    clean = textured_image(96, 128, seed=seed)[None]
    rng = np.random.default_rng(seed)
    noisy = np.clip(clean + rng.normal(0, sigma / 255, clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def test_learned_model_wins_on_heavy_noise_of_a_photo(shared_data) -> None:
    import cv2

    img = cv2.imread(str(shared_data / "Set14/GTmod12/lenna.png"))[:, :, ::-1]
    clean = np.ascontiguousarray(img[128:320, 128:320], dtype=np.float32)[None] / 255
    rng = np.random.default_rng(3)
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    model = denoise(noisy, mode="spatial", spatial_method="model")
    nlm = denoise(noisy, mode="spatial", spatial_method="nlm")
    p_in, p_model, p_nlm = (_psnr(x[0], clean[0]) for x in (noisy, model, nlm))
    assert p_model > p_in + 8 and p_model > p_nlm + 1.5
    np.testing.assert_array_equal(denoise(noisy, mode="spatial"), model)   # auto picks it


def test_auto_keeps_light_noise_away_from_the_model() -> None:
    # the blind model smooths as if noise were strong: on light noise auto must use NLM
    clean, noisy = _natural(4.0, 5)
    auto = denoise(noisy, mode="spatial")
    np.testing.assert_array_equal(auto, denoise(noisy, mode="spatial", spatial_method="nlm"))
    assert _psnr(auto[0], clean[0]) >= _psnr(noisy[0], clean[0]) - 0.1


def test_learned_model_strength_blends() -> None:
    _, noisy = _natural(25.0, 4)
    full = denoise(noisy, mode="spatial", spatial_method="model")
    half = denoise(noisy, mode="spatial", spatial_method="model", strength=0.5)
    np.testing.assert_allclose(half, np.clip(noisy + 0.5 * (full - noisy), 0, 1), atol=1e-5)


def test_model_settings_are_validated() -> None:
    with pytest.raises(ConfigError):
        Denoise.from_dict({"spatial_method": "wavelet"})
    with pytest.raises(ConfigError):
        Denoise(DenoiseParams(mode="spatial", spatial_method="model", model="fidelity.x2"))
    assert Denoise(DenoiseParams(mode="temporal", spatial_method="nlm")).model is None


def test_temporal_mode_finishes_with_the_model_on_real_video(shared_data) -> None:
    import cv2

    files = sorted((shared_data / "Vid4/GT/city").glob("*.png"))[:5]
    clean = np.stack([cv2.imread(str(f))[200:392, 200:456, ::-1] for f in files])
    clean = clean.astype(np.float32) / 255
    rng = np.random.default_rng(25)
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    spatial = denoise(noisy, mode="spatial")
    with_model = denoise(noisy, mode="temporal")
    with_nlm = denoise(noisy, mode="temporal", spatial_method="nlm")
    p_sp, p_model, p_nlm = (_psnr(x[2], clean[2]) for x in (spatial, with_model, with_nlm))
    assert p_model > p_nlm + 0.5 and p_model > p_sp + 1.0
