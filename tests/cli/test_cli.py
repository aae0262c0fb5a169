"""The CLI contract: exit codes, one-line errors, probe JSON, presets, demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import av
import pytest

from revival.cli.main import main
from revival.testing.clips import ClipSpec, make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("cli") / "in.mkv",
                     ClipSpec(frames=6, audio="aac", subtitles=True, vfr=True))


def test_restore_and_probe_json(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "o.mkv"
    assert main(["--quiet", "restore", str(clip), "-o", str(out), "--preset", "lanczos",
                 "--scale", "2", "--codec", "ffv1"]) == 0
    assert main(["probe", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    video = next(s for s in info["streams"] if s["type"] == "video")
    assert video["details"]["width"] == 128 and video["details"]["frame_count"] == 6
    assert video["details"]["vfr"] is True
    assert [s["type"] for s in info["streams"]] == ["video", "audio", "subtitle"]
    assert video["details"]["color"]["matrix"] == "bt709"


@pytest.mark.parametrize("args, code", [
    (["restore", "{clip}", "-o", "{out}", "--preset", "nope"], 2),
    (["restore", "{clip}", "-o", "{out}", "--stages", "resize,bogus"], 2),
    (["restore", "{clip}", "-o", "{out}", "--set", "resize.bogus=1", "--stages", "resize"], 2),
    (["restore", "{clip}", "-o", "{out}", "--set", "novalue"], 2),
    (["restore", "{missing}", "-o", "{out}"], 2),
    (["restore", "{clip}", "-o", "{clip}"], 2),
    (["restore", "{clip}"], 2),
    (["restore", "{text}", "-o", "{out}"], 1),
    (["probe", "{text}"], 1),
])
def test_exit_codes_and_one_line_errors(clip: Path, tmp_path: Path, args: list[str], code: int,
                                        capsys: pytest.CaptureFixture) -> None:
    text = tmp_path / "t.mkv"
    text.write_text("not media")
    values = {"clip": clip, "out": tmp_path / "o.mkv", "missing": tmp_path / "missing.mkv",
              "text": text}
    with pytest.raises(SystemExit) if code == 2 and "-o" not in args else _noop():
        assert main([a.format(**values) for a in args]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("revival: error:")
    assert "Traceback" not in err[0]


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "revival", "--debug", "restore",
                           str(tmp_path / "missing.mkv"), "-o", str(tmp_path / "o.mkv")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_presets_lists_copy(capsys: pytest.CaptureFixture) -> None:
    assert main(["presets"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "copy" in names and "demo" in names


def test_progress_lines_when_not_a_tty(clip: Path, tmp_path: Path) -> None:
    from revival.cli.progress import ProgressPrinter
    from revival.pipeline.job import Progress
    import io
    buf = io.StringIO()
    printer = ProgressPrinter(buf, tty=False, interval=0.0)
    printer(Progress(3, 10, 1.0))
    assert buf.getvalue() == "progress: 3/10 frames  3.0 fps  ETA 0:02\n"
    tty = io.StringIO()
    bar = ProgressPrinter(tty, tty=True, width=10)
    bar(Progress(5, 10, 2.0))
    assert tty.getvalue().startswith("\r[#####-----] 5/10 frames")


def test_demo_writes_video_with_audio_and_picture(tmp_path: Path) -> None:
    from revival.demo import run_demo
    result = run_demo(tmp_path / "demo")
    with av.open(str(result["output"])) as c:
        assert len(c.streams.audio) == 1
        assert sum(1 for _ in c.decode(video=0)) == 48
    assert result["comparison"].stat().st_size > 10_000


@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_demo_output_that_is_a_file_is_a_usage_error(tmp_path: Path, where: str,
                                                     capsys: pytest.CaptureFixture) -> None:
    """-o naming a file failed with a bare '[Errno 17] File exists' (exit 1)."""
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    target = existing if where == "file" else existing / "demo"
    assert main(["--quiet", "demo", "-o", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("revival: error:")
    assert "is a file" in err[0] and "folder" in err[0] and "Errno" not in err[0]
    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_probe_analyze_json(clip: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["probe", str(clip), "--analyze", "--json"]) == 0
    analysis = json.loads(capsys.readouterr().out)["analysis"]
    assert analysis["frames"] == 6 and analysis["preset"] in ("copy", "fidelity", "denoise", "home-video", "web")
    assert analysis["noise_sigma"] >= 0 and analysis["blockiness"] > 0
    assert 10 < analysis["coded_qp"] < 51  # the H.264 clip's quantiser, read from its stream


def test_restore_says_what_the_web_preset_chose(clip: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    assert main(["restore", str(clip), "-o", str(tmp_path / "w.mkv"), "--preset", "web"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^deblock: strength [01]\.\d\d from the source's quantiser \(QP \d+\.\d\)$",
                     out, re.MULTILINE)
    assert main(["--quiet", "restore", str(clip), "-o", str(tmp_path / "q.mkv"), "--preset",
                 "web"]) == 0
    assert capsys.readouterr().out == ""


def test_probe_analyze_prints_the_quantiser_only_where_the_codec_reports_one(
        clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["probe", str(clip), "--analyze"]) == 0
    assert "coded quantiser: QP" in capsys.readouterr().out
    lossless = tmp_path / "ffv1.mkv"
    assert main(["--quiet", "restore", str(clip), "-o", str(lossless), "--preset", "copy",
                 "--codec", "ffv1"]) == 0
    assert main(["probe", str(lossless), "--analyze", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["analysis"]["coded_qp"] is None
    # an HEVC output: the QP comes from its slice headers, and the probe says so
    hevc = tmp_path / "hevc.mkv"
    assert main(["--quiet", "restore", str(clip), "-o", str(hevc), "--preset", "copy",
                 "--codec", "h265"]) == 0
    assert main(["probe", str(hevc), "--analyze"]) == 0
    assert re.search(r"coded quantiser: QP \d+\.\d on the H.264 scale, from the slice headers",
                     capsys.readouterr().out)
    assert main(["probe", str(hevc), "--analyze", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["analysis"]["coded_family"] == "hevc"
    # an AV1 output: from its frame headers (the decoder reports nothing)
    av1 = tmp_path / "av1.mkv"
    assert main(["--quiet", "restore", str(clip), "-o", str(av1), "--preset", "copy",
                 "--codec", "av1"]) == 0
    assert main(["probe", str(av1), "--analyze"]) == 0
    assert re.search(r"coded quantiser: QP \d+\.\d on the H.264 scale, from the AV1 frame "
                     r"headers", capsys.readouterr().out)
    assert main(["probe", str(av1), "--analyze", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["analysis"]["coded_family"] == "av1"


def test_restore_report_and_flags_after_the_command(clip: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    out, report = tmp_path / "o.mkv", tmp_path / "r.html"
    assert main(["restore", str(clip), "-o", str(out), "--preset", "lanczos", "--report",
                 str(report), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    html = report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "psnr" in html.lower()


@pytest.mark.parametrize("target, message", [
    ("input", "is the input"), ("output", "is the output"), ("existing", "--overwrite"),
    ("no-folder", "does not exist"),
])
def test_restore_report_never_replaces_a_file_it_should_not(
        clip: Path, tmp_path: Path, target: str, message: str,
        capsys: pytest.CaptureFixture) -> None:
    """--report used to write its HTML over the input, over the output it had just written, or
    over any existing file, and found a missing folder only after the whole job had run."""
    src = tmp_path / "in.mkv"
    src.write_bytes(clip.read_bytes())
    out, existing = tmp_path / "o.mkv", tmp_path / "old.html"
    existing.write_text("keep me")
    report = {"input": src, "output": out, "existing": existing,
              "no-folder": tmp_path / "missing" / "r.html"}[target]
    assert main(["--quiet", "restore", str(src), "-o", str(out), "--preset", "lanczos",
                 "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "report" in err[0]
    assert src.read_bytes() == clip.read_bytes() and existing.read_text() == "keep me"
    assert not out.exists()  # refused before any work


def test_restore_report_replaces_an_existing_report_with_overwrite(clip: Path,
                                                                   tmp_path: Path) -> None:
    out, report = tmp_path / "o.mkv", tmp_path / "r.html"
    report.write_text("old")
    assert main(["--quiet", "restore", str(clip), "-o", str(out), "--preset", "copy",
                 "--report", str(report), "--overwrite"]) == 0
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize("codec", ["av1", "h265"])
def test_quiet_means_silent_with_every_encoder(clip: Path, tmp_path: Path, codec: str) -> None:
    """SVT-AV1 printed its 20-line banner (and a thread-priority warning) under --quiet."""
    import os
    env = {k: v for k, v in os.environ.items() if k != "SVT_LOG"}
    out = tmp_path / "o.mkv"
    proc = subprocess.run([sys.executable, "-m", "revival", "--quiet", "restore", str(clip),
                           "-o", str(out), "--codec", codec], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0 and out.exists()
    assert proc.stdout == "" and proc.stderr == ""


def test_encoder_flags_with_image_output_are_a_usage_error(clip: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    """They used to be ignored for a folder of PNGs (and --bit-depth 12 named h264)."""
    assert main(["--quiet", "restore", str(clip), "-o", str(tmp_path / "frames"),
                 "--bit-depth", "16"]) == 2
    err = capsys.readouterr().err
    assert "apply to video output" in err and not (tmp_path / "frames").exists()


@pytest.mark.parametrize("case", ["unknown_extension", "aac_into_webm", "av1_odd_size",
                                  "many_frames_into_one_image", "vfr_into_avi",
                                  "h264_into_webm"])
def test_output_choices_a_file_cannot_hold_are_usage_errors(tmp_path: Path, case: str,
                                                            capsys: pytest.CaptureFixture) -> None:
    """These are the user's choice of output or codec, refused before work starts; they
    exited 1 like a processing failure."""
    spec = ClipSpec(frames=4, audio="aac")
    if case == "av1_odd_size":
        spec = ClipSpec(width=65, height=37, frames=4, chroma="444", options={})
    if case == "vfr_into_avi":
        spec = ClipSpec(frames=4, audio="aac", vfr=True)
    src = make_clip(tmp_path / "in.mp4", spec)
    out, extra = {"unknown_extension": ("o.xyz", []), "aac_into_webm": ("o.webm", []),
                  "av1_odd_size": ("o.mkv", ["--codec", "av1"]),
                  "many_frames_into_one_image": ("o.png", []),
                  "vfr_into_avi": ("o.avi", []),
                  "h264_into_webm": ("o.webm", ["--codec", "h264"])}[case]
    assert main(["--quiet", "restore", str(src), "-o", str(tmp_path / out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("revival: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_odd_size_into_webm_names_a_way_out_webm_allows(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """WebM holds only AV1 here, so suggesting another codec would only fail again."""
    src = make_clip(tmp_path / "in.mp4", ClipSpec(width=65, height=37, frames=4, chroma="444",
                                                  options={}))
    assert main(["--quiet", "restore", str(src), "-o", str(tmp_path / "o.webm")]) == 2
    err = capsys.readouterr().err
    assert "odd frame size 65x37" in err and ".mkv" in err and "--codec" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_sigterm_leaves_no_file(tmp_path: Path, signalled_job) -> None:
    """SIGTERM (kill, timeout, a service manager) used to leave .o.revival-tmp.mkv behind."""
    import signal
    code, err, _ = signalled_job(signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, err
    assert "terminated" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]
