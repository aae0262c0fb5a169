import cv2
import numpy as np
import pytest

from revival.errors import ConfigError
from revival.metrics.artifacts import blockiness, grid_pattern, ringing
from revival.stages.resize import resize


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    u8 = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)[..., ::-1]
    ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255


def test_blockiness_one_without_grid_and_high_for_jpeg(textured):
    rng = np.random.default_rng(0)
    noise = rng.random((128, 128, 3))
    assert blockiness(noise, data_range=1.0) == pytest.approx(1.0, abs=0.05)
    assert blockiness(textured, data_range=1.0) == pytest.approx(1.0, abs=0.1)
    q10 = _jpeg(textured, 10)
    q95 = _jpeg(textured, 95)
    assert blockiness(q10, data_range=1.0) > 1.4
    assert blockiness(q10, data_range=1.0) > blockiness(q95, data_range=1.0)


def test_blockiness_piecewise_constant_blocks():
    # steps only at 8-pixel boundaries: inner steps are zero -> very large ratio;
    # on a 16 grid half of the steps are "inner" -> ratio 2 in expectation
    rng = np.random.default_rng(2)
    blocks = np.kron(rng.random((12, 12)), np.ones((8, 8)))
    img = np.repeat(blocks[..., None], 3, axis=2)
    assert blockiness(img, data_range=1.0, block=8) > 1e3
    b16 = blockiness(img, data_range=1.0, block=16)
    assert 1.2 < b16 < 1e3


def test_blockiness_errors():
    with pytest.raises(ConfigError, match="block"):
        blockiness(np.zeros((32, 32, 3)), data_range=1.0, block=1)
    with pytest.raises(ConfigError, match="at least"):
        blockiness(np.zeros((10, 32, 3)), data_range=1.0)


def test_ringing_zero_for_clean_edge_and_higher_for_lanczos():
    img = np.zeros((64, 64, 3))
    img[:, 32:] = 1.0
    assert ringing(img, data_range=1.0) == 0.0
    small = np.zeros((16, 16, 3))
    small[:, 8:] = 1.0
    lanczos = np.clip(resize(small, scale=4, kernel="lanczos"), 0, 1)
    bilinear = np.clip(resize(small, scale=4, kernel="bilinear"), 0, 1)
    # clipping to [0, 1] removes overshoot on a 0/1 edge: use a mid-grey edge
    small2 = 0.25 + 0.5 * small
    lz = resize(small2, scale=4, kernel="lanczos")
    bl = resize(small2, scale=4, kernel="bilinear")
    assert ringing(lz, data_range=1.0) > 2 * ringing(bl, data_range=1.0)
    assert ringing(lz, data_range=1.0, reference=bl) > 1.0
    assert lanczos.shape == bilinear.shape


def test_ringing_jpeg_with_reference(textured):
    img = np.zeros((64, 64, 3), np.float32)
    img[:, 30:] = 0.9
    img[:, :30] = 0.1
    assert ringing(_jpeg(img, 10), data_range=1.0, reference=img) > ringing(_jpeg(img, 95), data_range=1.0, reference=img)


def test_grid_pattern_finds_a_pattern_on_the_4_pixel_grid_only(textured):
    rng = np.random.default_rng(3)
    noisy = np.clip(textured + rng.normal(0, 0.03, textured.shape), 0, 1).astype(np.float32)
    assert grid_pattern(textured, data_range=1.0) < 0.3
    assert grid_pattern(noisy, data_range=1.0) < 0.3
    up = np.clip(resize(textured, scale=4, kernel="bicubic"), 0, 1)   # interpolation: no grid
    assert grid_pattern(up, data_range=1.0) < 0.3
    tile = np.zeros((4, 4, 1), np.float32)
    tile[1, 2], tile[3, 0] = 3 / 255, -3 / 255        # +-3 levels at two of 16 phases
    h, w = noisy.shape[:2]
    gridded = noisy + np.tile(tile, (h // 4 + 1, w // 4 + 1, 1))[:h, :w]
    assert grid_pattern(gridded, data_range=1.0) > 0.8
    # the same pattern on a 3-pixel grid is not seen at period 4, and is at period 3
    tile3 = np.zeros((3, 3, 1), np.float32)
    tile3[1, 2], tile3[0, 0] = 3 / 255, -3 / 255
    gridded3 = noisy + np.tile(tile3, (h // 3 + 1, w // 3 + 1, 1))[:h, :w]
    assert grid_pattern(gridded3, data_range=1.0) < 0.3
    assert grid_pattern(gridded3, data_range=1.0, period=3) > 0.8
    with pytest.raises(ConfigError):
        grid_pattern(textured, data_range=1.0, period=1)
