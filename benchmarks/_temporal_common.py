"""Shared helpers of the temporal benchmarks: data loading, degradations, local metrics.

E_warp, tOF and the motion-compensated flicker index come from
``revival.metrics.temporal``; :func:`block_flicker` here adds a block-level
measure that also sees spatially varying flicker.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np

DATA = Path(os.environ.get("REVIVAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def read_png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def read_pngs(folder: Path, count: int | None = None) -> np.ndarray:
    files = sorted(folder.glob("*.png"))[:count]
    return np.stack([read_png(f) for f in files])


def read_video(path: Path, count: int | None = None, start: int = 0) -> np.ndarray:
    out = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i < start:
                continue
            out.append(frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0)
            if count and len(out) >= count:
                break
    return np.stack(out)


def luma(x: np.ndarray) -> np.ndarray:
    """BT.601 Y' in [0, 1] (the SR literature's Y-PSNR convention, without the 16-235 offset)."""
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def psnr_y(a: np.ndarray, b: np.ndarray, border: int = 4) -> float:
    """Y-PSNR in dB over the whole clip (or frame), ``border`` pixels cropped."""
    ya, yb = luma(a), luma(b)
    if border:
        ya = ya[..., border:-border, border:-border]
        yb = yb[..., border:-border, border:-border]
    mse = float(np.mean((ya.astype(np.float64) - yb) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    u8 = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255


def degrade(clip: np.ndarray, *, sigma: float, quality: int, seed: int) -> np.ndarray:
    """Independent per-frame sensor noise (Gaussian, sigma in [0, 1] units) then JPEG."""
    rng = np.random.default_rng(seed)
    out = []
    for f in clip:
        noisy = np.clip(f + rng.normal(0, sigma, f.shape).astype(np.float32), 0, 1)
        out.append(jpeg(noisy, quality))
    return np.stack(out)


def nlm_denoise(clip: np.ndarray, h: float = 10.0) -> np.ndarray:
    """A per-frame restorer: OpenCV non-local means on each frame independently."""
    out = []
    for f in clip:
        u8 = np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8)
        den = cv2.fastNlMeansDenoisingColored(u8, None, h, h, 5, 15)
        out.append(den.astype(np.float32) / 255)
    return np.stack(out)


def block_means(clip: np.ndarray, grid: int = 8) -> np.ndarray:
    """(T, grid, grid) mean luma per block."""
    y = luma(clip)
    return np.stack([cv2.resize(f, (grid, grid), interpolation=cv2.INTER_AREA) for f in y])


def block_flicker(clip: np.ndarray, grid: int = 8) -> float:
    """Mean absolute frame-to-frame change of block-mean luma (x100), global plus 8x8 blocks.

    Content motion contributes too, so report it relative to the clean clip.
    """
    g = luma(clip).mean(axis=(1, 2))
    b = block_means(clip, grid)
    return 100.0 * 0.5 * (float(np.abs(np.diff(g)).mean()) +
                          float(np.abs(np.diff(b, axis=0)).mean()))


def ffmpeg_deflicker(clip: np.ndarray, *, size: int = 9, mode: str = "am") -> np.ndarray:
    """FFmpeg's ``deflicker`` filter (through PyAV's filter graph) on an RGB float clip."""
    graph = av.filter.Graph()
    h, w = clip.shape[1:3]
    src = graph.add_buffer(width=w, height=h, format="rgb24", time_base=__import__("fractions").Fraction(1, 25))
    flt = graph.add("deflicker", f"size={size}:mode={mode}")
    sink = graph.add("buffersink")
    src.link_to(flt)
    flt.link_to(sink)
    graph.configure()
    out = []
    for i, f in enumerate(clip):
        frame = av.VideoFrame.from_ndarray(np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8), format="rgb24")
        frame.pts = i
        graph.push(frame)
        while True:
            try:
                out.append(graph.pull().to_ndarray(format="rgb24"))
            except (av.error.BlockingIOError, av.error.EOFError):
                break
    graph.push(None)
    while True:
        try:
            out.append(graph.pull().to_ndarray(format="rgb24"))
        except (av.error.BlockingIOError, av.error.EOFError):
            break
    return np.stack(out).astype(np.float32) / 255
