"""The explicit list of shipped models and their manifests.

Each model id (``family.xN``, e.g. ``fidelity.x4``) names an ONNX file in
``revival/models/weights/`` and a JSON manifest beside it (``<id>.json``) that
states the contract: channels, colour, range, scale, tiling, precisions, opset,
plus provenance (recipe, training data, commit) and measured metrics. Nothing
is discovered by scanning folders; add a model by adding a line to ``_MODELS``.

The sha256 of every weight file is verified before it is used.

Example:
    >>> [m.model_id for m in MODELS.values()][:1]
    ['fidelity.x4']
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ChecksumError, ConfigError, ModelNotFoundError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
Precision = Literal["fp32", "int8"]


@dataclass(frozen=True)
class ModelEntry:
    """One registered model id and the command that produces its weights."""

    model_id: str
    scale: int
    description: str
    recipe: str

    @property
    def manifest_path(self) -> Path:
        return WEIGHTS_DIR / f"{self.model_id}.json"


_TRAIN = ("python -m revival.train.sr --arch anchor_c48_b8 --channels 1 "
          "--data ../shared/train/T91 ../shared/train/BSD200_train ")
_EXPORT = "python -m revival.models.export --calib ../shared/train/BSD200_train "

_MODELS: list[ModelEntry] = [
    ModelEntry("fidelity.x4", 4, "PSNR-oriented x4 luma SR, bicubic degradation, never "
               "adversarial (forensic-safe)",
               _TRAIN + "--scale 4 --iters 30000 --out runs/fidelity_x4 (stopped at iteration "
               "6000; v1.0.0 was its best.pt) && "
               + _TRAIN + "--scale 4 --init runs/fidelity_x4/best.pt --iters 20000 --lr 4e-4 "
               "--warmup 200 --val-every 4000 --threads 2 --out runs/fidelity_x4_ft && "
               + _EXPORT + "--ckpt runs/fidelity_x4_ft/final.pt --id fidelity.x4 --version 1.1.0"),
    ModelEntry("fidelity.x2", 2, "PSNR-oriented x2 luma SR, bicubic degradation, never "
               "adversarial (forensic-safe); body initialised from the x4 model",
               _TRAIN + "--scale 2 --init runs/fidelity_x4_ft/final.pt --iters 36000 --lr 4e-4 "
               "--warmup 300 --val-every 6000 --threads 1 --out runs/fidelity_x2_v2 && "
               + _EXPORT + "--ckpt runs/fidelity_x2_v2/final.pt --id fidelity.x2 --version 1.1.0"),
    ModelEntry("fast.x2", 2, "Small x2 luma SR for the real-time path (720p input at 24 fps "
               "and more with INT8 on two cores); bicubic degradation, never adversarial",
               "python -m revival.train.sr --arch anchor_c16_b3 --channels 1 "
               "--data ../shared/train/T91 ../shared/train/BSD200_train --scale 2 --patch 64 "
               "--iters 30000 --lr 1e-3 --threads 1 --val-every 5000 --out runs/fast_x2 && "
               + _EXPORT + "--ckpt runs/fast_x2/final.pt --id fast.x2 (v1.0.0) && "
               "python -m revival.train.sr --arch anchor_c16_b3_t1 --channels 1 "
               "--data ../shared/train/T91 ../shared/train/BSD200_train --scale 2 --patch 64 "
               "--iters 20000 --lr 5e-4 --warmup 200 --threads 1 --val-every 5000 "
               "--init runs/fast_x2/final.pt --out runs/fast_c16_b3_t1 && "
               + _EXPORT + "--ckpt runs/fast_c16_b3_t1/final.pt --id fast.x2 --version 2.0.0"),
    ModelEntry("realworld.x2", 2, "x2 RGB SR for real footage: denoises, deblocks and upscales "
               "in one pass (trained on a blur / sensor noise / JPEG-or-codec chain); never "
               "adversarial",
               "python -m revival.train.sr --arch anchor_c48_b8 --scale 2 --channels 3 "
               "--degrade chain --data ../shared/train/T91 ../shared/train/BSD200_train "
               "--iters 14000 --val-every 2000 --threads 1 --out runs/realworld_x2 && "
               + _EXPORT + "--ckpt runs/realworld_x2/final.pt --id realworld.x2"),
    ModelEntry("realworld.x4", 4, "x4 RGB SR for real footage: denoises, deblocks and upscales "
               "in one pass (same chain as realworld.x2, body initialised from it); never "
               "adversarial",
               "python -m revival.train.sr --arch anchor_c48_b8 --scale 4 --channels 3 "
               "--degrade chain --data ../shared/train/T91 ../shared/train/BSD200_train "
               "--init runs/realworld_x2/final.pt --iters 8000 --lr 5e-4 --val-every 2000 "
               "--threads 1 --out runs/realworld_x4 && "
               + _EXPORT + "--ckpt runs/realworld_x4/final.pt --id realworld.x4"),
    ModelEntry("perceptual.x4", 4, "x4 RGB SR that restores plausible texture: distilled from "
               "Real-ESRGAN x4plus (teacher at training time only), then fine-tuned with a GAN "
               "loss; invents detail, so the forensic preset refuses it",
               "python -m revival.train.sr --arch anchor_c48_b8 --scale 4 --channels 3 "
               "--degrade distill --distill-count 800 --data ../shared/train/BSD200_train "
               "../shared/train/T91 --patch 48 --iters 10000 --val-every 2000 --threads 1 "
               "--out runs/perceptual_x4 && "
               "python -m revival.train.sr --arch anchor_c48_b8 --scale 4 --channels 3 "
               "--data ../shared/train/BSD200_train ../shared/train/T91 --patch 48 "
               "--iters 1000 --lr 2e-4 --warmup 100 --val-every 500 --threads 1 "
               "--adversarial 0.01 --phase-weight 1 --init runs/perceptual_x4/final.pt "
               "--out runs/perceptual_x4_gan && "
               + _EXPORT + "--ckpt runs/perceptual_x4_gan/final.pt --id perceptual.x4"),
    ModelEntry("deblock.x1", 1, "Same-size RGB removal of codec artifacts (blocking, ringing, "
               "mosquito noise) of H.264, MPEG-2, MPEG-4 and JPEG; never adversarial",
               "python -m revival.train.sr --arch restore_c48_b8 --scale 1 --channels 3 "
               "--degrade codec --data ../shared/train/BSD200_train ../shared/train/T91 "
               "../shared/train/Vimeo90K_septuplet_train ../shared/train/SAM2_demo_clips "
               "--patch 96 --iters 24000 --val-every 4000 --threads 1 --out runs/deblock && "
               + _EXPORT + "--ckpt runs/deblock/final.pt --id deblock.x1"),
    ModelEntry("denoise.x1", 1, "Same-size blind RGB denoiser for white Gaussian and sensor "
               "(shot + read, luma and chroma) noise up to sigma 55 of 255; never adversarial. "
               "It smooths texture away under light noise, so the denoise stage uses it only "
               "from a measured sigma of 10 up (see docs/benchmarks/denoise.md)",
               "python -m revival.train.sr --arch restore_c32_b6 --scale 1 --channels 3 "
               "--degrade noise --data ../shared/train/T91 ../shared/train/BSD200_train "
               "--patch 96 --lr 1e-3 --iters 20000 --val-every 5000 --threads 1 "
               "--out runs/denoise_small && "
               + _EXPORT + "--ckpt runs/denoise_small/final.pt --id denoise.x1 --version 1.1.0"),
]


def _index(entries: list[ModelEntry]) -> dict[str, ModelEntry]:
    out: dict[str, ModelEntry] = {}
    for e in entries:
        if e.model_id in out:
            raise ValueError(f"duplicate model id {e.model_id!r}")
        out[e.model_id] = e
    return out


MODELS = _index(_MODELS)


def model_entry(model_id: str) -> ModelEntry:
    """The registry entry of ``model_id``.

    Raises:
        ConfigError: the id is not registered (the message lists the known ids).
    """
    try:
        return MODELS[model_id]
    except KeyError:
        raise ConfigError(f"unknown model id {model_id!r}; known models: "
                          f"{', '.join(sorted(MODELS))}", key="model") from None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(model_id: str, *, weights_dir: Path | None = None) -> dict[str, Any]:
    """The manifest of ``model_id`` as a dict.

    Raises:
        ConfigError: unknown id.
        ModelNotFoundError: the manifest is missing (message names the command that makes it).
    """
    entry = model_entry(model_id)
    path = (weights_dir or WEIGHTS_DIR) / f"{model_id}.json"
    if not path.is_file():
        raise ModelNotFoundError(
            f"model {model_id!r} is registered but its manifest {path} is missing; "
            f"train and export it with: {entry.recipe}", model_id=model_id)
    return json.loads(path.read_text())


def weight_path(model_id: str, precision: Precision = "fp32", *,
                weights_dir: Path | None = None, verify: bool = True) -> Path:
    """Path of the ONNX file of ``model_id`` at ``precision``, sha256-verified.

    Raises:
        ConfigError: unknown id or a precision the manifest does not list.
        ModelNotFoundError: manifest or weight file missing.
        ChecksumError: the file's sha256 differs from the manifest.
    """
    manifest = load_manifest(model_id, weights_dir=weights_dir)
    files = manifest["files"]
    if precision not in files:
        raise ConfigError(f"model {model_id!r} has no {precision} weights; available: "
                          f"{', '.join(sorted(files))}", key="precision")
    info = files[precision]
    path = (weights_dir or WEIGHTS_DIR) / info["file"]
    if not path.is_file():
        raise ModelNotFoundError(
            f"weight file {path} of {model_id!r} is missing; reinstall revival or re-export "
            f"it with: {model_entry(model_id).recipe}", model_id=model_id)
    if verify:
        digest = sha256_file(path)
        if digest != info["sha256"]:
            raise ChecksumError(f"{path}: sha256 {digest} does not match the manifest's "
                                f"{info['sha256']}; the file is corrupt or was replaced — "
                                f"reinstall revival or re-export the model", path=path)
    return path
