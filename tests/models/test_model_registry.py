from __future__ import annotations

import json
import shutil

import pytest

from revival.errors import ChecksumError, ConfigError, ModelNotFoundError
from revival.models.registry import MODELS, WEIGHTS_DIR, load_manifest, sha256_file, weight_path

REQUIRED = {"id", "version", "files", "licence", "training_data", "recipe", "commit", "metrics",
            "input", "opset"}


def shipped() -> list[str]:
    return [m for m in MODELS if (WEIGHTS_DIR / f"{m}.json").is_file()]


def test_registry_ids_are_family_dot_scale():
    for model_id, entry in MODELS.items():
        family, scale = model_id.split(".")
        assert family and scale == f"x{entry.scale}"


def test_unknown_model_is_config_error_listing_ids():
    with pytest.raises(ConfigError, match="fidelity.x4"):
        load_manifest("nope.x4")


def test_missing_manifest_names_the_fix(tmp_path):
    with pytest.raises(ModelNotFoundError, match="python -m revival.train.sr") as info:
        load_manifest("fidelity.x4", weights_dir=tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.model_id == "fidelity.x4"


def test_at_least_one_model_is_shipped():
    assert "fidelity.x4" in shipped()


@pytest.mark.parametrize("model_id", shipped())
def test_shipped_manifest_is_complete_and_verifies(model_id):
    manifest = load_manifest(model_id)
    assert REQUIRED <= set(manifest)
    assert manifest["id"] == model_id
    assert manifest["adversarial"] is False or not model_id.startswith("fidelity")
    assert manifest["opset"] == 17
    for precision, info in manifest["files"].items():
        path = weight_path(model_id, precision)
        assert path.stat().st_size < 10 * 2**20
        assert sha256_file(path) == info["sha256"]
    contract = manifest["input"]
    assert contract["channels"] in (1, 3) and contract["range"] == [0.0, 1.0]
    assert contract["scale"] == MODELS[model_id].scale


def test_checksum_mismatch_raises(tmp_path):
    manifest = load_manifest("fidelity.x4")
    shutil.copy(WEIGHTS_DIR / "fidelity.x4.json", tmp_path)
    src = WEIGHTS_DIR / manifest["files"]["fp32"]["file"]
    data = bytearray(src.read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / src.name).write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as info:
        weight_path("fidelity.x4", "fp32", weights_dir=tmp_path)
    assert isinstance(info.value, ValueError)


def test_missing_weight_file_raises(tmp_path):
    shutil.copy(WEIGHTS_DIR / "fidelity.x4.json", tmp_path)
    with pytest.raises(ModelNotFoundError, match="re-export"):
        weight_path("fidelity.x4", "fp32", weights_dir=tmp_path)


def test_unknown_precision_is_config_error(tmp_path):
    m = json.loads((WEIGHTS_DIR / "fidelity.x4.json").read_text())
    m["files"].pop("int8", None)
    (tmp_path / "fidelity.x4.json").write_text(json.dumps(m))
    with pytest.raises(ConfigError, match="int8"):
        weight_path("fidelity.x4", "int8", weights_dir=tmp_path)


@pytest.mark.parametrize("model_id", shipped())
def test_model_card_states_contract_and_checksums(model_id):
    from revival.models.cards import render_card

    manifest = load_manifest(model_id)
    card = render_card(manifest)
    assert card.startswith(f"# {model_id}")
    for info in manifest["files"].values():
        assert info["sha256"] in card
    assert f"x{manifest['input']['scale']}" in card
    auto = manifest.get("auto_strength")
    if auto:  # the rules a user's `strength = "auto"` runs by
        assert f"clip((QP - {auto['qp_zero']:g}) / {auto['qp_span']:g}, 0, 1)" in card
        for rule in (auto.get("families") or {}).values():
            assert f"clip((QP - {rule['qp_zero']:g}) / {rule['qp_span']:g}, 0, 1)" in card


def test_a_card_names_the_network_a_model_was_trained_as():
    from revival.models.cards import render_card

    manifest = load_manifest("fidelity.x4")
    assert manifest["training_arch"] == manifest["arch"] + "_rep"
    card = render_card(manifest)
    assert f"trained as `{manifest['training_arch']}`" in card
    plain = {k: v for k, v in manifest.items() if k not in ("training_arch", "training_params")}
    assert "trained as" not in render_card(plain)
