import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the lpips metric needs PyTorch (extra 'perceptual')")
if __import__("importlib").util.find_spec("stlpips_pytorch") is None:
    pytest.skip("stlpips-pytorch is not installed (extra 'perceptual')", allow_module_level=True)

from revival.metrics.perceptual import STLPIPS  # noqa: E402


@pytest.fixture(scope="module")
def metric():
    return STLPIPS()


def _pair():
    import cv2
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((72, 88, 3)).astype(np.float32), (0, 0), 1.5)
    img = (img - img.min()) / (img.max() - img.min())
    return img


def test_identity_and_ordering(metric):
    img = _pair()
    rng = np.random.default_rng(1)
    assert metric.distance(img, img) == pytest.approx(0.0, abs=1e-6)
    small = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)
    large = np.clip(img + rng.normal(0, 0.15, img.shape), 0, 1)
    assert 0 < metric.distance(img, small) < metric.distance(img, large)


def test_matches_the_package_implementation(metric, monkeypatch):
    # Second implementation: the package's own network code, run with stub modules for
    # the imports this variant does not use (torchvision, IPython, torchsummary).
    tv = types.ModuleType("torchvision")
    tv.models = types.ModuleType("torchvision.models")
    ipy = types.ModuleType("IPython")
    ipy.embed = lambda *a, **k: None
    ts = types.ModuleType("torchsummary")
    ts.summary = lambda *a, **k: None
    for name, mod in (("torchvision", tv), ("torchvision.models", tv.models), ("IPython", ipy),
                      ("torchsummary", ts)):
        monkeypatch.setitem(sys.modules, name, mod)
    try:
        from stlpips_pytorch import stlpips
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"the package's own code cannot be imported here: {exc}")
    ref_model = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False)
    img = _pair()
    rng = np.random.default_rng(2)
    other = np.clip(img + rng.normal(0, 0.08, img.shape), 0, 1).astype(np.float32)

    def t(x):
        return torch.from_numpy((x * 2 - 1).transpose(2, 0, 1)[None].copy())

    with torch.no_grad():
        expect = float(ref_model(t(img), t(other)).flatten()[0])
    assert metric.distance(img, other) == pytest.approx(expect, rel=1e-4)
