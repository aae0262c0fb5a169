"""The metric keys of ``revival compare``: one explicit list, stable names.

Each key is documented in ``docs/metrics.md``. ``scope`` says what a per-frame
value describes: ``frame`` (one value per frame), ``pair`` (frame ``t`` against
``t-1``; frame 0 has none) or ``clip`` (per-frame values of a whole-clip analysis).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricDef:
    """One metric key.

    Attributes:
        key: stable JSON key.
        unit: unit of the values.
        higher_is_better: direction of quality.
        scope: ``"frame"``, ``"pair"`` or ``"clip"``.
        needs_reference: whether it compares against the reference.
        extra: the optional extra that provides it, if any.
        description: one line for tables and reports.
    """

    key: str
    unit: str
    higher_is_better: bool
    scope: str
    needs_reference: bool
    description: str
    extra: str | None = None


METRICS: tuple[MetricDef, ...] = (
    MetricDef("psnr_y", "dB", True, "frame", True, "PSNR on BT.601 Y"),
    MetricDef("ssim_y", "", True, "frame", True, "SSIM on BT.601 Y (11x11 Gaussian, sigma 1.5)"),
    MetricDef("psnr_rgb", "dB", True, "frame", True, "PSNR on RGB"),
    MetricDef("ssim_rgb", "", True, "frame", True, "SSIM, mean over R, G, B"),
    MetricDef("de2000", "dE00", False, "frame", True, "mean CIEDE2000 (sRGB, D65)"),
    MetricDef("deitp", "dE_ITP", False, "frame", True, "mean Delta E_ITP (BT.2124, SDR 100 cd/m2)"),
    MetricDef("vmaf", "", True, "frame", True, "VMAF v0.6.1 (libvmaf)", extra="vmaf"),
    MetricDef("vmaf_neg", "", True, "frame", True, "VMAF v0.6.1 NEG, no enhancement gain",
              extra="vmaf"),
    MetricDef("lpips", "", False, "frame", True,
              "ST-LPIPS (shift-tolerant LPIPS, AlexNet) perceptual distance", extra="perceptual"),
    MetricDef("ewarp", "MSE", False, "pair", False,
              "warping error E_warp (Lai et al. 2018), flow from the reference"),
    MetricDef("tof", "px", False, "pair", True, "tOF: flow difference to the reference (TecoGAN)"),
    MetricDef("flicker", "luma", False, "pair", False,
              "motion-compensated change of mean luma, distorted clip"),
    MetricDef("flicker_ref", "luma", False, "pair", False,
              "the same flicker index on the reference clip"),
    MetricDef("blockiness", "ratio", False, "frame", False, "8x8 block-edge step ratio (1 = none)"),
    MetricDef("blockiness16", "ratio", False, "frame", False, "16x16 block-edge step ratio"),
    MetricDef("ringing", "code values", False, "frame", True, "RMS ripple near reference edges"),
    MetricDef("grid", "code values", False, "frame", False,
              "pattern locked to the 4-pixel grid (x2/x4 upscaler artefact), distorted frame"),
    MetricDef("grid_ref", "code values", False, "frame", False,
              "the same grid pattern on the reference frame"),
    MetricDef("niqe", "", False, "frame", False, "NIQE of the distorted frame (no reference)"),
    MetricDef("niqe_ref", "", False, "frame", False, "NIQE of the reference frame"),
    MetricDef("jitter", "px", False, "clip", False, "residual camera shake of the distorted clip"),
    MetricDef("jitter_ref", "px", False, "clip", False, "residual camera shake of the reference"),
)

BY_KEY = {m.key: m for m in METRICS}
if len(BY_KEY) != len(METRICS):  # pragma: no cover - guards edits of the list above
    raise RuntimeError("duplicate metric key")

DEFAULT_KEYS = ("psnr_y", "ssim_y", "psnr_rgb", "de2000", "ewarp", "tof", "flicker",
                "blockiness", "ringing", "grid", "grid_ref", "niqe", "jitter")
