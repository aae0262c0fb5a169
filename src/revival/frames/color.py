"""Colour metadata: ``ColorInfo`` with ITU-T H.273 code points.

Colour is metadata, never a guess. A clip's ``ColorInfo`` comes from, in order:
an explicit argument, the stream's own tags, then a logged default
(:func:`default_color`): BT.709 for frames taller than 576 lines, BT.601 for
standard definition, limited range for YUV video, full-range sRGB for images.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

from ..errors import ConfigError

log = logging.getLogger(__name__)

Range = Literal["limited", "full"]

# H.273 MatrixCoefficients -> (Kr, Kb). 0 is identity (GBR), handled apart.
MATRIX_KR_KB: dict[int, tuple[float, float]] = {
    1: (0.2126, 0.0722),   # BT.709
    4: (0.30, 0.11),       # FCC
    5: (0.299, 0.114),     # BT.470BG (BT.601 625)
    6: (0.299, 0.114),     # SMPTE 170M (BT.601 525)
    7: (0.212, 0.087),     # SMPTE 240M
    9: (0.2627, 0.0593),   # BT.2020 non-constant luminance
}
MATRIX_NAMES = {0: "gbr", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg",
                6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
TRANSFER_NAMES = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m",
                  7: "smpte240m", 8: "linear", 13: "iec61966-2-1", 14: "bt2020-10",
                  15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
PRIMARIES_NAMES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m",
                   7: "smpte240m", 9: "bt2020", 12: "smpte432"}
UNSPECIFIED = 2


def _code(value: int | str, names: dict[int, str], what: str) -> int:
    if isinstance(value, str):
        for code, name in names.items():
            if name == value.lower():
                return code
        raise ConfigError(f"unknown {what} {value!r}; expected one of {sorted(names.values())}",
                          key=what)
    if int(value) not in names:
        raise ConfigError(f"unknown {what} code {value}; expected one of {sorted(names)}",
                          key=what)
    return int(value)


@dataclass(frozen=True)
class ColorInfo:
    """How the numbers of a clip map to colours (ITU-T H.273 code points).

    Attributes:
        matrix: MatrixCoefficients (1 BT.709, 5/6 BT.601, 9 BT.2020 NCL, 0 RGB).
        transfer: TransferCharacteristics (1 BT.709, 13 sRGB, 16 PQ, 18 HLG ...).
        primaries: ColourPrimaries (1 BT.709, 5 BT.601 625, 6 BT.601 525, 9 BT.2020).
        range: ``"limited"`` (8-bit Y 16-235) or ``"full"`` (0-255).

    Example:
        >>> ColorInfo.bt709().matrix
        1
    """

    matrix: int = 1
    transfer: int = 1
    primaries: int = 1
    range: Range = "limited"

    def __post_init__(self) -> None:
        object.__setattr__(self, "matrix", _code(self.matrix, MATRIX_NAMES, "matrix"))
        object.__setattr__(self, "transfer", _code(self.transfer, TRANSFER_NAMES, "transfer"))
        object.__setattr__(self, "primaries", _code(self.primaries, PRIMARIES_NAMES, "primaries"))
        if self.range not in ("limited", "full"):
            raise ConfigError(f"range must be 'limited' or 'full', got {self.range!r}", key="range")

    @classmethod
    def bt709(cls, range: Range = "limited") -> ColorInfo:
        return cls(1, 1, 1, range)

    @classmethod
    def bt601(cls, range: Range = "limited", *, pal: bool = False) -> ColorInfo:
        return cls(5 if pal else 6, 6, 5 if pal else 6, range)

    @classmethod
    def bt2020(cls, range: Range = "limited", *, transfer: int = 14) -> ColorInfo:
        return cls(9, transfer, 9, range)

    @classmethod
    def srgb(cls) -> ColorInfo:
        return cls(0, 13, 1, "full")

    @property
    def is_complete(self) -> bool:
        return UNSPECIFIED not in (self.matrix, self.transfer, self.primaries)

    def with_(self, **changes: object) -> ColorInfo:
        return replace(self, **changes)

    def describe(self) -> str:
        return (f"{MATRIX_NAMES[self.matrix]}/{TRANSFER_NAMES[self.transfer]}/"
                f"{PRIMARIES_NAMES[self.primaries]}/{self.range}")

    def to_dict(self) -> dict[str, object]:
        return {"matrix": MATRIX_NAMES[self.matrix], "transfer": TRANSFER_NAMES[self.transfer],
                "primaries": PRIMARIES_NAMES[self.primaries], "range": self.range}


def default_color(height: int, *, is_rgb: bool = False) -> ColorInfo:
    """The documented default for untagged material.

    Args:
        height: frame height in pixels.
        is_rgb: True for RGB sources (images, RGB codecs): full-range sRGB.
    """
    if is_rgb:
        return ColorInfo.srgb()
    if height <= 576:
        return ColorInfo.bt601(pal=height == 576)
    return ColorInfo.bt709()


def resolve_color(tagged: ColorInfo, height: int, *, is_rgb: bool = False,
                  override: ColorInfo | None = None, what: str = "input") -> ColorInfo:
    """Fill unspecified fields of ``tagged`` from the default, logging each guess.

    ``override`` (an explicit argument) wins over everything.
    """
    if override is not None:
        return override
    if tagged.is_complete:
        return tagged
    fallback = default_color(height, is_rgb=is_rgb)
    filled = ColorInfo(
        matrix=fallback.matrix if tagged.matrix == UNSPECIFIED else tagged.matrix,
        transfer=fallback.transfer if tagged.transfer == UNSPECIFIED else tagged.transfer,
        primaries=fallback.primaries if tagged.primaries == UNSPECIFIED else tagged.primaries,
        range=tagged.range,
    )
    log.info("%s colour tags incomplete (%s); using default %s", what, tagged.describe(),
             filled.describe())
    return filled
