"""A preset's [encode.<codec>] table: validated when loaded, defaults only, and really used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from revival.errors import ConfigError
from revival.io.encode import EncodeOptions
from revival.pipeline.config import PipelineConfig, load_preset
from revival.pipeline.job import restore
from revival.testing.clips import ClipSpec, make_clip


@pytest.mark.parametrize("table, key, words", [
    ({"h264": {"preset": "bogus"}}, "encode.h264", "veryfast"),
    ({"vp9": {"preset": "fast"}}, "encode.vp9", "unknown codec"),
    ({"h264": {"crf": 99}}, "encode.h264", "[0, 51]"),
    ({"h264": {"crf": 1.5}}, "encode.h264.crf", "whole number"),
    ({"h264": {"tune": "film"}}, "encode.h264", "tune"),
    ({"av1": {"preset": "fast"}}, "encode.av1", "numbers"),
    ({"ffv1": {"preset": "fast"}}, "encode.ffv1", "no speed presets"),
    ({"h264": "veryfast"}, "encode.h264", "table"),
    ("veryfast", "encode", "table"),
])
def test_bad_encode_tables_are_refused_with_the_key(table, key, words):
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_dict({"stages": [], "encode": table})
    assert info.value.key == key
    assert words in str(info.value)


def test_explicit_settings_win_and_other_codecs_keep_their_defaults():
    cfg = PipelineConfig.from_dict({"stages": [], "encode": {"h264": {"preset": "faster",
                                                                      "crf": 23}}})
    assert cfg.encode_options(EncodeOptions(codec="h264")) == EncodeOptions(
        codec="h264", crf=23, preset="faster")
    mixed = cfg.encode_options(EncodeOptions(codec="h264", preset="slow", bit_depth=10))
    assert (mixed.crf, mixed.preset, mixed.bit_depth) == (23, "slow", 10)
    assert cfg.encode_options(EncodeOptions(codec="av1")) == EncodeOptions(codec="av1")


def test_encode_table_round_trips_through_toml():
    cfg = PipelineConfig.from_dict({"stages": ["resize"], "resize": {"scale": 2.0},
                                    "encode": {"h265": {"preset": "veryfast", "crf": 24},
                                               "av1": {"preset": "10"}}})
    again = PipelineConfig.from_toml(cfg.to_toml())
    assert again.encode == {"h265": {"crf": 24, "preset": "veryfast"}, "av1": {"preset": "10"}}
    assert again.to_dict() == cfg.to_dict()


def test_fast_preset_encodes_at_x264_veryfast():
    assert load_preset("fast").encode["h264"] == {"preset": "veryfast"}


def test_unknown_encoder_preset_is_refused_before_anything_is_decoded():
    with pytest.raises(ConfigError) as info:
        EncodeOptions(codec="h264", preset="bogus")
    assert info.value.key == "preset"
    EncodeOptions(codec="av1", preset="13")
    with pytest.raises(ConfigError):
        EncodeOptions(codec="av1", preset="14")


def _x264_settings(path: Path) -> str:
    """The option string x264 writes into its SEI ("... options: cabac=1 ref=3 ...")."""
    found = re.search(rb"options: ([ -~]+)", path.read_bytes())
    assert found, f"no x264 settings in {path}"
    return found.group(1).decode()


def test_restore_encodes_with_the_presets_table_unless_told_otherwise(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", ClipSpec(width=64, height=48, frames=4))
    cfg = PipelineConfig.from_dict({"stages": [], "encode": {"h264": {"preset": "ultrafast"}}})
    restore(clip, tmp_path / "table.mp4", preset=cfg)
    restore(clip, tmp_path / "explicit.mp4", preset=cfg,
            encode=EncodeOptions(codec="h264", preset="medium"))
    # ultrafast: no CABAC, subme 0; medium: CABAC, subme 7
    assert re.search(r"\bcabac=0\b.*\bsubme=0\b", _x264_settings(tmp_path / "table.mp4"))
    assert re.search(r"\bcabac=1\b.*\bsubme=7\b", _x264_settings(tmp_path / "explicit.mp4"))
