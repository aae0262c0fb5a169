"""``Pipeline``: stages chained over a stream of frames with bounded memory.

Each stage sees a temporal window of ``past + 1 + future`` frames; the pipeline
keeps only those frames alive, so memory is set by the largest window, never by
the length of the video. Frames in equals frames out: every output frame keeps
the index and pts of the input frame it was made from.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import RevivalError, StageError
from ..frames.frame import Frame
from ..frames.spec import VideoSpec
from .stage import Stage


def run_stage(stage: Stage, frames: Iterable[Frame], *, state: Any = None) -> Iterator[Frame]:
    """Stream ``frames`` through one stage, yielding one output frame per input frame.

    At the ends of the clip the window repeats the first or last frame.
    """
    past, future = stage.window
    buf: deque[Frame] = deque()   # frames whose positions are [first, first + len)
    first = 0
    next_out = 0

    def window_for(centre: int, last: int) -> np.ndarray:
        picks = [min(max(j, 0), last) - first for j in range(centre - past, centre + future + 1)]
        if len(picks) == 1:
            return buf[picks[0]].rgb[None]
        return np.stack([buf[p].rgb for p in picks])

    def produce(centre: int, last: int) -> Frame:
        src = buf[centre - first]
        try:
            out = stage.process(window_for(centre, last), state=state)
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
    def max_window(self) -> int:
        return max((sum(s.window) + 1 for s in self.stages), default=1)

    def configure(self, spec: VideoSpec) -> VideoSpec:
        """Validate every stage against the spec flowing into it; return the final spec."""
        for stage in self.stages:
            spec = stage.configure(spec)
        return spec

    def run(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        """Stream frames through every stage (call :meth:`configure` first)."""
        states = [s.start() for s in self.stages]
        stream: Iterable[Frame] = frames
        for stage, state in zip(self.stages, states):
            stream = run_stage(stage, stream, state=state)
        try:
            yield from stream
        finally:
            for stage, state in zip(self.stages, states):
                stage.flush(state)
