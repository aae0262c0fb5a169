"""The GPU training path, exercised on the CPU: the tensor sampler, time-budgeted runs,
and a package import that needs neither PyAV nor the inference runtimes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from revival.testing.images import write_images
from revival.train.data import PairSet, build_pairs

torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")

from revival.train.data import TensorPatchSampler  # noqa: E402
from revival.train.sr import iters_for_budget, main  # noqa: E402


def _grid_pairs(scale: int, shapes: list[tuple[int, int]]) -> PairSet:
    """Pairs whose LR is the HR's top-left pixel of each scale x scale cell: an aligned
    crop of the two must satisfy lr == hr[::s, ::s] exactly, whatever flip or rotation."""
    rng = np.random.default_rng(0)
    hrs = [rng.random((h * scale, w * scale, 1)).astype(np.float32) for h, w in shapes]
    return PairSet(lr=[h[::scale, ::scale].copy() for h in hrs], hr=hrs, scale=scale)


def test_tensor_sampler_cuts_aligned_patches_with_every_flip_and_rotation():
    pairs = _grid_pairs(3, [(20, 31), (40, 17), (25, 25)])
    sampler = TensorPatchSampler(pairs, patch=10, seed=1)
    lr, hr = sampler.batch(256)
    assert lr.shape == (256, 1, 10, 10) and hr.shape == (256, 1, 30, 30)
    assert lr.dtype == torch.float32 and hr.dtype == torch.float32
    # a flip or transpose of an HR patch moves the sampled corner: compare against all eight
    # transforms of the LR patch taken at each of the nine sub-pixel phases
    variants = [hr[:, :, dy::3, dx::3] for dy in range(3) for dx in range(3)]
    match = torch.stack([(v == lr).flatten(1).all(1) for v in variants]).any(0)
    assert bool(match.all())
    # each patch is one of the eight orientations of a crop inside a real image (no padding)
    originals = [torch.from_numpy(p[..., 0]) for p in pairs.lr]

    def found(patch: torch.Tensor) -> bool:
        for t in range(8):
            q = patch
            if t & 4:
                q = q.transpose(-1, -2)
            if t & 2:
                q = q.flip(-2)
            if t & 1:
                q = q.flip(-1)
            for img in originals:
                win = img.unfold(0, 10, 1).unfold(1, 10, 1)
                if bool((win == q).flatten(2).all(-1).any()):
                    return True
        return False

    assert all(found(lr[i, 0]) for i in range(16))


def test_tensor_sampler_is_seeded_and_resumes_its_stream():
    pairs = _grid_pairs(2, [(30, 30), (24, 40)])
    a = TensorPatchSampler(pairs, patch=8, seed=5)
    b = TensorPatchSampler(pairs, patch=8, seed=5)
    c = TensorPatchSampler(pairs, patch=8, seed=6)
    first = a.batch(8)[0]
    assert torch.equal(first, b.batch(8)[0])
    assert not torch.equal(first, c.batch(8)[0])
    state = a.state()
    nxt = a.batch(8)[0]
    b.set_state(state)
    assert torch.equal(nxt, b.batch(8)[0])
    with pytest.raises(ValueError, match="NumPy sampler"):
        b.set_state({"bit_generator": "PCG64"})


def test_tensor_sampler_draws_images_by_area_and_skips_small_ones():
    pairs = _grid_pairs(2, [(12, 12), (60, 60), (5, 40)])  # the last is under the patch
    sampler = TensorPatchSampler(pairs, patch=8, seed=0)
    assert sampler.lr.shape[0] == 2
    idx = torch.multinomial(sampler.weights, 4000, replacement=True, generator=sampler.gen)
    share = float((idx == 1).float().mean())
    assert abs(share - 53 * 53 / (53 * 53 + 5 * 5)) < 0.02
    with pytest.raises(ValueError, match="at least 50"):
        TensorPatchSampler(_grid_pairs(2, [(12, 12)]), patch=50, seed=0)


def test_iters_for_budget():
    # 200 iterations took 20 s, the rest go at 0.1 s: 280 s left -> 2800 more, 3000 in all
    assert iters_for_budget(budget=300, elapsed=20, done=200, pace=0.1) == 3000
    assert iters_for_budget(budget=300, elapsed=20.5, done=200, pace=0.1) == 2900  # rounded down
    assert iters_for_budget(budget=300, elapsed=20, done=200, pace=0.05) == 5800  # the pace rules
    assert iters_for_budget(budget=10, elapsed=20, done=200, pace=0.1) == 200  # over already
    with pytest.raises(ValueError):
        iters_for_budget(budget=10, elapsed=1, done=10, pace=0)


def test_time_budget_run_sizes_itself_and_records_the_length(tmp_path):
    data = write_images(tmp_path / "imgs", size=(64, 64))
    out = tmp_path / "run"
    args = ["--arch", "anchor_c4_b1", "--scale", "2", "--data", str(data), "--shrink", "1.0",
            "--patch", "12", "--batch", "2", "--precision", "fp32", "--threads", "1",
            "--no-val", "--sampler", "tensor", "--iters", "100000", "--time-budget", "2",
            "--warmup", "300", "--time-probe", "300", "--ckpt-every", "1000", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "train.json").read_text())
    n = summary["iterations"]
    assert 300 <= n < 100000 and n % 100 == 0
    assert summary["time_budget"] == 2 and summary["device"] == "cpu"
    log = (out / "log.txt").read_text()
    assert f"time budget 2 s: {n} iterations" in log and "over iterations 150-300" in log
    ck = torch.load(out / "final.pt", weights_only=False)
    assert ck["iters"] == n and "torch_generator" in ck["sampler"]


def test_time_budget_needs_a_warmup_that_covers_the_timed_iterations(tmp_path):
    with pytest.raises(SystemExit):
        main(["--arch", "anchor_c4_b1", "--scale", "2", "--data", str(tmp_path), "--iters", "5",
              "--time-budget", "10", "--warmup", "10", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit):
        main(["--arch", "anchor_c4_b1", "--scale", "2", "--data", str(tmp_path), "--iters", "5",
              "--time-budget", "10", "--warmup", "500", "--time-probe", "1000",
              "--out", str(tmp_path / "o")])


def test_training_code_imports_without_pyav_or_inference_runtimes():
    code = ("import sys\n"
            "for m in ('av', 'onnxruntime', 'openvino'): sys.modules[m] = None\n"
            "import revival, revival.train.sr, revival.models.arch, revival.models.export\n"
            "from revival.train.sr import parse_args\n"
            "parse_args(['--arch', 'anchor_c8_b2', '--scale', '4', '--data', 'x',\n"
            "            '--iters', '5', '--out', 'o'])\n"
            "print('ok')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_package_names_still_resolve_lazily():
    import revival

    assert revival.restore.__module__ == "revival.pipeline.job"
    assert issubclass(revival.InputNotFoundError, revival.RevivalError)
    assert set(revival.__all__) <= set(dir(revival))
    with pytest.raises(AttributeError):
        revival.no_such_name  # noqa: B018


def test_webp_images_are_training_images(tmp_path):
    import cv2

    src = write_images(tmp_path / "imgs", size=(48, 48))
    webp = tmp_path / "webp"
    webp.mkdir()
    for p in sorted(src.iterdir()):
        img = cv2.imread(str(p))
        assert cv2.imwrite(str(webp / (p.stem + ".webp")), img, [cv2.IMWRITE_WEBP_QUALITY, 101])
    a = build_pairs([src], scale=2, channels=1, min_lr=8)
    b = build_pairs([webp], scale=2, channels=1, min_lr=8)
    assert len(a.lr) == len(b.lr) > 0
    for x, y in zip(a.hr, b.hr):  # lossless WebP: the same pixels
        np.testing.assert_array_equal(x, y)
