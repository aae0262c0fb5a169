"""Progress rendering: a bar on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..pipeline.job import Progress


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class ProgressPrinter:
    """Callable progress sink. ``interval`` is the seconds between plain (non-TTY) lines."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 interval: float = 5.0, width: int = 30) -> None:
        stream = sys.stderr if stream is None else stream
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval
        self.width = width
        self._last = 0.0 if self.tty else time.monotonic()
        self._shown = False

    def line(self, p: Progress) -> str:
        total = f"/{p.total}" if p.total else ""
        return f"{p.done}{total} frames  {p.fps:.1f} fps  ETA {_clock(p.eta)}"

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if self.tty:
            if now - self._last < 0.1 and p.done != p.total:
                return
            frac = min(1.0, p.done / p.total) if p.total else 0.0
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {self.line(p)} ")
            self.stream.flush()
        elif now - self._last >= self.interval:
            self.stream.write(f"progress: {self.line(p)}\n")
            self.stream.flush()
        else:
            return
        self._last = now
        self._shown = True

    def finish(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
