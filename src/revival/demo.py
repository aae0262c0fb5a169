"""``revival demo``: make a small degraded clip, restore it, write a before/after picture.

The input is generated here (no download, nothing bundled from elsewhere): a
synthetic scene with motion, text and fine bars, downscaled, noised and
compressed with H.264 at a low bitrate, with an AAC audio track that the
restoration must carry through untouched.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

from .errors import OutputPathError
from .frames.color import ColorInfo
from .frames.convert import rgb_to_planes
from .io.decode import VideoReader
from .io.images import write_image
from .io.x264 import x264_options
from .pipeline.job import restore
from .stages.resize import resize
from .testing.clips import _encode_tone, fill_plane

log = logging.getLogger(__name__)
DEMO_PRESET = "demo"


@lru_cache(maxsize=2)
def _landscape_canvas(height: int, width: int, seed: int) -> np.ndarray:
    """A wide procedural landscape (float32 RGB): sky, hills, grass texture, a house, a sign."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    v = yy / h

    def fractal(octaves: int = 6) -> np.ndarray:
        out = np.zeros((h, w), np.float32)
        for o in range(octaves):
            cells = 4 * 2 ** o
            grid = rng.random((cells * h // w + 2, cells + 2)).astype(np.float32)
            out += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) / 2 ** o
        return out / 2.0

    sky = np.stack([0.45 + 0.35 * v, 0.62 + 0.25 * v, 0.92 - 0.05 * v], axis=-1)
    img = sky.astype(np.float32)
    clouds = np.clip(fractal(5) - 0.55, 0, 1)[..., None] * 1.6
    img = img * (1 - clouds) + clouds * 0.97
    sun = (xx - 0.4 * w) ** 2 + (yy - 0.18 * h) ** 2 < (0.05 * h) ** 2
    img[sun] = (1.0, 0.93, 0.7)
    texture = fractal(8)
    blades = cv2.resize(rng.random((h // 2, w)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_LINEAR)  # fine vertical grass strokes
    for depth, (base, colour) in enumerate([(0.45, (0.35, 0.5, 0.4)), (0.58, (0.25, 0.45, 0.2)),
                                            (0.7, (0.3, 0.55, 0.15))]):
        ridge = base * h + 0.06 * h * np.sin(xx / w * (5 + 3 * depth) + depth) \
            + 0.03 * h * np.sin(xx / w * 23 + 2 * depth)
        land = yy > ridge
        shade = (0.65 + 0.35 * texture + 0.12 * depth * (blades - 0.5))[..., None]
        img[land] = (np.array(colour, np.float32) * shade)[land]
    canvas = np.ascontiguousarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    for x0 in (int(0.05 * w), int(0.33 * w)):
        top, size = int(0.55 * h), int(0.18 * h)
        cv2.rectangle(canvas, (x0, top), (x0 + size, top + size), (205, 190, 160), -1)
        pts = np.array([[x0 - size // 8, top], [x0 + size // 2, top - size // 2],
                        [x0 + size + size // 8, top]], np.int32)
        cv2.fillPoly(canvas, [pts], (150, 60, 45))
        for wx in (x0 + size // 6, x0 + size * 3 // 5):
            cv2.rectangle(canvas, (wx, top + size // 5), (wx + size // 4, top + size // 2),
                          (60, 80, 110), -1)
            cv2.line(canvas, (wx + size // 8, top + size // 5), (wx + size // 8, top + size // 2),
                     (235, 235, 235), 1)
    scale = h / 360
    cv2.rectangle(canvas, (int(0.2 * w), int(0.78 * h)), (int(0.2 * w + 190 * scale),
                  int(0.78 * h + 40 * scale)), (240, 235, 220), -1)
    cv2.putText(canvas, "REVIVAL 1987", (int(0.2 * w + 10 * scale), int(0.78 * h + 29 * scale)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (40, 40, 40), max(1, int(2 * scale)),
                cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def landscape(index: int, height: int, width: int, *, seed: int = 7) -> np.ndarray:
    """Frame ``index`` of a slow pan (2 px per frame at 720 lines) over the landscape."""
    canvas = _landscape_canvas(height, width * 2, seed)
    shift = 2.0 * height / 720 * index
    m = np.array([[1, 0, shift], [0, 1, 0]], np.float32)
    return cv2.warpAffine(canvas, m, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def make_demo_input(path: Path, *, frames: int = 48, width: int = 320, height: int = 180,
                    seed: int = 7) -> Path:
    """A degraded 320x180 H.264 clip with AAC audio (what old web video looks like)."""
    rng = np.random.default_rng(seed)
    color = ColorInfo.bt709()
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = x264_options({"crf": "30", "preset": "veryfast"})
        cc = vs.codec_context
        cc.colorspace, cc.color_trc, cc.color_primaries, cc.color_range = 1, 1, 1, 1
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        audio.metadata["language"] = "eng"
        for i in range(frames):
            hr = landscape(i, height * 2, width * 2, seed=seed)
            lr = resize(hr, scale=0.5, kernel="bicubic")
            lr = lr + rng.normal(0, 0.015, lr.shape).astype(np.float32)
            planes = rgb_to_planes(np.clip(lr, 0, 1), color, bit_depth=8, chroma="420")
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane, arr in zip(frame.planes, (planes.y, planes.u, planes.v)):
                fill_plane(plane, arr)
            frame.pts = i
            frame.time_base = Fraction(1, 25)
            out.mux(vs.encode(frame))
        out.mux(vs.encode())
        _encode_tone(out, audio, frames / 25)
    return path


def _label(img: np.ndarray, text: str) -> np.ndarray:
    canvas = np.ascontiguousarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    cv2.rectangle(canvas, (0, 0), (12 + 11 * len(text), 26), (0, 0, 0), -1)
    cv2.putText(canvas, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1,
                cv2.LINE_AA)
    return canvas.astype(np.float32) / 255


def side_by_side(before: Path, after: Path, picture: Path, *, index: int) -> Path:
    """Frame ``index`` of both clips next to each other at the output size.

    The input is enlarged with nearest-neighbour so it shows what the input holds.
    """
    def grab(path: Path) -> np.ndarray:
        with VideoReader(path) as reader:
            for frame in reader.frames():
                if frame.index == index:
                    return frame.rgb
        raise ValueError(f"{path} has no frame {index}")

    a, b = grab(before), grab(after)
    fy, fx = b.shape[0] // a.shape[0], b.shape[1] // a.shape[1]
    a = np.repeat(np.repeat(a, fy, axis=0), fx, axis=1)[: b.shape[0], : b.shape[1]]
    gap = np.ones((b.shape[0], 8, 3), np.float32)
    write_image(picture, np.concatenate([_label(a, "input"), gap, _label(b, "Revival")], axis=1))
    return picture


def run_demo(out_dir: Path, *, quiet: bool = True) -> dict[str, Path]:
    """Build the demo input in ``out_dir``, restore it with the demo preset, write a picture.

    Raises:
        OutputPathError: ``out_dir`` (or a folder above it) is a file, or cannot be created.
    """
    blocker = next((p for p in (out_dir, *out_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OutputPathError(f"demo output {blocker} is a file; give a folder (a new or existing "
                              "folder name) with -o", path=out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot create the demo folder {out_dir} ({exc.strerror}); "
                              "give a folder that can be written with -o", path=out_dir) from None
    src = make_demo_input(out_dir / "demo_input.mp4")
    out = out_dir / "demo_restored.mp4"
    progress = None
    if not quiet:
        from .cli.progress import ProgressPrinter
        progress = ProgressPrinter()
    restore(src, out, preset=DEMO_PRESET, overwrite=True, progress=progress)
    if progress is not None:
        progress.finish()
    picture = side_by_side(src, out, out_dir / "before_after.png", index=24)
    return {"input": src, "output": out, "comparison": picture}
