"""``Frame``: one picture with its timing and colour.

Inside stages a frame is a float32 ``(H, W, 3)`` RGB array in [0, 1], full range,
in the transfer function of the source. ``Frame`` wraps that array with the
index, pts and time base it carries through the pipeline, and, for frames that
came straight from a decoder, the decoder's own picture so that a pipeline that
does not touch pixels can re-encode it bit-exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import numpy as np


@dataclass
class Frame:
    """A frame in flight.

    Attributes:
        index: 0-based position in the clip.
        pts: presentation timestamp in ``time_base`` units (None when unknown).
        time_base: seconds per pts tick.
        source: the decoder's native picture (an ``av.VideoFrame``) or None.
    """

    index: int
    pts: int | None
    time_base: Fraction
    _rgb: np.ndarray | None = None
    source: Any = None
    _to_rgb: Callable[[Any], np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def from_rgb(cls, rgb: np.ndarray, *, index: int, pts: int | None,
                 time_base: Fraction) -> Frame:
        return cls(index=index, pts=pts, time_base=time_base, _rgb=rgb)

    @property
    def rgb(self) -> np.ndarray:
        """The float32 (H, W, 3) RGB picture, converted on first use."""
        if self._rgb is None:
            if self._to_rgb is None or self.source is None:
                raise ValueError("frame has neither RGB pixels nor a source picture")
            self._rgb = self._to_rgb(self.source)
        return self._rgb

    @property
    def has_rgb(self) -> bool:
        return self._rgb is not None

    def with_rgb(self, rgb: np.ndarray) -> Frame:
        """A new frame with the same timing and new pixels (the source is dropped)."""
        return Frame(index=self.index, pts=self.pts, time_base=self.time_base, _rgb=rgb)

    @property
    def time(self) -> float | None:
        return None if self.pts is None else float(self.pts * self.time_base)
