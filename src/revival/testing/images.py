"""Small synthetic image folders for training tests (generated, never downloaded)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_images(folder: Path, n: int = 3, size: tuple[int, int] = (70, 90)) -> Path:
    """Write ``n`` textured 8-bit PNGs (striped patterns plus noise) into ``folder``.

    Returns ``folder`` (created if needed).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        yy, xx = np.mgrid[0:size[0], 0:size[1]]
        img = 127 + 100 * np.sin(xx / (3 + i))[..., None] * np.cos(yy / 5)[..., None]
        img = img + rng.normal(0, 10, img.shape[:2] + (3,))
        cv2.imwrite(str(folder / f"im{i}.png"), np.clip(img, 0, 255).astype(np.uint8))
    return folder
