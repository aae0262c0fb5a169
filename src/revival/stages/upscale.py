"""Learned super-resolution: the ``upscale`` stage.

Runs a registered ONNX model (``fidelity.x4`` ...) through :mod:`revival.runtime`
(ONNX Runtime or OpenVINO, fp32 or INT8, tiled). RGB models see the RGB frame.
Luma models see Y' computed with the clip's matrix; Cb and Cr are upsampled
with Lanczos-3 and recombined with the same matrix, so the conversion itself is
exact: where the model reproduced a Lanczos upsample, the result would equal a
Lanczos upsample of the RGB frame (tested), and grey stays grey.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..errors import ConfigError
from ..frames.color import MATRIX_KR_KB
from ..frames.spec import VideoSpec
from ..pipeline.stage import Stage, check_range
from ..runtime.session import Backend
from .resize import resize

log = logging.getLogger(__name__)
DEFAULT_MATRIX = 1  # BT.709, used (and logged) when the clip's matrix has no Kr/Kb


def _kr_kb(matrix: int) -> tuple[float, float]:
    if matrix not in MATRIX_KR_KB:
        log.info("matrix code %d has no luma weights; using BT.709 for the luma split", matrix)
        matrix = DEFAULT_MATRIX
    return MATRIX_KR_KB[matrix]


@functools.lru_cache(maxsize=None)
def _ycc_matrices(matrix: int) -> tuple[np.ndarray, np.ndarray]:
    """3x3 matrices taking (R', G', B') to full-range (Y', Cb, Cr) and back; built once
    per matrix code (read-only), not once per frame."""
    kr, kb = _kr_kb(matrix)
    kg = 1 - kr - kb
    forward = np.array([[kr, kg, kb],
                        [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
                        [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))]])
    inverse = np.linalg.inv(forward)
    forward.flags.writeable = inverse.flags.writeable = False
    return forward, inverse


def rgb_to_ycc(rgb: np.ndarray, matrix: int) -> np.ndarray:
    """(..., 3) RGB -> (..., 3) Y' Cb Cr, full range, Y' in [0, 1], Cb/Cr in [-0.5, 0.5]."""
    return _transform(rgb, _ycc_matrices(matrix)[0])


def ycc_to_rgb(ycc: np.ndarray, matrix: int) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycc`."""
    return _transform(ycc, _ycc_matrices(matrix)[1])


def _transform(pixels: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``m`` applied to every pixel of a (..., 3) array: one OpenCV pass in float32 (a
    2560x1440 frame: about 10 ms, where NumPy's channel arithmetic took about 190 ms)."""
    src = np.ascontiguousarray(pixels, dtype=np.float32)
    flat = src.reshape(1, -1, 3)  # one long row: OpenCV's per-row overhead is paid once
    return cv2.transform(flat, m).reshape(src.shape)


ENSEMBLES = (1, 2, 4, 8)


def check_ensemble(ensemble: int) -> None:
    """Raise ConfigError unless ``ensemble`` is in :data:`ENSEMBLES`."""
    if ensemble not in ENSEMBLES:
        raise ConfigError(f"upscale.ensemble must be one of {list(ENSEMBLES)}, got {ensemble!r}",
                          key="upscale.ensemble")


def ensemble_upscale(model, image: np.ndarray, *, tile: int = 0, ensemble: int = 1) -> np.ndarray:
    """``model.upscale`` averaged over ``ensemble`` flipped or transposed copies of ``image``.

    Geometric self-ensemble: the model sees the image as it is, mirrored left-right (2),
    also upside down (4) and also transposed (8); each output is mapped back and the
    outputs are averaged. The model is run ``ensemble`` times; nothing is synthesised
    that one run would not give (it is an average of the same model's answers).
    Measured on ``fidelity.x4`` fp32, Set5 / Set14 x4 Y-PSNR: 31.21 / 28.00 dB once,
    31.33 / 28.09 with 2, 31.41 / 28.12 with 4, 31.43 / 28.15 with 8
    (``benchmarks/sr_ensemble.py``).

    Raises:
        ConfigError: ``ensemble`` not in :data:`ENSEMBLES`.
    """
    check_ensemble(ensemble)
    if ensemble == 1:
        return model.upscale(image, tile=tile)
    acc = None
    for t in range(ensemble):
        x = image.transpose(1, 0, 2) if t & 4 else image
        x = x[::-1] if t & 2 else x
        x = x[:, ::-1] if t & 1 else x
        y = model.upscale(x, tile=tile)  # views: the model copies its input into (C, H, W)
        y = y[:, ::-1] if t & 1 else y
        y = y[::-1] if t & 2 else y
        y = y.transpose(1, 0, 2) if t & 4 else y
        if acc is None:
            acc = np.array(y, dtype=np.float32)
        else:
            acc += y
    return acc * np.float32(1.0 / ensemble)


def upscale(frames: np.ndarray, *, model, tile: int = 0, matrix: int = DEFAULT_MATRIX,
            ensemble: int = 1) -> np.ndarray:
    """Upscale RGB frames with a loaded SR model.

    Args:
        frames: (H, W, 3) or (T, H, W, 3) float32 RGB in [0, 1].
        model: a :class:`revival.runtime.session.SRModel` (or anything with ``scale``,
            ``channels`` and ``upscale(image, tile=)``).
        tile: core tile size in input pixels; 0 = whole frame. The output does not
            depend on it (within one 8-bit code value).
        matrix: H.273 matrix code of the clip, used by luma models to split Y'/Cb/Cr.
        ensemble: run the model on this many flipped/transposed copies and average
            (1, 2, 4 or 8; see :func:`ensemble_upscale`).

    Returns:
        float32 RGB in [0, 1], (H*s, W*s, 3) or (T, H*s, W*s, 3).

    Raises:
        ConfigError: frames are not (..., H, W, 3), or ``ensemble`` is not 1, 2, 4 or 8.

    Example:
        >>> from revival.runtime.session import load_sr_model      # doctest: +SKIP
        >>> upscale(np.zeros((18, 32, 3), np.float32), model=load_sr_model("fidelity.x4")).shape
        (72, 128, 3)
    """
    if frames.ndim == 4:
        return np.stack([upscale(f, model=model, tile=tile, matrix=matrix, ensemble=ensemble)
                         for f in frames])
    if frames.ndim != 3 or frames.shape[2] != 3:
        raise ConfigError(f"upscale expects (H, W, 3) or (T, H, W, 3) RGB frames, got shape "
                          f"{frames.shape}", key="upscale")
    frame = np.asarray(frames, dtype=np.float32)
    if model.channels == 3:
        return ensemble_upscale(model, frame, tile=tile, ensemble=ensemble)
    ycc = rgb_to_ycc(frame, matrix)
    y = ensemble_upscale(model, ycc[..., :1], tile=tile, ensemble=ensemble)[..., 0]
    chroma = resize(ycc[..., 1:], size=y.shape[:2], kernel="lanczos")
    # cv2.merge of the luma plane and the two-channel chroma (no split of the chroma first):
    # np.concatenate took about 3x as long at 2560x1440
    planes = [np.ascontiguousarray(y, dtype=np.float32),
              np.ascontiguousarray(chroma, dtype=np.float32)]
    out = ycc_to_rgb(cv2.merge(planes), matrix)
    return np.clip(out, 0.0, 1.0, out=out)


def resolve_model(model: str, scale: int) -> str:
    """``"fidelity"`` -> ``"fidelity.x<scale>"``; a full id (with a dot) is returned as is.

    Raises:
        ConfigError: the family has no model at this scale (the message lists what exists).
    """
    from ..models.registry import MODELS

    if "." in model:
        return model
    model_id = f"{model}.x{scale}"
    if model_id not in MODELS:
        family = sorted(m for m in MODELS if m.split(".")[0] == model)
        known = ", ".join(family) if family else ", ".join(sorted(MODELS))
        raise ConfigError(f"upscale: no x{scale} model in family {model!r}; available: "
                          f"{known}", key="upscale.model")
    return model_id


@dataclass(frozen=True)
class UpscaleParams:
    """Parameters of the ``upscale`` stage.

    Attributes:
        model: a model family (``fidelity``: the ``fidelity.x<scale>`` model is used) or
            a registered model id (``fidelity.x4``), whose scale must equal ``scale``.
        scale: upscaling factor.
        tile: core tile size in input pixels, 0 = whole frame.
        backend: ``"auto"``, ``"onnxruntime"``, ``"openvino"``, or ``"cuda"`` / ``"tensorrt"``
            (ONNX Runtime on an NVIDIA GPU; :mod:`revival.runtime.session`).
        precision: ``"fp32"`` or ``"int8"``.
        threads: inference threads, 0 = all cores.
        forensic: refuse any model whose manifest does not state ``adversarial: false``
            (no synthesised texture); the ``forensic`` preset sets it.
        ensemble: geometric self-ensemble, 1 (off), 2, 4 or 8 model runs per frame,
            averaged (see :func:`ensemble_upscale`): higher fidelity, proportionally slower.
    """

    model: str = "fidelity"
    scale: int = 4
    tile: int = 0
    backend: Backend = "auto"
    precision: Literal["fp32", "int8"] = "fp32"
    threads: int = 0
    forensic: bool = False
    ensemble: int = 1

    def __post_init__(self) -> None:
        check_range("upscale", "scale", self.scale, 2, 4)
        check_range("upscale", "tile", self.tile, 0, 8192)
        check_range("upscale", "threads", self.threads, 0, 1024)
        check_ensemble(self.ensemble)


class Upscale(Stage):
    """Stage wrapper of :func:`upscale`; holds the loaded model session.

    The model is loaded (and its sha256 verified) when the stage is built, so a
    missing or corrupt model fails before any frame is decoded. ``configure``
    records the clip's matrix, which luma models use to split Y'/Cb/Cr.
    """

    name = "upscale"
    Params = UpscaleParams

    def __init__(self, params: UpscaleParams | None = None) -> None:
        super().__init__(params)
        from ..models.registry import model_entry
        from ..runtime.session import load_sr_model

        p = self.params
        self.model_id = resolve_model(p.model, p.scale)
        entry = model_entry(self.model_id)
        if entry.scale != p.scale:
            raise ConfigError(f"upscale.scale is {p.scale} but model {p.model!r} is "
                              f"x{entry.scale}; set scale={entry.scale} or pick an "
                              f"x{p.scale} model", key="upscale.scale")
        if p.forensic:
            from ..models.registry import load_manifest

            if load_manifest(self.model_id).get("adversarial") is not False:
                raise ConfigError(f"upscale.forensic is set but model {self.model_id!r} is not "
                                  f"declared non-adversarial; use a fidelity model",
                                  key="upscale.model")
        self.model = load_sr_model(self.model_id, precision=p.precision, backend=p.backend,
                                   threads=p.threads or None)
        self.matrix = DEFAULT_MATRIX

    def configure(self, spec: VideoSpec) -> VideoSpec:
        self.matrix = spec.color.matrix if spec.color.matrix in MATRIX_KR_KB else DEFAULT_MATRIX
        s = self.params.scale
        return spec.with_(width=spec.width * s, height=spec.height * s)

    def process(self, window: np.ndarray, *, state: object = None) -> np.ndarray:
        frame = window[self.window[0]]
        return upscale(frame, model=self.model, tile=self.params.tile, matrix=self.matrix,
                       ensemble=self.params.ensemble)
