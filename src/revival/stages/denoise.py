"""Denoising: per frame (non-local means or a learned model), or by fusing motion-aligned frames.

* ``spatial``: each frame on its own, with OpenCV's non-local means (``nlm``; ``h``
  follows the noise level) or the learned blind denoiser ``denoise.x1`` (``model``;
  trained on white Gaussian and shot + read sensor noise, see
  :mod:`revival.train.noise_pairs`). The model is far better on heavy noise (Set14,
  sigma 25: +3.3 dB over NLM) but smooths away texture when the noise is light (it
  denoises as if the noise were stronger), so ``spatial_method="auto"``, the default,
  uses it only when the measured sigma is at least ``MODEL_MIN_SIGMA``.
* ``temporal``: each of ``radius`` frames before and after is aligned to the
  current frame with DIS optical flow (estimated on slightly smoothed copies, so
  noise does not drive the flow) and averaged with per-pixel weights that fall
  to zero where the aligned frame disagrees with the current one by more than
  the noise explains (occlusions, flow errors, scene cuts): a static area
  averages ``2 * radius + 1`` samples, a mismatched one keeps its own. A spatial
  pass removes what is left: the model when at least ``MODEL_MIN_RESIDUAL`` remains
  (and ``spatial_method`` is not ``nlm``), else non-local means scaled to it.

The noise level is automatic unless given: :func:`revival.analysis.estimate_noise`
on the first frames of the run, then frozen so the strength does not flicker.
Sigma is in 8-bit code values per RGB channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from ..analysis import estimate_noise
from ..errors import ConfigError
from ..flow import estimate_flow, inside_mask, warp
from ..frames.spec import VideoSpec
from ..pipeline.stage import Stage, check_range
from ..runtime.session import Backend

Mode = Literal["spatial", "temporal"]
SpatialMethod = Literal["auto", "model", "nlm"]
MODEL_MIN_SIGMA = 10.0  # code values; below it non-local means measured better (Set14 images)
# after temporal fusion the noise left is lower and the texture already steadier: on Vid4
# city (sigma 15, about 6 left) the model gained 1.2 dB over non-local means there
MODEL_MIN_RESIDUAL = 5.0
DEFAULT_MODEL = "denoise.x1"
_NLM_H_PER_SIGMA = 0.55  # OpenCV NLM filter strength per code value of noise sigma
_AUTO_FRAMES = 5


def nlm(frame: np.ndarray, *, sigma: float) -> np.ndarray:
    """Non-local means of one RGB float frame for noise ``sigma`` (8-bit code values)."""
    if sigma <= 0:
        return frame
    h = _NLM_H_PER_SIGMA * sigma
    u8 = np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)
    out = cv2.fastNlMeansDenoisingColored(u8, None, h, h, 5, 11)
    return out.astype(np.float32) / 255.0


def fuse_temporal(window: np.ndarray, *, centre: int, sigma: float,
                  flow_preset: str = "fast") -> tuple[np.ndarray, float]:
    """Motion-compensated weighted average of a window around frame ``centre``.

    Returns:
        (fused frame, residual noise sigma estimate in code values).
    """
    ref = window[centre]
    s = sigma / 255.0
    guide = cv2.GaussianBlur(ref, (0, 0), 1.0)
    acc = ref.astype(np.float32).copy()
    wsum = np.ones(ref.shape[:2], np.float32)
    w2sum = np.ones(ref.shape[:2], np.float32)
    for k in range(window.shape[0]):
        if k == centre:
            continue
        other = window[k]
        flow = estimate_flow(guide, cv2.GaussianBlur(other, (0, 0), 1.0), preset=flow_preset)
        aligned = warp(other, flow)
        # local mean squared difference; pure noise gives about 2 sigma^2
        d2 = cv2.blur(np.square(aligned - ref).mean(axis=2), (5, 5))
        excess = np.maximum(d2 / (2 * s * s + 1e-12) - 1.0, 0.0)
        w = np.exp(-3.0 * excess) * inside_mask(flow)
        acc += w[..., None] * aligned
        wsum += w
        w2sum += w * w
    fused = acc / wsum[..., None]
    residual = sigma * float(np.sqrt(w2sum).mean() / wsum.mean())
    return fused, residual


@dataclass(frozen=True)
class DenoiseParams:
    """Parameters of the ``denoise`` stage.

    Attributes:
        mode: ``"temporal"`` (motion-compensated, default) or ``"spatial"``.
        sigma: noise level in 8-bit code values per channel; 0 = estimate it. The
            learned model is blind (it reads the level from the picture); sigma then
            sets the weights of the temporal fusion only.
        strength: 0 returns the input; 1 removes the estimated noise; up to 2.
        radius: frames used on each side in temporal mode.
        spatial_method: spatial mode's denoiser: ``"auto"`` (the learned ``model`` when
            the noise sigma is at least ``MODEL_MIN_SIGMA``, else non-local means),
            ``"model"`` or ``"nlm"``.
        model: registered same-size denoising model id.
        backend, precision, threads: inference settings of the model (see ``upscale``).
    """

    mode: Mode = "temporal"
    sigma: float = 0.0
    strength: float = 1.0
    radius: int = 2
    spatial_method: SpatialMethod = "auto"
    model: str = DEFAULT_MODEL
    backend: Backend = "auto"
    precision: Literal["fp32", "int8"] = "fp32"
    threads: int = 0

    def __post_init__(self) -> None:
        check_range("denoise", "sigma", self.sigma, 0, 100)
        check_range("denoise", "strength", self.strength, 0, 2)
        check_range("denoise", "radius", self.radius, 1, 4)
        check_range("denoise", "threads", self.threads, 0, 1024)
        if self.spatial_method not in ("auto", "model", "nlm"):
            raise ConfigError(f"denoise.spatial_method must be 'auto', 'model' or 'nlm', got "
                              f"{self.spatial_method!r}", key="denoise.spatial_method")


@dataclass
class _RunState:
    estimates: list[float] = field(default_factory=list)

    def sigma(self, frame: np.ndarray) -> float:
        if len(self.estimates) < _AUTO_FRAMES:
            self.estimates.append(estimate_noise(frame))
        return float(np.median(self.estimates))


class Denoise(Stage):
    """Stage wrapper; window ``(radius, radius)`` in temporal mode."""

    name = "denoise"
    Params = DenoiseParams

    def __init__(self, params: DenoiseParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        r = p.radius if p.mode == "temporal" else 0
        self.window = (r, r)
        self.model = None
        if p.spatial_method != "nlm":
            from ..models.registry import model_entry
            from ..runtime.session import load_sr_model

            if model_entry(p.model).scale != 1:
                raise ConfigError(f"denoise.model {p.model!r} changes the frame size; pick a "
                                  f"same-size model such as {DEFAULT_MODEL!r}",
                                  key="denoise.model")
            self.model = load_sr_model(p.model, precision=p.precision, backend=p.backend,
                                       threads=p.threads or None)

    def _learned(self, frame: np.ndarray) -> np.ndarray:
        out = self.model.upscale(np.ascontiguousarray(frame, dtype=np.float32))
        k = self.params.strength
        if k != 1:
            out = frame + np.float32(k) * (out - frame)
        return np.clip(out, 0.0, 1.0)

    def configure(self, spec: VideoSpec) -> VideoSpec:
        return spec

    def start(self) -> _RunState:
        return _RunState()

    def process(self, window: np.ndarray, *, state: _RunState | None = None) -> np.ndarray:
        p = self.params
        centre = self.window[0]
        frame = window[centre]
        if p.strength == 0:
            return frame
        if p.mode == "spatial" and p.spatial_method == "model":
            return self._learned(frame)
        sigma = p.sigma if p.sigma > 0 else (state or _RunState()).sigma(frame)
        if p.mode == "spatial":
            if self.model is not None and sigma >= MODEL_MIN_SIGMA:
                return self._learned(frame)
            return nlm(frame, sigma=sigma * p.strength)
        fused, residual = fuse_temporal(window, centre=centre, sigma=sigma * p.strength)
        if self.model is not None and residual >= MODEL_MIN_RESIDUAL:
            return self._learned(fused)
        return nlm(fused, sigma=residual) if residual >= 1.0 else fused


def denoise(frames: np.ndarray, *, mode: Mode = "temporal", sigma: float = 0.0,
            strength: float = 1.0, radius: int = 2,
            spatial_method: SpatialMethod = "auto", **model_options) -> np.ndarray:
    """Denoise a whole clip (T, H, W, 3) in memory; see :class:`Denoise` for streaming.

    ``model_options``: ``model``, ``backend``, ``precision``, ``threads`` of
    :class:`DenoiseParams`.
    """
    stage = Denoise(DenoiseParams(mode=mode, sigma=sigma, strength=strength, radius=radius,
                                  spatial_method=spatial_method, **model_options))
    return run_clip(stage, frames)


def run_clip(stage: Denoise, frames: np.ndarray) -> np.ndarray:
    """Run a built :class:`Denoise` stage over a whole clip (T, H, W, 3) in memory."""
    from fractions import Fraction

    from ..frames.frame import Frame
    from ..pipeline.pipeline import run_stage

    clip = [Frame.from_rgb(f, index=i, pts=i, time_base=Fraction(1, 25)) for i, f in enumerate(frames)]
    return np.stack([f.rgb for f in run_stage(stage, iter(clip), state=stage.start())])
