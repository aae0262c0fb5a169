import subprocess
import sys

import pytest

from revival.pipeline.memory import keep_freed_memory

_SCRIPT = """
import resource, sys
import numpy as np
from revival.pipeline.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
a = np.empty((1440, 2560, 3), np.float32); a.fill(1.0); del a   # warm-up
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    a = np.empty((1440, 2560, 3), np.float32); a.fill(1.0); del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
"""


# the same on a worker thread with two frames alive at once, as on the pipeline's encode
# thread: glibc gives such a thread its own arena, whose heaps hold at most 64 MB and are
# unmapped when they empty, unless the process is held to one arena (measured: 5810
# faults with the thresholds alone, none with one arena)
_THREAD_SCRIPT = """
import resource, sys, threading
import numpy as np
from revival.pipeline.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
out = []
def frames():
    a = np.empty((1440, 2560, 3), np.float32); a.fill(1.0)
    b = np.empty((1440, 2560, 3), np.float32); b.fill(1.0); del a, b
def work():
    frames(); frames()   # warm-up
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        frames()
    out.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
t = threading.Thread(target=work); t.start(); t.join()
print(out[0])
"""


def _faults(mode: str, script: str = _SCRIPT) -> int:
    out = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1])


def test_freed_frame_buffers_are_reused_without_page_faults():
    if not sys.platform.startswith("linux"):
        pytest.skip("mallopt is a glibc (Linux) setting")
    default, kept = _faults("default"), _faults("keep")
    # ten 44 MB buffers: the default allocator maps each afresh and faults it in again
    # (measured 700 faults with transparent huge pages, none once freed memory is kept)
    assert default >= 100
    assert kept < default / 10


def test_returns_a_flag():
    assert keep_freed_memory() in (True, False)


def test_buffers_freed_on_a_worker_thread_are_reused_too():
    if not sys.platform.startswith("linux"):
        pytest.skip("mallopt is a glibc (Linux) setting")
    default, kept = _faults("default", _THREAD_SCRIPT), _faults("keep", _THREAD_SCRIPT)
    assert default >= 100
    assert kept < default / 10
