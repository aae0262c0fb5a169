"""Run an exported SR model with ONNX Runtime or OpenVINO; no PyTorch.

``backend="auto"`` uses ONNX Runtime's CUDA provider where one is there (the
``onnxruntime-gpu`` package and an NVIDIA GPU); otherwise the backend the model's
benchmark measured fastest on the CPU for the requested precision (recorded in the
manifest as ``preferred_backend``), else ONNX Runtime, else OpenVINO, whichever is
installed. ``"cuda"`` and ``"tensorrt"`` ask for ONNX Runtime's CUDA or TensorRT provider
by name. The GPU paths are not measured by the project: its CI and benchmark machines
have no GPU.

Example:
    >>> m = load_sr_model("fidelity.x4")                         # doctest: +SKIP
    >>> m.upscale(np.zeros((18, 32, 1), np.float32)).shape       # doctest: +SKIP
    (72, 128, 1)
"""

from __future__ import annotations

import importlib.util
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, MissingDependencyError
from ..models.registry import Precision, load_manifest, weight_path
from .shuffle import depth_to_space, quantised, strip_depth_to_space
from .tiling import run_tiled

log = logging.getLogger(__name__)
Backend = Literal["auto", "onnxruntime", "openvino", "cuda", "tensorrt"]
BACKENDS = ("onnxruntime", "openvino")
# ONNX Runtime execution providers behind the GPU backends, in order of preference
GPU_PROVIDERS = {"cuda": ["CUDAExecutionProvider"],
                 "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"]}


def available_backends() -> list[str]:
    """Installed inference backends, in order of preference for portability."""
    names = {"onnxruntime": "onnxruntime", "openvino": "openvino"}
    return [b for b in BACKENDS if importlib.util.find_spec(names[b]) is not None]


def gpu_backends() -> list[str]:
    """GPU backends ONNX Runtime offers on this machine (``"cuda"``, ``"tensorrt"``).

    ONNX Runtime lists the providers it was built with, GPU or not, so an NVIDIA driver
    (its CUDA library) must be there too.
    """
    if importlib.util.find_spec("onnxruntime") is None or not _nvidia_driver():
        return []
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    return [b for b, providers in GPU_PROVIDERS.items() if providers[0] in have]


def _nvidia_driver() -> bool:
    import ctypes.util

    return any(ctypes.util.find_library(name) for name in ("cuda", "nvcuda"))


def onnxruntime_providers(backend: str) -> list[str]:
    """Execution providers of an ONNX Runtime session for a backend, the CPU always last."""
    return [*GPU_PROVIDERS.get(backend, []), "CPUExecutionProvider"]


def _threads(threads: int | None) -> int:
    return threads if threads and threads > 0 else (os.cpu_count() or 1)


class SRModel:
    """An ONNX super-resolution network bound to one backend.

    Args:
        path: the ``.onnx`` file.
        scale: its upscaling factor.
        channels: the channels of one frame, in and out (1 = Y', 3 = RGB).
        backend: ``"onnxruntime"``, ``"openvino"``, ``"cuda"``, ``"tensorrt"`` (ONNX Runtime
            with that GPU provider) or ``"auto"`` (CUDA where available, else ONNX Runtime
            when installed).
        threads: intra-op threads; None uses every core.
        overlap: tile context in input pixels (the model's receptive radius).
        multiple: the model needs input sides that are multiples of this; images are
            padded by edge replication and the output cropped back.
        frames: frames the model takes, stacked on the channel axis centre first (a
            multi-frame model's input has ``channels * frames`` channels; its output is
            one frame).

    The session is created once; :meth:`upscale` keeps nothing per call, so one
    instance can serve several pipelines.
    """

    def __init__(self, path: str | Path, *, scale: int, channels: int,
                 backend: Backend = "auto", threads: int | None = None,
                 overlap: int = 16, multiple: int = 1, frames: int = 1) -> None:
        self.path = Path(path)
        self.scale, self.channels, self.overlap = scale, channels, overlap
        self.multiple, self.frames = multiple, frames
        have = available_backends()
        if backend == "auto":
            if not have:
                raise MissingDependencyError("no inference backend; pip install onnxruntime")
            backend = "cuda" if "cuda" in gpu_backends() else have[0]
        if backend not in (*BACKENDS, *GPU_PROVIDERS):
            raise ConfigError(f"backend must be one of {['auto', *BACKENDS, *GPU_PROVIDERS]}, "
                              f"got {backend!r}", key="backend")
        if backend in GPU_PROVIDERS and backend not in gpu_backends():
            raise MissingDependencyError(
                f"backend {backend!r} needs ONNX Runtime's {GPU_PROVIDERS[backend][0]}: "
                "pip install onnxruntime-gpu (with CUDA on an NVIDIA GPU), or use the CPU "
                "backends (auto, onnxruntime, openvino)")
        if backend in BACKENDS and backend not in have:
            raise MissingDependencyError(f"backend {backend!r} is not installed; "
                                         f"pip install {backend}")
        self.backend = backend
        n = _threads(threads)
        if backend != "openvino":
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = n
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # idle worker threads sleep instead of spinning: spinning bought nothing per call
            # here and took a core from whatever ran next (decoding, OpenVINO, OpenCV)
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            providers = onnxruntime_providers(backend)
            sess = ort.InferenceSession(str(self.path), so, providers=providers)
            if sess.get_providers()[0] != providers[0]:  # ONNX Runtime fell back quietly
                log.warning("%s: %s not usable here, running on %s", self.path.name,
                            providers[0], sess.get_providers()[0])
            name = sess.get_inputs()[0].name
            self._run = lambda x: sess.run(None, {name: x})[0]
        else:
            import openvino as ov

            core = ov.Core()
            # INT8 graphs: the final pixel shuffle runs outside the graph (identical output,
            # one pass instead of OpenVINO's reorder + DepthToSpace + reorder; fp32 graphs
            # keep it, where it is cheaper; see runtime.shuffle)
            graph, block = core.read_model(str(self.path)), 1
            if quantised(graph):
                graph, block = strip_depth_to_space(graph)
            compiled = core.compile_model(graph, "CPU", {
                "INFERENCE_NUM_THREADS": n, "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32"})
            request = compiled.create_infer_request()
            pool = ThreadPoolExecutor(n) if n > 1 and block > 1 else None

            # one request per SRModel (OpenVINO requests are not re-entrant). infer() returns
            # a copy of the output (share_outputs=False), so results outlive the next call;
            # a second copy here cost 7 ms per 320x180 frame of an RGB x4 model
            def run_ov(x: np.ndarray) -> np.ndarray:
                y = request.infer({0: np.ascontiguousarray(x, dtype=np.float32)},
                                  share_inputs=True)[0]
                return y if block == 1 else depth_to_space(y, block, pool=pool)

            self._run = run_ov

    def run(self, x: np.ndarray) -> np.ndarray:
        """Raw model call: (N, C, H, W) float32 -> (N, C, H*s, W*s) float32, unclipped."""
        return self._run(np.ascontiguousarray(x, dtype=np.float32))

    def upscale(self, image: np.ndarray, *, tile: int = 0) -> np.ndarray:
        """Upscale one (H, W, C) float32 image in [0, 1]; output clipped to [0, 1].

        Args:
            image: (H, W, C) with C equal to the model's channels times its frames (a
                multi-frame model: the frame and its aligned neighbours, centre first).
            tile: core tile size in input pixels, 0 for the whole image at once.

        Raises:
            ConfigError: wrong channel count.
        """
        c = self.channels * self.frames
        if image.ndim != 3 or image.shape[2] != c:
            raise ConfigError(f"model {self.path.name} expects (H, W, {c}) input, "
                              f"got shape {image.shape}", key="image")
        h, w = image.shape[:2]
        m = self.multiple
        ph, pw = -(-h // m) * m - h, -(-w // m) * m - w
        if ph or pw:
            image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge")
        chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
        out = run_tiled(self.run, chw, scale=self.scale, tile=tile, overlap=self.overlap,
                        multiple=m)
        s = self.scale
        return np.clip(out[:, :h * s, :w * s].transpose(1, 2, 0), 0.0, 1.0)


def load_sr_model(model_id: str, *, precision: Precision = "fp32", backend: Backend = "auto",
                  threads: int | None = None, weights_dir: Path | None = None) -> SRModel:
    """Load a registered model (sha256-verified) on the chosen backend.

    ``backend="auto"`` takes the manifest's measured ``preferred_backend`` for the
    precision when that backend is installed.

    Raises:
        ConfigError: unknown id, precision or backend.
        ModelNotFoundError: weights or manifest missing (message names the fix).
        ChecksumError: weight file corrupt.
        MissingDependencyError: the backend is not installed.
    """
    manifest = load_manifest(model_id, weights_dir=weights_dir)
    path = weight_path(model_id, precision, weights_dir=weights_dir)
    if backend == "auto" and "cuda" not in gpu_backends():
        # the manifest's choice was measured on CPUs
        preferred = manifest.get("preferred_backend", {}).get(precision)
        if preferred in available_backends():
            backend = preferred
    contract = manifest["input"]
    return SRModel(path, scale=int(contract["scale"]), channels=int(contract["channels"]),
                   backend=backend, threads=threads,
                   overlap=int(contract["tiling"]["min_overlap"]),
                   multiple=int(contract["tiling"].get("size_multiple", 1)),
                   frames=1 + sum(int(r) for r in contract.get("temporal_window", (0, 0))))
