"""Colour conversion conventions, pinned against FFmpeg's own conversion (swscale)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from revival.frames.color import ColorInfo
from revival.frames.convert import Planes, planes_to_rgb, rgb_to_planes, luma
from revival.io.decode import plane_array
from revival.testing.clips import fill_plane

MATRICES = {"bt601": (6, "smpte170m"), "bt709": (1, "itu709"), "bt2020": (9, "bt2020")}


def _smooth_rgb(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([0.1 + 0.8 * xx / w, 0.15 + 0.7 * yy / h,
                     0.5 + 0.3 * np.sin(xx / w * 3 + yy / h)], axis=-1).astype(np.float32)


# swscale flags BILINEAR | FULL_CHR_H_INT | ACCURATE_RND: its exact 8-bit RGB path. (Its
# 16-bit and float RGB outputs carry a gain error: limited-range white lands at 1019/1023,
# so they cannot serve as the reference.) Tolerances are one 8-bit RGB code value.
_SWS_ACCURATE = 2 | 8192 | 262144


def _ffmpeg_rgb(planes: Planes, fmt: str, color: ColorInfo, space: str) -> np.ndarray:
    """Ask swscale to convert our planes to 8-bit RGB with the same matrix and range."""
    h, w = planes.y.shape
    frame = av.VideoFrame(w, h, fmt)
    for plane, arr in zip(frame.planes, (planes.y, planes.u, planes.v)):
        fill_plane(plane, arr)
    out = frame.reformat(format="rgb24", src_colorspace=space,
                         src_color_range="JPEG" if color.range == "full" else "MPEG",
                         interpolation=_SWS_ACCURATE)
    return out.to_ndarray().astype(np.float64) / 255.0


@pytest.mark.parametrize("matrix", sorted(MATRICES))
@pytest.mark.parametrize("range_", ["limited", "full"])
@pytest.mark.parametrize("bits", [8, 10])
def test_convention_yuv444_to_rgb_matches_ffmpeg(matrix: str, range_: str, bits: int) -> None:
    code, space = MATRICES[matrix]
    color = ColorInfo(code, 1, 1, range_)
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0.05, 0.95, (24, 38, 3)).astype(np.float32)
    planes = rgb_to_planes(rgb, color, bit_depth=bits, chroma="444")
    fmt = "yuv444p" if bits == 8 else "yuv444p10le"
    if range_ == "full" and bits == 8:
        fmt = "yuvj444p"
    ours = np.rint(planes_to_rgb(planes, color).astype(np.float64) * 255)
    theirs = _ffmpeg_rgb(planes, fmt, color, space) * 255
    assert np.abs(ours - theirs).max() <= 1.0


@pytest.mark.parametrize("matrix", sorted(MATRICES))
@pytest.mark.parametrize("bits", [8, 10])
def test_convention_yuv420_to_rgb_matches_ffmpeg_on_smooth_content(matrix: str, bits: int) -> None:
    """swscale, given no chroma location, assumes centred (MPEG-1/JPEG) siting; so do we here.

    Video decoding uses left siting (the MPEG-2/H.264/HEVC default), pinned by
    test_convention_left_siting_keeps_chroma_position.
    """
    code, space = MATRICES[matrix]
    color = ColorInfo(code, 1, 1, "limited")
    planes = rgb_to_planes(_smooth_rgb(48, 64), color, bit_depth=bits, chroma="420",
                           siting="center")
    ours = np.rint(planes_to_rgb(planes, color, siting="center").astype(np.float64) * 255)
    theirs = _ffmpeg_rgb(planes, "yuv420p" if bits == 8 else "yuv420p10le", color, space) * 255
    inner = (slice(2, -2), slice(2, -2))
    assert np.abs(ours[inner] - theirs[inner]).max() <= 1.0


@pytest.mark.parametrize("matrix", sorted(MATRICES))
def test_convention_rgb_to_yuv_matches_ffmpeg(matrix: str) -> None:
    code, space = MATRICES[matrix]
    color = ColorInfo(code, 1, 1, "limited")
    rgb8 = np.random.default_rng(2).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb8, format="rgb24")
    yuv = frame.reformat(format="yuv444p", dst_colorspace=space, dst_color_range="MPEG")
    theirs = [plane_array(p, np.uint8).astype(int) for p in yuv.planes]
    ours = rgb_to_planes(rgb8.astype(np.float32) / 255, color, bit_depth=8, chroma="444")
    for a, b in zip((ours.y, ours.u, ours.v), theirs):
        assert np.abs(a.astype(int) - b).max() <= 1


def test_convention_limited_range_code_values() -> None:
    """Black and white sit at 16/235 (8-bit) and 64/940 (10-bit); chroma centres at 128/512."""
    for bits, black, white, centre in ((8, 16, 235, 128), (10, 64, 940, 512)):
        rgb = np.zeros((2, 4, 3), np.float32)
        rgb[:, 2:] = 1.0
        p = rgb_to_planes(rgb, ColorInfo.bt709(), bit_depth=bits, chroma="444")
        assert p.y[0, 0] == black and p.y[0, 3] == white
        assert (p.u == centre).all() and (p.v == centre).all()


def test_convention_full_range_10bit_white() -> None:
    rgb = np.ones((2, 2, 3), np.float32)
    p = rgb_to_planes(rgb, ColorInfo.bt709("full"), bit_depth=10, chroma="420")
    assert p.y.max() == 1023 and p.u[0, 0] == 512


def test_convention_left_siting_keeps_chroma_position() -> None:
    """A vertical colour edge keeps its place through 4:2:0 down- and up-sampling."""
    rgb = np.zeros((8, 16, 3), np.float32)
    rgb[:, :, 1] = 0.5
    rgb[:, 8:, 0] = 1.0
    color = ColorInfo.bt709()
    back = planes_to_rgb(rgb_to_planes(rgb, color, bit_depth=10, chroma="420"), color)
    red = back[4, :, 0]
    # the 50% crossing of the red edge stays between columns 7 and 8 (within half a pixel)
    crossing = np.interp(0.5, red, np.arange(16))
    assert abs(crossing - 7.5) <= 0.5


def test_roundtrip_444_is_within_one_code_value() -> None:
    rgb = np.random.default_rng(3).uniform(0.1, 0.9, (9, 11, 3)).astype(np.float32)
    color = ColorInfo.bt709("full")
    p = rgb_to_planes(rgb, color, bit_depth=16, chroma="444")
    assert np.abs(planes_to_rgb(p, color) - rgb).max() < 2 / 255


def test_grey_planes_give_neutral_rgb() -> None:
    y = np.full((4, 4), 126, np.uint8)
    rgb = planes_to_rgb(Planes(y, None, None, 8, "444"), ColorInfo.bt601())
    assert np.allclose(rgb[..., 0], rgb[..., 1]) and np.allclose(rgb[..., 1], rgb[..., 2])


def test_luma_weights_follow_matrix() -> None:
    rgb = np.zeros((1, 1, 3), np.float32)
    rgb[..., 0] = 1
    assert luma(rgb, 1)[0, 0] == pytest.approx(0.2126)
    assert luma(rgb, 6)[0, 0] == pytest.approx(0.299)


def test_quantisation_rounds_half_to_even_and_clips_at_every_depth() -> None:
    """The planes' rounding is NumPy's rint then a clip to the depth's peak, value for value."""
    from revival.frames.convert import _quantise

    rng = np.random.default_rng(5)
    for bits in (8, 10, 12, 16):
        peak = (1 << bits) - 1
        a = rng.uniform(-40, peak + 40, (37, 53, 2)).astype(np.float32)  # two chroma planes
        a[0, :8, 1] = [0.5, 1.5, 2.5, -0.5, -3.0, peak - 0.5, peak + 0.5, peak + 3.0]
        want = np.clip(np.rint(a), 0, peak).astype(np.uint8 if bits == 8 else np.uint16)
        for arr, ref in ((a, want), (a[..., 0].copy(), want[..., 0])):
            got = _quantise(arr, bits)
            assert got.dtype == ref.dtype
            assert np.array_equal(got, ref), bits
        assert _quantise(a, bits)[0, :8, 1].tolist() == [0, 2, 2, 0, 0, peak - 1, peak, peak]
