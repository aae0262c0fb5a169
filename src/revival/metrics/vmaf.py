"""VMAF and VMAF NEG through an FFmpeg build with libvmaf (optional extra ``vmaf``).

The ``imageio-ffmpeg`` wheel ships an FFmpeg with libvmaf and its built-in models
``vmaf_v0.6.1`` and ``vmaf_v0.6.1neg``; Debian's ``ffmpeg`` is built without it.
Frames are handed to FFmpeg as 8-bit 4:2:0 Y4M files (BT.709 matrix, limited
range) written while the clips stream, so VMAF sees exactly the frames the other
metrics see. VMAF NEG ("no enhancement gain") is the variant meant for
enhancement, which plain VMAF over-rewards (sharpening raises plain VMAF).

Example (needs the extra):
    >>> import numpy as np
    >>> clip = np.random.default_rng(0).random((3, 64, 64, 3)).astype(np.float32)
    >>> scores = vmaf(clip, clip)  # doctest: +SKIP
    >>> scores["vmaf"][0] > 95  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import ConfigError, MissingDependencyError, RevivalError

log = logging.getLogger(__name__)

MODELS = {"vmaf": "vmaf_v0.6.1", "vmaf_neg": "vmaf_v0.6.1neg"}
_FIX = "pip install 'revival[vmaf]' (the imageio-ffmpeg wheel ships an FFmpeg built with libvmaf)"


@lru_cache(maxsize=1)
def find_ffmpeg() -> str:
    """Path of an FFmpeg executable that has the ``libvmaf`` filter.

    Order: ``$REVIVAL_FFMPEG``, the imageio-ffmpeg wheel's binary, ``ffmpeg`` on PATH.

    Raises:
        MissingDependencyError: none of them has libvmaf; the message says what to install.
    """
    candidates = []
    if os.environ.get("REVIVAL_FFMPEG"):
        candidates.append(os.environ["REVIVAL_FFMPEG"])
    try:
        import imageio_ffmpeg
        candidates.append(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # noqa: BLE001 - missing or broken optional package
        log.debug("imageio-ffmpeg unavailable: %s", exc)
    on_path = shutil.which("ffmpeg")
    if on_path:
        candidates.append(on_path)
    for exe in candidates:
        try:
            out = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True,
                                 text=True, timeout=30, check=False).stdout
        except OSError:
            continue
        if " libvmaf " in out:
            return exe
        log.debug("%s has no libvmaf filter", exe)
    raise MissingDependencyError(f"VMAF needs an FFmpeg with libvmaf; none found "
                                 f"(tried {candidates or 'nothing'}). Fix: {_FIX}")


def rgb_to_yuv420_8bit(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB [0, 1] -> BT.709 limited-range 8-bit Y, Cb, Cr planes (chroma 2x2-averaged)."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    r, g, b = (np.clip(rgb[..., i].astype(np.float64), 0, 1) for i in range(3))
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748

    def down(c: np.ndarray) -> np.ndarray:
        return 0.25 * (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2])

    def q(v: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(v), 0, 255).astype(np.uint8)

    return q(16 + 219 * y), q(128 + 224 * down(cb)), q(128 + 224 * down(cr))


class Y4MWriter:
    """Append RGB frames to an 8-bit 4:2:0 Y4M file (even-padded)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float = 25.0) -> None:
        self.path = Path(path)
        self.width, self.height = width, height
        self._fh = open(self.path, "wb")
        num, den = (int(round(fps * 1000)), 1000) if fps else (25, 1)
        pw, ph = width + width % 2, height + height % 2
        self._fh.write(f"YUV4MPEG2 W{pw} H{ph} F{num}:{den} Ip A1:1 C420jpeg\n".encode())
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if rgb.shape[:2] != (self.height, self.width):
            raise ConfigError(f"Y4M frame is {rgb.shape[1]}x{rgb.shape[0]}, expected "
                              f"{self.width}x{self.height}", key="frame")
        y, u, v = rgb_to_yuv420_8bit(rgb)
        self._fh.write(b"FRAME\n")
        for plane in (y, u, v):
            self._fh.write(np.ascontiguousarray(plane).tobytes())
        self.frames += 1

    def close(self) -> None:
        self._fh.close()


def vmaf_y4m(reference: str | Path, distorted: str | Path, *,
             models: Iterable[str] = ("vmaf", "vmaf_neg"), threads: int = 0) -> dict[str, list[float]]:
    """Per-frame VMAF scores of two Y4M (or any FFmpeg-readable) files.

    Args:
        reference, distorted: files of equal size and frame count.
        models: keys of :data:`MODELS`.
        threads: libvmaf threads (0 = automatic).

    Returns:
        ``{key: [score per frame]}`` on the 0-100 scale.

    Raises:
        MissingDependencyError: no FFmpeg with libvmaf.
        ConfigError: an unknown model key.
        RevivalError: FFmpeg failed (its last message is included).
    """
    models = list(models)
    for m in models:
        if m not in MODELS:
            raise ConfigError(f"unknown VMAF model {m!r}; choose from {sorted(MODELS)}", key="models")
    exe = find_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="revival-vmaf-") as tmp:
        log_path = Path(tmp) / "vmaf.json"
        spec = "|".join(f"version={MODELS[m]}\\:name={m}" for m in models)
        graph = (f"[0:v][1:v]libvmaf=model='{spec}':log_fmt=json:"
                 f"log_path={log_path.as_posix()}:n_threads={int(threads)}")
        cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(distorted),
               "-i", str(reference), "-lavfi", graph, "-f", "null", "-"]
        log.debug("running %s", cmd)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not log_path.exists():
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise RevivalError(f"FFmpeg libvmaf failed (exit {proc.returncode}): {' / '.join(tail)}")
        data = json.loads(log_path.read_text())
    frames = sorted(data["frames"], key=lambda f: f["frameNum"])
    return {m: [float(f["metrics"][m]) for f in frames] for m in models}


def vmaf(reference: Iterable[np.ndarray], distorted: Iterable[np.ndarray], *,
         models: Iterable[str] = ("vmaf", "vmaf_neg"), threads: int = 0) -> dict[str, list[float]]:
    """Per-frame VMAF of two clips of RGB frames in [0, 1] (``(T, H, W, 3)`` or iterables).

    Raises:
        MissingDependencyError: no FFmpeg with libvmaf (see :func:`find_ffmpeg`).
        ConfigError: the clips differ in size or length.
    """
    find_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="revival-vmaf-") as tmp:
        writers: list[Y4MWriter | None] = [None, None]
        for pair in _zip_strict(reference, distorted):
            for i, frame in enumerate(pair):
                if writers[i] is None:
                    writers[i] = Y4MWriter(Path(tmp) / f"{i}.y4m", frame.shape[1], frame.shape[0])
                writers[i].write(frame)
        if writers[0] is None:
            raise ConfigError("VMAF needs at least one frame", key="reference")
        for w in writers:
            w.close()
        if (writers[0].width, writers[0].height) != (writers[1].width, writers[1].height):
            raise ConfigError("reference and distorted frames differ in size", key="distorted")
        return vmaf_y4m(writers[0].path, writers[1].path, models=models, threads=threads)


def _zip_strict(a: Iterable[np.ndarray], b: Iterable[np.ndarray]):
    ia, ib = iter(a), iter(b)
    sentinel = object()
    while True:
        x, y = next(ia, sentinel), next(ib, sentinel)
        if x is sentinel and y is sentinel:
            return
        if x is sentinel or y is sentinel:
            raise ConfigError("reference and distorted clips have different frame counts",
                              key="distorted")
        yield np.asarray(x), np.asarray(y)
