from __future__ import annotations

import math

import numpy as np
import pytest

from revival.errors import ConfigError
from revival.train import degrade as d


def natural(h=48, w=64, seed=0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.25 * np.sin(xx / 3.0) * np.cos(yy / 4.0)
    rng = np.random.default_rng(seed)
    return np.clip(base[..., None] + 0.05 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


def hf_energy(img: np.ndarray) -> float:
    return float(np.mean(np.abs(np.diff(img, axis=1))))


KERNELS = {
    "iso": lambda: d.gaussian_kernel(15, 2.0),
    "aniso": lambda: d.gaussian_kernel(15, 3.0, 1.0, 0.5),
    "generalized": lambda: d.generalized_gaussian_kernel(15, 2.0, 1.0, 0.3, beta=3.0),
    "plateau": lambda: d.plateau_kernel(15, 2.0, beta=2.0),
    "defocus": lambda: d.defocus_kernel(15, 4.0),
    "airy": lambda: d.airy_kernel(15, 3.0),
    "motion": lambda: d.motion_kernel(15, 9.0, 0.7),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernels_normalised_and_blur(name):
    k = KERNELS[name]()
    assert k.shape == (15, 15) and k.dtype == np.float32
    assert k.sum() == pytest.approx(1.0, abs=1e-5) and k.min() >= -1e-7
    img = natural()
    assert hf_energy(d.apply_kernel(img, k)) < 0.7 * hf_energy(img)


def test_anisotropic_gaussian_is_oriented():
    k = d.gaussian_kernel(21, 4.0, 1.0, 0.0)
    assert k[10, :].sum() > 2 * k[:, 10].sum()  # wide along x
    k90 = d.gaussian_kernel(21, 4.0, 1.0, math.pi / 2)
    np.testing.assert_allclose(k90, k.T, atol=1e-6)


def test_motion_kernel_length():
    k = d.motion_kernel(21, 11.0, 0.0)
    assert np.count_nonzero(k.sum(axis=0) > 1e-4) in (11, 12, 13)
    assert np.count_nonzero(k.sum(axis=1) > 1e-4) <= 2


def test_sinc_kernel_rings():
    k = d.sinc_kernel(21, math.pi / 3)
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    assert k.min() < 0  # negative lobes produce ringing
    step = np.zeros((32, 32, 3), np.float32)
    step[:, 16:] = 1
    out = d.apply_kernel(step, k)
    assert out.max() > 1.01 and out.min() < -0.01


def test_bad_kernel_parameters():
    with pytest.raises(ConfigError):
        d.gaussian_kernel(4, 1.0)
    with pytest.raises(ConfigError):
        d.gaussian_kernel(5, 0.0)
    with pytest.raises(ValueError):
        d.sinc_kernel(5, 4.0)


def test_random_kernel_seeded():
    a = d.random_kernel(np.random.default_rng(7))
    b = d.random_kernel(np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kernel", ["bicubic", "bilinear", "lanczos", "area", "nearest"])
def test_random_resize(kernel):
    out = d.random_resize(natural(), size=(20, 30), kernel=kernel)
    assert out.shape == (20, 30, 3)
    assert abs(out.mean() - natural().mean()) < 0.02


@pytest.mark.parametrize("gray", [False, True])
def test_gaussian_noise_sigma_and_gray(gray):
    img = np.full((128, 128, 3), 0.5, np.float32)
    out = d.gaussian_noise(img, 0.1, rng=np.random.default_rng(0), gray=gray)
    assert np.std(out - img) == pytest.approx(0.1, rel=0.05)
    chroma = np.abs(out[..., 0] - out[..., 1]).max()
    assert (chroma < 1e-6) == gray


def test_poisson_noise_scales_with_signal():
    img = np.concatenate([np.full((64, 64, 3), 0.1, np.float32),
                          np.full((64, 64, 3), 0.9, np.float32)], axis=1)
    out = d.poisson_noise(img, 100.0, rng=np.random.default_rng(0))
    dark, bright = np.std(out[:, :64] - 0.1), np.std(out[:, 64:] - 0.9)
    assert dark == pytest.approx(math.sqrt(0.1 / 100), rel=0.1)
    assert bright == pytest.approx(math.sqrt(0.9 / 100), rel=0.1)
    gray = d.poisson_noise(img, 100.0, rng=np.random.default_rng(0), gray=True, read_sigma=0.01)
    assert np.abs(gray[..., 0] - gray[..., 2]).max() < 1e-6


def test_jpeg_quality_orders_error():
    img = natural(64, 64)
    err = [np.abs(d.jpeg(img, q) - img).mean() for q in (10, 50, 95)]
    assert err[0] > err[1] > err[2]
    with pytest.raises(ConfigError):
        d.jpeg(img, 0)


@pytest.mark.parametrize("codec", ["h264", "mpeg2video", "mpeg4"])
def test_video_codec_round_trip(codec):
    frames = np.stack([np.roll(natural(35, 47), i, axis=1) for i in range(3)])
    out = d.video_codec(frames, codec=codec, crf=35, bitrate=150_000)
    assert out.shape == frames.shape
    err = np.abs(out - frames).mean()
    assert 0.002 < err < 0.15
    np.testing.assert_array_equal(out, d.video_codec(frames, codec=codec, crf=35,
                                                     bitrate=150_000))


def test_chain_seeded_and_sized():
    hr = natural(64, 80)
    a = d.degrade_chain(hr, scale=4, rng=np.random.default_rng(3))
    b = d.degrade_chain(hr, scale=4, rng=np.random.default_rng(3))
    c = d.degrade_chain(hr, scale=4, rng=np.random.default_rng(4))
    assert a.shape == (16, 20, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(np.round(a * 255), a * 255)
    with pytest.raises(ConfigError):
        d.degrade_chain(natural(30, 30), scale=4, rng=np.random.default_rng(0))


def test_chain_with_codec_and_no_blur():
    cfg = d.ChainConfig(blur_prob=(0.0, 0.0), codec_prob=1.0)
    out = d.degrade_chain(natural(64, 64), scale=2, rng=np.random.default_rng(5), config=cfg)
    assert out.shape == (32, 32, 3)


def _record_resizes(monkeypatch) -> list[tuple[int, int]]:
    """The target sizes of every random_resize call the chain makes, in order."""
    sizes = []
    real = d.random_resize

    def spy(img, *, size, kernel):
        sizes.append(tuple(size))
        return real(img, size=size, kernel=kernel)

    monkeypatch.setattr(d, "random_resize", spy)
    return sizes


def test_chain_second_resize_is_relative_to_the_lr_size(monkeypatch):
    # The first factor is relative to the HR size, the second to the final LR size (as
    # in Real-ESRGAN), so the factors do not compound: with f1 = 0.6 and f2 = 0.75 at
    # scale 2 the picture goes 96x128 -> 58x77 -> 36x48 (0.75 of 48x64) -> 48x64.
    sizes = _record_resizes(monkeypatch)
    cfg = d.ChainConfig(blur_prob=(0.0, 0.0), resize_range=((0.6, 0.6), (0.75, 0.75)),
                        codec_prob=0.0)
    lr = d.degrade_chain(natural(96, 128), scale=2, rng=np.random.default_rng(0), config=cfg)
    assert sizes == [(58, 77), (36, 48), (48, 64)]
    assert lr.shape == (48, 64, 3)


def test_chain_compress_last_resizes_to_lr_then_compresses(monkeypatch):
    # with compress_last_prob=1 the second round goes straight to the LR size and nothing
    # resamples the codec's output: two resizes, not three
    sizes = _record_resizes(monkeypatch)
    cfg = d.ChainConfig(blur_prob=(0.0, 0.0), resize_range=((0.6, 0.6), (0.75, 0.75)),
                        codec_prob=0.0, jpeg_quality=((90, 91), (8, 9)), compress_last_prob=1.0)
    lr = d.degrade_chain(natural(96, 128), scale=2, rng=np.random.default_rng(0), config=cfg)
    assert sizes == [(58, 77), (48, 64)]
    assert lr.shape == (48, 64, 3)


def test_chain_compress_last_keeps_the_block_grid_on_lr_pixels():
    # JPEG q8 as the last step leaves 8x8 block edges on the LR grid; the default chain
    # resamples them after compression and they no longer line up with it
    from revival.metrics.artifacts import blockiness

    def grid(prob):
        cfg = d.ChainConfig(blur_prob=(0.0, 0.0), resize_range=((1.0, 1.0), (0.75, 0.75)),
                            gaussian_sigma=((0.0, 1e-6), (0.0, 1e-6)), poisson_prob=0.0,
                            codec_prob=0.0, jpeg_quality=((94, 95), (8, 9)),
                            compress_last_prob=prob)
        lr = d.degrade_chain(natural(256, 256), scale=2, rng=np.random.default_rng(1),
                             config=cfg)
        return blockiness(lr, data_range=1.0)

    assert grid(1.0) > 1.45  # measured 1.64-1.66 over three seeds
    assert grid(0.0) < 1.25  # 1.14-1.16


def test_chain_without_compress_last_keeps_its_random_stream():
    hr = natural(64, 64)
    a = d.degrade_chain(hr, scale=2, rng=np.random.default_rng(7))
    b = d.degrade_chain(hr, scale=2, rng=np.random.default_rng(7),
                        config=d.ChainConfig(compress_last_prob=0.0))
    np.testing.assert_array_equal(a, b)
