from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from revival.stages.resize import resize
from revival.testing.images import write_images
from revival.train.data import PatchSampler, build_pairs, make_pair, rgb_to_y601
from revival.train.evaluate import psnr_y, ssim_y


def test_make_pair_is_bicubic_and_8bit():
    rgb8 = np.random.default_rng(0).integers(0, 256, (30, 41, 3), dtype=np.uint8)
    lr, hr = make_pair(rgb8, scale=4, channels=3)
    assert hr.shape == (28, 40, 3) and lr.shape == (7, 10, 3)
    np.testing.assert_array_equal(np.round(lr * 255), lr * 255)  # on the 8-bit grid
    ref = np.clip(resize(rgb8[:28, :40].astype(np.float32) / 255, scale=0.25, kernel="bicubic"), 0, 1)
    assert np.abs(lr - ref).max() <= 0.5 / 255 + 1e-6


def test_sampler_is_seeded_and_aligned(tmp_path):
    pairs = build_pairs([write_images(tmp_path / "imgs")], scale=2, channels=1, min_lr=8)
    a = PatchSampler(pairs, patch=8, seed=3).batch(4)
    b = PatchSampler(pairs, patch=8, seed=3).batch(4)
    c = PatchSampler(pairs, patch=8, seed=4).batch(4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    lr, hr = a
    assert lr.shape == (4, 1, 8, 8) and hr.shape == (4, 1, 16, 16)
    # the LR patch is the bicubic downscale of its HR patch (away from the patch border)
    down = np.stack([resize(h[0], scale=0.5, kernel="bicubic") for h in hr])
    assert np.abs(down[:, 2:-2, 2:-2] - lr[:, 0, 2:-2, 2:-2]).mean() < 0.02


def test_metrics():
    hr = np.round(np.random.default_rng(0).random((20, 20, 3)) * 255).astype(np.float32) / 255
    assert psnr_y(hr, hr, border=2) == float("inf")
    assert ssim_y(hr, hr, border=2) == pytest.approx(1.0)
    worse = np.clip(hr + np.random.default_rng(1).normal(0, 0.1, hr.shape), 0, 1)
    assert 15 < psnr_y(worse, hr, border=2) < 30
    assert ssim_y(worse, hr, border=2) < 0.95
    assert rgb_to_y601(np.ones((1, 3), np.float32))[0] == pytest.approx(1.0)


def test_lr_schedule():
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import lr_at

    assert lr_at(0, iters=100, base=1.0, floor=0.0, warmup=10) == pytest.approx(0.1)
    assert lr_at(10, iters=100, base=1.0, floor=0.0, warmup=10) == pytest.approx(1.0)
    assert lr_at(100, iters=100, base=1.0, floor=0.1, warmup=10) == pytest.approx(0.1)


def test_train_resume_and_summary(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    data = write_images(tmp_path / "imgs", size=(64, 64))
    out = tmp_path / "run"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--data", str(data), "--shrink", "1.0",
            "--patch", "12", "--batch", "2", "--ckpt-every", "2", "--precision", "fp32",
            "--threads", "1", "--no-val", "--out", str(out)]
    assert main(args + ["--iters", "3"]) == 0
    summary = json.loads((out / "train.json").read_text())
    assert summary["iterations"] == 3 and summary["arch"] == "anchor_c4_b1"
    assert "python -m revival.train.sr" in summary["command"]
    main(args + ["--iters", "5"])
    assert json.loads((out / "train.json").read_text())["iterations"] == 5
    assert "resumed from" in (out / "log.txt").read_text()


def test_sampler_never_draws_images_smaller_than_the_patch():
    from revival.train.data import PairSet

    small = np.zeros((20, 30, 1), np.float32)  # smaller than the patch on both sides
    big = np.ones((40, 40, 1), np.float32)
    sampler = PatchSampler(PairSet(lr=[small, big], hr=[small, big], scale=1), patch=32, seed=0)
    assert sampler.p[0] == 0.0
    lr, _ = sampler.batch(8)
    assert lr.shape == (8, 1, 32, 32) and lr.min() == 1.0


def test_sampler_scales_uint8_pairs_to_unit_range():
    from revival.train.data import PairSet

    img = np.full((16, 16, 3), 255, np.uint8)
    lr, hr = PatchSampler(PairSet(lr=[img], hr=[img // 2], scale=1), patch=8, seed=0).batch(2)
    assert lr.dtype == np.float32 and lr.max() == 1.0
    assert abs(float(hr.max()) - 127 / 255) < 1e-6


def test_train_chain_degradation_validates_against_bicubic(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    data = write_images(tmp_path / "imgs", n=25, size=(64, 64))  # one in 25 is held out
    out = tmp_path / "run"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--degrade", "chain",
            "--data", str(data), "--patch", "12", "--batch", "2", "--precision", "fp32",
            "--threads", "1", "--iters", "2", "--val-every", "2", "--out", str(out)]
    assert main(args) == 0
    history = json.loads((out / "train.json").read_text())["validation"]
    assert history[-1]["pairs"] == 1
    assert 5 < history[-1]["psnr_input"] < 60 and 5 < history[-1]["psnr"] < 60


def test_chain_degradation_needs_rgb(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    with pytest.raises(SystemExit):
        main(["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "1", "--degrade",
              "chain", "--data", str(tmp_path), "--iters", "1", "--out", str(tmp_path / "r")])


def test_bicubic_training_validates_on_held_out_images_and_a_test_set_only_monitors(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    data = write_images(tmp_path / "imgs", n=26, size=(48, 48))  # images 0 and 25 held out
    test_set = tmp_path / "Set"
    write_images(test_set / "GTmod12", n=2, size=(48, 48))
    (test_set / "LRbicx2").mkdir()
    for p in sorted((test_set / "GTmod12").glob("*.png")):
        hr = cv2.imread(str(p))
        cv2.imwrite(str(test_set / "LRbicx2" / p.name), cv2.resize(hr, (24, 24)))
    out = tmp_path / "run"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "1", "--data", str(data),
            "--shrink", "1.0", "--patch", "12", "--batch", "2", "--precision", "fp32",
            "--threads", "1", "--iters", "4", "--val-every", "2", "--val", str(test_set),
            "--out", str(out)]
    assert main(args) == 0
    history = json.loads((out / "train.json").read_text())["validation"]
    assert [h["iter"] for h in history] == [2, 4]
    assert all(h["pairs"] == 2 for h in history)             # held-out training images
    assert all(h["monitor"]["images"] == 2 for h in history)  # the test set, logged only
    best = json.loads((out / "train.json").read_text())["best_val_psnr_y"]
    assert best == max(h["psnr"] for h in history)           # chosen on held-out data
    assert best != max(h["monitor"]["psnr_y"] for h in history)


def test_chain_options_reach_the_degradation_chain(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    import revival.train.chain_pairs as cp
    from revival.train.sr import main

    seen = []
    real = cp.build_chain_pairs

    def spy(*args, config, **kwargs):
        seen.append(config)
        return real(*args, config=config, **kwargs)

    monkeypatch.setattr(cp, "build_chain_pairs", spy)
    data = write_images(tmp_path / "imgs", n=3, size=(64, 64))
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--degrade", "chain",
            "--data", str(data), "--patch", "12", "--batch", "2", "--precision", "fp32",
            "--threads", "1", "--iters", "1", "--val-every", "1", "--out", str(tmp_path / "r")]
    assert main(args + ["--compress-last", "0.25", "--chain-blur", "0.1", "0.0"]) == 0
    assert [(c.compress_last_prob, c.blur_prob) for c in seen] == [(0.25, (0.1, 0.0))] * 2
    bicubic = [a if a != "chain" else "bicubic" for a in args]
    for bad, flag in ((args + ["--compress-last", "1.5"], "--compress-last"),
                      (args + ["--chain-blur", "0.5", "2"], "--chain-blur"),
                      (bicubic + ["--compress-last", "0.5"], "--compress-last")):
        with pytest.raises(SystemExit):
            main(bad)
        assert flag in capsys.readouterr().err


def test_init_from_an_exported_onnx_file(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.models.export import export_onnx
    from revival.train.sr import load_init

    torch.manual_seed(1)
    src = build_arch("anchor_c4_b1", scale=2, channels=1)
    with torch.no_grad():  # trained biases differ (the exporter merges identical zero ones)
        for p in src.parameters():
            p.add_(0.01 * torch.randn_like(p))
    export_onnx(src, tmp_path / "m.onnx", channels=1)
    torch.manual_seed(2)
    dst = build_arch("anchor_c4_b1", scale=2, channels=1)
    assert not torch.equal(dst.head.weight, src.head.weight)
    assert load_init(dst, tmp_path / "m.onnx") == []
    for (name, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="no tensor matches"):
        load_init(build_arch("anchor_c8_b1", scale=4, channels=3), tmp_path / "m.onnx")


def randomised_checkpoint(torch, path, arch: str, *, scale: int, seed: int):
    """A network of ``arch`` with N(0, 0.2) weights (every branch contributes), saved."""
    from revival.models.arch import build_arch

    torch.manual_seed(seed)
    net = build_arch(arch, scale=scale, channels=3)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.2)
    torch.save({"model": net.state_dict()}, path)
    return net


@pytest.mark.parametrize("deep", [3, 5, 9])
def test_init_into_a_deeper_network_starts_as_the_trained_one(tmp_path, deep):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.train.sr import load_init

    src = randomised_checkpoint(torch, tmp_path / "s.pt", "anchor_c8_b2", scale=2, seed=3)
    dst = build_arch(f"anchor_c8_b{deep}", scale=2, channels=3)
    assert load_init(dst, tmp_path / "s.pt") == []
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        want, got = src(x), dst(x)
    assert float(want.abs().mean()) > 0.1  # not a trivial output
    assert torch.allclose(got, want, atol=1e-6)
    # the trained convolutions keep their order; the rest are identities
    trained = [k for k in range(deep) if any(
        torch.equal(dst.body[k].weight, src.body[i].weight) for i in range(2))]
    assert len(trained) == 2
    assert torch.equal(dst.body[trained[0]].weight, src.body[0].weight)
    assert torch.equal(dst.body[trained[1]].weight, src.body[1].weight)


@pytest.mark.parametrize("arch,scale", [("anchor_c16_b2", 2), ("anchor_c16_b4", 2),
                                        ("restore_c16_b3", 1)])
def test_init_into_a_wider_network_starts_as_the_trained_one(tmp_path, arch, scale):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.train.sr import load_init

    narrow = arch.replace("c16", "c8").replace("_b4", "_b2").replace("_b3", "_b2")
    src = randomised_checkpoint(torch, tmp_path / "s.pt", narrow, scale=scale, seed=5)
    torch.manual_seed(6)
    dst = build_arch(arch, scale=scale, channels=3)
    assert load_init(dst, tmp_path / "s.pt") == []
    x = torch.rand(2, 3, 10, 12)
    with torch.no_grad():
        want, got = src(x), dst(x)
    assert float(want.abs().mean()) > 0.1
    assert torch.allclose(got, want, atol=1e-5)
    # the new channels are live (random weights in) and read with zero weights (out)
    assert float(dst.head.weight[8:].abs().mean()) > 0.01
    assert float(dst.body[0].weight[:8, 8:].abs().max()) == 0.0
    assert float(dst.tail.weight[:, 8:].abs().max()) == 0.0
    # so one training step moves the zero weights that read them
    dst(x).sum().backward()
    assert float(dst.tail.weight.grad[:, 8:].abs().max()) > 0.0


def test_a_wider_unet_is_not_widened(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.train.sr import load_init

    randomised_checkpoint(torch, tmp_path / "u.pt", "unet_c8_b2", scale=1, seed=7)
    skipped = load_init(build_arch("unet_c16_b2", scale=1, channels=3), tmp_path / "u.pt")
    assert "head.weight" in skipped and "enc.0.weight" in skipped


def test_init_into_a_deeper_restore_net_starts_as_the_trained_one(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.train.sr import load_init

    src = randomised_checkpoint(torch, tmp_path / "r.pt", "restore_c8_b2", scale=1, seed=4)
    dst = build_arch("restore_c8_b5", scale=1, channels=3)
    assert load_init(dst, tmp_path / "r.pt") == []
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        want, got = src(x), dst(x)
    assert float((want - x).abs().mean()) > 0.05  # the residual branch is not silent
    assert torch.allclose(got, want, atol=1e-6)


def test_validation_pads_sizes_the_network_cannot_take():
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.train.data import PairSet
    from revival.train.sr import evaluate_pairs

    torch.manual_seed(0)
    net = build_arch("unet_c8_b2", scale=1, channels=3)  # needs multiples of 4
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (30, 42, 3), dtype=np.uint8)  # 30 = 2 (mod 4), 42 = 2 (mod 4)
    noisy = np.clip(clean.astype(int) + rng.integers(-6, 7, clean.shape), 0, 255).astype(np.uint8)
    res = evaluate_pairs(net, PairSet(lr=[noisy], hr=[clean], scale=1))
    # the untrained network is close to the identity, so its PSNR is the input's
    assert res["pairs"] == 1
    assert abs(res["psnr"] - res["psnr_input"]) < 0.5


def test_refresh_every_degrades_the_sources_afresh_and_resumes_the_same_round(tmp_path,
                                                                              monkeypatch,
                                                                              capsys):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    import revival.train.chain_pairs as cp
    from revival.train.sr import main

    seeds = []
    real = cp.build_chain_pairs

    def spy(*args, seed, only=None, **kwargs):
        if only is None:  # training pairs; validation keeps the base seed
            seeds.append(seed)
        return real(*args, seed=seed, only=only, **kwargs)

    monkeypatch.setattr(cp, "build_chain_pairs", spy)
    data = write_images(tmp_path / "imgs", n=3, size=(64, 64))
    out = tmp_path / "r"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--degrade", "chain",
            "--data", str(data), "--patch", "12", "--batch", "2", "--precision", "fp32",
            "--threads", "1", "--val-every", "5", "--ckpt-every", "3", "--seed", "7",
            "--refresh-every", "2", "--out", str(out)]
    assert main(args + ["--iters", "5"]) == 0
    assert seeds == [7, 8, 9]                  # rounds 0, 1 (iteration 2), 2 (iteration 4)
    assert json.loads((out / "train.json").read_text())["refresh_every"] == 2
    (out / "last.pt").unlink()
    seeds.clear()
    # resuming from iteration 3 rebuilds round 1 before training on
    main(args + ["--iters", "3"])
    seeds.clear()
    assert main(args + ["--iters", "5"]) == 0
    assert seeds == [7, 8, 9]
    with pytest.raises(SystemExit):
        main([a if a != "chain" else "bicubic" for a in args] + ["--iters", "1"])
    assert "--refresh-every" in capsys.readouterr().err


def test_init_widens_a_single_frame_net_into_a_multi_frame_one(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.models.arch import build_arch
    from revival.train.sr import load_init

    torch.manual_seed(3)
    single = build_arch("restore_c8_b2", scale=1, channels=3)
    with torch.no_grad():
        for p in single.parameters():
            p.add_(0.05 * torch.randn_like(p))
    torch.save({"model": single.state_dict()}, tmp_path / "s.pt")
    multi = build_arch("restore_c8_b2_f3", scale=1, channels=3)
    assert load_init(multi, tmp_path / "s.pt") == []
    x = torch.rand(1, 3, 16, 20)
    neighbours = torch.rand(1, 6, 16, 20)
    with torch.no_grad():
        # starts as the single-frame network: the neighbours' weights are zero
        torch.testing.assert_close(multi(torch.cat([x, neighbours], 1)), single(x))
        assert float(multi.head.weight[:, 12:].abs().max()) == 0.0


@pytest.mark.parametrize("arch,radius,keep", [("restore_c4_b1_f3", 1, (1, 3, 4)),
                                              ("restore_c4_b1_f5", 2, (2, 3, 4))])
def test_multi_frame_codec_training_builds_aligned_windows(tmp_path, monkeypatch, arch, radius,
                                                           keep):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train import codec_pairs
    from revival.train.sr import main

    seen = []
    original = codec_pairs.build_codec_pairs

    def spy(*args, **kwargs):
        pairs = original(*args, **kwargs)
        seen.append((kwargs, pairs))
        return pairs

    monkeypatch.setattr(codec_pairs, "build_codec_pairs", spy)
    data = write_images(tmp_path / "imgs", n=2, size=(64, 72))
    out = tmp_path / "run"
    assert main(["--arch", arch, "--scale", "1", "--channels", "3", "--degrade", "codec",
                 "--data", str(data), "--patch", "16", "--batch", "2", "--precision", "fp32",
                 "--threads", "1", "--iters", "1", "--no-val", "--out", str(out)]) == 0
    kwargs, pairs = seen[0]
    assert kwargs["radius"] == radius and kwargs["keep"] == keep
    assert kwargs["frames"] > max(keep)  # every kept frame has its neighbours in the clip
    assert pairs.lr[0].shape[2] == 3 * (2 * radius + 1) and pairs.hr[0].shape[2] == 3


def test_refresh_frees_the_previous_training_set_before_building_the_next(tmp_path,
                                                                         monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    import gc
    import weakref

    import revival.train.chain_pairs as cp
    from revival.train.sr import main

    sets = []
    alive_at_build = []
    real = cp.build_chain_pairs

    def spy(*args, only=None, **kwargs):
        if only is None:
            gc.collect()
            alive_at_build.append(sum(r() is not None for r in sets))
        out = real(*args, only=only, **kwargs)
        if only is None:
            sets.append(weakref.ref(out))
        return out

    monkeypatch.setattr(cp, "build_chain_pairs", spy)
    data = write_images(tmp_path / "imgs", n=3, size=(64, 64))
    assert main(["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--degrade",
                 "chain", "--data", str(data), "--patch", "12", "--batch", "2", "--precision",
                 "fp32", "--threads", "1", "--no-val", "--refresh-every", "1", "--iters", "4",
                 "--out", str(tmp_path / "r")]) == 0
    # no earlier training set is alive when the next one is built
    assert len(alive_at_build) == 4 and alive_at_build == [0, 0, 0, 0]


def test_phase_offsets_cover_the_scale_grid_and_reject_others():
    from revival.train.data import phase_offsets

    assert phase_offsets(4, 1) == [(0, 0)]
    assert phase_offsets(4, 4) == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert sorted(phase_offsets(4, 16)) == [(y, x) for y in range(4) for x in range(4)]
    assert phase_offsets(2, 4) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for scale, phases in ((4, 3), (2, 16), (3, 4), (4, 0)):
        with pytest.raises(ValueError, match="phases"):
            phase_offsets(scale, phases)


def test_phases_make_pairs_of_shifted_crops(tmp_path):
    data = write_images(tmp_path / "imgs", size=(61, 57))
    one = build_pairs([data], scale=4, channels=1, min_lr=8)
    four = build_pairs([data], scale=4, channels=1, min_lr=8, phases=4)
    assert len(four.lr) == 4 * len(one.lr)
    rgb = cv2.cvtColor(cv2.imread(str(sorted(data.iterdir())[0])), cv2.COLOR_BGR2RGB)
    for k, (dy, dx) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        lr, hr = make_pair(rgb[dy:, dx:], scale=4, channels=1)
        np.testing.assert_array_equal(four.lr[k], lr)
        np.testing.assert_array_equal(four.hr[k], hr)
    np.testing.assert_array_equal(four.lr[0], one.lr[0])
    # the same content sampled on another grid: a different LR image
    assert np.abs(four.lr[3][:10, :10] - four.lr[0][:10, :10]).mean() > 1e-3


def test_phases_option_is_checked(tmp_path, capsys):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import main

    base = ["--arch", "anchor_c4_b1", "--scale", "2", "--data", str(tmp_path), "--iters", "1",
            "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit):
        main(base + ["--phases", "16"])
    assert "--phases" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--arch", "restore_c4_b1", "--scale", "1", "--channels", "3", "--degrade",
              "codec", "--data", str(tmp_path), "--iters", "1", "--phases", "4",
              "--out", str(tmp_path / "run")])
    assert "--phases goes with --degrade bicubic" in capsys.readouterr().err


def test_revival_commit_overrides_a_copied_tree_s_git_head(monkeypatch):
    pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
    from revival.train.sr import git_commit

    monkeypatch.delenv("REVIVAL_COMMIT", raising=False)
    head = git_commit()
    monkeypatch.setenv("REVIVAL_COMMIT", "e40fca4")
    assert git_commit() == "e40fca4" != head
