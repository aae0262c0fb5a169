"""Temporal consistency: remove the flicker that per-frame processing adds.

Blind, model-independent post-processing in the spirit of Bonneel et al.
("Blind video temporal consistency", SIGGRAPH Asia 2015), reduced to a recursive
filter that runs in real time: the previous *output* is warped onto the current
frame with optical flow and blended with the current *processed* frame,

    out_t = P_t + strength * c_t * (warp(out_{t-1}) + delta_t - P_t),

where ``c_t`` in [0, 1] is a per-pixel confidence and ``delta_t`` the global
brightness change of the source (median over motion-aligned pixels), so that
real fades pass through.
The confidence is the product of

- flow consistency: forward and backward flow must agree (occlusions, flow errors);
- source agreement: the *input* frames (before the per-frame stage) must match
  after warping, above their own noise floor (the median over the frame) — new
  content, fast or non-rigid motion and real changes get the new frame;
- processed agreement: the warped history must not differ from the new processed
  frame by much more than the usual flicker (a guard that works without a source).

Each agreement test looks at two things: the local mean squared difference
above the frame's noise floor (misaligned texture), and the square of the local
*mean* difference (a ghost or a misplaced edge: zero-mean noise and flicker
cancel in it, so it is judged against a tighter tolerance).

The filter restarts at scene cuts (detected on the source). Pixels with no
confidence take the processed frame unchanged, so there is no ghosting where the
flow fails; ``strength=0`` returns the processed frames bit for bit.

Frames: RGB float32 (H, W, 3) in [0, 1], gamma-encoded. The source may have a
different size (for example the input of a super-resolution stage); it is
resampled to the flow resolution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import cv2
import numpy as np

from ..errors import UnsupportedFormatError
from ..flow.dis import (Preset, check_frame, downscale, estimate_flow, fit_global_motion, grey,
                        resize_flow, working_size)
from ..flow.scenecut import CutDetector
from ..flow.parallel import run_all
from ..flow.register import refine_translation
from ..flow.warping import (Interpolation, inside_mask, occlusion_mask, shift, warp,
                             warp_where)
from ..pipeline.stage import Stage, check_range

log = logging.getLogger(__name__)

FlowOn = Literal["processed", "source"]
_PROC_FACTOR = 4.0  # the processed-frame guard tolerates this many times more squared error
_FLOW_WIDTH = 320  # automatic flow resolution (pixels across)
_SMALL_INTERP: Interpolation = "cubic"  # warps at flow resolution (confidence tests)
_PAN_SHARE = 0.5  # a translation this share of pixels follows is resampled with shift()
_PAN_SPREAD = 0.01  # largest variation (pixels at flow resolution) of a "translation" model
_BW_STRIDE = 6  # patch stride of the backward (occlusion-test) flow; DIS's preset uses 4
_LOW = 0.6  # local-mean (structured) differences are judged against this fraction of tolerance
_PAN_BIAS = 2.0  # under a pan a pixel takes the pan unless its flow aligns it this much better
# half-length of the windowed sinc that shifts the history under a pan: 16 taps at the
# content's own resolution; 8 where the output is at least twice the content's size (after
# an upscaling stage), whose detail lies mostly below half the output's Nyquist frequency.
# Seven repeated sub-pixel shifts of a 2x fast.x2 output of bigbuckbunny came within
# 54.7-58.7 dB of one exact Fourier shift with 8 taps (59.2-61.2 with 16), closer than 16
# taps on the 720p frames themselves (49.6-49.7 dB), at half the filtering time.
_PAN_HALF = 8
_PAN_HALF_UPSCALED = 4
# the forward flow of the fast preset: 2 variational refinement iterations (the preset has
# 5) and a patch stride of 5 (4) take about 40% off its cost (16 -> 10 ms of one core at
# 320x180); on the temporal benchmark known-motion flicker moved by under 0.2 points and
# real-clip tOF by under 1.6
_FW_REFINE = 2
_FW_STRIDE = 5


@dataclass(frozen=True)
class TemporalParams:
    """Parameters of the ``temporal`` stage.

    Attributes:
        strength: weight of the motion-compensated history where it is fully
            trusted, in [0, 0.95]; 0 returns the processed frames unchanged. On
            fully trusted content the variance of independent per-frame errors
            falls to (1 - strength) / (1 + strength) of its value.
        tolerance: RMS difference (in [0, 1] units, above the frame's noise floor)
            between warped and current frames at which the confidence falls to 1/e.
        flow_preset: DIS preset (``ultrafast``, ``fast``, ``medium``). With ``fast`` the
            forward flow runs 2 variational refinement iterations instead of 5, at a patch
            stride of 5 instead of 4 (about 40% less flow time, real-clip tOF within 1.6
            points of the full preset's).
        flow_scale: flow (and confidence) resolution relative to the output; 0
            picks it from the frame width: about 320 pixels wide, at most 1/2 of the
            resolution and never coarser than 1/4 of the content's own resolution (0.5
            up to 640 wide, 0.25 for 1280x720 and up). The content's resolution is the
            source's when a smaller source is given: after a 2x upscale of 720p the
            flow is again 320 pixels wide (1/8 of the output), where a 1/4 floor on the
            output would compute it on 640 pixels at four times the cost.
        flow_finest_scale: finest pyramid level DIS refines (0 = full flow
            resolution). 0 roughly doubles the flow cost of the ``fast`` preset and
            is what keeps fast motion free of ghosts.
        flow_on: estimate motion on the ``processed`` frames (cleaner after
            denoising) or on the ``source`` frames.
        occlusion: use the forward-backward flow check (one more flow per frame).
        scene_cuts: restart the filter at detected scene cuts.
        smooth: Gaussian sigma (pixels) applied to the correction; > 0 keeps
            resampling artefacts of the history out of the finest detail, at the
            cost of leaving fine-grained flicker in.
        global_motion: where the dense flow agrees (within half a pixel) with a
            robust affine fit of the whole field, use the fit: camera motion is
            then known to a small fraction of a pixel.
        interpolation: resampling of the history. The history is resampled once
            per frame, so interpolation error accumulates on moving content:
            ``cubic`` is the real-time default, ``lanczos`` (about 80 ms per 720p
            frame more) leaves less flicker and blur on sub-pixel pans.
        pan_shift: when the global fit is a translation (a pan, or a still camera),
            resample the pixels that follow it with a 16-tap windowed sinc
            (:func:`revival.flow.warping.shift`; 8 taps when the output is at least twice
            the source's size, whose content is then band-limited) instead of
            ``interpolation``; the
            rest keep their dense flow. Fine texture is then not blurred by the
            repeated resampling of the history (about 5 ms more per 720p frame).
        pan_tolerance: under such a translation, the pixels that follow it are judged
            with ``tolerance * pan_tolerance`` (1 = the same tolerance everywhere). Their
            history is resampled accurately and their motion is confirmed by the global
            fit, so a wider tolerance there removes more flicker without the ghosting a
            wider tolerance everywhere lets through on local motion (known-motion
            benchmark, Lanczos-4 frames, pans: 66-82% of the flicker removed at 1 and
            67-85% at 2).
    """

    strength: float = 0.85
    tolerance: float = 0.03
    flow_preset: Preset = "fast"
    flow_scale: float = 0.0
    flow_finest_scale: int = 0
    flow_on: FlowOn = "processed"
    occlusion: bool = True
    scene_cuts: bool = True
    smooth: float = 0.0
    interpolation: Interpolation = "cubic"
    global_motion: bool = True
    pan_shift: bool = True
    pan_tolerance: float = 2.0

    def __post_init__(self) -> None:
        check_range("temporal", "strength", self.strength, 0.0, 0.95)
        check_range("temporal", "tolerance", self.tolerance, 1e-3, 1.0)
        if self.flow_scale != 0:
            check_range("temporal", "flow_scale", self.flow_scale, 0.1, 1.0)
        check_range("temporal", "flow_finest_scale", self.flow_finest_scale, 0, 4)
        check_range("temporal", "smooth", self.smooth, 0.0, 8.0)
        check_range("temporal", "pan_tolerance", self.pan_tolerance, 1.0, 4.0)


@dataclass
class TemporalState:
    """Per-run state of the recursive filter (one per clip, never on the stage)."""

    prev_out: np.ndarray | None = None
    prev_proc_small: np.ndarray | None = None
    prev_src_small: np.ndarray | None = None
    detector: CutDetector = field(default_factory=CutDetector)
    frames: int = 0
    cuts: list[int] = field(default_factory=list)
    warned_no_source: bool = False


def auto_flow_scale(width: int, source_width: int | None = None) -> float:
    """The automatic ``flow_scale`` for output frames ``width`` pixels wide.

    About ``_FLOW_WIDTH`` pixels across, at most half the resolution, and never
    coarser than a quarter of the content's resolution: the source's, when a
    smaller source (the input of an upscaling stage) is given.

    Example:
        >>> auto_flow_scale(1280), auto_flow_scale(2560, 1280), auto_flow_scale(704, 176)
        (0.25, 0.125, 0.45454545454545453)
    """
    content = width if source_width is None else min(width, source_width)
    return max(min(0.5, _FLOW_WIDTH / width), 0.25 * content / width)


def _excess(diff: np.ndarray, mask: np.ndarray, box: int, *, structured: bool = False) -> np.ndarray:
    """Local mean squared difference minus twice its median over ``mask`` (the noise floor).

    With ``structured`` the difference is averaged over the box first, so
    zero-mean noise and flicker cancel and only a local offset (a ghost, a
    misplaced edge, a brightness change) remains.
    """
    if structured:
        mean = cv2.boxFilter(diff, -1, (box, box))
        local = cv2.multiply(mean, mean)
    else:
        local = cv2.boxFilter(cv2.multiply(diff, diff), -1, (box, box))
    vals = local[::3, ::3][mask[::3, ::3]]
    floor = float(np.median(vals)) if vals.size else 0.0
    return np.maximum(local - 2.0 * floor, 0.0)


def confidence_map(cur_src: np.ndarray | None, warped_src: np.ndarray | None,
                   cur_proc: np.ndarray, warped_out: np.ndarray, flow: np.ndarray,
                   flow_bw: np.ndarray | None, *, tolerance: float | np.ndarray,
                   delta: float = 0.0) -> np.ndarray:
    """Per-pixel trust in the warped history, at flow resolution.

    Args:
        cur_src: grey current source frame (h, w) at flow resolution, or None.
        warped_src: grey previous source frame aligned onto the current one, or None.
        cur_proc: grey current processed frame (h, w).
        warped_out: grey previous output warped onto the current frame (h, w).
        flow: current -> previous flow (h, w, 2); ``flow_bw`` previous -> current or None.
        tolerance: see :class:`TemporalParams`; a scalar or an (h, w) map.
        delta: global grey-level change of the source between the two frames.

    Returns:
        (h, w) float32 confidence in [0, 1].
    """
    h, w = flow.shape[:2]
    box = max(3, (min(h, w) // 60) | 1)
    sbox = box + 2  # local means of noise need a larger box to stay below the tolerance
    inside = inside_mask(flow)
    conf = inside.astype(np.float32)
    if flow_bw is not None:
        conf[occlusion_mask(flow, flow_bw)] = 0.0
    if cur_src is not None and warped_src is not None:
        d = cur_src - warped_src - np.float32(delta)
        conf *= np.exp(-_excess(d, inside, box) / (tolerance * tolerance)
                       - _excess(d, inside, sbox, structured=True) / (_LOW * tolerance) ** 2)
    dp = cur_proc - warped_out - np.float32(delta)
    conf *= np.exp(-_excess(dp, inside, box) / (_PROC_FACTOR * tolerance * tolerance)
                   - _excess(dp, inside, sbox, structured=True) / (_LOW * tolerance) ** 2)
    return cv2.GaussianBlur(conf, (0, 0), 1.0)


def _pan(model: np.ndarray, agree: np.ndarray) -> tuple[float, float] | None:
    """(dx, dy) when the global model is a translation that most pixels follow, else None."""
    if agree.mean() < _PAN_SHARE:
        return None
    # the model is affine, so its extremes over the frame lie at the four corners
    corners = model[[0, 0, -1, -1], [0, -1, 0, -1]]
    if float(np.ptp(corners, axis=0).max()) > _PAN_SPREAD:
        return None
    return float(model[0, 0, 0]), float(model[0, 0, 1])


def _pan_or_flow(cur: np.ndarray, prev: np.ndarray, flow: np.ndarray, pan: tuple[float, float],
                 agree: np.ndarray) -> np.ndarray:
    """Under a pan, let each pixel take the motion that aligns the source better.

    Dense flow is unreliable on fine periodic texture (stripes, text) and fits
    noise, so it disagrees with the global fit where pixels do follow the camera.
    Each pixel that disagrees is given the pan (``agree`` is updated in place)
    unless its flow aligns the previous frame locally more than ``_PAN_BIAS``
    times better (squared error); genuinely moving content is misaligned by the
    pan by far more than that and keeps its flow. ``flow`` is the raw dense flow.

    Returns ``prev`` aligned onto ``cur`` with the chosen motions (grey, flow
    resolution).
    """
    by_pan = shift(prev, pan[0], pan[1])
    by_flow = warp(prev, flow, interpolation=_SMALL_INTERP)
    box = max(5, (min(cur.shape) // 30) | 1)
    d_pan, d_flow = cur - by_pan, cur - by_flow
    e_pan = cv2.boxFilter(cv2.multiply(d_pan, d_pan), -1, (box, box))
    e_flow = cv2.boxFilter(cv2.multiply(d_flow, d_flow), -1, (box, box))
    agree |= e_pan <= _PAN_BIAS * e_flow
    return np.where(agree, by_pan, by_flow)


def _align(image: np.ndarray, flow: np.ndarray, pan: tuple[float, float] | None,
           agree: np.ndarray | None, interpolation: Interpolation,
           half: int = _PAN_HALF) -> np.ndarray:
    """``image`` warped onto the current frame.

    Under a camera pan (``pan`` set) the pixels that follow it are translated
    with the windowed-sinc :func:`~revival.flow.warping.shift` (``2 * half`` taps), which
    keeps fine texture that repeated cubic resampling of the history would blur away; the
    other pixels (``~agree``, local motion) are warped with their dense flow.
    """
    if pan is None or agree is None:
        return warp(image, flow, interpolation=interpolation)
    return warp_where(image, flow, ~agree, shift(image, pan[0], pan[1], half=half),
                      interpolation=interpolation)


def temporal_step(state: TemporalState, processed: np.ndarray, source: np.ndarray | None,
                  params: TemporalParams) -> np.ndarray:
    """Stabilise one frame; updates ``state`` in place and returns the output frame."""
    check_frame(processed, "processed frame")
    if processed.ndim != 3:
        raise UnsupportedFormatError(f"processed frame: expected (H, W, 3), got {processed.shape}")
    if source is not None:
        check_frame(source, "source frame")
    p = params
    index = state.frames
    state.frames += 1
    if p.strength == 0:
        return processed
    processed = np.ascontiguousarray(processed, dtype=np.float32)
    H, W = processed.shape[:2]
    scale = p.flow_scale or auto_flow_scale(W, None if source is None else source.shape[1])
    size = working_size(H, W, scale)
    # grey before downscaling where only the grey image is used: the same values (both
    # steps are linear) for a third of the pyramid's work; the cut test needs colour
    src_small = downscale(source, size) if source is not None else None
    if src_small is not None:
        proc_g = downscale(grey(processed), size)
        src_g = grey(src_small)
        cut_input = src_small
    else:
        cut_input = downscale(processed, size)
        proc_g, src_g = grey(cut_input), None
    fresh = (state.prev_out is None or state.prev_out.shape != processed.shape
             or (src_g is None) != (state.prev_src_small is None))
    flow = flow_bw = None
    cut = False
    if fresh:
        cut = p.scene_cuts and state.detector.update(cut_input)
    else:
        if p.flow_on == "source" and src_g is not None:
            a, b = src_g, state.prev_src_small
        else:
            a, b = proc_g, state.prev_proc_small
        # the forward flow, the backward flow and the cut test are independent: they
        # overlap on threads (the flows are wasted on the rare frame that starts a shot)
        lean = p.flow_preset == "fast"  # other presets keep their own settings
        jobs = [lambda: estimate_flow(a, b, preset=p.flow_preset,
                                      finest_scale=p.flow_finest_scale,
                                      refine=_FW_REFINE if lean else None,
                                      patch_stride=_FW_STRIDE if lean else None)]
        if p.occlusion:
            # the backward flow only feeds the occlusion test: no variational refinement
            # and a sparser patch grid (together a quarter of the forward flow's cost; on
            # the temporal benchmark no flicker reduction moved by more than 0.8 points)
            jobs.append(lambda: estimate_flow(b, a, preset=p.flow_preset,
                                              finest_scale=p.flow_finest_scale, refine=0,
                                              patch_stride=_BW_STRIDE))
        if p.scene_cuts:
            jobs.append(lambda: state.detector.update(cut_input))
        results = run_all(*jobs)
        flow = results[0]
        flow_bw = results[1] if p.occlusion else None
        cut = bool(p.scene_cuts and results[-1])
    if cut:
        state.cuts.append(index)
        log.debug("temporal: scene cut at frame %d, filter restarted", index)
    if fresh or cut:
        state.prev_out = processed.copy()
        state.prev_proc_small, state.prev_src_small = proc_g, src_g
        return processed
    prev_g = state.prev_proc_small          # grey output of the previous frame, flow resolution
    pan = agree = None
    warped_src = None
    if p.global_motion:
        model, agree = fit_global_motion(flow, inlier=0.5 * scale)
        pan = _pan(model, agree) if p.pan_shift else None
        if pan is not None:
            # the fit inherits the bias of DIS on fine periodic texture (up to a tenth of a
            # pixel on calendar); registering the frames themselves removes it
            pan = refine_translation(a, b, pan, mask=agree)
            model[..., 0], model[..., 1] = pan
            if src_g is not None:
                warped_src = _pan_or_flow(src_g, state.prev_src_small, flow, pan, agree)
        cv2.copyTo(model, agree.view(np.uint8), flow)
    delta_g = 0.0
    if src_g is not None:
        # illumination change = median difference of the motion-aligned source; content that
        # enters, leaves or is occluded changes the plain mean but not this median
        if warped_src is None:
            warped_src = _align(state.prev_src_small, flow, pan, agree, _SMALL_INTERP)
        inside = inside_mask(flow)[::2, ::2]
        d = (src_g - warped_src)[::2, ::2][inside]
        delta_g = float(np.median(d)) if d.size else 0.0
    warped_g = _align(prev_g, flow, pan, agree, _SMALL_INTERP)
    tol: float | np.ndarray = p.tolerance
    if pan is not None and p.pan_tolerance != 1.0:
        # pixels that follow a camera translation are resampled with the accurate sinc
        # shift and their motion is confirmed by the global fit: they get a wider tolerance
        tol = np.where(agree, np.float32(p.tolerance * p.pan_tolerance),
                       np.float32(p.tolerance))
    conf = confidence_map(src_g, warped_src, proc_g, warped_g, flow, flow_bw,
                          tolerance=tol, delta=delta_g)
    weight = p.strength * conf
    if size != (H, W):
        if pan is None:  # under a pan only the pixels off it read the flow (at flow resolution)
            flow = resize_flow(flow, H, W)
        weight = cv2.resize(weight, (W, H), interpolation=cv2.INTER_LINEAR)
        if pan is not None:
            pan = (pan[0] * W / size[1], pan[1] * H / size[0])
            agree = cv2.resize(agree.view(np.uint8), (W, H),
                               interpolation=cv2.INTER_NEAREST).view(bool)
    # the confidence above and this resampling are independent, but overlapping them on
    # threads measured slower on two cores (shift() already filters in bands)
    upscaled = source is not None and W >= 2 * source.shape[1] and H >= 2 * source.shape[0]
    warped = _align(state.prev_out, flow, pan, agree, p.interpolation,
                    _PAN_HALF_UPSCALED if upscaled else _PAN_HALF)
    delta = np.full(3, delta_g, np.float32)
    if np.abs(delta).max() > 1e-3:
        warped = cv2.add(warped, (float(delta[0]), float(delta[1]), float(delta[2]), 0.0))
    if p.smooth > 0:
        correction = cv2.GaussianBlur(cv2.subtract(warped, processed), (0, 0), p.smooth)
        out = cv2.add(processed, cv2.multiply(correction, cv2.merge([weight, weight, weight])))
    else:
        out = cv2.blendLinear(warped, processed, weight, 1.0 - weight)
    np.clip(out, 0.0, 1.0, out=out)  # in place: 1.2 ms per 720p frame, where a pair of
    # cv2.threshold passes took 1.6 ms on one thread and 4.2 on two
    state.prev_out = out
    state.prev_proc_small = downscale(grey(out), size)
    state.prev_src_small = src_g
    return out


def stabilise_temporal(processed: np.ndarray, originals: np.ndarray | None = None, *,
                       strength: float = 0.85, tolerance: float = 0.03,
                       flow_preset: Preset = "fast", flow_scale: float = 0.0,
                       flow_finest_scale: int = 0,
                       flow_on: FlowOn = "processed", occlusion: bool = True,
                       scene_cuts: bool = True, smooth: float = 0.0,
                       interpolation: Interpolation = "cubic",
                       global_motion: bool = True, pan_shift: bool = True,
                       pan_tolerance: float = 2.0) -> np.ndarray:
    """Remove per-frame-processing flicker from a clip.

    Args:
        processed: (T, H, W, 3) float32 RGB in [0, 1], the output of a per-frame stage.
        originals: (T, h, w, 3) float32 RGB in [0, 1], the frames that stage received
            (any size), or None to work from the processed frames alone (weaker).
        strength, tolerance, flow_preset, flow_scale, flow_finest_scale, flow_on,
            occlusion, scene_cuts, smooth, interpolation, global_motion, pan_shift,
            pan_tolerance: see :class:`TemporalParams`.

    Returns:
        (T, H, W, 3) float32 in [0, 1]; frame count unchanged.

    Raises:
        ConfigError: a parameter is out of range.
        UnsupportedFormatError: shapes or dtypes are wrong, or the clips differ in length.

    Example:
        >>> clip = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
        >>> stabilise_temporal(clip, clip).shape
        (3, 32, 32, 3)
    """
    params = TemporalParams(strength=strength, tolerance=tolerance, flow_preset=flow_preset,
                            flow_scale=flow_scale, flow_finest_scale=flow_finest_scale,
                            flow_on=flow_on, occlusion=occlusion,
                            scene_cuts=scene_cuts, smooth=smooth,
                            interpolation=interpolation, global_motion=global_motion,
                            pan_shift=pan_shift, pan_tolerance=pan_tolerance)
    if getattr(processed, "ndim", 0) != 4:
        raise UnsupportedFormatError(f"processed: expected (T, H, W, 3), got "
                                     f"{getattr(processed, 'shape', type(processed).__name__)}")
    if originals is not None and len(originals) != len(processed):
        raise UnsupportedFormatError(f"originals has {len(originals)} frames, processed has "
                                     f"{len(processed)}; pass the frames the processing received")
    state = TemporalState()
    out = np.empty_like(processed, dtype=np.float32)
    for t in range(len(processed)):
        out[t] = temporal_step(state, processed[t], None if originals is None else originals[t],
                               params)
    return out


class Temporal(Stage):
    """Stage wrapper of :func:`stabilise_temporal` (recursive; state from :meth:`start`).

    The stage needs the frames as they were *before* the preceding per-frame
    stage: ``needs_source = True`` asks the pipeline to pass them as
    ``source=`` (a window shaped like ``window``, any frame size). Without a
    source it still runs, on the processed frames alone, and logs a warning once.
    """

    name = "temporal"
    Params = TemporalParams
    window = (0, 0)
    needs_source: ClassVar[bool] = True

    def start(self) -> TemporalState:
        return TemporalState()

    def process(self, window: np.ndarray, *, state: Any = None,
                source: np.ndarray | None = None) -> np.ndarray:
        if state is None:
            raise UnsupportedFormatError("temporal is a recursive stage: pass the state returned "
                                         "by start() to every process() call")
        frame = window[self.window[0]]
        src = None
        if source is not None:
            src = source[self.window[0]] if source.ndim == 4 else source
        elif not state.warned_no_source:
            state.warned_no_source = True
            log.warning("temporal: no source frames given; stabilising from the processed "
                        "frames alone (weaker protection against ghosting)")
        return temporal_step(state, frame, src, self.params)

    def flush(self, state: Any = None) -> None:
        if state is not None:
            state.prev_out = state.prev_proc_small = state.prev_src_small = None
