"""Allocator settings for long video jobs.

A restoration job allocates the same large frame buffers for every frame (a
2560x1440 RGB float32 frame is 44 MB). glibc serves allocations above its mmap
threshold (at most 32 MB by default) with fresh ``mmap`` calls and returns them
on ``free``, and it trims freed heap memory above a threshold, so every frame
pays page faults again. On a virtual machine of this project's benchmarks that
cost about 6 ms per 44 MB buffer, and the system time of a ``fast`` 2x job on
720p fell from 8.1 s to 3.1 s for 30 frames once freed memory was kept.
:func:`keep_freed_memory` raises both thresholds, so freed buffers are reused;
the process's peak memory does not grow, it is only returned to the system later.

The thresholds alone do not cover buffers made on other threads: glibc gives threads
their own arenas, whose heaps are at most 64 MB each and are unmapped or shrunk (with
``MADV_DONTNEED``) when they empty, so a 44 MB frame freed on the decode or encode thread
was faulted in again for the next frame. :func:`keep_freed_memory` therefore also limits
the process to one arena. On the 132-frame 720p clip through the ``fast`` preset (2x,
frames made and freed on three threads), where page zeroing (``clear_page_erms``) had
taken 16% of all CPU samples, system time fell from 5.5-10.9 s to 2.7-4.7 s in
interleaved CLI runs, with user time unchanged (67-73 s); wall time moved within the
noise of the machine (46.2-46.3 s before, 41.8-48.9 s after).
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_LIMIT = 1 << 30  # 1 GiB: frame buffers stay on the heap, up to 1 GiB of free heap is kept


def keep_freed_memory(limit: int = _LIMIT) -> bool:
    """Ask glibc to reuse freed buffers of up to ``limit`` bytes instead of unmapping them.

    Process-wide; the CLI calls it before a job. Returns True when applied, False
    where it does not apply (not Linux, or a C library without ``mallopt``).

    Example:
        >>> keep_freed_memory() in (True, False)
        True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = (mallopt(_M_MMAP_THRESHOLD, int(limit)) == 1
          and mallopt(_M_TRIM_THRESHOLD, int(limit)) == 1
          and mallopt(_M_ARENA_MAX, 1) == 1)  # threads share the main arena and its settings
    log.debug("allocator: freed buffers up to %d bytes kept: %s", limit, ok)
    return ok
