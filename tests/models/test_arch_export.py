from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the optional `train` extra")
pytest.importorskip("onnx", reason="onnx is the optional `train` extra")

from revival.models.arch import build_arch, count_params, parse_arch  # noqa: E402
from revival.models.export import ParityError, export_onnx  # noqa: E402


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(scale, channels):
    net = build_arch("anchor_c8_b2", scale=scale, channels=channels)
    assert net(torch.rand(2, channels, 7, 9)).shape == (2, channels, 7 * scale, 9 * scale)


def test_untrained_net_is_nearest_upsampling():
    torch.manual_seed(0)
    net = build_arch("anchor_c8_b2", scale=2, channels=3)
    x = torch.rand(1, 3, 5, 6)
    nearest = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
    assert float((net(x) - nearest).abs().max()) < 0.05


def test_bad_names_raise_value_error():
    with pytest.raises(ValueError, match="anchor_c"):
        parse_arch("resnet50", scale=4, channels=1)
    with pytest.raises(ValueError, match="scale"):
        parse_arch("anchor_c8_b2", scale=8, channels=1)


def test_count_params():
    # head 1*8*9+8, 2 body 8*8*9+8, tail 8*4*9+4
    assert count_params(build_arch("anchor_c8_b2", scale=2, channels=1)) == 80 + 2 * 584 + 292


def test_one_by_one_tail_variant():
    from revival.models.arch import receptive_radius

    spec = parse_arch("anchor_c8_b2_t1", scale=2, channels=1)
    assert spec.tail_kernel == 1 and spec.name == "anchor_c8_b2_t1"
    assert parse_arch("anchor_c8_b2", scale=2, channels=1).tail_kernel == 3
    with pytest.raises(ValueError, match="_t1"):
        parse_arch("anchor_c8_b2_t5", scale=2, channels=1)
    net, plain = (build_arch(n, scale=2, channels=1) for n in ("anchor_c8_b2_t1", "anchor_c8_b2"))
    # the tail loses its 3x3 taps: 8*4 weights + 4 biases instead of 8*4*9 + 4
    assert count_params(plain) - count_params(net) == 8 * 4 * 8
    assert (receptive_radius(plain), receptive_radius(net)) == (4, 3)
    assert net(torch.rand(1, 1, 7, 9)).shape == (1, 1, 14, 18)
    # the receptive radius is what the network sees: a pixel 4 away changes nothing
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.rand(1, 1, 15, 15)
    bumped = x.clone()
    bumped[0, 0, 7, 11] += 1.0
    with torch.no_grad():
        diff = (net(bumped) - net(x)).abs()[0, 0, 14:16, 14:16]
    assert float(diff.max()) == 0.0
    bumped[0, 0, 7, 11] -= 1.0
    bumped[0, 0, 7, 10] += 1.0
    with torch.no_grad():
        assert float((net(bumped) - net(x)).abs()[0, 0, 14:16, 14:16].max()) > 0.0


def test_export_parity_and_dynamic_size(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(1)
    net = build_arch("anchor_c8_b2", scale=4, channels=1)
    report = export_onnx(net, tmp_path / "m.onnx", channels=1)
    assert report.max_abs_diff <= report.tolerance
    assert report.opset == 17 and report.size_bytes == (tmp_path / "m.onnx").stat().st_size
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 1, 13, 29), dtype=np.float32)
    got = sess.run(None, {"input": x})[0]
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 1, 52, 116)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_export_parity_failure_raises(tmp_path):
    net = build_arch("anchor_c8_b2", scale=2, channels=3)
    with pytest.raises(ParityError):
        export_onnx(net, tmp_path / "m.onnx", channels=3, tolerance=-1.0)
    assert not (tmp_path / "m.onnx").exists()


RESTORE_ARCHS = [("restore_c8_b2", 2), ("unet_c8_b2", 4)]


@pytest.mark.parametrize("name,multiple", RESTORE_ARCHS)
def test_restore_net_starts_as_identity_and_keeps_size(name, multiple):
    from revival.models.arch import size_multiple

    torch.manual_seed(0)
    net = build_arch(name, scale=1, channels=3)
    assert size_multiple(net) == multiple
    x = torch.rand(2, 3, 12, 16)
    y = net(x)
    assert y.shape == x.shape
    assert float((y - x).abs().max()) < 0.05


@pytest.mark.parametrize("kind", ["restore", "unet"])
def test_restore_net_rejects_scale_and_bad_names(kind):
    with pytest.raises(ValueError, match="scale must be 1"):
        build_arch(f"{kind}_c8_b2", scale=2, channels=3)
    with pytest.raises(ValueError, match="width"):
        build_arch(f"{kind}_c2_b2", scale=1, channels=3)


@pytest.mark.parametrize("name", ["restore_c8_b2", "unet_c8_b2"])
def test_restore_net_receptive_radius_bounds_the_influence(name):
    from revival.models.arch import receptive_radius

    torch.manual_seed(0)
    net = build_arch(name, scale=1, channels=1)
    for p in net.parameters():  # every branch visible, so the influence is measurable
        torch.nn.init.normal_(p, std=0.1)
    radius = receptive_radius(net)
    x = torch.rand(1, 1, 80, 80)
    x2 = x.clone()
    x2[0, 0, 40, 40] += 0.5
    with torch.no_grad():
        diff = (net(x2) - net(x)).abs()[0, 0] > 0
    ys, xs = np.nonzero(diff.numpy())
    reach = max(abs(ys - 40).max(), abs(xs - 40).max())
    assert reach <= radius
    assert reach >= radius - 2  # not a loose bound


@pytest.mark.parametrize("name,multiple", RESTORE_ARCHS)
def test_restore_export_parity_on_even_sizes(tmp_path, name, multiple):
    import onnxruntime as ort

    torch.manual_seed(2)
    net = build_arch(name, scale=1, channels=3)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.1)
    report = export_onnx(net, tmp_path / "r.onnx", channels=3, size_multiple=multiple)
    assert report.max_abs_diff <= report.tolerance
    sess = ort.InferenceSession(str(tmp_path / "r.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 24, 36), dtype=np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], ref, atol=1e-5)


def test_multi_frame_restore_net_adds_to_the_centre_frame_and_exports(tmp_path):
    import onnxruntime as ort
    from revival.models.arch import input_frames

    torch.manual_seed(4)
    net = build_arch("restore_c8_b2_f3", scale=1, channels=3)
    assert input_frames(net) == 3 and input_frames(build_arch("restore_c8_b2", scale=1,
                                                               channels=3)) == 1
    x = torch.rand(1, 9, 12, 16)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (1, 3, 12, 16)
    assert float((y - x[:, :3]).abs().max()) < 0.05  # near the centre, not a neighbour
    assert float((y - x[:, 3:6]).abs().max()) > 0.3
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.1)
    report = export_onnx(net, tmp_path / "m.onnx", channels=9, size_multiple=2)
    assert report.max_abs_diff <= report.tolerance
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 9, 20, 24), dtype=np.float32)
    assert sess.run(None, {"input": x})[0].shape == (1, 3, 20, 24)
    for bad in ("restore_c8_b2_f2", "restore_c8_b2_f9"):
        with pytest.raises(ValueError, match="frames"):
            build_arch(bad, scale=1, channels=3)
