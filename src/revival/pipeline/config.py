"""Pipelines as data: stage names plus parameters, saved as TOML or JSON.

A preset is a TOML file::

    description = "..."
    stages = ["resize"]

    [resize]
    scale = 2.0
    kernel = "lanczos"

    [encode.h264]      # optional: encoder defaults of this preset, per output codec
    preset = "veryfast"

The CLI, the Python API and remote workers build identical pipelines from the
same :class:`PipelineConfig`. Unknown keys and out-of-range values raise
:class:`~revival.errors.ConfigError` naming the key.

The ``encode`` table only sets defaults: a codec setting given explicitly (the CLI's
``--crf`` and ``--encoder-preset``, or the fields of an
:class:`~revival.io.encode.EncodeOptions`) wins, and a codec the table does not name keeps
the encoder's own defaults.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError
from ..io.encode import EncodeOptions
from ..io.formats import CODECS
from ..stages.registry import stage_class
from .pipeline import Pipeline

_TOP_KEYS = {"description", "stages", "encode"}
_ENCODE_KEYS = ("crf", "preset")


@dataclass(frozen=True)
class PipelineConfig:
    """Stage names in order and each stage's parameters (plain values)."""

    stages: tuple[str, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""
    encode: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineConfig:
        stages = data.get("stages", [])
        if not isinstance(stages, (list, tuple)) or not all(isinstance(s, str) for s in stages):
            raise ConfigError(f"'stages' must be a list of stage names, got {stages!r}",
                              key="stages")
        params: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            if key in _TOP_KEYS:
                continue
            if not isinstance(value, Mapping):
                raise ConfigError(f"unknown key {key!r}; top-level keys are "
                                  f"{sorted(_TOP_KEYS)} and one table per stage", key=key)
            stage_class(key).from_dict(value)  # unknown stage, key or value raises here
            params[key] = dict(value)
        for name in stages:
            stage_class(name)
        cfg = cls(tuple(stages), params, str(data.get("description", "")),
                  _encode_table(data.get("encode", {})))
        cfg.build()  # validate every parameter now, not when frames flow
        return cfg

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description, "stages": list(self.stages)}
        for name, values in self.params.items():
            out[name] = dict(values)
        if self.encode:
            out["encode"] = {codec: dict(v) for codec, v in self.encode.items()}
        return out

    def encode_options(self, options: EncodeOptions) -> EncodeOptions:
        """``options`` with the CRF and speed preset this config sets for its codec filled in
        where ``options`` leaves them unset (None)."""
        table = self.encode.get(options.codec, {})
        return dataclasses.replace(
            options,
            crf=options.crf if options.crf is not None else table.get("crf"),
            preset=options.preset if options.preset is not None else table.get("preset"))

    def with_stages(self, stages: list[str]) -> PipelineConfig:
        return PipelineConfig.from_dict({**self.to_dict(), "stages": stages})

    def with_overrides(self, overrides: Mapping[str, Any]) -> PipelineConfig:
        """Apply ``{"stage.param": value}`` overrides (the CLI's ``--set``).

        Raises:
            ConfigError: unknown stage or parameter, a value out of range, or a stage
                that is not in :attr:`stages` (the override would have no effect).
        """
        data = self.to_dict()
        for dotted, value in overrides.items():
            if "." not in dotted:
                raise ConfigError(f"--set expects stage.param=value, got {dotted!r}", key=dotted)
            stage, param = dotted.split(".", 1)
            stage_class(stage)
            if stage not in self.stages:
                raise ConfigError(
                    f"--set {dotted}: stage {stage!r} is not in this pipeline "
                    f"({', '.join(self.stages) or 'no stages'}), so the setting would do nothing; "
                    f"add the stage with --stages or choose a preset that has it", key=dotted)
            data.setdefault(stage, {})[param] = value
        return PipelineConfig.from_dict(data)

    def build(self) -> Pipeline:
        """Instantiate the stages (validating every parameter)."""
        return Pipeline([stage_class(n).from_dict(self.params.get(n, {})) for n in self.stages])

    def to_toml(self) -> str:
        lines = [f"description = {json.dumps(self.description)}",
                 f"stages = {json.dumps(list(self.stages))}"]
        for name, values in self.params.items():
            lines += ["", f"[{name}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        for codec, values in self.encode.items():
            lines += ["", f"[encode.{codec}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> PipelineConfig:
        try:
            return cls.from_dict(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}") from None


def _encode_table(table: Any) -> dict[str, dict[str, Any]]:
    """The validated ``encode`` table: ``{codec: {"crf": int, "preset": str}}``.

    Raises:
        ConfigError: not a table of tables, an unknown codec or key, or a value the codec
            refuses (a CRF out of its range, a speed preset it does not have).
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"'encode' must be a table of codec tables, e.g. [encode.h264], got "
                          f"{table!r}", key="encode")
    out: dict[str, dict[str, Any]] = {}
    for codec, values in table.items():
        if codec not in CODECS:
            raise ConfigError(f"[encode.{codec}]: unknown codec; expected one of "
                              f"{', '.join(CODECS)}", key=f"encode.{codec}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"[encode.{codec}] must be a table with {' and/or '.join(_ENCODE_KEYS)}",
                              key=f"encode.{codec}")
        unknown = set(values) - set(_ENCODE_KEYS)
        if unknown:
            raise ConfigError(f"[encode.{codec}]: unknown key(s) {sorted(unknown)}; expected "
                              f"{' and/or '.join(_ENCODE_KEYS)}", key=f"encode.{codec}")
        crf = values.get("crf")
        if crf is not None and (isinstance(crf, bool) or not isinstance(crf, int)):
            raise ConfigError(f"[encode.{codec}] crf must be a whole number, got {crf!r}",
                              key=f"encode.{codec}.crf")
        preset = values.get("preset")
        if preset is not None:
            preset = str(preset)
        try:
            EncodeOptions(codec=codec, crf=crf, preset=preset)  # the codec's own checks
        except ConfigError as exc:
            raise ConfigError(f"[encode.{codec}]: {exc}", key=f"encode.{codec}") from None
        out[codec] = {k: v for k, v in (("crf", crf), ("preset", preset)) if v is not None}
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} to TOML")


def preset_names() -> list[str]:
    folder = resources.files("revival") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> PipelineConfig:
    """A bundled preset by name, or a TOML file by path.

    Raises:
        ConfigError: unknown preset (the message lists the known ones).
    """
    path = Path(name)
    if path.suffix == ".toml" and path.exists():
        return PipelineConfig.from_toml(path.read_text(encoding="utf-8"))
    folder = resources.files("revival") / "presets"
    res = folder / f"{name}.toml"
    if not res.is_file():
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())} "
                          "(or give a path to a .toml file)", key="preset")
    return PipelineConfig.from_toml(res.read_text(encoding="utf-8"))
