from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from revival.train.data import PatchSampler
from revival.train.noise_pairs import SIGMA_MAX, add_noise, build_clean_pairs, noisy_validation


def _images(folder, n=4, size=(64, 80)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 256, size + (3,)).astype(np.uint8), (0, 0), 2.0)
        cv2.imwrite(str(folder / f"im{i}.png"), img)
    return folder


def test_clean_pairs_hold_out_by_index_and_are_even_sized(tmp_path):
    folder = _images(tmp_path / "imgs", n=4, size=(65, 81))
    train = build_clean_pairs([folder], min_size=32, skip={0, 2})
    held = build_clean_pairs([folder], min_size=32, only={0, 2})
    assert not build_clean_pairs([folder], min_size=96).hr   # too small for 96-pixel patches
    assert len(train.hr) == 2 and len(held.hr) == 2
    assert all(img.shape[:2] == (64, 80) and img.dtype == np.uint8 for img in train.hr)
    assert train.lr is train.hr and train.scale == 1


def test_noise_is_fresh_per_seed_bounded_and_clipped():
    clean = np.full((64, 3, 32, 32), 0.5, np.float32)
    a = add_noise(clean, np.random.default_rng([0, 1]))
    b = add_noise(clean, np.random.default_rng([0, 1]))
    c = add_noise(clean, np.random.default_rng([0, 2]))
    np.testing.assert_array_equal(a, b)          # same iteration, same noise (resume-safe)
    assert not np.array_equal(a, c)              # another iteration, new noise
    assert a.min() >= 0 and a.max() <= 1
    stds = (a - clean).std(axis=(1, 2, 3))
    assert stds.max() < 1.05 * SIGMA_MAX and stds.min() < 0.2 * SIGMA_MAX  # spread of levels
    assert np.median(stds) > 0.2 * SIGMA_MAX


def test_sensor_noise_grows_with_brightness():
    dark = np.full((200, 3, 16, 16), 0.05, np.float32)
    bright = np.full((200, 3, 16, 16), 0.9, np.float32)
    s_dark = (add_noise(dark, np.random.default_rng(3), p_sensor=1.0) - dark).std()
    s_bright = (add_noise(bright, np.random.default_rng(3), p_sensor=1.0) - bright).std()
    assert s_bright > 1.5 * s_dark


def test_validation_noise_is_fixed_sigma_25(tmp_path):
    pairs = build_clean_pairs([_images(tmp_path / "v", n=2)], min_size=32)
    val = noisy_validation(pairs, seed=0)
    again = noisy_validation(pairs, seed=0)
    np.testing.assert_array_equal(val.lr[0], again.lr[0])
    d = val.lr[0].astype(np.float32) - pairs.hr[0].astype(np.float32)
    assert 22 < d.std() < 27   # sigma 25 in code values, a little lost to clipping


def test_sampler_crops_the_same_place_of_input_and_target(tmp_path):
    pairs = build_clean_pairs([_images(tmp_path / "s", n=2)], min_size=32)
    lr, hr = PatchSampler(pairs, patch=16, seed=0).batch(4)
    np.testing.assert_array_equal(lr, hr)


def test_train_noise_degradation_end_to_end(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    data = _images(tmp_path / "imgs", n=26, size=(48, 48))  # images 0 and 25 held out
    out = tmp_path / "run"
    args = ["--arch", "restore_c4_b1", "--scale", "1", "--channels", "3", "--degrade", "noise",
            "--data", str(data), "--patch", "16", "--batch", "2", "--precision", "fp32",
            "--threads", "1", "--iters", "2", "--val-every", "2", "--shrink", "1.0",
            "--out", str(out)]
    assert main(args) == 0
    history = json.loads((out / "train.json").read_text())["validation"]
    assert history[-1]["pairs"] == 2
    assert 15 < history[-1]["psnr_input"] < 25   # sigma 25 noise: about 20 dB
    with pytest.raises(SystemExit):   # noise training is same-size only
        main(args[:2] + ["--scale", "2"] + args[4:])
