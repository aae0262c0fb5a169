import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from revival.metrics.compare import compare_frames
from revival.metrics.report import render_html, write_html


def _result(keep_visuals=True):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((120, 150, 3)).astype(np.float32), (0, 0), 2)
    base = (base - base.min()) / (base.max() - base.min())
    ref = [base[t:t + 96, t:t + 128].copy() for t in range(6)]
    dist = [np.clip(f * (1.0 + 0.05 * (t % 2)) + rng.normal(0, 0.03, f.shape), 0, 1)
            .astype(np.float32) for t, f in enumerate(ref)]
    return compare_frames(ref, dist, metrics="psnr_y,ssim_y,flicker,flicker_ref,jitter",
                          keep_visuals=keep_visuals)


def test_html_is_self_contained_and_complete(tmp_path):
    text = render_html(_result())
    for key in ("psnr_y", "ssim_y", "flicker", "jitter"):
        assert f"<code>{key}</code>" in text
    assert text.count("<svg") == 4  # flicker_ref is drawn inside the flicker plot
    assert text.count("data:image/png;base64,") == 6  # 2 crops, 2 details, 2 profiles
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<script" not in text and "<link" not in text
    out = write_html(_result(keep_visuals=False), tmp_path / "r.html")
    assert "No images" in out.read_text()


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium)")


def test_report_renders_in_headless_chromium(tmp_path):
    exe = _chromium()
    page = write_html(_result(), tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           f"--screenshot={shot}", "--window-size=1200,1800", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists(), proc.stderr[-2000:]
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (1800, 1200)
    not_white = (img < 235).any(axis=2)
    assert not_white.mean() > 0.03  # text, table, plots and pictures are drawn
    # the plots draw in red and blue, the pictures add mid-tone colour
    assert img.std() > 20
    red = (img[..., 2] > 150) & (img[..., 1] < 90) & (img[..., 0] < 90)
    assert red.sum() > 200
