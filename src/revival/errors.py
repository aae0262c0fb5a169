"""One exception hierarchy for Revival.

Every class also inherits the builtin that matches its meaning, so callers that
know nothing about Revival can still catch ``ValueError`` or ``OSError``.
Messages say what was expected, what was received and how to fix it.
"""

from __future__ import annotations

from pathlib import Path


class RevivalError(Exception):
    """Base class of every error raised by Revival on purpose."""


class ConfigError(RevivalError, ValueError):
    """A preset, stage or parameter is unknown or out of range.

    Attributes:
        key: the dotted name of the offending key (``"resize.scale"``), if any.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class UnsupportedFormatError(RevivalError, ValueError):
    """The input or requested output format cannot be handled."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class OutputFormatError(UnsupportedFormatError):
    """The requested output cannot hold what would be written: its container (extension)
    cannot store a stream, or the chosen codec cannot encode the frames.

    A choice the caller can change (another extension or codec), refused before any work
    starts; the command line treats it as a usage error.
    """


class InputNotFoundError(RevivalError, FileNotFoundError):
    """The input path does not exist."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"input not found: {self.path} (check the path and try again)")



class OutputExistsError(RevivalError, FileExistsError):
    """The output exists and overwriting was not requested."""

    def __init__(self, path: str | Path, *, what: str = "output") -> None:
        self.path = Path(path)
        super().__init__(f"{what} exists: {self.path} (pass --overwrite to replace it)")



class OutputPathError(RevivalError, OSError):
    """The output cannot be written there (same as input, unwritable folder)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)



class DecodeError(RevivalError, OSError):
    """Decoding failed or the stream ended before its declared end.

    Attributes:
        path: the input file.
        frame_index: index of the first frame that could not be decoded, if known.
    """

    def __init__(self, message: str, *, path: str | Path | None = None,
                 frame_index: int | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.frame_index = frame_index



class EncodeError(RevivalError, OSError):
    """Encoding or muxing failed."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)



class StageError(RevivalError, RuntimeError):
    """A stage failed while processing a frame.

    Attributes:
        stage: the stage name.
        frame_index: the index of the frame being produced.
    """

    def __init__(self, message: str, *, stage: str, frame_index: int | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.frame_index = frame_index


class ModelNotFoundError(RevivalError, FileNotFoundError):
    """A model id is unknown or its weight file is missing."""

    def __init__(self, message: str, *, model_id: str | None = None) -> None:
        super().__init__(message)
        self.model_id = model_id



class ChecksumError(RevivalError, ValueError):
    """A weight file's sha256 does not match its manifest."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class MissingDependencyError(RevivalError, ImportError):
    """An optional dependency (an extra) is not installed."""
