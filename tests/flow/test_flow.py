import numpy as np
import pytest

from revival.errors import ConfigError, RevivalError, UnsupportedFormatError
from revival.flow import (endpoint_error, estimate_flow, inside_mask, occlusion_mask,
                          resize_flow, warp)
from revival.testing.motion import crop_at, textured_image

H, W = 96, 128


@pytest.fixture(scope="module")
def canvas():
    return textured_image(160, 200, seed=3)


def _pair(canvas, d):
    a = crop_at(canvas, (20.0, 20.0), H, W)
    b = crop_at(canvas, (20.0 + d[0], 20.0 + d[1]), H, W)
    return a, b


@pytest.mark.parametrize("preset", ["ultrafast", "fast", "medium"])
@pytest.mark.parametrize("shift", [(0.0, 0.0), (2.5, -1.25), (-6.0, 3.5), (0.4, 0.3)])
def test_flow_recovers_known_shift(canvas, preset, shift):
    a, b = _pair(canvas, shift)
    # a[y, x] = canvas[y + 20, x + 20] = b[y - dy, x - dx]  ->  flow = -shift
    flow = estimate_flow(a, b, preset=preset)
    assert flow.shape == (H, W, 2) and flow.dtype == np.float32
    truth = np.broadcast_to(np.array([-shift[0], -shift[1]], np.float32), flow.shape)
    interior = np.zeros((H, W), bool)
    interior[10:-10, 10:-10] = True
    limit = {"ultrafast": 0.5, "fast": 0.35, "medium": 0.25}[preset]
    assert endpoint_error(flow, truth, mask=interior) < limit


def test_flow_at_half_scale_is_rescaled(canvas):
    a, b = _pair(canvas, (4.0, -2.0))
    flow = estimate_flow(a, b, preset="fast", scale=0.5)
    assert flow.shape == (H, W, 2)
    med = np.median(flow[10:-10, 10:-10].reshape(-1, 2), axis=0)
    np.testing.assert_allclose(med, [-4.0, 2.0], atol=0.4)


def test_warp_with_estimated_flow_aligns(canvas):
    a, b = _pair(canvas, (3.3, 1.7))
    flow = estimate_flow(a, b, preset="medium")
    aligned = warp(b, flow)
    before = np.abs(a - b)[10:-10, 10:-10].mean()
    after = np.abs(a - aligned)[10:-10, 10:-10].mean()
    assert after < 0.25 * before


def test_warp_exact_integer_shift():
    img = np.random.default_rng(0).random((20, 30, 3), dtype=np.float32)
    flow = np.zeros((20, 30, 2), np.float32)
    flow[..., 0] = 2.0
    out = warp(img, flow)
    np.testing.assert_allclose(out[:, :-2], img[:, 2:], atol=1e-6)
    assert out.shape == img.shape and out.dtype == img.dtype


def test_occlusion_mask_flags_inconsistent_and_outside():
    fw = np.zeros((32, 32, 2), np.float32)
    bw = np.zeros((32, 32, 2), np.float32)
    fw[..., 0] = 3.0
    bw[..., 0] = -3.0
    occ = occlusion_mask(fw, bw)
    assert not occ[:, :28].any()          # consistent and inside
    assert occ[:, 30:].all()              # x + 3 leaves the frame
    bw[8:16, 8:16] = 5.0                  # backward flow disagrees here
    occ = occlusion_mask(fw, bw)
    assert occ[8:16, 6:12].all() and not occ[20:, :20].any()


def test_occlusion_mask_on_real_occlusion(canvas):
    # a square moves right by 8 px over a static background: pixels it uncovers are occluded
    a = crop_at(canvas, (10.0, 10.0), H, W)
    b = a.copy()
    patch = np.full((20, 20, 3), 0.9, np.float32)
    a[40:60, 40:60] = patch
    b[40:60, 48:68] = patch
    fw = estimate_flow(a, b, preset="medium")
    bw = estimate_flow(b, a, preset="medium")
    occ = occlusion_mask(fw, bw)
    # background of a at x 60..68 is covered by the square in b
    assert occ[42:58, 61:67].mean() > 0.3
    assert occ[5:30, 5:120].mean() < 0.05   # static background matches


def test_resize_flow_scales_vectors():
    flow = np.ones((10, 20, 2), np.float32)
    out = resize_flow(flow, 20, 60)
    assert out.shape == (20, 60, 2)
    np.testing.assert_allclose(out[..., 0], 3.0)
    np.testing.assert_allclose(out[..., 1], 2.0)


def test_inside_mask():
    flow = np.zeros((8, 8, 2), np.float32)
    flow[..., 1] = -2.0
    m = inside_mask(flow)
    assert not m[:2].any() and m[2:].all()


def test_errors():
    a = np.zeros((32, 32, 3), np.float32)
    with pytest.raises(ConfigError):
        estimate_flow(a, a, preset="slow")
    with pytest.raises(ConfigError):
        estimate_flow(a, a, scale=0.0)
    with pytest.raises(UnsupportedFormatError):
        estimate_flow(a, np.zeros((32, 30, 3), np.float32))
    with pytest.raises(UnsupportedFormatError):
        estimate_flow(a.astype(np.uint8), a.astype(np.uint8))
    with pytest.raises(UnsupportedFormatError):
        estimate_flow(np.zeros((32, 32, 4), np.float32), a)
    with pytest.raises(UnsupportedFormatError):
        warp(a, np.zeros((16, 16, 2), np.float32))
    with pytest.raises(ConfigError):
        warp(a, np.zeros((32, 32, 2), np.float32), border="wrap")
    # every error is also a builtin and a RevivalError
    with pytest.raises(ValueError):
        estimate_flow(a, a, preset="slow")
    with pytest.raises(RevivalError):
        warp(a, np.zeros((3, 3), np.float32))


def test_flow_is_reproducible_whatever_came_before(canvas):
    # OpenCV's DIS object changes its own settings on small images; results must not depend
    # on the sizes seen earlier in the process
    a, b = _pair(canvas, (1.0, 0.5))
    small_a, small_b = a[:32, :40].copy(), b[:32, :40].copy()
    first_small = estimate_flow(small_a, small_b)
    first = estimate_flow(a, b)
    for _ in range(2):
        np.testing.assert_array_equal(estimate_flow(small_a, small_b), first_small)
        np.testing.assert_array_equal(estimate_flow(a, b), first)


def test_finest_scale_option(canvas):
    a, b = _pair(canvas, (2.5, -1.25))
    truth = np.broadcast_to(np.array([-2.5, 1.25], np.float32), (H, W, 2))
    interior = np.zeros((H, W), bool)
    interior[10:-10, 10:-10] = True
    assert endpoint_error(estimate_flow(a, b, finest_scale=0), truth, mask=interior) < 0.35
    with pytest.raises(ConfigError):
        estimate_flow(a, b, finest_scale=5)


def test_refine_option(canvas):
    # without variational refinement the vectors are coarser but still sub-pixel; and they
    # differ from the refined ones (the option reaches DIS)
    a, b = _pair(canvas, (2.5, -1.25))
    truth = np.broadcast_to(np.array([-2.5, 1.25], np.float32), (H, W, 2))
    interior = np.zeros((H, W), bool)
    interior[10:-10, 10:-10] = True
    raw = estimate_flow(a, b, finest_scale=0, refine=0)
    assert endpoint_error(raw, truth, mask=interior) < 0.1   # measured 0.03 (refined: 0.017)
    assert not np.array_equal(raw, estimate_flow(a, b, finest_scale=0))
    with pytest.raises(ConfigError):
        estimate_flow(a, b, refine=-1)


def test_patch_stride_option(canvas):
    # a sparser patch grid (the temporal stage's backward flow) stays sub-pixel on a shift,
    # and the option reaches DIS
    a, b = _pair(canvas, (2.5, -1.25))
    truth = np.broadcast_to(np.array([-2.5, 1.25], np.float32), (H, W, 2))
    interior = np.zeros((H, W), bool)
    interior[10:-10, 10:-10] = True
    sparse = estimate_flow(a, b, finest_scale=0, refine=0, patch_stride=6)
    assert endpoint_error(sparse, truth, mask=interior) < 0.1  # measured 0.04 (stride 4: 0.03)
    assert not np.array_equal(sparse, estimate_flow(a, b, finest_scale=0, refine=0))
    for bad in (0, 9):
        with pytest.raises(ConfigError, match="patch_stride"):
            estimate_flow(a, b, patch_stride=bad)


def test_reduced_scale_flow_downscales_without_aliasing():
    # fine texture moved by a known sub-pixel shift: frames box-downscaled to 1/4 alias and
    # stop being translates of one another; the Gaussian pyramid keeps them so, and DIS
    # recovers the shift better from them
    import cv2

    from revival.flow.dis import _dis, resize_flow, to_gray8, working_size
    from revival.testing.motion import textured_image, translate_exact

    ys, xs = np.mgrid[0:192, 0:256].astype(np.float32)
    stripes = 0.15 * np.sin(2 * np.pi * (0.37 * xs + 0.11 * ys))  # far above 1/4 scale's Nyquist
    grey = cv2.cvtColor(textured_image(192, 256, seed=3), cv2.COLOR_RGB2GRAY) + stripes
    shift_xy = (2.6, -1.3)
    moved = translate_exact(grey, shift_xy)
    truth = np.broadcast_to(np.array([-shift_xy[0], -shift_xy[1]], np.float32), (192, 256, 2))
    interior = np.zeros((192, 256), bool)
    interior[16:-16, 16:-16] = True
    ours = endpoint_error(estimate_flow(grey, moved, scale=0.25), truth, mask=interior)
    hs, ws = working_size(192, 256, 0.25)
    box = [cv2.resize(to_gray8(x), (ws, hs), interpolation=cv2.INTER_AREA) for x in (grey, moved)]
    boxed = endpoint_error(resize_flow(_dis("fast").calc(*box, None), 192, 256), truth,
                           mask=interior)
    assert ours < 0.8 * boxed, (ours, boxed)
