from __future__ import annotations

import cv2
import numpy as np

from revival.train.codec_pairs import build_codec_pairs, pan_clip, random_codec


def textured(h=64, w=80, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 90 * np.sin(xx / 4.0) * np.cos(yy / 6.0)
    img = base[..., None] + rng.normal(0, 20, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_pan_clip_frames_are_exact_shifted_crops():
    img = textured()
    for seed in range(6):
        clip = pan_clip(img, frames=5, rng=np.random.default_rng(seed))
        assert clip.shape[0] == 5 and clip.shape[1] % 2 == 0 and clip.shape[2] % 2 == 0
        # every frame is a crop of the image somewhere
        for frame in clip[[0, -1]]:
            res = cv2.matchTemplate(img, frame, cv2.TM_SQDIFF)
            y, x = np.unravel_index(np.argmin(res), res.shape)
            np.testing.assert_array_equal(img[y:y + frame.shape[0], x:x + frame.shape[1]], frame)


def test_random_codec_really_degrades_and_is_seeded():
    clip = np.stack([textured(seed=s) for s in range(3)]).astype(np.float32) / 255
    a, label = random_codec(clip, np.random.default_rng(5))
    b, label_b = random_codec(clip, np.random.default_rng(5))
    assert label == label_b and a.shape == clip.shape
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - clip).mean() > 1 / 255  # real loss, not a copy


def test_build_codec_pairs_split_and_layout(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), textured(seed=i))
    train = build_codec_pairs([tmp_path], seed=0, frames=4, keep=(0, 3), skip={1})
    val = build_codec_pairs([tmp_path], seed=0, frames=4, keep=(0, 3), only={1})
    assert len(train.lr) == 3 * 2 * 2 and len(val.lr) == 1 * 2 * 2
    for lq, gt in zip(train.lr, train.hr):
        assert lq.dtype == np.uint8 and lq.shape == gt.shape
    assert not any(np.array_equal(v, t) for v in val.hr for t in train.hr)
    again = build_codec_pairs([tmp_path], seed=0, frames=4, keep=(0, 3), skip={1})
    for a, b in zip(train.lr, again.lr, strict=True):  # reproducible from the seed
        np.testing.assert_array_equal(a, b)


def test_build_codec_pairs_multi_frame_stacks_aligned_neighbours(tmp_path):
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), textured(h=72, w=96, seed=i))
    single = build_codec_pairs([tmp_path], seed=3, frames=4, keep=(1, 2))
    multi = build_codec_pairs([tmp_path], seed=3, frames=4, keep=(1, 2), radius=1)
    assert len(multi.lr) == len(single.lr) == 2 * 2 * 2
    for lq, gt in zip(multi.lr, multi.hr):
        assert lq.dtype == np.uint8 and lq.shape == gt.shape[:2] + (9,)
    # the same codec realisations: each centre frame is the single-frame pair's input
    for m, s in zip(multi.lr, single.lr):
        np.testing.assert_array_equal(m[..., :3], s)
    np.testing.assert_array_equal(multi.hr[-1], single.hr[-1])
    # aligned neighbours are close to the centre, not copies of some other frame
    lq = multi.lr[0].astype(np.float32)
    assert np.abs(lq[8:-8, 8:-8, 3:6] - lq[8:-8, 8:-8, :3]).mean() < 12
