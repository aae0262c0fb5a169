"""The explicit list of stages. No folder scanning: add a stage by adding a line."""

from __future__ import annotations

from ..errors import ConfigError
from ..pipeline.stage import Stage
from .deblock import Deblock
from .deflicker import Deflicker
from .denoise import Denoise
from .resize import Resize
from .temporal import Temporal
from .upscale import Upscale

_STAGES: list[type[Stage]] = [
    Deblock,
    Deflicker,
    Denoise,
    Resize,
    Temporal,
    Upscale,
]


def _index(stages: list[type[Stage]]) -> dict[str, type[Stage]]:
    out: dict[str, type[Stage]] = {}
    for cls in stages:
        if not cls.name:
            raise ValueError(f"stage class {cls.__name__} has no name")
        if cls.name in out:
            raise ValueError(f"duplicate stage name {cls.name!r}: {out[cls.name].__name__} "
                             f"and {cls.__name__}")
        out[cls.name] = cls
    return out


STAGES = _index(_STAGES)


def stage_class(name: str) -> type[Stage]:
    """The stage class called ``name``; ConfigError listing the known names if none."""
    try:
        return STAGES[name]
    except KeyError:
        raise ConfigError(f"unknown stage {name!r}; known stages: {', '.join(sorted(STAGES))}",
                          key=name) from None
