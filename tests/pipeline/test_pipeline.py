from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

from revival.errors import ConfigError, StageError
from revival.frames.frame import Frame
from revival.pipeline.config import PipelineConfig, load_preset, preset_names
from revival.pipeline.pipeline import Pipeline, run_stage
from revival.pipeline.stage import Stage, build_params, check_range


def frames(n: int, h: int = 4, w: int = 5) -> list[Frame]:
    return [Frame.from_rgb(np.full((h, w, 3), i, np.float32), index=i, pts=10 * i,
                           time_base=Fraction(1, 100)) for i in range(n)]


@dataclass(frozen=True)
class _WinParams:
    gain: float = 1.0


class Window(Stage):
    """Returns the frame values seen in the window, to check windowing."""

    name = "window-test"
    Params = _WinParams
    window = (2, 1)

    def process(self, window: np.ndarray, *, state: object = None) -> np.ndarray:
        out = np.zeros_like(window[0])
        out[0, : window.shape[0], 0] = window[:, 0, 0, 0]
        return out


def test_windows_repeat_edges_and_keep_timing() -> None:
    out = list(run_stage(Window(), iter(frames(5))))
    seen = [list(f.rgb[0, :4, 0]) for f in out]
    assert seen == [[0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 4]]
    assert [f.pts for f in out] == [0, 10, 20, 30, 40]
    assert [f.index for f in out] == list(range(5))


def test_single_frame_clip() -> None:
    out = list(run_stage(Window(), iter(frames(1))))
    assert len(out) == 1 and list(out[0].rgb[0, :4, 0]) == [0, 0, 0, 0]


def test_memory_is_bounded_by_the_window() -> None:
    """Frames already used are released while the stream is still running."""
    refs: list[weakref.ref] = []

    def source():
        for i in range(40):
            f = Frame.from_rgb(np.full((8, 8, 3), i, np.float32), index=i, pts=i,
                               time_base=Fraction(1, 25))
            refs.append(weakref.ref(f))
            yield f
            del f

    pipeline = Pipeline([Window(), Window()])
    alive_max = 0
    for _ in pipeline.run(source()):
        gc.collect()
        alive_max = max(alive_max, sum(r() is not None for r in refs))
    assert alive_max <= 2 * (sum(Window.window) + 1) + 2


def test_stage_failure_names_stage_and_frame() -> None:
    class Boom(Window):
        def process(self, window, *, state=None):
            raise ZeroDivisionError("bad")

    with pytest.raises(StageError) as info:
        list(run_stage(Boom(), iter(frames(3))))
    assert info.value.stage == "window-test" and info.value.frame_index == 0


def test_build_params_coerces_and_names_keys() -> None:
    @dataclass(frozen=True)
    class P:
        n: int = 1
        x: float = 0.5
        flag: bool = False

        def __post_init__(self) -> None:
            check_range("demo", "x", self.x, 0, 1)

    p = build_params(P, {"n": "3", "x": "0.25", "flag": "true"}, prefix="demo")
    assert (p.n, p.x, p.flag) == (3, 0.25, True)
    with pytest.raises(ConfigError) as info:
        build_params(P, {"n": "2.5"}, prefix="demo")
    assert info.value.key == "demo.n"
    with pytest.raises(ConfigError) as info:
        build_params(P, {"x": 2}, prefix="demo")
    assert info.value.key == "demo.x"


def test_presets_load_and_round_trip_through_toml() -> None:
    assert {"copy", "lanczos"} <= set(preset_names())
    for name in preset_names():
        cfg = load_preset(name)
        again = PipelineConfig.from_toml(cfg.to_toml())
        assert again.to_dict() == cfg.to_dict()
        cfg.build()


def test_overrides_and_unknown_top_level_key() -> None:
    cfg = load_preset("lanczos").with_overrides({"resize.scale": "3"})
    assert cfg.build().stages[0].params.scale == 3.0
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_dict({"stages": [], "colour": 3})
    assert info.value.key == "colour"


def test_override_of_a_stage_not_in_the_pipeline_is_refused() -> None:
    """`--preset lanczos --set upscale.scale=2` used to be accepted and do nothing."""
    with pytest.raises(ConfigError) as info:
        load_preset("lanczos").with_overrides({"upscale.scale": "2"})
    assert info.value.key == "upscale.scale"
    assert "not in this pipeline" in str(info.value) and "--stages" in str(info.value)
    cfg = load_preset("lanczos").with_stages(["resize", "upscale"])
    assert cfg.with_overrides({"upscale.scale": "2"}).build().stages[1].params.scale == 2


def test_stages_that_need_the_source_get_the_pipeline_input() -> None:
    class Double(Window):
        name = "double"
        window = (0, 0)

        def process(self, window, *, state=None):
            return window[0] * 2

    class Source(Window):
        name = "source"
        window = (1, 0)
        needs_source = True

        def process(self, window, *, state=None, source=None):
            # processed (doubled) minus twice the original gives zero when aligned
            return window[1] - 2 * source[1]

    pipeline = Pipeline([Double(), Source()])
    out = list(pipeline.run(iter(frames(5))))
    assert len(out) == 5
    assert all(f.rgb.shape == (4, 5, 3) and np.all(f.rgb == 0) for f in out)


class _Threads(Window):
    """Window stage that records the thread each frame is processed on."""

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self.threads: list[str] = []

    def process(self, window, *, state=None):
        import threading
        self.threads.append(threading.current_thread().name)
        return super().process(window, state=state) + window[0]


def _stage_threads() -> list:
    import threading
    return [t for t in threading.enumerate() if t.name == "revival-stage"]


def test_earlier_stages_run_on_their_own_threads_with_unchanged_output() -> None:
    import threading
    first, second = _Threads(), _Threads()
    out = [f.rgb for f in Pipeline([first, second]).run(iter(frames(9)))]
    expected = [f.rgb for f in run_stage(_Threads(), run_stage(_Threads(), iter(frames(9))))]
    assert len(out) == 9 and all(np.array_equal(a, b) for a, b in zip(out, expected))
    assert set(first.threads) == {"revival-stage"}
    assert set(second.threads) == {threading.current_thread().name}
    assert not _stage_threads()


def test_failure_in_an_earlier_stage_reaches_the_caller_and_stops_its_thread() -> None:
    class Boom(Window):
        def process(self, window, *, state=None):
            raise ZeroDivisionError("bad")

    with pytest.raises(StageError) as info:
        list(Pipeline([Boom(), Window()]).run(iter(frames(4))))
    assert info.value.stage == "window-test" and info.value.frame_index == 0
    assert not _stage_threads()


def test_stopping_early_ends_the_stage_threads_and_bounds_the_lead() -> None:
    from revival.pipeline.pipeline import PREFETCH
    first = _Threads()
    run = Pipeline([first, Window()]).run(iter(frames(50)))
    for _ in range(3):
        next(run)
    run.close()
    assert not _stage_threads()
    # three frames out of the second stage need four from the first (window future 1); the
    # first stage may be PREFETCH frames ahead of that, plus the one it was working on
    assert 4 <= len(first.threads) <= 4 + PREFETCH + 1 + sum(Window.window)
