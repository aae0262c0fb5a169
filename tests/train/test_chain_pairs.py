from __future__ import annotations

import cv2
import numpy as np

from revival.train.chain_pairs import REALWORLD, build_chain_pairs


def textured(h=72, w=90, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 90 * np.sin(xx / 4.0) * np.cos(yy / 6.0)
    img = base[..., None] + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_chain_pairs_layout_split_and_seed(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), textured(seed=i))
    train = build_chain_pairs([tmp_path], scale=2, seed=0, per_image=2, min_lr=16, skip={1})
    val = build_chain_pairs([tmp_path], scale=2, seed=0, per_image=1, min_lr=16, only={1})
    assert len(train.lr) == 3 * 2 and len(val.lr) == 1 and train.scale == 2
    for lr, hr in zip(train.lr, train.hr):
        assert lr.dtype == np.uint8 and hr.dtype == np.uint8
        assert hr.shape == (72, 90, 3) and lr.shape == (36, 45, 3)
    assert not any(np.array_equal(v, t) for v in val.hr for t in train.hr)
    # the split does not change the other pairs (each source has its own stream)
    full = build_chain_pairs([tmp_path], scale=2, seed=0, per_image=2, min_lr=16)
    np.testing.assert_array_equal(full.lr[-1], train.lr[-1])
    # the two copies of one image are degraded differently; another seed differs too
    assert not np.array_equal(train.lr[0], train.lr[1])
    other = build_chain_pairs([tmp_path], scale=2, seed=1, per_image=2, min_lr=16, skip={1})
    assert not np.array_equal(other.lr[0], train.lr[0])


def test_chain_pairs_really_degrade(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), textured(96, 128))
    pairs = build_chain_pairs([tmp_path], scale=2, seed=3, per_image=4, min_lr=16)
    hr = pairs.hr[0].astype(np.float32)
    clean = cv2.resize(hr, (64, 48), interpolation=cv2.INTER_AREA)
    errors = [float(np.abs(lr.astype(np.float32) - clean).mean()) for lr in pairs.lr]
    assert all(e > 1.0 for e in errors)  # more than rounding: blur, noise or compression
    assert REALWORLD.resize_range[0][0] >= 0.5  # milder than Real-ESRGAN's 0.15


def test_small_images_are_left_out(tmp_path):
    cv2.imwrite(str(tmp_path / "tiny.png"), textured(20, 20))
    cv2.imwrite(str(tmp_path / "ok.png"), textured(72, 90))
    pairs = build_chain_pairs([tmp_path], scale=2, seed=0, per_image=1, min_lr=24)
    assert len(pairs.lr) == 1 and pairs.hr[0].shape == (72, 90, 3)
