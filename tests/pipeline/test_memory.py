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


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True,
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
