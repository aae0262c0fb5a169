"""Learned removal of compression artifacts: the ``deblock`` stage.

Runs the registered same-size model ``deblock.x1`` (trained on real H.264,
MPEG-2, MPEG-4 and JPEG round trips, see :mod:`revival.train.codec_pairs`) on
each RGB frame. ``strength`` scales the correction the model makes:
``out = frame + strength * (model(frame) - frame)``; 1 is the model as trained,
0 leaves the frame untouched, values above 1 push further. The model works on
values in [0, 1], so 8-, 10- and 16-bit video go through the same path (the
frame contract is float).

``strength = "auto"`` (the ``web`` preset) sets the strength from how hard the source was
compressed: the mean quantiser its decoder reports (``VideoSpec.coded_qp``, H.264 scale,
see :mod:`revival.io.quantiser`) through the rule in the model's manifest
(``auto_strength``: ``clip((qp - qp_zero) / qp_span, 0, 1)``, fitted on clips the model
never trained on by ``benchmarks/deblock_strength.py --calibrate``; HEVC, VP9, AV1 and
JPEG sources have their own ``qp_zero`` and ``qp_span`` under ``families``, fitted by
``--calibrate --codec libx265``, ``deblock_strength_vp9.py [--codec av1]`` and
``deblock_strength_jpeg.py``). The model was trained
mostly on heavy compression; at full strength it removes real detail from well-coded video
(x264 CRF 18 clips of the strength benchmark lost 0.8-1.1 dB), at a fraction of it it
still gains. Where the source reports no quantiser (PNG, FFV1, raw frames) the rule's
``fallback_strength`` applies (the constant strength that did best in the same
calibration); a model without a rule runs at strength 1. A message says which.

A multi-frame model (manifest ``temporal_window`` [r, r]) also sees the ``r``
frames before and after, each aligned to the frame with DIS flow
(:func:`revival.flow.align.stack_aligned`, the alignment it was trained with);
the stage then asks the pipeline for that window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ConfigError
from ..flow.align import stack_aligned
from ..frames.spec import VideoSpec
from ..pipeline.stage import Stage, check_range
from ..runtime.session import Backend

log = logging.getLogger(__name__)
DEFAULT_MODEL = "deblock.x1"


def auto_strength(coded_qp: float | None, rule: dict | None,
                  family: str | None = None) -> float | None:
    """The strength a manifest's ``auto_strength`` rule gives for a source quantiser.

    A rule may hold its own ``qp_zero`` and ``qp_span`` for a family of sources
    (``families``, keyed as :class:`revival.io.quantiser.CodedQuantiser` names them). None
    where the quantiser or the rule is missing.

    Example:
        >>> auto_strength(24.0, {"qp_zero": 6.0, "qp_span": 36.0})
        0.5
        >>> auto_strength(24.0, {"qp_zero": 6.0, "qp_span": 36.0,
        ...                      "families": {"jpeg": {"qp_zero": 16.0, "qp_span": 16.0}}}, "jpeg")
        0.5
    """
    if coded_qp is None or not rule:
        return None
    rule = (rule.get("families") or {}).get(family, rule)
    s = (float(coded_qp) - float(rule["qp_zero"])) / float(rule["qp_span"])
    return float(min(1.0, max(0.0, s)))


def deblock(frame: np.ndarray, *, model, strength: float = 1.0, tile: int = 0) -> np.ndarray:
    """Remove codec artifacts from one (H, W, 3) float32 RGB frame in [0, 1].

    Args:
        frame: the decoded frame; for a multi-frame model the frame and its aligned
            neighbours stacked centre first, (H, W, 3 * model.frames)
            (:func:`revival.flow.align.stack_aligned`).
        model: a loaded same-size model (:class:`revival.runtime.session.SRModel`, scale 1).
        strength: 0 = unchanged, 1 = the model's output, in between = a blend.
        tile: core tile size in pixels; 0 = the whole frame at once.

    Returns:
        (H, W, 3) float32 in [0, 1].

    Raises:
        ConfigError: the frame is not (H, W, 3 * frames) or the model is not same-size RGB.
    """
    if model.scale != 1 or model.channels != 3:
        raise ConfigError(f"deblock needs a same-size RGB model, got x{model.scale} with "
                          f"{model.channels} channel(s)", key="deblock.model")
    c = 3 * model.frames
    if frame.ndim != 3 or frame.shape[2] != c:
        what = "an (H, W, 3) RGB frame" if c == 3 else (
            f"(H, W, {c}): the frame and its aligned neighbours")
        raise ConfigError(f"deblock expects {what}, got shape {frame.shape}", key="deblock")
    frame = np.asarray(frame, dtype=np.float32)
    centre = frame[..., :3]
    if strength == 0:
        return np.ascontiguousarray(centre)
    out = model.upscale(frame, tile=tile)
    if strength != 1:
        out = centre + np.float32(strength) * (out - centre)
        np.clip(out, 0.0, 1.0, out=out)
    return out


@dataclass(frozen=True)
class DeblockParams:
    """Parameters of the ``deblock`` stage.

    Attributes:
        model: registered same-size model id.
        strength: 0..2 (1 applies the model as trained), or ``"auto"``: from the
            source's coded quantiser (see the module text).
        tile: core tile size in pixels, 0 = whole frame.
        backend: ``"auto"``, ``"onnxruntime"``, ``"openvino"``, or ``"cuda"`` / ``"tensorrt"``
            (ONNX Runtime on an NVIDIA GPU; :mod:`revival.runtime.session`).
        precision: ``"fp32"`` or ``"int8"``.
        threads: inference threads, 0 = all cores.
    """

    model: str = DEFAULT_MODEL
    strength: float | Literal["auto"] = 1.0
    tile: int = 0
    backend: Backend = "auto"
    precision: Literal["fp32", "int8"] = "fp32"
    threads: int = 0

    def __post_init__(self) -> None:
        if self.strength != "auto":
            check_range("deblock", "strength", self.strength, 0.0, 2.0)
        check_range("deblock", "tile", self.tile, 0, 8192)
        check_range("deblock", "threads", self.threads, 0, 1024)


class Deblock(Stage):
    """Stage wrapper of :func:`deblock`; loads (and sha256-checks) the model when built."""

    name = "deblock"
    Params = DeblockParams

    def __init__(self, params: DeblockParams | None = None) -> None:
        super().__init__(params)
        from ..models.registry import load_manifest, model_entry
        from ..runtime.session import load_sr_model

        p = self.params
        if model_entry(p.model).scale != 1:
            raise ConfigError(f"deblock.model {p.model!r} changes the frame size; pick a "
                              f"same-size model such as {DEFAULT_MODEL!r}", key="deblock.model")
        self.model = load_sr_model(p.model, precision=p.precision, backend=p.backend,
                                   threads=p.threads or None)
        r = (self.model.frames - 1) // 2
        self.window = (r, r)
        self.rule = load_manifest(p.model).get("auto_strength")
        # set again by configure() from the source; 1 until then (frames fed directly)
        self.strength = 1.0 if p.strength == "auto" else float(p.strength)
        self.chosen: str | None = None  # what configure() chose automatically, in words

    @property
    def needs_coded_qp(self) -> bool:
        """Whether configure() wants the source's quantiser in the spec."""
        return self.params.strength == "auto"

    def configure(self, spec: VideoSpec) -> VideoSpec:
        if self.params.strength == "auto":
            s = auto_strength(spec.coded_qp, self.rule, spec.coded_family)
            if s is None and self.rule and self.rule.get("fallback_strength") is not None:
                s = float(self.rule["fallback_strength"])
                self.chosen = (f"deblock: strength {s:.2f} (the source reports no quantiser; "
                               "the model's calibrated strength for unknown compression)")
            elif s is None:
                s = 1.0
                self.chosen = f"deblock: strength 1 ({self.params.model} has no auto_strength rule)"
            else:
                own = spec.coded_family in (self.rule.get("families") or {})
                self.chosen = (f"deblock: strength {s:.2f} from the source's quantiser "
                               f"(QP {spec.coded_qp:.1f}"
                               f"{f', {spec.coded_family} rule' if own else ''})")
            log.info("%s", self.chosen)
            self.strength = s
        return spec

    def process(self, window: np.ndarray, *, state: object = None) -> np.ndarray:
        r = self.window[0]
        if self.strength == 0:
            return window[r]
        frame = stack_aligned(window, r, radius=r) if r else window[r]
        return deblock(frame, model=self.model, strength=self.strength, tile=self.params.tile)
