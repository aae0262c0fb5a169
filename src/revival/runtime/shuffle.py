"""The models' final pixel shuffle, done outside OpenVINO.

Every SR model ends in a float ``DepthToSpace`` (ONNX mode CRD, PyTorch's
``pixel_shuffle``). OpenVINO's CPU plugin runs it with two layout reorders around it,
three passes over the largest tensor of the model. :func:`strip_depth_to_space` cuts
that last node from the OpenVINO graph, and :func:`depth_to_space` does the same
rearrangement in one pass: ``cv2.merge`` interleaves the sub-pixel planes of each
output row phase straight into the output array, on worker threads. The result is
identical, element for element.

Only quantised (INT8) graphs are cut. There the shuffle runs in float after the last
dequantisation, between layout reorders, and doing it outside saved 15-18% of the
INT8 time of ``fast.x2`` and ``realworld.x2`` per 720p frame (other cells -11% to +8%,
within the machine's noise); in fp32 graphs cutting it cost 17-31% at 720p for the RGB
x4 models (``python benchmarks/shuffle.py``, docs/benchmarks/shuffle.md).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np


# below this many values one thread is as fast (2 cores: 1.97 against 2.21 ms for a 720p
# x2 luma output, 2.5 against 2.8 ms for a 320x180 x4 RGB one; 42 against 34 ms at 720p x4 RGB)
_PARALLEL_MIN = 1 << 22


def depth_to_space(y: np.ndarray, block: int, *,
                   pool: ThreadPoolExecutor | None = None) -> np.ndarray:
    """(N, C * block**2, H, W) float32 -> (N, C, H * block, W * block), ONNX mode CRD.

    Output channel ``c``, row ``h * block + i``, column ``w * block + j`` takes input
    channel ``c * block**2 + i * block + j`` at (h, w). ``pool`` spreads the row phases
    over threads when the tensor is large enough for that to pay.
    """
    n, cbb, h, w = y.shape
    if cbb % (block * block):
        raise ValueError(f"{cbb} channels are not a multiple of block {block} squared")
    c = cbb // (block * block)
    y = np.ascontiguousarray(y, dtype=np.float32)
    out = np.empty((n, c, h, block, w, block), dtype=np.float32)

    def phase(job: tuple[int, int, int]) -> None:
        k, ch, i = job
        first = ch * block * block + i * block
        # rows h * block + i of channel ch: the block planes interleaved column by column
        cv2.merge([y[k, first + j] for j in range(block)], dst=out[k, ch, :, i])

    jobs = [(k, ch, i) for k in range(n) for ch in range(c) for i in range(block)]
    if pool is None or y.size < _PARALLEL_MIN:
        for job in jobs:
            phase(job)
    else:
        list(pool.map(phase, jobs))
    return out.reshape(n, c, h * block, w * block)


def quantised(model: Any) -> bool:
    """Whether an OpenVINO model holds quantised (QDQ / FakeQuantize) operations."""
    return any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


def strip_depth_to_space(model: Any) -> tuple[Any, int]:
    """An OpenVINO model without its final CRD ``DepthToSpace``, and that node's block size.

    Returns ``(model, 1)`` unchanged when the model does not end in one.
    """
    import openvino as ov
    import openvino.opset8 as ops

    results = model.get_results()
    if len(results) != 1:
        return model, 1
    node = results[0].input_value(0).get_node()
    if node.get_type_name() != "DepthToSpace":
        return model, 1
    attrs = node.get_attributes()
    if attrs.get("mode") != "depth_first":
        return model, 1
    return ov.Model([ops.result(node.input_value(0))], model.get_parameters()), \
        int(attrs["block_size"])
