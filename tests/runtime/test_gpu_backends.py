"""The GPU backends (ONNX Runtime's CUDA and TensorRT providers) are chosen, and refused,
correctly. This machine has no GPU, so the provider list is also faked for the choice."""

from __future__ import annotations

import numpy as np
import pytest

from revival.errors import MissingDependencyError
from revival.runtime import session
from revival.runtime.session import gpu_backends, load_sr_model, onnxruntime_providers
from revival.stages.upscale import Upscale


def test_providers_put_the_gpu_first_and_keep_the_cpu_last():
    assert onnxruntime_providers("onnxruntime") == ["CPUExecutionProvider"]
    assert onnxruntime_providers("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnxruntime_providers("tensorrt") == ["TensorrtExecutionProvider",
                                                 "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_gpu_backends_follow_what_onnxruntime_offers_and_the_driver(monkeypatch):
    import onnxruntime as ort

    monkeypatch.setattr(session, "_nvidia_driver", lambda: True)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert gpu_backends() == []
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider",
                                 "CPUExecutionProvider"])
    assert gpu_backends() == ["cuda", "tensorrt"]
    # onnxruntime-gpu on a machine without an NVIDIA driver: the CPU backends stay
    monkeypatch.setattr(session, "_nvidia_driver", lambda: False)
    assert gpu_backends() == []


@pytest.mark.skipif(bool(gpu_backends()), reason="this machine has a GPU provider")
@pytest.mark.parametrize("backend", ["cuda", "tensorrt"])
def test_asking_for_a_gpu_without_one_says_what_to_install(backend):
    with pytest.raises(MissingDependencyError, match="onnxruntime-gpu"):
        load_sr_model("fidelity.x2", backend=backend)
    with pytest.raises(MissingDependencyError, match="onnxruntime-gpu"):
        Upscale.from_dict({"model": "fidelity", "scale": 2, "backend": backend})


def test_auto_prefers_cuda_where_onnxruntime_offers_it(monkeypatch, caplog):
    """With the CUDA provider listed, auto asks ONNX Runtime for it, not the CPU backend
    the manifest measured fastest; a session that falls back to the CPU still runs."""
    import onnxruntime as ort

    asked = []
    real = ort.InferenceSession

    def session_spy(path, so, providers):
        asked.append(list(providers))
        return real(path, so, providers=["CPUExecutionProvider"])  # no GPU here

    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(session, "_nvidia_driver", lambda: True)
    monkeypatch.setattr(ort, "InferenceSession", session_spy)
    with caplog.at_level("WARNING", logger="revival.runtime.session"):
        model = load_sr_model("fidelity.x2", precision="int8", threads=1)
    assert "CUDAExecutionProvider not usable here, running on CPUExecutionProvider" in caplog.text
    assert model.backend == "cuda" and asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]
    out = model.upscale(np.full((8, 8, 1), 0.5, np.float32))
    assert out.shape == (16, 16, 1) and abs(float(out.mean()) - 0.5) < 0.02
    monkeypatch.setattr(session, "gpu_backends", lambda: [])
    assert load_sr_model("fidelity.x2", precision="int8", threads=1).backend != "cuda"
