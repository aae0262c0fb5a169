from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: evaluation material is not part of a fresh clone."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is absent (evaluation material is not part of the repository)")
    return data


@pytest.fixture(scope="session")
def shared_train() -> Path:
    train = SHARED / "train"
    if not train.is_dir():
        pytest.skip("../shared/train is absent (training material is not part of the repository)")
    return train


@pytest.fixture
def signalled_job(tmp_path: Path):
    """Run a slow ``revival restore`` in a child process and send it a signal once it writes.

    Returns a function ``send(sig) -> (returncode, stderr text, output path)``; the source
    clip is ``tmp_path / "in.mkv"`` and the output ``tmp_path / "o.mkv"``.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    from revival.io.encode import temp_path
    from revival.testing.clips import ClipSpec, make_clip

    def send(sig: int) -> tuple[int, str, Path]:
        src = make_clip(tmp_path / "in.mkv", ClipSpec(width=320, height=240, frames=150))
        out = tmp_path / "o.mkv"
        proc = subprocess.Popen(
            [sys.executable, "-m", "revival", "restore", str(src), "-o", str(out),
             "--preset", "lanczos", "--scale", "4", "--encoder-preset", "slow"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # a shell without job control starts background commands with SIGINT ignored,
            # and Python then installs no handler: give the job the default disposition
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        tmp = temp_path(out)
        deadline = time.monotonic() + 60
        while not tmp.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert tmp.exists(), "the job never started writing"
        time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err.decode(), out

    return send
