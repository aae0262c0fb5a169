import numpy as np
import pytest

from revival.errors import ConfigError
from revival.metrics.fidelity import psnr, ssim
from revival.stages.resize import resize


def test_psnr_analytic_constant_offset():
    a = np.full((20, 20, 3), 0.25, np.float32)
    b = a + 0.05
    # every channel off by 0.05 * 255 -> MSE = 12.75^2 -> PSNR = 20 log10(255 / 12.75)
    assert psnr(a, b, data_range=1.0, channel="rgb") == pytest.approx(20 * np.log10(255 / 12.75), abs=1e-4)
    # on Y the offset is scaled by the luma weights (sum 219/255)
    dy = 0.05 * 255 * 219 / 255
    assert psnr(a, b, data_range=1.0, channel="y") == pytest.approx(20 * np.log10(255 / dy), abs=1e-4)


def test_psnr_data_range_is_explicit():
    rng = np.random.default_rng(0)
    a = rng.random((16, 16, 3))
    b = np.clip(a + rng.normal(0, 0.02, a.shape), 0, 1)
    assert psnr(a * 255, b * 255, data_range=255.0) == pytest.approx(psnr(a, b, data_range=1.0))
    assert psnr(a, a, data_range=1.0) == float("inf")


def test_crop_border_ignores_the_border():
    a = np.full((32, 32, 3), 0.5)
    b = a.copy()
    b[:4] = 0.0
    assert psnr(a, b, data_range=1.0, crop_border=4) == float("inf")
    assert psnr(a, b, data_range=1.0, crop_border=3) < 40


def test_ssim_flat_images_reduce_to_luminance_term():
    # for flat images sigma = 0, so SSIM = (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 + C1)
    a = np.full((24, 24, 3), 100 / 255.0)
    b = np.full((24, 24, 3), 150 / 255.0)
    c1 = (0.01 * 255) ** 2
    expect = (2 * 100 * 150 + c1) / (100 ** 2 + 150 ** 2 + c1)
    assert ssim(a, b, data_range=1.0, channel="rgb") == pytest.approx(expect, rel=1e-9)
    assert ssim(a, a, data_range=1.0) == pytest.approx(1.0)


def test_ssim_falls_with_noise(textured):
    rng = np.random.default_rng(3)
    small = np.clip(textured + rng.normal(0, 0.02, textured.shape), 0, 1)
    large = np.clip(textured + rng.normal(0, 0.1, textured.shape), 0, 1)
    assert 1.0 > ssim(textured, small, data_range=1.0) > ssim(textured, large, data_range=1.0)


def test_errors_are_config_errors():
    a = np.zeros((16, 16, 3))
    with pytest.raises(ConfigError, match="differ in shape"):
        psnr(a, np.zeros((16, 15, 3)), data_range=1.0)
    with pytest.raises(ValueError, match="data_range"):
        psnr(a, a, data_range=0)
    with pytest.raises(ConfigError, match="channel"):
        ssim(a, a, data_range=1.0, channel="ycbcr")
    with pytest.raises(ConfigError, match="crop_border"):
        psnr(a, a, data_range=1.0, crop_border=8)
    with pytest.raises(ConfigError, match="11x11"):
        ssim(np.zeros((10, 10, 3)), np.zeros((10, 10, 3)), data_range=1.0)


# Published bicubic x4 figures (Y channel, 4-pixel crop), as printed in the SR
# literature since SRCNN/VDSR: Set5 28.42 dB / 0.8104, Set14 26.00 dB / 0.7027.
@pytest.mark.parametrize("name,psnr_pub,ssim_pub", [("Set5", 28.42, 0.8104), ("Set14", 26.00, 0.7027)])
def test_bicubic_x4_reproduces_published_numbers(name, psnr_pub, ssim_pub, data, rgb):
    gt_dir = data(name, "GTmod12")
    ps, ss = [], []
    for gt_path in sorted(gt_dir.glob("*.png")):
        gt = rgb(gt_path)
        lr = rgb(gt_path.parent.parent / "LRbicx4" / gt_path.name)
        sr = np.rint(np.clip(resize(lr, scale=4, kernel="bicubic"), 0, 1) * 255) / 255
        ps.append(psnr(gt, sr, data_range=1.0, channel="y", crop_border=4))
        ss.append(ssim(gt, sr, data_range=1.0, channel="y", crop_border=4))
    assert np.mean(ps) == pytest.approx(psnr_pub, abs=0.1)
    assert np.mean(ss) == pytest.approx(ssim_pub, abs=0.005)
