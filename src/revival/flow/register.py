"""Sub-pixel refinement of a global translation by direct image registration.

A translation fitted to a dense flow field inherits the field's bias: on fine
periodic texture (stripes, text) DIS vectors lean towards an alias, and the fit
of a whole frame can be off by a tenth of a pixel. :func:`refine_translation`
corrects it with Gauss-Newton steps on the brightness constancy of the whole
frame (Lucas-Kanade with a single global translation), which averages every
pixel's evidence and so reaches a hundredth of a pixel on textured frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import UnsupportedFormatError
from .warping import shift

_SIGMA = 2.0  # Gaussian pre-smoothing of both frames (pixels)
_EDGE = 4  # pixels next to the border are skipped (replicated edges have no gradient)


def refine_translation(cur: np.ndarray, prev: np.ndarray, d: tuple[float, float], *,
                       mask: np.ndarray | None = None, iterations: int = 2,
                       max_step: float = 0.5) -> tuple[float, float]:
    """Refine ``d`` so that ``prev`` shifted by it (``prev[y + dy, x + dx]``) matches ``cur``.

    Args:
        cur, prev: grey frames (H, W) float32 of the same size.
        d: initial translation (dx, dy) in pixels, the convention of
            :func:`~revival.flow.warping.shift` and of flow fields (current -> previous).
        mask: (H, W) bool, pixels to use (those that follow the camera); None = all.
        iterations: Gauss-Newton steps.
        max_step: largest correction per step (pixels); a larger one means the
            linearisation failed and the current estimate is kept.

    Returns:
        The refined (dx, dy); ``d`` unchanged where the frame has too little texture
        to constrain both directions.

    Raises:
        UnsupportedFormatError: the frames are not grey 2-D arrays of one shape.

    Example:
        >>> from revival.testing.motion import textured_image, translate_exact
        >>> img = textured_image(96, 128)[..., 1]
        >>> moved = translate_exact(img, (0.3, -0.2))
        >>> dx, dy = refine_translation(moved, img, (0.25, -0.1))
        >>> bool(abs(dx - 0.3) < 0.02 and abs(dy + 0.2) < 0.02)
        True
    """
    if cur.ndim != 2 or cur.shape != prev.shape:
        raise UnsupportedFormatError(f"refine_translation: expected two grey frames of one "
                                     f"shape, got {cur.shape} and {prev.shape}")
    h, w = cur.shape
    if h <= 2 * _EDGE + 2 or w <= 2 * _EDGE + 2:
        return d
    # smoothing both frames keeps the linearisation valid: the finest texture (and its
    # aliases) would make the gradients disagree with the residual it predicts
    cur = cv2.GaussianBlur(np.ascontiguousarray(cur, dtype=np.float32), (0, 0), _SIGMA)
    prev = cv2.GaussianBlur(np.ascontiguousarray(prev, dtype=np.float32), (0, 0), _SIGMA)
    use = np.zeros((h, w), bool)
    use[_EDGE:-_EDGE, _EDGE:-_EDGE] = True
    if mask is not None:
        use &= mask
    # the edge rows the shift replicates (|d| pixels at each side) carry no information
    dx, dy = float(d[0]), float(d[1])
    for _ in range(iterations):
        aligned = shift(prev, dx, dy)
        gx = cv2.Sobel(aligned, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(aligned, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        valid = use.copy()
        m = int(np.ceil(max(abs(dx), abs(dy)))) + 1
        valid[:m], valid[-m:], valid[:, :m], valid[:, -m:] = False, False, False, False
        r, ax, ay = (cur - aligned)[valid], gx[valid], gy[valid]
        a = np.array([[ax @ ax, ax @ ay], [ax @ ay, ay @ ay]], np.float64)
        b = np.array([ax @ r, ay @ r], np.float64)
        # both directions need texture: the smaller eigenvalue against the larger
        eig = np.linalg.eigvalsh(a)
        if eig[0] <= 1e-3 * max(eig[1], 1e-12) or eig[0] <= 1e-9:
            return dx, dy
        step = np.linalg.solve(a, b)
        if not np.all(np.isfinite(step)) or np.abs(step).max() > max_step:
            return dx, dy
        dx, dy = dx + float(step[0]), dy + float(step[1])
    return dx, dy
