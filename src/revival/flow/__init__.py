"""Optical flow, warping, occlusion masks and scene-cut detection.

Flow fields are ``(H, W, 2)`` float32 in pixels (x, y), mapping each pixel of a
reference frame to its position in a target frame (see :mod:`revival.flow.dis`).
"""

from .dis import Preset, downscale, estimate_flow, fit_global_motion, resize_flow, to_gray8
from .scenecut import CutDetector, cut_scores, detect_cuts, frame_features, transition_score
from .warping import (consistency_error, endpoint_error, inside_mask, occlusion_mask, shift,
                      warp, warp_where)

__all__ = [
    "CutDetector",
    "Preset",
    "consistency_error",
    "cut_scores",
    "detect_cuts",
    "downscale",
    "endpoint_error",
    "estimate_flow",
    "fit_global_motion",
    "frame_features",
    "inside_mask",
    "occlusion_mask",
    "resize_flow",
    "shift",
    "to_gray8",
    "transition_score",
    "warp",
    "warp_where",
]
