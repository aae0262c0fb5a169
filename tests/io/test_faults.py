"""Bad input and faults: each gives the right error and leaves no half-written output."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from revival.errors import (ConfigError, DecodeError, InputNotFoundError, OutputExistsError,
                            OutputFormatError, OutputPathError, RevivalError,
                            UnsupportedFormatError)
from revival.pipeline.job import restore
from revival.testing.clips import ClipSpec, make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("f") / "in.mkv", ClipSpec(frames=8, audio="aac"))


@pytest.fixture(scope="module")
def truncated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("t")
    full = make_clip(d / "full.mkv", ClipSpec(frames=100, audio="aac"))
    data = full.read_bytes()
    cut = d / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "revival-tmp" in p.name)


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError) as info:
        restore(tmp_path / "nope.mkv", tmp_path / "o.mkv")
    assert isinstance(info.value, FileNotFoundError)
    assert "nope.mkv" in str(info.value)


def test_not_a_video(tmp_path: Path) -> None:
    bad = tmp_path / "text.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(UnsupportedFormatError) as info:
        restore(bad, tmp_path / "o.mkv")
    assert isinstance(info.value, ValueError)
    assert not (tmp_path / "o.mkv").exists() and leftovers(tmp_path) == []


def test_no_video_stream(tmp_path: Path) -> None:
    import av
    import numpy as np
    audio_only = tmp_path / "a.mka"
    with av.open(str(audio_only), "w") as out:
        s = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp",
                                           layout="stereo")
        frame.sample_rate = 48000
        frame.pts = 0
        out.mux(s.encode(frame))
        out.mux(s.encode())
    with pytest.raises(UnsupportedFormatError, match="no video stream"):
        restore(audio_only, tmp_path / "o.mkv")


def test_truncated_file_reports_frame_and_leaves_nothing(truncated: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mkv"
    with pytest.raises(DecodeError) as info:
        restore(truncated, out)
    assert info.value.frame_index is not None and 0 < info.value.frame_index < 100
    assert f"frame {info.value.frame_index}" in str(info.value)
    assert not out.exists() and leftovers(tmp_path) == []


def test_truncated_file_keep_partial(truncated: Path, tmp_path: Path) -> None:
    import av
    out = tmp_path / "o.mkv"
    with pytest.raises(DecodeError) as info:
        restore(truncated, out, keep_partial=True)
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == info.value.frame_index


def test_output_equal_to_input(clip: Path) -> None:
    with pytest.raises(OutputPathError, match="is the input"):
        restore(clip, clip, overwrite=True)


def test_output_exists_without_overwrite(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mkv"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError):
        restore(clip, out)
    assert out.read_bytes() == b"precious"
    restore(clip, out, overwrite=True)
    assert out.read_bytes() != b"precious"


def test_failed_overwrite_keeps_old_output(truncated: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.mkv"
    out.write_bytes(b"precious")
    with pytest.raises(DecodeError):
        restore(truncated, out, overwrite=True)
    assert out.read_bytes() == b"precious"


def test_unwritable_output_folder(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match="does not exist"):
        restore(clip, tmp_path / "missing" / "o.mkv")
    # /proc refuses new files even to root, unlike a chmod-ed folder
    with pytest.raises(OutputPathError, match="not writable"):
        restore(clip, Path("/proc/revival-out.mkv"))


def test_overwrite_refuses_a_folder_holding_other_files(clip: Path, tmp_path: Path) -> None:
    """--overwrite on a folder output used to delete the whole folder, whatever it held."""
    out = tmp_path / "frames"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(OutputPathError, match=r"notes\.txt.*not an image"):
        restore(clip, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
    (out / "notes.txt").unlink()
    (out / "old.png").write_bytes(b"an earlier run")
    restore(clip, out, overwrite=True)  # a folder of images is what --overwrite replaces
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:06d}.png" for i in range(8)]


def test_overwrite_refuses_a_folder_at_a_file_output(clip: Path, tmp_path: Path) -> None:
    """A folder named like the video output used to fail after the job and leave the temp file."""
    out = tmp_path / "o.mkv"
    out.mkdir()
    with pytest.raises(OutputPathError, match="is a folder"):
        restore(clip, out, overwrite=True)
    assert out.is_dir() and leftovers(tmp_path) == []


def test_failed_rename_leaves_no_temp_file(clip: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from revival.errors import EncodeError
    from revival.io import encode

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(encode.os, "replace", refuse)
    with pytest.raises(EncodeError, match="nothing was written there"):
        restore(clip, tmp_path / "o.mkv")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, key", [
    ({"preset": "no-such-preset"}, "preset"),
    ({"stages": ["no-such-stage"]}, "no-such-stage"),
    ({"stages": ["resize"], "overrides": {"resize.no_such_param": 1}}, "resize.no_such_param"),
    ({"stages": ["resize"], "overrides": {"resize.scale": 100}}, "resize.scale"),
    ({"stages": ["resize"], "overrides": {"resize.kernel": "nearest"}}, "resize.kernel"),
])
def test_config_errors_name_the_key(clip: Path, tmp_path: Path, kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        restore(clip, tmp_path / "o.mkv", **kwargs)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)
    assert not (tmp_path / "o.mkv").exists()


def test_errors_share_one_base() -> None:
    for cls in (ConfigError, DecodeError, InputNotFoundError, OutputExistsError,
                OutputPathError, UnsupportedFormatError, OutputFormatError):
        assert issubclass(cls, RevivalError)
    # an output the caller chose badly is still an UnsupportedFormatError and a ValueError
    assert issubclass(OutputFormatError, UnsupportedFormatError)
    assert issubclass(OutputFormatError, ValueError)


def test_sigint_leaves_no_file(tmp_path: Path, signalled_job) -> None:
    code, err, out = signalled_job(signal.SIGINT)
    assert code == 130, err
    assert not out.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("codec, depth, hint", [("h264", 12, "h265"), ("h265", 16, "ffv1"),
                                                ("av1", 12, "h265")])
def test_bit_depth_a_codec_cannot_write_is_refused(codec: str, depth: int, hint: str) -> None:
    """--codec h264 --bit-depth 12 used to write 10-bit video without a word."""
    from revival.io.encode import EncodeOptions
    with pytest.raises(ConfigError, match=rf"{codec} .*not {depth}-bit.*--codec {hint}") as info:
        EncodeOptions(codec=codec, bit_depth=depth)
    assert info.value.key == "bit_depth"
    assert EncodeOptions(codec=hint, bit_depth=depth).bit_depth == depth


def test_fps_for_video_input_is_refused(clip: Path, tmp_path: Path) -> None:
    """fps (--fps) was silently ignored for a video, which keeps its own timing."""
    from fractions import Fraction
    with pytest.raises(ConfigError, match="image input") as info:
        restore(clip, tmp_path / "o.mkv", fps=Fraction(50))
    assert info.value.key == "fps" and list(tmp_path.iterdir()) == []
