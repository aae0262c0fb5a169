"""Compare a distorted clip with its reference: per-frame and mean metric values.

Both inputs may be videos, single images or folders of images. Frames stream
pairwise (memory is bounded by two frames plus small report data), so clips of
any length work. Sizes and frame counts must match unless an alignment policy is
chosen; otherwise :class:`~revival.errors.ConfigError` says how to fix it.

Result layout (``CompareResult.to_dict()``, schema ``revival.compare/1``)::

    {"schema": "revival.compare/1", "reference": ..., "distorted": ...,
     "frames": T, "width": W, "height": H, "settings": {...},
     "mean": {"psnr_y": 31.2, ...},
     "per_frame": {"psnr_y": [..T values..], "ewarp": [null, ..T-1 values..], ...},
     "metrics": {"psnr_y": {"unit": "dB", "higher_is_better": true, ...}, ...}}

Per-frame lists always have ``T`` entries; pair metrics (``scope == "pair"``) hold
``null`` for frame 0. The keys are listed in :mod:`revival.metrics.registry`.

Example:
    >>> result = compare("ref.mp4", "out.mp4", metrics=["psnr_y", "ssim_y"])  # doctest: +SKIP
    >>> result.mean["psnr_y"]  # doctest: +SKIP
    31.4
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Sequence

import numpy as np

from ..errors import ConfigError
from . import artifacts, color, fidelity, niqe, stability, temporal
from .registry import BY_KEY, DEFAULT_KEYS
from .sources import clip_info, read_clip

log = logging.getLogger(__name__)

SCHEMA = "revival.compare/1"
SizePolicy = Literal["refuse", "resize", "crop"]
LengthPolicy = Literal["refuse", "shortest"]
PROFILE_WIDTH = 480


def parse_metrics(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Metric keys from ``"a,b"``, a list, ``None`` (defaults) or ``"all"``.

    Raises:
        ConfigError: an unknown key (the message lists the known ones).
    """
    if spec is None:
        return DEFAULT_KEYS
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if items == ["all"]:
        return tuple(BY_KEY)
    if items == ["default"]:
        return DEFAULT_KEYS
    unknown = [k for k in items if k not in BY_KEY]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(BY_KEY)} "
                          "(or 'all', 'default')", key="metrics")
    if not items:
        raise ConfigError("no metric requested; pass e.g. --metrics psnr_y,ssim_y", key="metrics")
    return tuple(dict.fromkeys(items))


@dataclass
class Visuals:
    """Small data kept for the HTML report.

    Attributes:
        frame_index: index of the frame pair kept (worst PSNR-Y, else the middle one).
        reference, distorted: that frame pair, float32 RGB.
        profile_ref, profile_dist: ``(T, W', 3)`` the middle row of every frame over time.
        profile_row: the row index the profiles show.
    """

    frame_index: int = 0
    reference: np.ndarray | None = None
    distorted: np.ndarray | None = None
    profile_ref: list[np.ndarray] = field(default_factory=list)
    profile_dist: list[np.ndarray] = field(default_factory=list)
    profile_row: int = 0


@dataclass
class CompareResult:
    """Outcome of :func:`compare` (see the module docstring for the JSON layout)."""

    reference: str
    distorted: str
    frames: int
    width: int
    height: int
    per_frame: dict[str, list[float | None]]
    mean: dict[str, float | None]
    settings: dict
    visuals: Visuals | None = None

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA, "reference": self.reference, "distorted": self.distorted,
            "frames": self.frames, "width": self.width, "height": self.height,
            "settings": self.settings,
            "mean": {k: _clean(v) for k, v in self.mean.items()},
            "per_frame": {k: [_clean(v) for v in vals] for k, vals in self.per_frame.items()},
            "metrics": {k: {"unit": BY_KEY[k].unit, "higher_is_better": BY_KEY[k].higher_is_better,
                            "scope": BY_KEY[k].scope, "description": BY_KEY[k].description}
                        for k in self.per_frame},
        }


def _clean(v: float | None) -> float | str | None:
    if v is None:
        return None
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if math.isnan(v):
        return None
    return round(float(v), 6)


def _aligned_pairs(ref_frames: Iterable[np.ndarray], dist_frames: Iterable[np.ndarray], *,
                   size: SizePolicy, length: LengthPolicy,
                   max_frames: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    ir, idist = iter(ref_frames), iter(dist_frames)
    n = 0
    while max_frames is None or n < max_frames:
        r, d = next(ir, None), next(idist, None)
        if r is None and d is None:
            return
        if r is None or d is None:
            if length == "shortest":
                log.info("stopping at frame %d: the %s clip ended", n,
                         "reference" if r is None else "distorted")
                return
            raise ConfigError(f"the {'reference' if r is None else 'distorted'} clip ended after "
                              f"{n} frames but the other goes on; pass --length shortest to "
                              "compare only the common frames", key="length")
        yield _align_size(r, d, size, n)
        n += 1


def _size_error(r_shape: tuple[int, ...], d_shape: tuple[int, ...], where: str) -> ConfigError:
    return ConfigError(f"{where}reference is {r_shape[1]}x{r_shape[0]}, distorted is "
                       f"{d_shape[1]}x{d_shape[0]}; pass --align resize (scale the distorted "
                       "frames to the reference size, bicubic) or --align crop (top-left crop "
                       "both to the common size)", key="align")


def _align_size(r: np.ndarray, d: np.ndarray, policy: SizePolicy, index: int
                ) -> tuple[np.ndarray, np.ndarray]:
    if r.shape == d.shape:
        return r, d
    if policy == "resize":
        from ..stages.resize import resize
        return r, np.clip(resize(d, size=r.shape[:2], kernel="bicubic"), 0, 1).astype(np.float32)
    if policy == "crop":
        h, w = min(r.shape[0], d.shape[0]), min(r.shape[1], d.shape[1])
        return r[:h, :w], d[:h, :w]
    raise _size_error(r.shape, d.shape, f"frame {index}: ")


def _grid(img: np.ndarray) -> float | None:
    """Grid pattern on the 4-pixel grid (a 2-pixel one repeats on it too); None for frames
    too small for it (under four periods each way)."""
    try:
        return artifacts.grid_pattern(img, data_range=1.0, period=4)
    except ConfigError:
        return None


class _Collector:
    """Computes the requested metrics frame by frame."""

    def __init__(self, keys: tuple[str, ...], *, crop_border: int, jitter_sigma: float,
                 tmpdir: Path | None, keep_visuals: bool, middle: int) -> None:
        self.keys = keys
        self.want = set(keys)
        self.crop = crop_border
        self.sigma = jitter_sigma
        self.values: dict[str, list[float | None]] = {k: [] for k in keys}
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.motion_d: list[np.ndarray] = []
        self.motion_r: list[np.ndarray] = []
        self.tmpdir = tmpdir
        self.writers = None
        self.lpips = None
        self.visuals = Visuals() if keep_visuals else None
        self.middle = middle
        self.worst = math.inf
        self.niqe_warned = False

    def add(self, t: int, r: np.ndarray, d: np.ndarray) -> None:
        w, v = self.want, self.values
        if {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"} & w:
            for key, fn, ch in (("psnr_y", fidelity.psnr, "y"), ("ssim_y", fidelity.ssim, "y"),
                                ("psnr_rgb", fidelity.psnr, "rgb"), ("ssim_rgb", fidelity.ssim, "rgb")):
                if key in w:
                    v[key].append(fn(r, d, data_range=1.0, channel=ch, crop_border=self.crop))
        if "de2000" in w:
            v["de2000"].append(color.ciede2000(r, d, data_range=1.0))
        if "deitp" in w:
            v["deitp"].append(color.delta_e_itp(r, d, data_range=1.0))
        if "blockiness" in w:
            v["blockiness"].append(artifacts.blockiness(d, data_range=1.0, block=8))
        if "blockiness16" in w:
            v["blockiness16"].append(artifacts.blockiness(d, data_range=1.0, block=16))
        if "ringing" in w:
            v["ringing"].append(artifacts.ringing(d, data_range=1.0, reference=r))
        for key, img in (("grid", d), ("grid_ref", r)):
            if key in w:
                v[key].append(_grid(img))
        if "niqe" in w:
            v["niqe"].append(self._niqe(d))
        if "niqe_ref" in w:
            v["niqe_ref"].append(self._niqe(r))
        if "lpips" in w:
            if self.lpips is None:
                from .perceptual import STLPIPS
                self.lpips = STLPIPS()
            v["lpips"].append(self.lpips.distance(r, d))
        if {"vmaf", "vmaf_neg"} & w:
            self._write_vmaf(r, d)
        self._temporal(t, r, d)
        if self.visuals is not None:
            self._keep_visuals(t, r, d)
        self.prev = (r, d)

    def _niqe(self, img: np.ndarray) -> float | None:
        try:
            return niqe.niqe(img, data_range=1.0, crop_border=self.crop)
        except ConfigError as exc:
            if not self.niqe_warned:
                log.warning("NIQE left out (null): %s", exc)
                self.niqe_warned = True
            return None

    def _temporal(self, t: int, r: np.ndarray, d: np.ndarray) -> None:
        w, v = self.want, self.values
        if self.prev is None:
            for key in ("ewarp", "tof", "flicker", "flicker_ref"):
                if key in w:
                    v[key].append(None)
            return
        pr, pd = self.prev
        if {"ewarp", "flicker", "flicker_ref"} & w:
            flow, mask = temporal.pair_alignment(pr, r)
            if "ewarp" in w:
                v["ewarp"].append(temporal.warping_error_pair(pd, d, flow, mask))
            if "flicker" in w:
                v["flicker"].append(temporal.flicker_value(pd, d, flow, mask))
            if "flicker_ref" in w:
                v["flicker_ref"].append(temporal.flicker_value(pr, r, flow, mask))
        if "tof" in w:
            of_r = temporal.farneback_flow(pr, r)
            of_d = temporal.farneback_flow(pd, d)
            v["tof"].append(float(np.mean(np.sqrt(np.sum((of_d - of_r) ** 2, axis=-1)))))
        if "jitter" in w:
            self.motion_d.append(stability.global_motion(pd, d))
        if "jitter_ref" in w:
            self.motion_r.append(stability.global_motion(pr, r))

    def _write_vmaf(self, r: np.ndarray, d: np.ndarray) -> None:
        from .vmaf import Y4MWriter, find_ffmpeg
        if self.writers is None:
            find_ffmpeg()  # fail early with the install hint
            h, wd = r.shape[:2]
            self.writers = (Y4MWriter(self.tmpdir / "ref.y4m", wd, h),
                            Y4MWriter(self.tmpdir / "dist.y4m", wd, h))
        self.writers[0].write(r)
        self.writers[1].write(d)

    def _keep_visuals(self, t: int, r: np.ndarray, d: np.ndarray) -> None:
        vis = self.visuals
        h, w = r.shape[:2]
        vis.profile_row = h // 2
        step = max(1, int(math.ceil(w / PROFILE_WIDTH)))
        vis.profile_ref.append(r[h // 2, ::step].copy())
        vis.profile_dist.append(d[h // 2, ::step].copy())
        score = self.values["psnr_y"][-1] if "psnr_y" in self.want else None
        take = (vis.reference is None or (score is not None and score < self.worst)
                or (score is None and t == self.middle))
        if take:
            if score is not None:
                self.worst = score
            vis.frame_index, vis.reference, vis.distorted = t, r.copy(), d.copy()

    def finish(self, frames: int) -> dict[str, list[float | None]]:
        v = self.values
        if self.writers is not None:
            from .vmaf import vmaf_y4m
            for wr in self.writers:
                wr.close()
            models = [k for k in ("vmaf", "vmaf_neg") if k in self.want]
            scores = vmaf_y4m(self.writers[0].path, self.writers[1].path, models=models)
            for k in models:
                v[k] = list(scores[k])
        for key, motion in (("jitter", self.motion_d), ("jitter_ref", self.motion_r)):
            if key in self.want:
                if frames < 2:
                    v[key] = [None] * frames
                else:
                    v[key] = stability.jitter_from_motion(np.array(motion), sigma=self.sigma).per_frame
        return v


def _mean(key: str, values: list[float | None]) -> float | None:
    if key in ("jitter", "jitter_ref"):
        vals = [x for x in values if x is not None]
        return float(np.sqrt(np.mean(np.square(vals)))) if vals else None
    vals = [x for x in values if x is not None and not math.isnan(x)]
    if not vals:
        return None
    if key.startswith("psnr") and any(math.isinf(x) for x in vals):
        finite = [x for x in vals if not math.isinf(x)]
        return float(np.mean(finite)) if finite else math.inf
    return float(np.mean(vals))


def compare_frames(reference: Iterable[np.ndarray], distorted: Iterable[np.ndarray], *,
                   metrics: str | Sequence[str] | None = None, crop_border: int = 0,
                   align: SizePolicy = "refuse", length: LengthPolicy = "refuse",
                   max_frames: int | None = None, jitter_sigma: float = 5.0,
                   keep_visuals: bool = False, middle: int = 0,
                   progress: Callable[[int], None] | None = None,
                   names: tuple[str, str] = ("<frames>", "<frames>")) -> CompareResult:
    """:func:`compare` on iterables of float32 ``(H, W, 3)`` RGB frames in [0, 1]."""
    keys = parse_metrics(metrics)
    if align not in ("refuse", "resize", "crop"):
        raise ConfigError(f"align must be refuse, resize or crop, got {align!r}", key="align")
    if length not in ("refuse", "shortest"):
        raise ConfigError(f"length must be refuse or shortest, got {length!r}", key="length")
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1, got {max_frames}", key="max_frames")
    with tempfile.TemporaryDirectory(prefix="revival-compare-") as tmp:
        col = _Collector(keys, crop_border=crop_border, jitter_sigma=jitter_sigma,
                         tmpdir=Path(tmp), keep_visuals=keep_visuals, middle=middle)
        n, size = 0, (0, 0)
        for r, d in _aligned_pairs(reference, distorted, size=align, length=length,
                                   max_frames=max_frames):
            col.add(n, r, d)
            size = r.shape[:2]
            n += 1
            if progress is not None:
                progress(n)
        if n == 0:
            raise ConfigError("no frames to compare (an input is empty)", key="reference")
        values = col.finish(n)
    mean = {k: _mean(k, values[k]) for k in keys}
    settings = {"metrics": list(keys), "crop_border": crop_border, "align": align,
                "length": length, "max_frames": max_frames, "jitter_sigma": jitter_sigma,
                "data_range": 1.0, "frames_are": "RGB float in [0, 1] as decoded by revival.io"}
    return CompareResult(names[0], names[1], n, size[1], size[0], values, mean, settings,
                         col.visuals)


def compare(reference: str | Path, distorted: str | Path, *,
            metrics: str | Sequence[str] | None = None, crop_border: int = 0,
            align: SizePolicy = "refuse", length: LengthPolicy = "refuse",
            max_frames: int | None = None, jitter_sigma: float = 5.0,
            keep_visuals: bool = False,
            progress: Callable[[int], None] | None = None) -> CompareResult:
    """Measure ``distorted`` against ``reference``.

    Args:
        reference: video, image or image folder (the ground truth / original).
        distorted: the clip to judge (processed, compressed, upscaled ...).
        metrics: keys (see :mod:`revival.metrics.registry`), ``"a,b"``, ``"all"`` or None
            for the defaults.
        crop_border: pixels ignored at each side by PSNR, SSIM and NIQE (the SR scale).
        align: ``"refuse"`` different sizes, ``"resize"`` distorted to the reference
            (bicubic), or ``"crop"`` both to the common top-left area.
        length: ``"refuse"`` different frame counts or compare the ``"shortest"`` span.
        max_frames: stop after this many frames.
        jitter_sigma: smoothing of the intended camera path in frames (jitter metrics).
        keep_visuals: keep a frame pair and row profiles for :mod:`.report`.
        progress: called with the number of frames done.

    Returns:
        :class:`CompareResult`.

    Raises:
        InputNotFoundError: an input does not exist.
        ConfigError: mismatched sizes or lengths under ``"refuse"``, unknown metrics.
        MissingDependencyError: a metric's optional extra is not installed.
        DecodeError, UnsupportedFormatError: from the reader.
    """
    keys = parse_metrics(metrics)
    ri, di = clip_info(reference), clip_info(distorted)
    if (length == "refuse" and max_frames is None and ri.frame_count and di.frame_count
            and ri.frame_count != di.frame_count):
        raise ConfigError(f"reference has {ri.frame_count} frames, distorted has "
                          f"{di.frame_count}; pass --length shortest to compare the first "
                          f"{min(ri.frame_count, di.frame_count)}, or trim one of them",
                          key="length")
    if align == "refuse" and (ri.width, ri.height) != (di.width, di.height):
        raise _size_error((ri.height, ri.width), (di.height, di.width), "")
    middle = (ri.frame_count or 1) // 2
    return compare_frames(read_clip(reference), read_clip(distorted), metrics=keys,
                          crop_border=crop_border, align=align, length=length,
                          max_frames=max_frames, jitter_sigma=jitter_sigma,
                          keep_visuals=keep_visuals, middle=middle, progress=progress,
                          names=(str(reference), str(distorted)))
