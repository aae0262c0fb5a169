from __future__ import annotations

import cv2
import numpy as np

from revival.runtime.quantize import calibration_patches


def photos(folder, n=3):
    rng = np.random.default_rng(0)
    for i in range(n):
        base = rng.random((6, 7, 3)) * 255
        cv2.imwrite(str(folder / f"p{i}.png"),
                    cv2.resize(base, (192, 160), interpolation=cv2.INTER_CUBIC).clip(0, 255)
                    .astype(np.uint8))


def test_calibration_patches_single_and_multi_frame(tmp_path):
    photos(tmp_path)
    one = calibration_patches([tmp_path], channels=3, count=6, size=32)
    assert len(one) == 6 and all(p.shape == (1, 3, 32, 32) for p in one)
    luma = calibration_patches([tmp_path], channels=1, count=2, size=32)
    assert luma[0].shape == (1, 1, 32, 32)
    again = calibration_patches([tmp_path], channels=3, count=6, size=32)
    np.testing.assert_array_equal(one[3], again[3])  # seeded
    multi = calibration_patches([tmp_path], channels=3, count=6, size=32, frames=3)
    assert all(p.shape == (1, 9, 32, 32) for p in multi)
    # neighbours are crops at most one pixel away from the centre crop: much closer to it
    # than two different crops are to each other, and not always copies of it
    gaps = [np.abs(p[0, k:k + 3] - p[0, :3]).mean() for p in multi for k in (3, 6)]
    apart = [np.abs(a[0, :3] - b[0, :3]).mean() for a, b in zip(multi, multi[1:])]
    assert max(gaps) < 0.25 * np.mean(apart)
    assert sum(g > 0 for g in gaps) >= 6
