"""``revival demo``: make a small degraded clip, restore it, write a before/after picture.

The input is generated here (no download, nothing bundled from elsewhere): a
synthetic scene with motion, text and fine bars, downscaled, noised and
compressed with H.264 at a low bitrate, with an AAC audio track that the
restoration must carry through untouched.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .frames.color import ColorInfo
from .frames.convert import rgb_to_planes
from .io.decode import VideoReader
from .io.images import write_image
from .pipeline.job import restore
from .stages.resize import resize
from .testing.clips import _encode_tone, fill_plane, scene

log = logging.getLogger(__name__)
DEMO_PRESET = "demo"


def make_demo_input(path: Path, *, frames: int = 48, width: int = 320, height: int = 180,
                    seed: int = 7) -> Path:
    """A degraded 320x180 H.264 clip with AAC audio (what old web video looks like)."""
    rng = np.random.default_rng(seed)
    color = ColorInfo.bt709()
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"crf": "30", "preset": "veryfast"}
        cc = vs.codec_context
        cc.colorspace, cc.color_trc, cc.color_primaries, cc.color_range = 1, 1, 1, 1
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        audio.metadata["language"] = "eng"
        for i in range(frames):
            hr = scene(i, height * 2, width * 2, seed=seed)
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
    """Build the demo input in ``out_dir``, restore it with the demo preset, write a picture."""
    out_dir.mkdir(parents=True, exist_ok=True)
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
