"""Reduced-scale optical flow: Gaussian-pyramid against box downscaling of the frames.

Set14 images (grey) are moved by known sub-pixel translations with an exact Fourier
phase ramp (:func:`revival.testing.motion.translate_exact`); DIS (``fast``) estimates
the flow at 1/2 and 1/4 of the resolution from frames downscaled either by a box
(area) filter, as ``estimate_flow`` did before, or by :func:`revival.flow.downscale`
(Gaussian pyramid), as it does now. Reported: mean end-point error (pixels, at full
resolution) away from a 16-pixel border.

Usage: python benchmarks/flow_scale.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _env import SHARED_DATA, markdown_table, write_results  # noqa: E402

from revival.flow import downscale, endpoint_error, resize_flow, to_gray8  # noqa: E402
from revival.flow.dis import _dis, working_size  # noqa: E402
from revival.testing.motion import translate_exact  # noqa: E402

IMAGES = ("barbara", "zebra", "baboon", "lenna")
SHIFTS = ((1.3, 0.7), (3.6, -2.2))
SCALES = (0.5, 0.25)


def epe(grey: np.ndarray, moved: np.ndarray, truth: np.ndarray, mask: np.ndarray,
        scale: float, how: str) -> float:
    h, w = grey.shape
    hs, ws = working_size(h, w, scale)
    if how == "box":
        a, b = (cv2.resize(to_gray8(x), (ws, hs), interpolation=cv2.INTER_AREA)
                for x in (grey, moved))
    else:
        a, b = (to_gray8(downscale(x, (hs, ws))) for x in (grey, moved))
    flow = resize_flow(_dis("fast").calc(a, b, None), h, w)
    return endpoint_error(flow, truth, mask=mask)


def main() -> int:
    folder = SHARED_DATA / "Set14" / "GTmod12"
    if not folder.is_dir():
        print(f"Set14 not found under {SHARED_DATA}", file=sys.stderr)
        return 2
    rows, results = [], []
    for name in IMAGES:
        rgb = cv2.imread(str(folder / f"{name}.png"))[:, :, ::-1].astype(np.float32) / 255
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        mask = np.zeros((h, w), bool)
        mask[16:-16, 16:-16] = True
        for dx, dy in SHIFTS:
            moved = translate_exact(grey, (dx, dy))
            truth = np.broadcast_to(np.array([-dx, -dy], np.float32), (h, w, 2))
            for scale in SCALES:
                box = epe(grey, moved, truth, mask, scale, "box")
                pyr = epe(grey, moved, truth, mask, scale, "pyramid")
                results.append({"image": name, "shift": [dx, dy], "scale": scale,
                                "epe_box": box, "epe_pyramid": pyr})
                rows.append([name, f"({dx}, {dy})", scale, f"{box:.3f}", f"{pyr:.3f}",
                             f"{100 * (1 - pyr / box):+.0f}%"])
                print(rows[-1], flush=True)
    table = markdown_table(["image", "shift (px)", "flow scale", "EPE box downscale",
                            "EPE Gaussian pyramid", "lower by"], rows)
    notes = ("DIS preset fast (finest level 2), grey frames, end-point error in full-resolution "
             "pixels over the image less a 16-pixel border. The moved frame is the image "
             "sampled at (x + dx, y + dy) by an exact Fourier phase ramp, so the true flow is "
             "(-dx, -dy) everywhere.")
    write_results("flow_scale", {"cases": results}, table, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
