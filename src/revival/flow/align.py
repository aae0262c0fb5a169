"""Motion-compensated neighbours: frames of a window warped onto its centre frame.

Used by multi-frame restoration (the network sees the centre frame and its aligned
neighbours) at training and at run time, so both align the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .dis import Preset, estimate_flow
from .warping import inside_mask, warp


def align_to(reference: np.ndarray, other: np.ndarray, *, preset: Preset = "fast",
             tolerance: float = 0.1) -> np.ndarray:
    """``other`` backward-warped onto ``reference`` with DIS flow (bilinear).

    Where the alignment fails the reference's own pixels are used instead, so a
    neighbour never brings in content that is not in the reference: pixels whose
    motion vector leaves the frame, and pixels whose local (5x5) mean absolute
    difference from the reference exceeds ``tolerance`` (occlusions, flow errors, a
    scene cut; codec noise at CRF 45 stays well below 0.1).

    Args:
        reference, other: (H, W, 3) float32 RGB in [0, 1], the same shape.
        preset: DIS preset (see :func:`revival.flow.estimate_flow`).
        tolerance: mismatch, in [0, 1] units, above which a pixel is not aligned.

    Returns:
        (H, W, 3) float32.
    """
    reference = np.asarray(reference, np.float32)
    flow = estimate_flow(reference, other, preset=preset)
    aligned = warp(np.asarray(other, np.float32), flow)
    mismatch = cv2.blur(np.abs(aligned - reference).mean(axis=2), (5, 5))
    bad = (mismatch > tolerance) | ~inside_mask(flow)
    aligned[bad] = reference[bad]
    return aligned


def stack_aligned(window: Sequence[np.ndarray] | np.ndarray, centre: int, *, radius: int = 1,
                  preset: Preset = "fast") -> np.ndarray:
    """The centre frame and its ``radius`` neighbours on each side, aligned to it and
    stacked on the channel axis, centre first: ``(H, W, 3 * (2 * radius + 1))``.

    Neighbours beyond either end of the window (clip start or end, a scene cut the
    caller cut the window at) are replaced by the centre frame itself, as the
    networks were trained to expect.
    """
    ref = np.asarray(window[centre], np.float32)
    planes = [ref]
    for d in [*range(-radius, 0), *range(1, radius + 1)]:
        k = centre + d
        inside = 0 <= k < len(window)
        # the pipeline repeats the end frames of a clip: a repeat is the centre itself
        same = not inside or window[k] is window[centre] or np.array_equal(window[k], ref)
        planes.append(ref if same else align_to(ref, window[k], preset=preset))
    return np.concatenate(planes, axis=2)
