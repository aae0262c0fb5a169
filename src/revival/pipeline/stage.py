"""The ``Stage`` protocol and the parameter plumbing every stage shares.

A stage is a pure function plus a thin class. The class holds validated,
frozen parameters (a dataclass named ``Params``) and resources such as an ONNX
session; nothing per-call is stored on ``self``. Per-run state (for recursive
temporal filters) lives in the object returned by :meth:`Stage.start`, which the
pipeline passes back to every :meth:`Stage.process` call.

Temporal window: a stage declares ``window = (past, future)``. ``process``
receives a ``(past + 1 + future, H, W, 3)`` float32 array whose frame
``past`` is the one to produce; at the ends of the clip (and at scene cuts, for
stages that ask for it) the nearest frame is repeated.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar, Mapping

import numpy as np

from ..errors import ConfigError
from ..frames.spec import VideoSpec


class Stage:
    """Base class of every stage.

    Subclasses set ``name``, a frozen dataclass ``Params``, optionally
    ``window``, and implement :meth:`process` (and :meth:`configure` when they
    change the frame size, colour or rate).
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type] = type(None)
    window: tuple[int, int] = (0, 0)
    changes_pixels: ClassVar[bool] = True

    def __init__(self, params: Any = None) -> None:
        if params is None:
            params = self.Params()
        if not isinstance(params, self.Params):
            raise ConfigError(f"{self.name}: expected {self.Params.__name__}, got "
                              f"{type(params).__name__}", key=self.name)
        self.params = params

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Stage:
        """Build the stage from plain values (TOML, JSON, ``--set``), validating each key."""
        return cls(build_params(cls.Params, values, prefix=cls.name))

    def configure(self, spec: VideoSpec) -> VideoSpec:
        """Validate against the incoming spec once, before frames flow; return the output spec."""
        return spec

    def start(self) -> Any:
        """Fresh per-run state (None for stateless stages)."""
        return None

    def process(self, window: np.ndarray, *, state: Any = None) -> np.ndarray:
        """Produce the output frame for ``window[past]``. Shape (H', W', 3) float32."""
        raise NotImplementedError

    def flush(self, state: Any = None) -> None:
        """Called once at the end of the stream; release per-run resources."""

    def describe(self) -> dict[str, Any]:
        return {"stage": self.name, **dataclasses.asdict(self.params)}


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ConfigError(f"{key}: expected one of {list(choices)}, got {value!r}", key=key)
        return value
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            if len(args) < len(typing.get_args(annotation)):
                return None
        errors = []
        for arg in args:
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: {value!r} does not fit {annotation}", key=key)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {value!r}", key=key)
    if annotation is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}", key=key)
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}", key=key) from None
        if as_float != int(as_float):
            raise ConfigError(f"{key}: expected an integer, got {value!r}", key=key)
        return int(as_float)
    if annotation is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}", key=key)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}", key=key) from None
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected text, got {value!r}", key=key)
        return value
    return value


def build_params(params_cls: type, values: Mapping[str, Any], *, prefix: str) -> Any:
    """Make a frozen params dataclass from plain values.

    Unknown keys and values of the wrong type are :class:`ConfigError` naming
    the key (``"resize.scael"``); range checks live in the dataclass's
    ``__post_init__`` and raise ``ConfigError`` too.
    """
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    kwargs = {}
    for key, value in values.items():
        dotted = f"{prefix}.{key}"
        if key not in fields:
            raise ConfigError(f"unknown parameter {dotted!r}; {prefix} takes "
                              f"{sorted(fields) or 'no parameters'}", key=dotted)
        kwargs[key] = _coerce(value, hints[key], dotted)
    try:
        return params_cls(**kwargs)
    except ConfigError as exc:
        if exc.key and not exc.key.startswith(prefix + "."):
            exc.key = f"{prefix}.{exc.key}"
        raise


def check_range(prefix: str, key: str, value: float, lo: float | None = None,
                hi: float | None = None) -> None:
    """Raise ConfigError naming ``prefix.key`` when ``value`` is outside [lo, hi]."""
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise ConfigError(f"{prefix}.{key} must be in {bounds}, got {value}",
                          key=f"{prefix}.{key}")
