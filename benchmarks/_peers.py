"""Shared helpers of the benchmarks: FFmpeg filter peers and RGB PSNR."""

from __future__ import annotations

import av
import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a8 = np.clip(np.rint(a * 255), 0, 255)
    return float(10 * np.log10(255.0 ** 2 / np.mean((a8 - b * 255) ** 2)))


def ffmpeg_filter(frames: np.ndarray, chain: str) -> np.ndarray:
    """Run an FFmpeg filter chain over RGB float frames (through gbrp, 8-bit)."""
    h, w = frames.shape[1:3]
    graph = av.filter.Graph()
    src = graph.add_buffer(width=w, height=h, format="rgb24", time_base=1 / 25)
    last = src
    for spec in ["format=gbrp", chain, "format=rgb24"]:
        name, _, args = spec.partition("=")
        node = graph.add(name, args or None)
        last.link_to(node)
        last = node
    sink = graph.add("buffersink")
    last.link_to(sink)
    graph.configure()
    out = []
    for i, f in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(np.clip(np.rint(f * 255), 0, 255).astype(np.uint8), format="rgb24")
        vf.pts = i
        graph.push(vf)
        while True:
            try:
                out.append(graph.pull().to_ndarray().astype(np.float32) / 255)
            except (av.error.BlockingIOError, av.error.EOFError):
                break
    graph.push(None)
    while True:
        try:
            out.append(graph.pull().to_ndarray().astype(np.float32) / 255)
        except (av.error.BlockingIOError, av.error.EOFError):
            break
    return np.stack(out)
