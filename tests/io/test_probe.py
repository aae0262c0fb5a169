from __future__ import annotations

from pathlib import Path

from revival.io.probe import probe
from revival.testing.clips import ClipSpec, make_clip


def test_bits_per_pixel_follows_the_coded_size(tmp_path: Path) -> None:
    # the same clip coded at two rates: the coded size per pixel and frame says which one
    # was compressed harder, and it is computed from the stream's own packets
    fine = make_clip(tmp_path / "fine.mkv", ClipSpec(frames=6, width=96, height=64,
                                                     options={"crf": "12", "preset": "ultrafast"}))
    coarse = make_clip(tmp_path / "coarse.mkv", ClipSpec(frames=6, width=96, height=64,
                                                         options={"crf": "45",
                                                                  "preset": "ultrafast"}))
    bpp_fine = probe(fine).video.details["bits_per_pixel"]
    bpp_coarse = probe(coarse).video.details["bits_per_pixel"]
    assert 0 < bpp_coarse < 0.5 * bpp_fine
    assert bpp_fine < 24  # never more than raw 8-bit RGB


def test_images_have_no_coded_rate(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    assert "bits_per_pixel" not in probe(tmp_path / "a.png").video.details


def test_probe_text_shows_the_rate(tmp_path: Path) -> None:
    from revival.io.probe import format_probe

    clip = make_clip(tmp_path / "c.mkv", ClipSpec(frames=3, width=64, height=48))
    info = probe(clip)
    bpp = info.video.details["bits_per_pixel"]
    assert f"{bpp:.3f} bits per pixel" in format_probe(info)
