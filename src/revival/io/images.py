"""Still images and folders of images as clips.

An image is a one-frame clip; a folder is a clip of its image files in name
order, at ``fps`` frames per second (25 unless given). Images are full-range
sRGB (BT.709 primaries, sRGB transfer); 16-bit PNG/TIFF keep 16 bits; alpha is
dropped with a warning. Output images are 8-bit PNG/JPEG, or 16-bit PNG/TIFF when
the source had more than 8 bits.
"""

from __future__ import annotations

import logging
import os
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import DecodeError, EncodeError, InputNotFoundError, UnsupportedFormatError
from ..frames.color import ColorInfo
from ..frames.convert import rgb_to_uint, uint_to_rgb
from ..frames.frame import Frame
from ..frames.spec import VideoSpec
from .formats import IMAGE_EXTS

log = logging.getLogger(__name__)


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_path(p))


def read_image(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an image as float32 RGB in [0, 1]; returns (rgb, source bit depth).

    Raises:
        InputNotFoundError: no such file.
        DecodeError: the file is not a readable image.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(path)
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        raise DecodeError(f"{path}: not a readable image (png, jpg, tiff, bmp, webp)", path=path)
    if img.dtype == np.uint8:
        depth = 8
    elif img.dtype == np.uint16:
        depth = 16
    else:
        raise UnsupportedFormatError(f"{path}: {img.dtype} images are not supported; "
                                     "use 8- or 16-bit integer images", path=path)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        log.warning("%s: alpha channel dropped", path)
        img = img[:, :, :3]
    elif img.shape[2] == 2:
        img = np.repeat(img[:, :, :1], 3, axis=2)
    rgb = img[:, :, ::-1]
    return uint_to_rgb(np.ascontiguousarray(rgb), depth), depth


def write_image(path: str | Path, rgb: np.ndarray, *, bit_depth: int = 8) -> None:
    """Write float RGB as an image; 16-bit only for PNG/TIFF."""
    path = Path(path)
    suffix = path.suffix.lower()
    depth = 16 if bit_depth > 8 and suffix in (".png", ".tif", ".tiff") else 8
    bgr = np.ascontiguousarray(rgb_to_uint(rgb, depth)[:, :, ::-1])
    ok, buf = cv2.imencode(suffix if suffix != ".jpg" else ".jpg", bgr,
                           [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in (".jpg", ".jpeg") else [])
    if not ok:
        raise EncodeError(f"cannot encode {path} as {suffix}", path=path)
    buf.tofile(str(path))


class ImageReader:
    """Read an image file or a folder of images as a clip (same interface as VideoReader)."""

    def __init__(self, path: str | Path, *, fps: Fraction = Fraction(25),
                 color: ColorInfo | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputNotFoundError(self.path)
        if self.path.is_dir():
            self.files = list_images(self.path)
            if not self.files:
                raise UnsupportedFormatError(f"{self.path}: the folder holds no images "
                                             f"({', '.join(sorted(IMAGE_EXTS))})", path=self.path)
        else:
            self.files = [self.path]
        first, depth = read_image(self.files[0])
        self.first = first
        self.rotation = 0
        self.frames_decoded = 0
        tb = Fraction(1) / Fraction(fps)
        self.spec = VideoSpec(width=first.shape[1], height=first.shape[0],
                              color=color or ColorInfo.srgb(), time_base=tb,
                              frame_rate=Fraction(fps), bit_depth=depth, chroma="444",
                              frame_count=len(self.files))

    def copy_streams(self) -> list:
        return []

    def frames(self, on_packet: object = None) -> Iterator[Frame]:
        for i, f in enumerate(self.files):
            rgb = self.first if i == 0 else read_image(f)[0]
            if rgb.shape[:2] != (self.spec.height, self.spec.width):
                raise DecodeError(f"{f}: is {rgb.shape[1]}x{rgb.shape[0]}, but the folder's first "
                                  f"image is {self.spec.width}x{self.spec.height}; all images "
                                  "in a folder must have one size", path=f, frame_index=i)
            self.frames_decoded = i + 1
            yield Frame.from_rgb(rgb, index=i, pts=i, time_base=self.spec.time_base)

    def close(self) -> None:
        self.first = None

    def __enter__(self) -> ImageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageWriter:
    """Write frames as one image (``out.png``) or a folder of images (``out/``).

    Like VideoWriter, output goes to a temporary name and is renamed into place on close.
    """

    def __init__(self, path: str | Path, spec: VideoSpec, *, ext: str = ".png") -> None:
        from .encode import temp_path
        self.path = Path(path)
        self.spec = spec
        self.single = is_image_path(self.path)
        self.tmp = temp_path(self.path) if self.single else self.path.with_name(
            f".{self.path.name}.revival-tmp")
        self.ext = ext
        self.frames_written = 0
        if not self.single:
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
            self.tmp.mkdir(parents=False)

    def set_rotation(self, degrees: int) -> None:
        """Images are written as stored; rotation metadata does not apply."""

    def queue_packet(self, packet: object) -> None:
        """Images carry no other streams."""

    def write(self, frame: Frame) -> None:
        if self.single and self.frames_written:
            raise EncodeError(f"{self.path} is a single image but the input has more than one "
                              "frame; give a folder (a path without an image extension) instead",
                              path=self.path)
        target = self.tmp if self.single else self.tmp / f"frame_{frame.index:06d}{self.ext}"
        write_image(target, frame.rgb, bit_depth=self.spec.bit_depth)
        self.frames_written += 1

    def close(self, *, expected_frames: int | None = None) -> Path:
        if expected_frames is not None and expected_frames != self.frames_written:
            self.abort()
            raise EncodeError(f"wrote {self.frames_written} frames, expected {expected_frames}",
                              path=self.path)
        if self.single:
            os.replace(self.tmp, self.path)
        else:
            old = None
            if self.path.exists():
                old = self.path.with_name(f".{self.path.name}.revival-old")
                os.replace(self.path, old)
            os.replace(self.tmp, self.path)
            if old is not None:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        return self.path

    finish_partial = close

    def abort(self) -> None:
        if self.single:
            self.tmp.unlink(missing_ok=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
