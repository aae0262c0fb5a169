"""Synthetic flicker for deflicker tests and benchmarks.

Per frame: a random gain, gamma and offset (global, with a small per-channel
part for colour flicker) and, optionally, a smooth spatially varying gain field.
"""

from __future__ import annotations

import cv2
import numpy as np


def add_flicker(clip: np.ndarray, *, gain: float = 0.15, gamma: float = 0.12,
                offset: float = 0.04, colour: float = 0.04, spatial: float = 0.15,
                seed: int = 0) -> np.ndarray:
    """Return ``clip`` (T, H, W, 3) float32 in [0, 1] with random per-frame flicker.

    Args:
        gain: half-range of the global gain (1 +- gain).
        gamma: half-range of the gamma exponent (1 +- gamma).
        offset: half-range of the additive offset.
        colour: half-range of an extra per-channel gain (colour flicker).
        spatial: amplitude of a smooth random gain field (0 for global flicker only).
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    t, h, w = clip.shape[:3]
    out = np.empty_like(clip, dtype=np.float32)
    for i in range(t):
        g = 1 + rng.uniform(-gain, gain) + rng.uniform(-colour, colour, 3)
        gm = 1 + rng.uniform(-gamma, gamma)
        off = rng.uniform(-offset, offset)
        frame = np.power(np.clip(clip[i], 0, 1), gm) * g.astype(np.float32) + off
        if spatial:
            field = rng.standard_normal((4, 4)).astype(np.float32)
            field = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
            frame = frame * (1 + spatial * np.clip(field, -2, 2) / 2)[..., None]
        out[i] = np.clip(frame, 0, 1)
    return out
