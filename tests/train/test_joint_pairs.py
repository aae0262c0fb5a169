import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from revival.train.joint_pairs import WEB, build_joint_pairs, degrade_clip


def textured(h=80, w=96, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 90 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    img = base[..., None] + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def still_clip(frames=4, h=48, w=64):
    img = textured(h, w).astype(np.float32) / 255
    return np.stack([img] * frames)


def psnr(a, b):
    return 10 * np.log10(1 / np.mean((a - b) ** 2))


def test_degrade_clip_shape_seed_and_fresh_noise_per_frame():
    clip = still_clip()
    cfg = replace(WEB, blur_prob=0.0, poisson_prob=0.0, noise_sigma=(10.0, 10.0), h264_prob=0.0,
                  mpeg_prob=0.0, jpeg_quality=(95, 95))
    lr, label = degrade_clip(clip, scale=2, rng=np.random.default_rng(1), config=cfg)
    assert lr.shape == (4, 24, 32, 3) and lr.dtype == np.float32 and label == "jpeg q95"
    again, _ = degrade_clip(clip, scale=2, rng=np.random.default_rng(1), config=cfg)
    np.testing.assert_array_equal(lr, again)
    # a still scene, but the sensor noise differs from frame to frame
    assert np.abs(lr[0] - lr[1]).mean() > 3 / 255
    # averaged over frames the noise shrinks towards the clean downscale
    clean = cv2.resize(clip[0], (32, 24), interpolation=cv2.INTER_AREA)
    assert psnr(lr.mean(0), clean) > psnr(lr[0], clean) + 1.5


def test_degrade_clip_codes_the_lr_clip_with_a_real_codec():
    clip = still_clip(frames=3)
    quiet = replace(WEB, blur_prob=0.0, poisson_prob=0.0, noise_sigma=(0.0, 0.0))
    h264, label = degrade_clip(clip, scale=2, rng=np.random.default_rng(0),
                               config=replace(quiet, h264_prob=1.0, h264_crf=(38, 38)))
    assert label.startswith("h264 crf38")
    mild, _ = degrade_clip(clip, scale=2, rng=np.random.default_rng(0),
                           config=replace(quiet, h264_prob=1.0, h264_crf=(18, 18)))
    clean = cv2.resize(clip[0], (32, 24), interpolation=cv2.INTER_AREA)
    # CRF 38 costs clearly more than CRF 18 against the same downscale
    assert psnr(mild[0], clean) > psnr(h264[0], clean) + 2
    mpeg, label = degrade_clip(clip, scale=2, rng=np.random.default_rng(0),
                               config=replace(quiet, h264_prob=0.0, mpeg_prob=1.0))
    assert label.split()[0] in ("mpeg2video", "mpeg4") and mpeg.shape == (3, 24, 32, 3)


def test_resample_weights_pick_the_downscaling_kernel(monkeypatch):
    import revival.train.joint_pairs as jp

    used = []
    real = jp.random_resize
    monkeypatch.setattr(jp, "random_resize", lambda f, *, size, kernel: used.append(kernel)
                        or real(f, size=size, kernel=kernel))
    cfg = replace(WEB, resample_weights=(0, 0, 0, 1), h264_prob=0.0, mpeg_prob=0.0)
    for seed in range(5):
        degrade_clip(still_clip(frames=1), scale=2, rng=np.random.default_rng(seed), config=cfg)
    assert set(used) == {"area"}


def test_degrade_clip_rejects_sizes_4_2_0_cannot_take():
    with pytest.raises(ValueError, match="multiple of 4"):
        degrade_clip(still_clip(h=46, w=64), scale=2, rng=np.random.default_rng(0))


def test_joint_pairs_layout_split_and_seed(tmp_path):
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), textured(seed=i))
    train = build_joint_pairs([tmp_path], scale=2, seed=0, frames=4, keep=(0, 3), skip={1})
    val = build_joint_pairs([tmp_path], scale=2, seed=0, frames=4, keep=(0, 3), only={1},
                            min_lr=24)
    assert len(train.lr) == 3 * 2 * 2 and len(val.lr) == 1 * 2 * 2 and train.scale == 2
    for lq, gt in zip(train.lr, train.hr):
        assert lq.dtype == gt.dtype == np.uint8
        assert (lq.shape[0] * 2, lq.shape[1] * 2, 3) == gt.shape and gt.shape[0] % 4 == 0
    assert not any(np.array_equal(v, t) for v in val.hr for t in train.hr)
    again = build_joint_pairs([tmp_path], scale=2, seed=0, frames=4, keep=(0, 3), skip={1})
    for a, b in zip(train.lr, again.lr, strict=True):
        np.testing.assert_array_equal(a, b)
    # clips too small for the patch are left out
    assert not build_joint_pairs([tmp_path], scale=2, seed=0, frames=4, min_lr=64).lr


def test_train_joint_degradation(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    data = tmp_path / "imgs"
    data.mkdir()
    for i in range(26):  # one source in 25 is held out
        cv2.imwrite(str(data / f"im{i:02d}.png"), textured(seed=i))
    out = tmp_path / "run"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--degrade", "joint",
            "--data", str(data), "--patch", "12", "--batch", "2", "--precision", "fp32",
            "--threads", "1", "--iters", "2", "--val-every", "2", "--out", str(out)]
    assert main(args) == 0
    history = json.loads((out / "train.json").read_text())["validation"]
    assert history[-1]["pairs"] == 2 * 3 * 2  # two held-out images, 2 clips, 3 kept frames
    assert 5 < history[-1]["psnr_input"] < 60 and 5 < history[-1]["psnr"] < 60
    for bad in ([a if a != "3" else "1" for a in args],  # RGB only
                args + ["--joint-config", "nope"],
                [a if a != "joint" else "chain" for a in args] + ["--joint-config", "web-bicubic"]):
        with pytest.raises(SystemExit):
            main(bad)


def test_joint_config_reaches_the_pairs(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    import revival.train.joint_pairs as jp
    from revival.train.sr import main

    seen = []
    real = jp.build_joint_pairs

    def spy(*a, **kw):
        seen.append(kw["config"])
        return real(*a, **kw)

    monkeypatch.setattr(jp, "build_joint_pairs", spy)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), textured(seed=i))
    assert main(["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--degrade", "joint",
                 "--joint-config", "web-bicubic", "--data", str(tmp_path), "--patch", "12",
                 "--batch", "2", "--precision", "fp32", "--threads", "1", "--iters", "1",
                 "--no-val", "--out", str(tmp_path / "run")]) == 0
    assert seen == [jp.WEB_BICUBIC]
