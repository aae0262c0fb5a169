"""Handing items between threads through bounded queues that a stop event can abandon."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

END = object()  # put after the last item


@dataclass
class Failure:
    """An exception raised on a worker thread, queued for the thread that consumes."""

    exc: BaseException


def put_until(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` into ``q``, waiting while it is full; False if ``stop`` is set first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
