from __future__ import annotations

import json

import pytest

from revival.testing.images import write_images

torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")


def test_critic_scores_patches_and_its_layers_are_spectrally_normalised():
    from revival.train.adversarial import PatchDiscriminator

    d = PatchDiscriminator(3, width=8)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():  # raw weights far above norm 1
        for conv in convs:
            conv.parametrizations.weight.original.mul_(10.0)
    for _ in range(20):  # power iterations run in train mode
        out = d(torch.rand(2, 3, 48, 80))
    assert tuple(out.shape) == (2, 1, 3, 5)
    for conv in convs:
        raw = conv.parametrizations.weight.original.detach()
        used = conv.weight.detach()
        assert torch.linalg.matrix_norm(raw.reshape(raw.shape[0], -1), ord=2) > 4.0
        assert torch.linalg.matrix_norm(used.reshape(used.shape[0], -1), ord=2) == \
            pytest.approx(1.0, abs=0.05)


def test_hinge_losses_reward_a_critic_that_separates_real_from_fake():
    from revival.train.adversarial import discriminator_loss, generator_loss

    class Constant(torch.nn.Module):  # scores an image by its mean: +1 for white, -1 for black
        def forward(self, x):
            return (2.0 * x - 1.0).mean(dim=(1, 2, 3), keepdim=True)

    d = Constant()
    real, fake = torch.ones(2, 3, 8, 8), torch.zeros(2, 3, 8, 8)
    assert discriminator_loss(d, real, fake).item() == pytest.approx(0.0)   # perfect critic
    assert discriminator_loss(d, fake, real).item() == pytest.approx(4.0)   # reversed
    assert generator_loss(d, fake).item() == pytest.approx(1.0)
    assert generator_loss(d, real).item() == pytest.approx(-1.0)


def test_a_few_steps_train_the_critic_apart_from_the_generator():
    from revival.train.adversarial import PatchDiscriminator, discriminator_loss

    torch.manual_seed(0)
    d = PatchDiscriminator(1, width=8)
    opt = torch.optim.Adam(d.parameters(), lr=2e-3)
    real = torch.rand(4, 1, 32, 32)  # texture
    fake = torch.full((4, 1, 32, 32), 0.5)  # its average
    first = discriminator_loss(d, real, fake).item()
    for _ in range(60):
        loss = discriminator_loss(d, real, fake)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_adversarial_training_saves_the_critic_resumes_it_and_is_declared(tmp_path):
    from revival.models.export import main as export_main
    from revival.train.sr import main

    data = write_images(tmp_path / "imgs", size=(64, 64))
    out = tmp_path / "run"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--data", str(data),
            "--shrink", "1.0", "--patch", "16", "--batch", "2", "--ckpt-every", "2",
            "--precision", "fp32", "--threads", "1", "--no-val", "--adversarial", "0.01",
            "--out", str(out)]
    assert main(args + ["--iters", "2"]) == 0
    ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert "disc" in ck and "d_opt" in ck
    before = {k: v.clone() for k, v in ck["disc"].items()}
    assert main(args + ["--iters", "4"]) == 0
    after = torch.load(out / "last.pt", map_location="cpu", weights_only=False)["disc"]
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the critic trained on
    summary = json.loads((out / "train.json").read_text())
    assert summary["adversarial"] == 0.01 and summary["iterations"] == 4
    # a run without --adversarial cannot silently drop a saved critic, and vice versa
    with pytest.raises(ValueError, match="without a discriminator"):
        plain = tmp_path / "plain"
        main([a for a in args[:-1] if a not in ("--adversarial", "0.01")] + [str(plain),
                                                                              "--iters", "2"])
        main(args[:-1] + [str(plain), "--iters", "3"])
    weights = tmp_path / "w"
    assert export_main(["--ckpt", str(out / "final.pt"), "--id", "realworld.x2",
                        "--out-dir", str(weights), "--eval-data", str(tmp_path / "none")]) == 0
    manifest = json.loads(next(weights.glob("*.json")).read_text())
    assert manifest["adversarial"] is True
    assert "GAN" in manifest["recipe"]["loss"] and "GAN" in manifest["adversarial_note"]


def test_phase_pattern_sees_a_grid_on_the_upscaling_period_and_not_smooth_content():
    from revival.train.adversarial import phase_loss, phase_pattern

    torch.manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    smooth = (0.5 + 0.3 * torch.sin(xx / 7.0) * torch.cos(yy / 9.0))[None, None]
    texture = smooth + 0.05 * torch.randn(1, 1, 256, 256)   # no structure tied to the grid
    other = smooth + 0.05 * torch.randn(1, 1, 256, 256)     # another realisation
    grid = torch.zeros(4, 4)
    grid[0, 0], grid[2, 1] = 0.04, -0.04                   # a fixed 4-pixel pattern
    gridded = texture + grid.repeat(64, 64)[None, None]
    assert phase_pattern(smooth, 4).abs().max() < 1e-3
    assert phase_pattern(texture, 4).abs().max() < 3e-3
    pattern = phase_pattern(gridded, 4)[0, 0] - phase_pattern(texture, 4)[0, 0]
    assert pattern[0, 0] > 0.03 and pattern[2, 1] < -0.03
    assert phase_loss(gridded, other, 4) > 3 * phase_loss(texture, other, 4)


def test_phase_weight_without_a_gan_loss_is_refused(tmp_path):
    from revival.train.sr import main

    data = write_images(tmp_path / "imgs", size=(64, 64))
    with pytest.raises(SystemExit):
        main(["--arch", "anchor_c4_b1", "--scale", "2", "--channels", "3", "--data", str(data),
              "--iters", "1", "--phase-weight", "1", "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run" / "last.pt").exists()
