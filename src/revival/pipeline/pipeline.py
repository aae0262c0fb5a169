"""``Pipeline``: stages chained over a stream of frames with bounded memory.

Each stage sees a temporal window of ``past + 1 + future`` frames; the pipeline
keeps only those frames alive, so memory is set by the largest window, never by
the length of the video. Frames in equals frames out: every output frame keeps
the index and pts of the input frame it was made from.

Every stage but the last runs on its own thread, up to ``PREFETCH`` frames ahead of the
next stage, so that consecutive stages work on different frames at the same time (the
heavy work of every stage releases the GIL). Each stage still sees its frames in order
on one thread, so outputs are the same as when the stages run in turn.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from ..errors import RevivalError, StageError
from ..frames.frame import Frame
from ..frames.spec import VideoSpec
from .handoff import END, Failure, put_until
from .stage import Stage


def run_stage(stage: Stage, frames: Iterable[Frame], *, state: Any = None,
              originals: Mapping[int, Frame] | None = None) -> Iterator[Frame]:
    """Stream ``frames`` through one stage, yielding one output frame per input frame.

    At the ends of the clip the window repeats the first or last frame. A stage with
    ``needs_source = True`` also receives ``source=``: the same window taken from
    ``originals`` (the pipeline's input frames by position).
    """
    wants_source = getattr(stage, "needs_source", False) and originals is not None
    past, future = stage.window
    buf: deque[Frame] = deque()   # frames whose positions are [first, first + len)
    first = 0
    next_out = 0

    def positions(centre: int, last: int) -> list[int]:
        return [min(max(j, 0), last) for j in range(centre - past, centre + future + 1)]

    def stack(pictures: list[np.ndarray]) -> np.ndarray:
        return pictures[0][None] if len(pictures) == 1 else np.stack(pictures)

    def produce(centre: int, last: int) -> Frame:
        src = buf[centre - first]
        picks = positions(centre, last)
        window = stack([buf[p - first].rgb for p in picks])
        try:
            if wants_source:
                source = stack([originals[p].rgb for p in picks])  # type: ignore[index]
                out = stage.process(window, state=state, source=source)
            else:
                out = stage.process(window, state=state)
        except RevivalError:
            raise
        except Exception as exc:
            raise StageError(f"stage {stage.name!r} failed on frame {src.index}: {exc}",
                             stage=stage.name, frame_index=src.index) from exc
        return src.with_rgb(out)

    position = -1
    for position, frame in enumerate(frames):
        buf.append(frame)
        while next_out + future <= position:
            yield produce(next_out, position)
            next_out += 1
            while buf and first < next_out - past:
                buf.popleft()
                first += 1
    while next_out <= position:
        yield produce(next_out, position)
        next_out += 1
        while buf and first < next_out - past:
            buf.popleft()
            first += 1


PREFETCH = 2  # frames a stage may run ahead of the stage after it


def prefetch(stream: Iterable[Frame], depth: int = PREFETCH) -> Iterator[Frame]:
    """Iterate ``stream`` on a worker thread, at most ``depth`` items ahead of the caller.

    An exception raised by ``stream`` is raised here, at the point where its item would
    have come. Closing this generator (or an exception in the caller) stops the worker
    after the item it is working on, and waits for it.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in stream:
                if not put_until(items, item, stop):
                    return
            put_until(items, END, stop)
        except BaseException as exc:  # handed to the consuming thread
            put_until(items, Failure(exc), stop)

    worker = threading.Thread(target=work, name="revival-stage", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is END:
                return
            if isinstance(item, Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()


class Pipeline:
    """An ordered list of configured stages.

    Example:
        >>> from revival.stages.resize import Resize, ResizeParams
        >>> p = Pipeline([Resize(ResizeParams(scale=2))])
        >>> p.stage_names
        ['resize']
    """

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = list(stages)

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def changes_pixels(self) -> bool:
        return any(s.changes_pixels for s in self.stages)

    @property
    def needs_coded_qp(self) -> bool:
        """Whether a stage wants the source's coded quantiser in the spec (``VideoSpec.coded_qp``)."""
        return any(getattr(s, "needs_coded_qp", False) for s in self.stages)

    @property
    def max_window(self) -> int:
        return max((sum(s.window) + 1 for s in self.stages), default=1)

    def configure(self, spec: VideoSpec) -> VideoSpec:
        """Validate every stage against the spec flowing into it; return the final spec."""
        for stage in self.stages:
            spec = stage.configure(spec)
        return spec

    def run(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        """Stream frames through every stage (call :meth:`configure` first).

        Stages with ``needs_source`` see the pipeline's input frames beside their
        own input; those are kept only as long as such a stage can still ask for them.
        """
        states = [s.start() for s in self.stages]
        source_past = [s.window[0] for s in self.stages if getattr(s, "needs_source", False)]
        originals: dict[int, Frame] | None = {} if source_past else None
        lock = threading.Lock()  # the first stage's thread adds originals, this one drops them

        def tap(stream: Iterable[Frame]) -> Iterator[Frame]:
            for position, frame in enumerate(stream):
                with lock:
                    originals[position] = frame  # type: ignore[index]
                yield frame

        stream: Iterable[Frame] = tap(frames) if originals is not None else frames
        threaded: list[Iterator[Frame]] = []
        for k, (stage, state) in enumerate(zip(self.stages, states)):
            stream = run_stage(stage, stream, state=state, originals=originals)
            if k < len(self.stages) - 1:
                stream = prefetch(stream)
                threaded.append(stream)
        try:
            for position, frame in enumerate(stream):
                yield frame
                if originals is not None:
                    # every stage that reads originals is at this frame or ahead of it
                    with lock:
                        for old in [k for k in originals if k <= position - max(source_past)]:
                            del originals[old]
        finally:
            for t in reversed(threaded):  # stop the stage threads before their states go
                t.close()  # type: ignore[attr-defined]
            for stage, state in zip(self.stages, states):
                stage.flush(state)
