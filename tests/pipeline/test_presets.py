from __future__ import annotations

import pytest

from revival.pipeline.config import load_preset, preset_names

PER_FRAME_MODELS = {"upscale", "deblock"}


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_builds(name):
    cfg = load_preset(name)
    assert cfg.description
    assert len(cfg.build().stages) == len(cfg.stages)


@pytest.mark.parametrize("name", [n for n in preset_names() if n != "forensic"])
def test_temporal_follows_every_per_frame_model(name):
    stages = list(load_preset(name).stages)
    learned = [i for i, s in enumerate(stages) if s in PER_FRAME_MODELS]
    if learned:
        assert "temporal" in stages[learned[-1]:], f"{name}: {stages}"


def test_forensic_uses_only_fidelity_models_frame_by_frame():
    cfg = load_preset("forensic")
    assert set(cfg.stages) == {"upscale"}
    assert cfg.params["upscale"]["model"].startswith("fidelity")
    assert cfg.params["upscale"].get("precision", "fp32") == "fp32"
    assert cfg.params["upscale"]["forensic"] is True
