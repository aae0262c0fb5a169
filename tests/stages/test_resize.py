from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from revival.errors import ConfigError
from revival.frames.color import ColorInfo
from revival.frames.spec import VideoSpec
from revival.stages.resize import Resize, ResizeParams, resize


def _read(path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]


def test_matches_matlab_bicubic_lr_files(shared_data) -> None:
    """The official Set5 LRbicx4 files were made with MATLAB imresize: reproduce them."""
    for name in ("baby", "bird", "butterfly", "head", "woman"):
        hr = _read(shared_data / "Set5" / "GTmod12" / f"{name}.png")
        lr = _read(shared_data / "Set5" / "LRbicx4" / f"{name}.png").astype(int)
        ours = np.clip(np.rint(resize(hr, scale=0.25, kernel="bicubic")), 0, 255).astype(int)
        assert np.abs(ours - lr).max() <= 1
        assert (ours != lr).mean() < 0.001


def test_constant_image_stays_constant() -> None:
    img = np.full((13, 17, 3), 0.3, np.float32)
    for kernel in ("lanczos", "bicubic", "bilinear"):
        for scale in (0.3, 2.5):
            assert np.allclose(resize(img, scale=scale, kernel=kernel), 0.3, atol=1e-5)


def test_upscale_beats_nearest_on_smooth_content() -> None:
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    hr = np.sin(3 * xx + 2 * yy)[..., None].repeat(3, 2).astype(np.float32)
    lr = resize(hr, scale=0.5, kernel="bicubic")
    up = resize(lr, scale=2, kernel="lanczos")
    nearest = lr.repeat(2, 0).repeat(2, 1)
    assert np.abs(up - hr).mean() < 0.5 * np.abs(nearest - hr).mean()


def test_stage_spec_and_shapes() -> None:
    spec = VideoSpec(width=33, height=21, color=ColorInfo.bt709())
    stage = Resize(ResizeParams(scale=2))
    assert stage.configure(spec).width == 66
    out = stage.process(np.zeros((1, 21, 33, 3), np.float32))
    assert out.shape == (42, 66, 3) and out.dtype == np.float32
    fixed = Resize(ResizeParams(width=100))
    assert fixed.configure(spec).height == round(21 * 100 / 33)


def test_scale_one_is_identity() -> None:
    img = np.random.default_rng(0).uniform(0, 1, (9, 7, 3)).astype(np.float32)
    assert np.array_equal(Resize(ResizeParams(scale=1.0)).process(img[None]), img)


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError):
        resize(np.zeros((4, 4)), scale=0)
    with pytest.raises(ConfigError):
        resize(np.zeros((4, 4)), scale=2, kernel="nearest")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        Resize.from_dict({"scale": 40})
    assert info.value.key == "resize.scale"


@pytest.mark.parametrize("kernel", ["lanczos", "bicubic", "bilinear"])
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("shape", [(13, 19, 3), (13, 19), (13, 19, 1), (13, 19, 2), (13, 19, 4)])
def test_integer_upscale_fast_path_equals_general_path(kernel: str, scale: int, shape) -> None:
    """float32 integer upscaling uses polyphase OpenCV filters; float64 takes the general path."""
    img = np.random.default_rng(scale).random(shape).astype(np.float32)
    fast = resize(img, scale=scale, kernel=kernel)
    general = resize(img.astype(np.float64), scale=scale, kernel=kernel)
    assert fast.dtype == np.float32 and fast.shape == general.shape
    assert np.abs(fast - general).max() < 1e-5
