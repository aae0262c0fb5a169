"""Static INT8 quantisation (QDQ) of SR models, calibrated on natural image patches.

Weights are quantised per output channel (int8, symmetric), activations per
tensor (uint8) from MinMax ranges over random crops of real photos. The
final residual ``Add`` and the ``DepthToSpace`` stay in float, so the output is
not snapped to an 8-bit grid of the activation range.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def calibration_patches(folders: list[str | Path], *, channels: int, count: int = 48,
                        size: int = 64, seed: int = 0, frames: int = 1) -> list[np.ndarray]:
    """``count`` random (1, C * frames, size, size) float32 crops of the images in ``folders``.

    Crops are taken from images down-scaled 2x with bicubic, so they look like the
    low-resolution frames the model sees. ``frames`` > 1 (multi-frame models) stacks
    the crop with crops one pixel away, like aligned neighbours, centre first.
    """
    from ..stages.resize import resize
    from ..train.data import list_images, read_rgb, rgb_to_y601

    rng = np.random.default_rng(seed)
    paths = list_images(folders)
    out = []
    for i in rng.choice(len(paths), size=count, replace=count > len(paths)):
        img = resize(read_rgb(paths[i]).astype(np.float32) / 255.0, scale=0.5, kernel="bicubic")
        img = np.clip(img, 0, 1)
        m = 1 if frames > 1 else 0  # room for the neighbours' one-pixel offsets
        if min(img.shape[:2]) < size + 2 * m:
            continue
        y = int(rng.integers(m, img.shape[0] - size - m + 1))
        x = int(rng.integers(m, img.shape[1] - size - m + 1))
        planes = []
        for k in range(frames):
            dy, dx = (0, 0) if k == 0 else (int(v) for v in rng.integers(-1, 2, size=2))
            crop = img[y + dy:y + dy + size, x + dx:x + dx + size]
            planes.append(rgb_to_y601(crop)[None] if channels == 1 else crop.transpose(2, 0, 1))
        out.append(np.ascontiguousarray(np.concatenate(planes)[None], dtype=np.float32))
    return out


def quantize_int8(src: str | Path, dst: str | Path, *, channels: int,
                  calib_folders: list[str | Path], count: int = 48,
                  noise_max: float = 0.0, frames: int = 1) -> Path:
    """Write a static-QDQ INT8 copy of ONNX model ``src`` to ``dst``.

    ``frames``: frames a multi-frame model takes (see :func:`calibration_patches`).

    ``noise_max`` > 0 (denoisers) adds white Gaussian noise of a seeded random sigma in
    [0, noise_max] to each calibration patch, so activation ranges cover noisy input.
    """
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    patches = calibration_patches(calib_folders, channels=channels, count=count,
                                  frames=frames)
    if noise_max > 0:
        rng = np.random.default_rng(0)
        patches = [np.clip(x + rng.uniform(0, noise_max) * rng.standard_normal(x.shape),
                           0, 1).astype(np.float32) for x in patches]
    model = onnx.load(str(src))
    name = model.graph.input[0].name
    tail = [n.name for n in model.graph.node if n.op_type in ("DepthToSpace",)]
    last_add = [n.name for n in model.graph.node if n.op_type == "Add"][-1:]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(patches)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {name: x}

    dst = Path(dst)
    pre = dst.with_name(dst.name + ".pre.onnx")
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    try:
        quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=tail + last_add)
    finally:
        pre.unlink(missing_ok=True)
    log.info("quantised %s -> %s (%d calibration patches)", src, dst, len(patches))
    return dst
