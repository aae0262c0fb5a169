"""Reading clips for measurement: videos, single images and image folders.

A thin adapter over the core reader (:func:`revival.io.read_frames` when it is
available, else the core ``VideoReader`` / ``ImageReader``), so that the metrics
see what the rest of Revival sees: float32 ``(H, W, 3)`` RGB in [0, 1], colour
converted from the stream's tags.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputNotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipInfo:
    """What is known about a clip before decoding it.

    Attributes:
        path: the input.
        kind: ``"video"``, ``"image"`` or ``"image folder"``.
        width, height: frame size in pixels.
        frame_count: frames (None when the container does not say).
        fps: nominal frame rate (None when unknown).
    """

    path: Path
    kind: str
    width: int
    height: int
    frame_count: int | None
    fps: float | None


def _is_image_input(path: Path) -> bool:
    from ..io.images import is_image_path
    return path.is_dir() or is_image_path(path)


def clip_info(path: str | Path) -> ClipInfo:
    """Describe ``path`` without decoding it all.

    Raises:
        InputNotFoundError: no such path.
        UnsupportedFormatError: not a video, an image or a folder of images.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(path)
    if _is_image_input(path):
        from ..io.images import ImageReader
        with ImageReader(path) as reader:
            spec = reader.spec
            kind = "image folder" if path.is_dir() else "image"
            return ClipInfo(path, kind, spec.width, spec.height, len(reader.files), None)
    from ..io.decode import VideoReader
    with VideoReader(path) as reader:
        spec = reader.spec
        fps = float(spec.frame_rate) if spec.frame_rate else None
        return ClipInfo(path, "video", spec.width, spec.height, spec.frame_count, fps)


def read_clip(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` as float32 ``(H, W, 3)`` RGB in [0, 1], in order.

    Raises:
        InputNotFoundError, UnsupportedFormatError, DecodeError: from the core reader.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(path)
    try:
        from ..io import read_frames  # the public reader, once it exists
    except ImportError:
        read_frames = None
    if read_frames is not None:
        for frame in read_frames(path):
            yield np.asarray(frame.rgb, dtype=np.float32)
        return
    if _is_image_input(path):
        from ..io.images import ImageReader as Reader
    else:
        from ..io.decode import VideoReader as Reader  # type: ignore[assignment]
    with Reader(path) as reader:
        for frame in reader.frames():
            yield np.asarray(frame.rgb, dtype=np.float32)
