"""``VideoSpec``: what a stream of frames looks like before any frame flows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from .color import ColorInfo


@dataclass(frozen=True)
class VideoSpec:
    """Static description of a clip as stages see it.

    Attributes:
        width, height: frame size in pixels.
        color: colour metadata of the frames (RGB float frames stay in the
            source transfer function and primaries).
        time_base: unit of every frame's ``pts`` (seconds per tick).
        frame_rate: nominal frames per second (average rate for VFR).
        bit_depth: bits per component of the source (8, 10, 12, 16).
        chroma: chroma subsampling of the source: ``"420"``, ``"422"``, ``"444"``.
        frame_count: number of frames if known, else None.
        sample_aspect_ratio: pixel aspect ratio (1 for square pixels).
        coded_qp: mean quantiser of the source's first coded frames on the H.264 QP
            scale (:mod:`revival.io.quantiser`), where the decoder reports one and a stage
            asked for it (``needs_coded_qp``); None otherwise.
        coded_family: how ``coded_qp`` was read: ``"h264"``, ``"hevc"``, ``"mpeg"``,
            ``"vp9"``, ``"av1"`` or ``"jpeg"`` (:class:`revival.io.quantiser.CodedQuantiser`);
            None with it.
    """

    width: int
    height: int
    color: ColorInfo
    time_base: Fraction = Fraction(1, 25)
    frame_rate: Fraction = Fraction(25)
    bit_depth: int = 8
    chroma: str = "420"
    frame_count: int | None = None
    sample_aspect_ratio: Fraction = Fraction(1)
    coded_qp: float | None = None
    coded_family: str | None = None

    def with_(self, **changes: object) -> VideoSpec:
        return replace(self, **changes)
