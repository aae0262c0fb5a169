from __future__ import annotations

import cv2
import numpy as np
import pytest

from revival.stages.resize import resize
from revival.train.distill import build_distill_pairs


def textured(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 90 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    return np.clip(base[..., None] + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


def nearest_teacher(calls):
    def run(lr8):
        calls.append(lr8.shape)
        return np.repeat(np.repeat(lr8, 4, axis=0), 4, axis=1)
    return run


def test_pairs_are_teacher_outputs_of_bicubic_crops_with_margin(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), textured(200, 240))
    calls = []
    pairs = build_distill_pairs([tmp_path], teacher="realesrgan_x4plus", count=3, patch=16,
                                seed=0, margin=4, upscale=nearest_teacher(calls))
    assert pairs.scale == 4 and len(pairs.lr) == 3
    assert calls == [(24, 24, 3)] * 3  # the teacher sees the margin
    for lr, hr in zip(pairs.lr, pairs.hr):
        assert lr.shape == (16, 16, 3) and hr.shape == (64, 64, 3) and lr.dtype == np.uint8
        np.testing.assert_array_equal(hr[::4, ::4], lr)  # aligned after the margin crop
    # the LR is the bicubic downscale of an HR crop: smooth, close to the image's statistics
    img = cv2.imread(str(tmp_path / "a.png"))[..., ::-1].astype(np.float32) / 255
    lr_full = resize(img, scale=0.25, kernel="bicubic")
    assert abs(float(pairs.lr[0].mean()) / 255 - float(lr_full.mean())) < 0.1


def test_cache_is_reused_and_keyed(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), textured(160, 160))
    cache = tmp_path / "pairs.npz"
    calls = []
    first = build_distill_pairs([tmp_path], teacher="realesrgan_x4plus", count=2, patch=16,
                                seed=1, cache=cache, upscale=nearest_teacher(calls))
    again = build_distill_pairs([tmp_path], teacher="realesrgan_x4plus", count=2, patch=16,
                                seed=1, cache=cache, upscale=nearest_teacher(calls))
    assert len(calls) == 2  # second call read the cache
    np.testing.assert_array_equal(first.hr[1], again.hr[1])
    build_distill_pairs([tmp_path], teacher="realesrgan_x4plus", count=3, patch=16, seed=1,
                        cache=cache, upscale=nearest_teacher(calls))
    assert len(calls) == 5  # a different request recomputes


def test_unknown_teacher():
    with pytest.raises(ValueError, match="unknown teacher"):
        build_distill_pairs([], teacher="nope", count=1, patch=16, seed=0)


def test_images_smaller_than_a_crop_are_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "small.png"), textured(40, 40))
    with pytest.raises(ValueError, match="at least"):
        build_distill_pairs([tmp_path], teacher="realesrgan_x4plus", count=1, patch=16,
                            seed=0, upscale=nearest_teacher([]))
