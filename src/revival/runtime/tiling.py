"""Tiled inference with overlap, implemented once for every model.

The image is cut into ``tile x tile`` cores; each core is run with ``overlap``
extra input pixels of real image context on every side (less at the image
border, where the model sees its own zero padding exactly as on the whole
frame), and only the core's part of the output is kept. When ``overlap`` is at
least the model's receptive radius (its manifest's ``tiling.min_overlap``) every
output pixel sees the same input as in a whole-frame run, so the seams are
invisible and the output is independent of the tile size up to floating-point
(and, for INT8, quantisation) rounding.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError


def tile_spans(n: int, tile: int, multiple: int = 1) -> list[tuple[int, int]]:
    """Split ``range(n)`` into consecutive (start, stop) spans of at most about ``tile``,
    near-equal, with every bound a multiple of ``multiple`` (``n`` must be one)."""
    if tile <= 0 or tile >= n:
        return [(0, n)]
    count = -(-n // tile)
    bounds = (np.linspace(0, n // multiple, count + 1).round().astype(int) * multiple)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def run_tiled(run: Callable[[np.ndarray], np.ndarray], image: np.ndarray, *, scale: int,
              tile: int, overlap: int, multiple: int = 1) -> np.ndarray:
    """Apply an NCHW model ``run`` to a (C, H, W) float32 image tile by tile.

    Args:
        run: maps (1, C, h, w) float32 to (1, C', h*scale, w*scale).
        image: (C, H, W) float32.
        scale: the model's integer upscaling factor.
        tile: core tile size in input pixels; 0 runs the whole image at once.
        overlap: input context added on each side of a tile, in input pixels (rounded up
            to ``multiple``).
        multiple: the model needs input sides that are multiples of this; the image's
            sides must be multiples already, and tiles are cut on that grid.

    Returns:
        (C', H*scale, W*scale) float32.

    Raises:
        ConfigError: negative tile or overlap.
    """
    if tile < 0 or overlap < 0:
        raise ConfigError(f"tile and overlap must be >= 0, got tile={tile}, overlap={overlap}",
                          key="tile")
    _, h, w = image.shape
    if h % multiple or w % multiple:
        raise ConfigError(f"image {w}x{h} is not a multiple of {multiple}; pad it first",
                          key="multiple")
    if tile == 0 or (tile >= h and tile >= w):
        return run(image[None])[0]
    overlap = -(-overlap // multiple) * multiple
    out: np.ndarray | None = None
    for y0, y1 in tile_spans(h, tile, multiple):
        for x0, x1 in tile_spans(w, tile, multiple):
            ya, yb = max(0, y0 - overlap), min(h, y1 + overlap)
            xa, xb = max(0, x0 - overlap), min(w, x1 + overlap)
            res = run(np.ascontiguousarray(image[None, :, ya:yb, xa:xb]))[0]
            if out is None:
                out = np.empty((res.shape[0], h * scale, w * scale), dtype=np.float32)
            out[:, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = res[
                :, (y0 - ya) * scale:(y1 - ya) * scale, (x0 - xa) * scale:(x1 - xa) * scale]
    assert out is not None
    return out
