import argparse
import json

import cv2
import numpy as np
import pytest

from revival.cli import compare as compare_cli


def _parser():
    parser = argparse.ArgumentParser(prog="revival")
    sub = parser.add_subparsers(dest="command", required=True)
    compare_cli.add_parser(sub)
    return parser


def _folder(path, frames):
    path.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(path / f"{i:03d}.png"), f)


@pytest.fixture
def clips(tmp_path):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8), (0, 0), 2)
    ref = [base[t:t + 64, t:t + 80].copy() for t in range(3)]
    noisy = [np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8) for f in ref]
    _folder(tmp_path / "ref", ref)
    _folder(tmp_path / "dist", noisy)
    _folder(tmp_path / "small", [f[:32, :40] for f in noisy])
    return tmp_path


def test_compare_writes_json_with_stable_keys(clips, capsys):
    out = clips / "m.json"
    args = _parser().parse_args(["compare", str(clips / "ref"), str(clips / "dist"),
                                 "--metrics", "psnr_y,ssim_y,ewarp", "--json", str(out)])
    assert compare_cli.run(args) == 0
    data = json.loads(out.read_text())
    assert set(data["mean"]) == {"psnr_y", "ssim_y", "ewarp"}
    assert len(data["per_frame"]["psnr_y"]) == 3
    assert data["per_frame"]["ewarp"][0] is None
    assert 25 < data["mean"]["psnr_y"] < 40
    assert "psnr_y" in capsys.readouterr().out


def test_usage_errors_exit_2(clips, capsys):
    p = _parser()
    assert compare_cli.run(p.parse_args(["compare", str(clips / "ref"), str(clips / "small")])) == 2
    assert "--align" in capsys.readouterr().err
    assert compare_cli.run(p.parse_args(["compare", str(clips / "ref"), str(clips / "nope")])) == 2
    assert compare_cli.run(p.parse_args(["compare", str(clips / "ref"), str(clips / "dist"),
                                         "--metrics", "bogus"])) == 2
    assert compare_cli.run(p.parse_args(["compare", str(clips / "ref"), str(clips / "dist"),
                                         "--json", str(clips / "no" / "x.json")])) == 2


def test_align_resize_succeeds(clips):
    args = _parser().parse_args(["compare", str(clips / "ref"), str(clips / "small"),
                                 "--align", "resize", "--metrics", "psnr_y", "--json", "-"])
    assert compare_cli.run(args) == 0


def test_wired_into_revival_main(clips):
    from revival.cli.main import main
    assert main(["compare", str(clips / "ref"), str(clips / "dist"), "--metrics", "psnr_y"]) == 0
    assert main(["compare", str(clips / "ref"), str(clips / "small")]) == 2


def test_report_option_writes_html(clips):
    out = clips / "r.html"
    args = _parser().parse_args(["compare", str(clips / "ref"), str(clips / "dist"),
                                 "--metrics", "psnr_y,flicker", "--report", str(out)])
    assert compare_cli.run(args) == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text


def test_restore_report_helper(clips):
    from revival.metrics.report import write_report
    out = write_report(clips / "ref", clips / "small", clips / "restore.html")
    assert "niqe_ref" in out.read_text()


@pytest.mark.parametrize("flag", ["--json", "--report"])
def test_outputs_never_replace_an_input(clips, flag, capsys):
    """--json or --report naming one of the compared files used to overwrite it."""
    ref = clips / "ref.png"
    dist = clips / "dist.png"
    cv2.imwrite(str(ref), cv2.imread(str(clips / "ref" / "000.png")))
    cv2.imwrite(str(dist), cv2.imread(str(clips / "dist" / "000.png")))
    before = ref.read_bytes(), dist.read_bytes()
    for target in (ref, dist):
        args = _parser().parse_args(["compare", str(ref), str(dist), "--metrics", "psnr_y",
                                     flag, str(target)])
        assert compare_cli.run(args) == 2
        assert "compared" in capsys.readouterr().err
    assert (ref.read_bytes(), dist.read_bytes()) == before
