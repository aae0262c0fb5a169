"""Every preset that runs a learned model restores a real clip end to end and keeps timing."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from revival.io.encode import EncodeOptions
from revival.models.registry import WEIGHTS_DIR
from revival.pipeline.config import load_preset, preset_names
from revival.pipeline.job import restore
from revival.stages.upscale import resolve_model
from revival.testing.clips import ClipSpec, make_clip


def _models(name: str) -> list[str]:
    cfg = load_preset(name)
    out = []
    if "upscale" in cfg.stages:
        p = cfg.params.get("upscale", {})
        out.append(resolve_model(p.get("model", "fidelity"), int(p.get("scale", 4))))
    if "deblock" in cfg.stages:
        out.append(cfg.params.get("deblock", {}).get("model", "deblock.x1"))
    return out


LEARNED = [n for n in preset_names() if _models(n)]


def _video(path: Path) -> tuple[list[int], tuple[int, int], np.ndarray]:
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        return ([f.pts for f in frames], (frames[0].width, frames[0].height),
                frames[2].to_ndarray(format="rgb24"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("presets") / "in.mkv",
                     ClipSpec(width=66, height=50, frames=5, audio="aac", vfr=True))


@pytest.mark.parametrize("name", LEARNED)
def test_learned_preset_keeps_frames_and_timing(name: str, clip: Path, tmp_path: Path) -> None:
    missing = [m for m in _models(name) if not (WEIGHTS_DIR / f"{m}.json").is_file()]
    if missing:
        pytest.skip(f"{name}: weights of {', '.join(missing)} are not in this checkout")
    out = tmp_path / "out.mkv"
    result = restore(clip, out, preset=name, encode=EncodeOptions(codec="ffv1"))
    pts_in, size_in, _ = _video(clip)
    pts_out, size_out, frame = _video(out)
    assert pts_out == pts_in and result.frames == 5
    scale = int(load_preset(name).params.get("upscale", {}).get("scale", 1)) \
        if "upscale" in load_preset(name).stages else 1
    assert size_out == (size_in[0] * scale, size_in[1] * scale)
    assert frame.std() > 5  # a picture, not a blank
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1
