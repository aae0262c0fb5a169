from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")

from revival.models.arch import (build_arch, count_params, inference_net,  # noqa: E402
                                 parse_arch, receptive_radius)
from revival.models.reparam import RepConv, fuse  # noqa: E402
from revival.testing.images import write_images  # noqa: E402


def randomised(name: str, *, scale: int, seed: int = 0):
    """A network whose every parameter, extra branches included, is non-zero."""
    torch.manual_seed(seed)
    net = build_arch(name, scale=scale, channels=1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def test_names_parse_and_map_to_the_plain_network():
    spec = parse_arch("anchor_c16_b3_t1_rep", scale=2, channels=1)
    assert spec.rep and spec.tail_kernel == 1 and spec.plain_name == "anchor_c16_b3_t1"
    assert not parse_arch("anchor_c16_b3", scale=2, channels=1).rep
    with pytest.raises(ValueError):
        parse_arch("anchor_c16_b3_rep_t1", scale=2, channels=1)


@pytest.mark.parametrize("name", ["anchor_c8_b3_rep", "anchor_c8_b2_t1_rep"])
def test_fused_network_is_plain_and_computes_the_same_function(name):
    net = randomised(name, scale=4).eval()
    plain = inference_net(net)
    assert not any(isinstance(m, RepConv) for m in plain.modules())
    assert plain.spec.name == name.removesuffix("_rep")
    assert count_params(plain) == count_params(build_arch(plain.spec.name, scale=4, channels=1))
    assert count_params(net) > 2 * count_params(plain)
    assert receptive_radius(plain) == receptive_radius(net)
    x = torch.rand(2, 1, 11, 17)
    with torch.no_grad():
        np.testing.assert_allclose(plain(x).numpy(), net(x).numpy(), atol=1e-5)


def test_each_branch_changes_the_merged_kernel_and_receives_gradient():
    conv = RepConv(3, 4)
    with torch.no_grad():
        conv.expand_out.normal_()
        conv.edge_scale.normal_()
    base = conv.kernel().detach()
    for name in ("k1", "expand_in", "expand_out", "edge_in", "edge_scale"):
        with torch.no_grad():
            getattr(conv, name).add_(0.1)
            assert not torch.allclose(conv.kernel(), base), name
            getattr(conv, name).sub_(0.1)
    x = torch.rand(1, 3, 9, 9)
    conv(x).square().sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name
    # the merged kernel is the convolution the module runs
    ref = torch.nn.functional.conv2d(x, conv.kernel(), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), ref)


def test_a_plain_network_loads_into_the_rep_one_and_starts_as_it(tmp_path):
    from revival.train.sr import load_init

    plain = randomised("anchor_c8_b2", scale=2, seed=1).eval()
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    for name in ("anchor_c8_b2_rep", "anchor_c8_b4_rep"):  # the same depth and deepened
        rep = build_arch(name, scale=2, channels=1).eval()
        skipped = load_init(rep, tmp_path / "plain.pt")
        assert "head.expand_in" in skipped and "head.weight" not in skipped
        x = torch.rand(1, 1, 10, 12)
        with torch.no_grad():
            np.testing.assert_allclose(rep(x).numpy(), plain(x).numpy(), atol=1e-6)


def test_fuse_refuses_a_network_with_other_layers():
    net = randomised("anchor_c8_b2_rep", scale=2)
    with pytest.raises(ValueError, match="layers differ"):
        fuse(net, build_arch("anchor_c8_b3", scale=2, channels=1))


def test_training_a_rep_network_exports_the_plain_graph(tmp_path):
    onnx = pytest.importorskip("onnx")
    from revival.models.export import main as export_main
    from revival.train.sr import main

    data = write_images(tmp_path / "imgs", size=(64, 64))
    out = tmp_path / "run"
    assert main(["--arch", "anchor_c4_b1_rep", "--scale", "2", "--data", str(data),
                 "--shrink", "1.0", "--patch", "12", "--batch", "2", "--precision", "fp32",
                 "--threads", "1", "--no-val", "--iters", "3", "--out", str(out)]) == 0
    weights = tmp_path / "w"
    weights.mkdir()
    assert export_main(["--ckpt", str(out / "final.pt"), "--id", "fidelity.x2",
                        "--eval-data", str(tmp_path / "none"), "--out-dir", str(weights)]) == 0
    manifest = json.loads((weights / "fidelity.x2.json").read_text())
    assert manifest["arch"] == "anchor_c4_b1" and manifest["training_arch"] == "anchor_c4_b1_rep"
    assert manifest["params"] == count_params(build_arch("anchor_c4_b1", scale=2, channels=1))
    assert manifest["training_params"] > manifest["params"]
    # the same graph, node for node, as a plain network of those layers
    from collections import Counter

    from revival.models.export import export_onnx

    # (random biases: the exporter shares identical zero ones through Identity nodes)
    export_onnx(randomised("anchor_c4_b1", scale=2), tmp_path / "plain.onnx", channels=1)
    ops = [Counter(n.op_type for n in onnx.load(str(f)).graph.node)
           for f in (weights / "fidelity.x2.onnx", tmp_path / "plain.onnx")]
    assert ops[0] == ops[1] and ops[0]["Conv"] == 3  # head, one body conv, tail
