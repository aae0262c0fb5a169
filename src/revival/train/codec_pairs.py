"""Training pairs for artifact removal: clean frames and their real-codec round trips.

Every sample is a short clip (``frames`` frames) so the codec makes inter-coded
frames as well as intra frames: still images become clips by panning a crop
window across them at a random speed (integer pixel steps, so the clean frames
are exact crops); video sources give real motion. Each clip goes through one
codec at a random quality, through PyAV, so the blocking, ringing and mosquito
noise are the codec's own:

- H.264 (libx264, CRF 18..51, biased towards 32..48, preset veryfast or medium),
- MPEG-2 and MPEG-4 Part 2 at 0.03..0.4 bits per pixel,
- JPEG at quality 5..60 (per frame, as in motion-JPEG and stills).

Pairs are stored as 8-bit arrays ``(H, W, 3)`` (degraded, clean). Generation is
deterministic for a seed.

For multi-frame networks (``radius`` > 0) the degraded side of a pair stacks the
decoded frame and its ``radius`` decoded neighbours on each side, aligned to it
with the run-time alignment (:func:`revival.flow.align.stack_aligned`), centre
first: ``(H, W, 3 * (2 * radius + 1))``. One neighbour in ten is replaced by the
centre frame itself, as at the ends of a clip.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

from ..errors import InputNotFoundError
from .data import PairSet, list_images, read_rgb
from .degrade import jpeg, video_codec

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi")


def pan_clip(image: np.ndarray, *, frames: int, rng: np.random.Generator) -> np.ndarray:
    """(T, h, w, 3) crops of ``image`` moving at a random integer velocity (<= 4 px/frame)."""
    vy, vx = (int(v) for v in rng.integers(-4, 5, size=2))
    h = image.shape[0] - abs(vy) * (frames - 1)
    w = image.shape[1] - abs(vx) * (frames - 1)
    h, w = h - h % 2, w - w % 2
    y0 = 0 if vy >= 0 else image.shape[0] - h
    x0 = 0 if vx >= 0 else image.shape[1] - w
    return np.stack([image[y0 + t * vy:y0 + t * vy + h, x0 + t * vx:x0 + t * vx + w]
                     for t in range(frames)])


def random_codec(clip: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Round-trip ``clip`` (T, H, W, 3) float32 through a random codec; returns (out, label)."""
    t, h, w, _ = clip.shape
    u = rng.random()
    if u < 0.65:
        crf = int(rng.integers(32, 49)) if rng.random() < 0.75 else int(rng.integers(18, 52))
        preset = str(rng.choice(["veryfast", "medium"]))
        return video_codec(clip, codec="h264", crf=crf, preset=preset), f"h264 crf{crf} {preset}"
    if u < 0.9:
        codec = "mpeg2video" if u < 0.8 else "mpeg4"
        bpp = float(np.exp(rng.uniform(np.log(0.03), np.log(0.4))))
        rate = max(20_000, int(bpp * h * w * 25))
        return video_codec(clip, codec=codec, bitrate=rate), f"{codec} {rate // 1000}k"
    q = int(rng.integers(5, 61))
    return np.stack([jpeg(f, q) for f in clip]), f"jpeg q{q}"


def video_chunks(path: Path, *, frames: int, every: int, limit: int,
                 shrink: int) -> list[np.ndarray]:
    """Up to ``limit`` runs of ``frames`` consecutive frames, one run every ``every`` frames,
    each frame area-downscaled by ``shrink`` (which also removes most of the source's own
    compression noise)."""
    import cv2

    out, run = [], []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every < frames:
                rgb = frame.to_ndarray(format="rgb24")
                if shrink > 1:
                    rgb = cv2.resize(rgb, (rgb.shape[1] // shrink, rgb.shape[0] // shrink),
                                     interpolation=cv2.INTER_AREA)
                run.append(rgb)
                if len(run) == frames:
                    out.append(np.stack(run))
                    run = []
                    if len(out) >= limit:
                        break
            else:
                run = []
    return out


def list_sources(folders: list[str | Path]) -> list[tuple[str, Path]]:
    """(kind, path) of every clip source: ``"video"`` files, ``"sequence"`` folders
    (Vimeo-90K layout, ``im1.png`` .. ``im7.png``) or ``"image"`` files, folder by folder."""
    sources: list[tuple[str, Path]] = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise InputNotFoundError(folder)
        videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        seqs = sorted(p.parent for p in folder.rglob("im1.png") if p.parent != folder)
        if videos:
            sources += [("video", p) for p in videos]
        elif seqs:
            sources += [("sequence", p) for p in seqs]
        else:
            sources += [("image", p) for p in list_images([folder])]
    return sources


def source_clips(kind: str, path: Path, *, frames: int, rng: np.random.Generator,
                 clips_per_image: int = 2, video_every: int = 24, video_limit: int = 12,
                 video_shrink: int = 2) -> list[np.ndarray]:
    """uint8 (T, H, W, 3) clean clips of one source: panned crops of an image, a sequence
    and its mirror image, or runs of a video's frames (see :func:`video_chunks`)."""
    if kind == "image":
        img = read_rgb(path)
        return [pan_clip(img, frames=frames, rng=rng) for _ in range(clips_per_image)]
    if kind == "sequence":
        seq = np.stack([read_rgb(path / f"im{i}.png") for i in range(1, 8)])[:frames]
        return [seq, seq[:, :, ::-1]]
    return video_chunks(path, frames=frames, every=video_every, limit=video_limit,
                        shrink=video_shrink)


def build_codec_pairs(folders: list[str | Path], *, seed: int, frames: int = 6,
                      keep: tuple[int, ...] = (0, 2, 5), clips_per_image: int = 2,
                      video_every: int = 24, video_limit: int = 12, video_shrink: int = 2,
                      skip: set[int] | None = None, only: set[int] | None = None,
                      radius: int = 0) -> PairSet:
    """(degraded, clean) 8-bit pairs from image folders, septuplet folders and video files.

    Args:
        folders: folders of images (each image becomes ``clips_per_image`` panned clips),
            folders holding sub-folders of frame sequences (Vimeo-90K layout), or folders
            of video files.
        seed: seeds every random choice.
        frames: clip length; ``keep`` picks which decoded frames become pairs.
        skip, only: indices (into the sorted list of sources) to leave out or to use
            alone, for a held-out validation split.
        radius: aligned decoded neighbours on each side stacked with each degraded frame
            (0 = single frames).
    """
    from ..flow.align import stack_aligned

    rng = np.random.default_rng(seed)
    drop = np.random.default_rng([seed, 1])  # apart, so radius leaves the codecs unchanged
    sources = list_sources(folders)
    degraded, clean, labels = [], [], []
    for idx, (kind, path) in enumerate(sources):
        if (skip and idx in skip) or (only is not None and idx not in only):
            rng.random()  # keep the stream aligned with the full run
            continue
        clips = source_clips(kind, path, frames=frames, rng=rng, clips_per_image=clips_per_image,
                             video_every=video_every, video_limit=video_limit,
                             video_shrink=video_shrink)
        for clip in clips:
            h, w = clip.shape[1] - clip.shape[1] % 2, clip.shape[2] - clip.shape[2] % 2
            clip = clip[:, :h, :w]
            out, label = random_codec(clip.astype(np.float32) / 255.0, rng)
            out8 = np.round(out * 255.0).astype(np.uint8)
            decoded = out8.astype(np.float32) / 255.0 if radius else None
            for k in keep:
                if k < len(clip):
                    if radius:
                        window = [decoded[k] if j != k and drop.random() < 0.1 else decoded[j]
                                  for j in range(len(decoded))]
                        stacked = stack_aligned(window, k, radius=radius)
                        degraded.append(np.round(stacked * 255.0).astype(np.uint8))
                    else:
                        degraded.append(out8[k])
                    clean.append(np.ascontiguousarray(clip[k]))
                    labels.append(label)
    log.info("built %d codec pairs from %d sources", len(degraded), len(sources))
    return PairSet(lr=degraded, hr=clean, scale=1)
