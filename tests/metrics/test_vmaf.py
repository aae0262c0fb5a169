import cv2
import numpy as np
import pytest

from revival.errors import MissingDependencyError
from revival.metrics import vmaf as vmaf_mod


def _need_vmaf():
    try:
        vmaf_mod.find_ffmpeg()
    except MissingDependencyError as exc:
        pytest.skip(f"no FFmpeg with libvmaf (extra 'vmaf'): {exc}")


def _clip(n=3):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((140, 180, 3)).astype(np.float32), (0, 0), 1.2)
    base = (base - base.min()) / (base.max() - base.min())
    return [base[t:t + 128, t:t + 160].copy() for t in range(n)]


def test_yuv_conversion_of_greys():
    y, u, v = vmaf_mod.rgb_to_yuv420_8bit(np.full((4, 6, 3), 1.0))
    assert y.shape == (4, 6) and u.shape == (2, 3)
    assert (y == 235).all() and (u == 128).all() and (v == 128).all()
    y, _, _ = vmaf_mod.rgb_to_yuv420_8bit(np.zeros((3, 5, 3)))  # odd sizes are padded
    assert y.shape == (4, 6) and (y == 16).all()


def test_missing_ffmpeg_message(monkeypatch):
    vmaf_mod.find_ffmpeg.cache_clear()
    monkeypatch.setenv("REVIVAL_FFMPEG", "/nonexistent/ffmpeg")
    monkeypatch.setattr(vmaf_mod.shutil, "which", lambda name: None)
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)
    try:
        with pytest.raises(MissingDependencyError, match=r"revival\[vmaf\]"):
            vmaf_mod.find_ffmpeg()
    finally:
        vmaf_mod.find_ffmpeg.cache_clear()


def test_identical_is_high_and_neg_penalises_sharpening():
    _need_vmaf()
    clip = _clip()
    same = vmaf_mod.vmaf(clip, clip)
    assert min(same["vmaf"]) > 95 and len(same["vmaf_neg"]) == 3
    # Unsharp masking is the enhancement gain VMAF NEG was designed to discount
    # (Netflix tech blog, "Toward a better quality metric for the video community", 2020).
    sharp = [np.clip(f + 1.5 * (f - cv2.GaussianBlur(f, (0, 0), 1.5)), 0, 1) for f in clip]
    s = vmaf_mod.vmaf(clip, sharp)
    assert np.mean(s["vmaf_neg"]) < np.mean(s["vmaf"]) - 5
    blurred = [cv2.GaussianBlur(f, (0, 0), 2.0) for f in clip]
    assert np.mean(vmaf_mod.vmaf(clip, blurred)["vmaf"]) < np.mean(same["vmaf"]) - 20
