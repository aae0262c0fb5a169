"""Revival: video restoration and enhancement that keeps audio, timing and colour.

The public names below are imported on first use, so the training and export tools
(``revival.train``, ``revival.models``) run where only NumPy, OpenCV and PyTorch are
installed; ``import revival`` alone does not load PyAV or the inference runtimes.

Example:
    >>> from revival import restore, EncodeOptions
    >>> restore("in.mkv", "out.mkv", preset="copy", encode=EncodeOptions(codec="ffv1"))  # doctest: +SKIP
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_HOME = {
    **dict.fromkeys(("ConfigError", "DecodeError", "EncodeError", "InputNotFoundError",
                     "OutputExistsError", "OutputFormatError", "OutputPathError",
                     "RevivalError", "StageError", "UnsupportedFormatError"), ".errors"),
    "ColorInfo": ".frames.color",
    "Frame": ".frames.frame",
    "VideoSpec": ".frames.spec",
    "VideoReader": ".io.decode",
    "EncodeOptions": ".io.encode",
    "VideoWriter": ".io.encode",
    "probe": ".io.probe",
    **dict.fromkeys(("PipelineConfig", "load_preset", "preset_names"), ".pipeline.config"),
    **dict.fromkeys(("Progress", "RestoreResult", "open_input", "restore"), ".pipeline.job"),
    "Pipeline": ".pipeline.pipeline",
    "Stage": ".pipeline.stage",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'revival' has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
