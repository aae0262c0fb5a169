"""A small shared thread pool for the OpenCV and NumPy work of the flow and temporal code.

OpenCV releases the GIL, so independent calls (two optical flows, the bands of a
separable filter) overlap on threads. Everything here follows OpenCV's own
thread setting: with ``cv2.setNumThreads(1)`` the work runs in order on the
calling thread. The pool is created on first use, never at import.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2

_MAX_WORKERS = 8
_pools: list[ThreadPoolExecutor] = []


def threads() -> int:
    """Threads the work may use: OpenCV's setting, at most ``_MAX_WORKERS``."""
    return max(1, min(cv2.getNumThreads(), _MAX_WORKERS))


def _pool() -> ThreadPoolExecutor:
    if not _pools:
        _pools.append(ThreadPoolExecutor(max_workers=_MAX_WORKERS,
                                         thread_name_prefix="revival-flow"))
    return _pools[0]


def run_all(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the callables, the first on this thread and the rest on the pool; their results.

    An exception in any job is raised here (after every job has finished).
    """
    if threads() <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    futures = [_pool().submit(job) for job in jobs[1:]]
    try:
        first = jobs[0]()
    finally:
        for f in futures:  # wait for every job before anything is raised
            f.exception()
    return [first] + [f.result() for f in futures]


def band_count(height: int, *, min_rows: int = 64) -> int:
    """How many row bands :func:`in_bands` cuts ``height`` rows into."""
    return min(threads(), max(1, height // min_rows))


def in_bands(fn: Callable[[int, int], None], height: int, *, min_rows: int = 64) -> None:
    """Call ``fn(a, b)`` on row bands that cover ``0..height``, one band per thread."""
    n = band_count(height, min_rows=min_rows)
    edges = [height * k // n for k in range(n + 1)]
    run_all(*[(lambda a=a, b=b: fn(a, b)) for a, b in zip(edges[:-1], edges[1:])])
