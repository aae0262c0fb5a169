import numpy as np
import pytest

from revival.errors import ConfigError
from revival.metrics._niqe_params import pristine_model
from revival.metrics.niqe import niqe


def test_pristine_model_is_a_valid_mvg():
    mu, cov = pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36)
    assert np.allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > -1e-9
    # alpha of the MSCN AGGD fit of pristine images is close to 2.6-3 at both scales
    assert 2.4 < mu[0] < 3.2 and 2.4 < mu[18] < 3.2


def test_noise_is_less_natural_than_a_photo(textured):
    rng = np.random.default_rng(0)
    noise = rng.random((192, 192, 3))
    photo_like = np.tile(textured, (2, 2, 1))[:192, :192]
    assert niqe(noise, data_range=1.0) > niqe(photo_like, data_range=1.0)


def test_too_small_raises():
    with pytest.raises(ConfigError, match="96x96"):
        niqe(np.zeros((50, 300, 3)), data_range=1.0)


def test_matches_matlab_on_baboon(data, rgb):
    # MATLAB R2021a, official NIQE release on baboon (Y of rgb2ycbcr): 5.7296,
    # as documented in basicsr 1.4.2 basicsr/metrics/niqe.py. Set14 GTmod12
    # baboon is the top-left 492x480 crop of that image; NIQE only sees the
    # top-left 480x480 (whole 96x96 blocks), so the value is the same.
    img = rgb(data("Set14", "GTmod12", "baboon.png"))
    assert niqe(img, data_range=1.0) == pytest.approx(5.7296, abs=0.005)


def test_blur_raises_niqe(data, rgb):
    import cv2
    img = rgb(data("Set14", "GTmod12", "monarch.png"))
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    assert niqe(blurred, data_range=1.0) > niqe(img, data_range=1.0) + 1.0
