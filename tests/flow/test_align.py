from __future__ import annotations

import numpy as np

from revival.flow.align import align_to, stack_aligned


def scene(h=96, w=128, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    import cv2
    return cv2.resize(base, (w + 16, h + 16), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def test_align_to_undoes_a_known_shift():
    big = scene()
    ref = big[8:104, 8:136]
    other = big[5:101, 10:138]  # content moved by (+2 x, +3 y) ... relative to ref
    aligned = align_to(ref, other)
    inner = (slice(12, -12), slice(12, -12))
    before = np.abs(other - ref)[inner].mean()
    after = np.abs(aligned - ref)[inner].mean()
    assert after < 0.25 * before


def test_stack_aligned_layout_and_missing_neighbours():
    big = scene(seed=1)
    window = np.stack([big[8 + d:104 + d, 8:136] for d in (0, 1, 2)])
    st = stack_aligned(window, 1, radius=1)
    assert st.shape == (96, 128, 9) and st.dtype == np.float32
    np.testing.assert_array_equal(st[..., :3], window[1])  # centre first, untouched
    # at the start of a clip the missing left neighbour is the centre frame itself
    first = stack_aligned(window, 0, radius=1)
    np.testing.assert_array_equal(first[..., 3:6], window[0])
    assert np.abs(first[..., 6:9] - window[0])[12:-12, 12:-12].mean() < 0.02


def test_align_to_falls_back_to_the_reference_where_alignment_fails():
    ref = scene(seed=2)[8:104, 8:136]
    other = scene(seed=7)[8:104, 8:136]  # a different shot: nothing aligns
    aligned = align_to(ref, other)
    assert np.mean(np.all(aligned == ref, axis=2)) > 0.6
    # a clean neighbour with codec-like noise is used, not replaced
    noisy = np.clip(ref + np.random.default_rng(0).normal(0, 0.03, ref.shape), 0, 1)
    aligned = align_to(ref, noisy.astype(np.float32))
    assert np.mean(np.all(aligned == ref, axis=2)) < 0.05
