"""Revival: video restoration and enhancement that keeps audio, timing and colour.

Example:
    >>> from revival import restore, EncodeOptions
    >>> restore("in.mkv", "out.mkv", preset="copy", encode=EncodeOptions(codec="ffv1"))  # doctest: +SKIP
"""

from .errors import (ConfigError, DecodeError, EncodeError, InputNotFoundError,
                     OutputExistsError, OutputFormatError, OutputPathError, RevivalError,
                     StageError, UnsupportedFormatError)
from .frames.color import ColorInfo
from .frames.frame import Frame
from .frames.spec import VideoSpec
from .io.decode import VideoReader
from .io.encode import EncodeOptions, VideoWriter
from .io.probe import probe
from .pipeline.config import PipelineConfig, load_preset, preset_names
from .pipeline.job import Progress, RestoreResult, open_input, restore
from .pipeline.pipeline import Pipeline
from .pipeline.stage import Stage

__version__ = "0.1.0"

__all__ = [
    "ColorInfo", "ConfigError", "DecodeError", "EncodeError", "EncodeOptions", "Frame",
    "InputNotFoundError", "OutputExistsError", "OutputFormatError", "OutputPathError", "Pipeline",
    "PipelineConfig", "Progress", "RestoreResult", "RevivalError", "Stage", "StageError",
    "UnsupportedFormatError", "VideoReader", "VideoSpec", "VideoWriter", "load_preset",
    "open_input", "preset_names", "probe", "restore",
]
