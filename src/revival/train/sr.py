"""Train a super-resolution or restoration network on image folders.

Command (the recipe of ``fidelity.x4``)::

    python -m revival.train.sr --arch anchor_c48_b8 --scale 4 --channels 1 \\
        --data ../shared/train/T91 ../shared/train/BSD200_train \\
        --iters 16000 --out runs/fidelity_x4

Writes ``<out>/log.txt`` (human-readable log), ``<out>/last.pt`` (checkpoint,
every ``--ckpt-every`` iterations; a rerun of the same command resumes from it),
``<out>/best.pt`` (best validation PSNR) and ``<out>/train.json`` (recipe,
command, iterations, commit, validation history). Validation runs every
``--val-every`` iterations on training images held out of training (one source in
25, for every ``--degrade``), and ``best.pt`` is the best on them. ``--val SET``
(a test set with ``LRbicx<s>/`` and ``GTmod12/``) adds a monitoring score to the log
and the history; it never chooses a checkpoint, so test sets stay unseen.

Real-world SR (the recipe of ``realworld.x2``): ``--degrade chain`` degrades every
image twice through the blur / resize / noise / JPEG-or-codec chain of
:mod:`revival.train.chain_pairs`; one image in 25 is held out and validation reports
PSNR (RGB) of the output and of bicubic upscaling of the same degraded input.
``--compress-last P`` makes a share P of the chains end with the compression, at the
LR size (as delivered video is), instead of resampling the codec's output, and
``--chain-blur P1 P2`` sets the blur probability of each round (0.7 and 0.3 by default)::

    python -m revival.train.sr --arch anchor_c48_b8 --scale 2 --channels 3 \
        --degrade chain --data ../shared/train/T91 ../shared/train/BSD200_train \
        --iters 14000 --val-every 2000 --out runs/realworld_x2

``--degrade joint`` trains the same kind of model on video clips that are blurred,
downscaled, given fresh sensor noise every frame and then coded at the LR size with
inter-coded frames (:mod:`revival.train.joint_pairs`), as web and home video is.

Perceptual SR by distillation (the recipe of ``perceptual.x4``): ``--degrade distill``
trains on (bicubic LR crop, Real-ESRGAN x4plus output) pairs made once by
:mod:`revival.train.distill` and cached in ``<out>/teacher_pairs.npz``; the teacher
runs at training time only::

    python -m revival.train.sr --arch anchor_c48_b8 --scale 4 --channels 3 \
        --degrade distill --distill-count 800 --data ../shared/train/BSD200_train \
        ../shared/train/T91 --patch 48 --iters 10000 --val-every 2000 --threads 1 --out runs/perceptual_x4

``perceptual.x4`` v1.1.0 is that student fine-tuned with an adversarial loss:
``--adversarial W`` adds W times a hinge GAN loss from a spectrally normalised patch
critic (:mod:`revival.train.adversarial`; the critic is saved and resumed with the
run), and ``--phase-weight W`` penalises the fixed pattern on the scale x scale output
grid that the GAN loss otherwise prints::

    python -m revival.train.sr --arch anchor_c48_b8 --scale 4 --channels 3 \
        --data ../shared/train/BSD200_train ../shared/train/T91 --patch 48 --iters 1000 \
        --lr 2e-4 --warmup 100 --val-every 500 --threads 1 --adversarial 0.01 \
        --phase-weight 1 --init runs/perceptual_x4/final.pt --out runs/perceptual_x4_gan

Artifact removal (the recipe of ``deblock``): ``--degrade codec --scale 1`` with a
``restore_*`` architecture trains on real-codec round trips
(:mod:`revival.train.codec_pairs`); one source in 25 is held out for validation,
which reports PSNR (RGB) of the output and of the codec's own output::

    python -m revival.train.sr --arch restore_c48_b8 --scale 1 --channels 3 \
        --degrade codec --data ../shared/train/BSD200_train ../shared/train/T91 \
        ../shared/train/Vimeo90K_septuplet_train ../shared/train/SAM2_demo_clips \
        --patch 96 --iters 24000 --val-every 4000 --threads 1 --out runs/deblock

L1 loss, Adam (beta 0.9/0.99), linear warm-up then cosine decay. bf16 autocast on
CPUs with native bf16 (measured 1.8x faster per iteration on AVX512-BF16 for
``anchor_c48_b8``) and on GPUs that support it; ``--precision fp32`` turns it off.

On a GPU (``--device cuda``) the training pairs are built on the CPU as usual, then
held on the GPU, and batches are cut there (:class:`~revival.train.data.TensorPatchSampler`).
``--time-budget S`` sizes the run to about S seconds of training: the second half of
the first ``--time-probe`` iterations (inside the warm-up, whose learning rates do not
depend on the length of the run) sets the pace, ``--iters`` is replaced by the number
that fits, rounded down to 100, and that number is logged and recorded, so ``--iters N``
repeats the schedule. For example (on one H200 this took 9 ms per iteration and sized itself to
21,700 iterations)::

    python -m revival.train.sr --device cuda --arch anchor_c48_b14 --scale 4 --channels 1 \\
        --data ../shared/train/T91 ../shared/train/BSD200_train \\
        --init src/revival/models/weights/fidelity.x4.onnx --iters 1000000 --time-budget 200 \\
        --warmup 1000 --time-probe 1000 --batch 128 --patch 48 --lr 5e-4 --out runs/x4_gpu
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import logging
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..models.arch import build_arch, count_params, input_frames, size_multiple
from ..runtime.cpu import has_bf16
from .data import PairSet, PatchSampler, TensorPatchSampler, build_pairs, rgb_to_y601
from .noise_pairs import add_noise
from .evaluate import evaluate_set

log = logging.getLogger("revival.train.sr")
REPO = Path(__file__).resolve().parents[3]


def git_commit() -> str:
    """``$REVIVAL_COMMIT`` where it is set, else the repository's HEAD.

    The variable is for a training machine that was sent a copy of the working tree: the
    copy may lack the git history, or carry a stale one whose HEAD is not the code that
    runs, so the caller's word wins."""
    if os.environ.get("REVIVAL_COMMIT"):
        return os.environ["REVIVAL_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def iters_for_budget(*, budget: float, elapsed: float, done: int, pace: float) -> int:
    """Iterations in a run of ``budget`` seconds when ``done`` iterations took ``elapsed``
    seconds and the rest go at ``pace`` seconds each: rounded down to 100, at least ``done``."""
    if pace <= 0:
        raise ValueError("the pace must be a positive time per iteration")
    more = max(0.0, budget - elapsed) / pace
    return max(done, int((done + more) // 100 * 100))


def lr_at(it: int, *, iters: int, base: float, floor: float, warmup: int) -> float:
    """Learning rate at iteration ``it`` (0-based): linear warm-up, then cosine to ``floor``."""
    if it < warmup:
        return base * (it + 1) / warmup
    t = (it - warmup) / max(1, iters - warmup)
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * min(1.0, t)))


def make_upscaler(net: torch.nn.Module, channels: int):
    """A NumPy ``upscale(lr_rgb) -> sr`` closure around ``net`` (eval mode, fp32)."""

    @torch.no_grad()
    def upscale(lr: np.ndarray) -> np.ndarray:
        x = rgb_to_y601(lr)[None, None] if channels == 1 else lr.transpose(2, 0, 1)[None]
        x = torch.from_numpy(np.ascontiguousarray(x)).to(_device(net))
        y = net(x).clamp(0, 1)[0].float().cpu().numpy()
        return y[0] if channels == 1 else y.transpose(1, 2, 0)

    return upscale


def _device(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


VAL_EVERY_SOURCE = 25  # every 25th source (image, clip) is held out for validation
TIME_PROBE = 200  # iterations timed to size a --time-budget run (default of --time-probe)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


@torch.no_grad()
def evaluate_pairs(net: torch.nn.Module, pairs: PairSet) -> dict[str, float]:
    """Mean PSNR (8-bit rounded; RGB, or Y' for luma models) of ``net`` on whole held-out
    pairs, and of the input (bicubic-upscaled when the pairs have a scale above 1)."""
    from ..stages.resize import resize

    out, base = [], []
    for lq, gt in zip(pairs.lr, pairs.hr):
        lq_f = lq.astype(np.float32) / 255.0 if lq.dtype == np.uint8 else lq
        x = torch.from_numpy(np.ascontiguousarray(lq_f.transpose(2, 0, 1))[None])
        h, w = x.shape[2:]
        m = size_multiple(net)
        x = F.pad(x, (0, -w % m, 0, -h % m), mode="replicate").to(_device(net))
        y = net(x)[:, :, :h * pairs.scale, :w * pairs.scale]
        y = y.clamp(0, 1)[0].float().cpu().numpy().transpose(1, 2, 0)
        y = np.round(y * 255.0) / 255.0
        g = gt.astype(np.float32) / 255.0 if gt.dtype == np.uint8 else gt
        lq_f = lq_f[..., :g.shape[-1]]  # a multi-frame input's centre frame
        if pairs.scale > 1:
            up = resize(lq_f[..., 0] if lq_f.shape[-1] == 1 else lq_f, size=g.shape[:2],
                        kernel="bicubic").reshape(g.shape)
            lq_f = np.round(np.clip(up, 0, 1) * 255.0) / 255.0
        out.append(_psnr(y, g))
        base.append(_psnr(lq_f, g))
    return {"psnr": float(np.mean(out)), "psnr_input": float(np.mean(base)),
            "pairs": len(out)}


def _body_count(state: dict) -> int:
    return sum(1 for k in state if k.startswith("body.") and k.endswith(".weight"))


def deepen(state: dict, own: dict) -> dict:
    """Map a shallower network's body convolutions into a deeper one of the same width.

    When ``own`` (the state of an :class:`~revival.models.arch.AnchorSR` or
    :class:`~revival.models.arch.RestoreNet`) has ``m`` body convolutions and ``state``
    ``n < m`` of the same shape, the ``n`` trained ones keep their order and ``m - n``
    identity convolutions (centre tap 1 on the own channel, bias 0) are spread evenly
    between them. In both networks a body convolution reads a ReLU's output and is
    followed by a ReLU, so an identity convolution passes its non-negative input through
    unchanged: the deeper network starts as exactly the trained one. Any other state
    (another width, a missing tensor) is returned as it is.
    """
    n, m = _body_count(state), _body_count(own)
    if not 0 < n < m or "body.0.weight" not in own:
        return state
    shape = own["body.0.weight"].shape
    if any(k not in state for i in range(n) for k in (f"body.{i}.weight", f"body.{i}.bias")):
        return state
    if any(state[f"body.{i}.weight"].shape != shape for i in range(n)):
        return state
    extra = m - n
    # trained convolutions after which an identity goes, evenly spaced
    after = {round((k + 1) * n / extra) - 1 for k in range(extra)}
    if len(after) < extra:  # more identities than gaps: the rest go at the end
        after = set(range(n - extra, n)) if extra <= n else set(range(n))
    identity = torch.zeros(shape)
    identity[torch.arange(shape[0]), torch.arange(shape[0]), shape[2] // 2, shape[3] // 2] = 1.0
    convs = []
    for i in range(n):
        convs.append((state[f"body.{i}.weight"], state[f"body.{i}.bias"]))
        if i in after:
            convs.append((identity.clone(), torch.zeros(shape[0])))
    convs += [(identity.clone(), torch.zeros(shape[0]))] * (m - len(convs))
    out = {k: v for k, v in state.items() if not k.startswith("body.")}
    for j, (weight, bias) in enumerate(convs):
        out[f"body.{j}.weight"], out[f"body.{j}.bias"] = weight, bias
    log.info("deepened %d body convolutions to %d (identities after %s)", n, m, sorted(after))
    return out


def widen(state: dict, own: dict) -> dict:
    """Map a narrower network's convolutions into a wider one with the same layout.

    For :class:`~revival.models.arch.AnchorSR` and
    :class:`~revival.models.arch.RestoreNet` states whose head has fewer output channels
    than ``own``'s: each trained kernel fills the top-left block of the wider one, the
    trained channels get zero weights from the new ones, and the new channels keep
    ``own``'s random initialisation (zero bias). The trained channels then compute what
    they did (in both networks every channel is a ReLU output, and the tail reads only
    trained channels), so the wider network starts as exactly the trained one, and the
    new channels, whose outputs are not zero, receive gradients through the zero weights
    that read them. Any other state is returned as it is.
    """
    if "head.weight" not in state or "head.weight" not in own:
        return state
    if not 0 < state["head.weight"].shape[0] < own["head.weight"].shape[0]:
        return state
    if any(k.endswith(".weight") and k.split(".")[0] not in ("head", "body", "tail")
           for k in own):
        return state  # other layers (a U-Net's levels) would not follow
    convs = ["head", *(f"body.{i}" for i in range(_body_count(state))), "tail"]
    out = dict(state)
    for k in convs:
        w, b = f"{k}.weight", f"{k}.bias"
        if any(key not in src for key in (w, b) for src in (state, own)):
            return state
        old, new = state[w], own[w].clone()
        o, i = old.shape[:2]
        if old.shape[2:] != new.shape[2:] or o > new.shape[0] or i > new.shape[1]:
            return state
        if (k == "head" and i != new.shape[1]) or (k == "tail" and o != new.shape[0]):
            return state  # other image channels, frames or scale: not a wider copy
        new[:o, :i] = old
        new[:o, i:] = 0.0
        bias = torch.zeros_like(own[b])
        bias[:o] = state[b]
        out[w], out[b] = new, bias
    log.info("widened %d convolutions from %d to %d channels", len(convs),
             state["head.weight"].shape[0], own["head.weight"].shape[0])
    return out


def load_init(net: torch.nn.Module, path: Path) -> list[str]:
    """Copy every tensor of checkpoint ``path`` whose name and shape match; return the skipped.

    ``path`` may also be an exported ``.onnx`` file (a shipped model): its initialisers
    carry the network's parameter names, so fine-tuning can start from the weights in
    the repository. A network with more body convolutions starts as the trained one with
    identity convolutions between (:func:`deepen`), and a wider one with the trained
    channels in place and new channels that are read with zero weights (:func:`widen`).
    """
    if Path(path).suffix == ".onnx":
        import onnx
        from onnx import numpy_helper

        state = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
                 for t in onnx.load(str(path)).graph.initializer}
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("model", state)
    own = net.state_dict()
    state = deepen(widen(state, own), own)

    def widens(k: str) -> bool:
        # a single-frame head into a multi-frame one: the same kernel on fewer input channels
        a, b = state[k].shape, own[k].shape
        return len(a) == 4 and a[0] == b[0] and a[2:] == b[2:] and a[1] < b[1]

    skipped = [k for k in own if k not in state
               or (state[k].shape != own[k].shape and not widens(k))]
    if len(skipped) == len(own):
        raise ValueError(f"{path}: no tensor matches this network by name and shape (another "
                         f"architecture, or an INT8 file, whose weights are quantised)")
    for k, v in state.items():
        if k in own and v.shape == own[k].shape:
            own[k] = v
        elif k in own and widens(k):
            # the extra inputs (aligned neighbours) start with zero weight: the network
            # starts as the single-frame one and learns to use them
            own[k] = torch.zeros_like(own[k])
            own[k][:, :v.shape[1]] = v
    net.load_state_dict(own)
    return skipped


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m revival.train.sr", description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True, help="e.g. anchor_c48_b8")
    p.add_argument("--scale", type=int, required=True, choices=(1, 2, 3, 4))
    p.add_argument("--degrade", choices=("bicubic", "codec", "chain", "joint", "distill", "noise"),
                   default="bicubic",
                   help="bicubic downscaling (SR), real-codec round trips (scale 1), the "
                   "real-world blur/noise/compression chain (SR, RGB), video clips blurred, "
                   "downscaled, noised and coded at the LR size (SR, RGB), a teacher's output "
                   "for bicubic LR crops (x4, RGB) or fresh Gaussian/sensor noise every "
                   "batch (scale 1, RGB, blind denoising)")
    p.add_argument("--teacher", default="realesrgan_x4plus", help="with --degrade distill")
    p.add_argument("--distill-count", type=int, default=800,
                   help="with --degrade distill: number of teacher pairs (64-pixel LR crops)")
    p.add_argument("--compress-last", type=float, default=0.0, metavar="P",
                   help="with --degrade chain: share of chains whose compression is the last "
                        "step, at the LR size (ChainConfig.compress_last_prob)")
    p.add_argument("--chain-blur", type=float, nargs=2, default=None, metavar=("P1", "P2"),
                   help="with --degrade chain: blur probability of the first and second "
                        "round (default: the REALWORLD chain's 0.7 0.3)")
    p.add_argument("--joint-config", default="web", metavar="NAME",
                   help="with --degrade joint: the degradation ranges, a name in "
                        "revival.train.joint_pairs.CONFIGS (web, web-bicubic)")
    p.add_argument("--adversarial", type=float, default=0.0, metavar="W",
                   help="add W times a hinge GAN loss from a patch discriminator "
                        "(revival.train.adversarial) to the L1 loss; 0 = L1 only")
    p.add_argument("--phase-weight", type=float, default=0.0, metavar="W",
                   help="add W times the L1 distance between the scale x scale grid patterns "
                        "of output and target (revival.train.adversarial.phase_loss): keeps "
                        "an adversarial loss from printing a fixed pattern on the pixel grid")
    p.add_argument("--d-lr", type=float, default=1e-4, help="discriminator learning rate")
    p.add_argument("--refresh-every", type=int, default=0, metavar="N",
                   help="with --degrade codec, chain or joint: degrade the training sources afresh "
                        "(new seed) every N iterations, so the network sees new codec and noise "
                        "realisations instead of memorising one; 0 = never")
    p.add_argument("--channels", type=int, default=1, choices=(1, 3), help="1 = Y', 3 = RGB")
    p.add_argument("--data", nargs="+", required=True, help="image folders (training only)")
    p.add_argument("--shrink", type=float, nargs="+", default=[1.0, 0.8, 0.6],
                   help="HR scale-augmentation factors")
    p.add_argument("--phases", type=int, default=1, metavar="K",
                   help="with --degrade bicubic: K pairs of every image, its HR crop shifted "
                        "by fractions of the scale so each LR image samples the content on "
                        "another grid (1, 4 or 16 at x4; 1 or 4 at x2)")
    p.add_argument("--iters", type=int, required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--patch", type=int, default=48, help="LR (input) patch size in pixels")
    p.add_argument("--lr", type=float, default=8e-4)
    p.add_argument("--min-lr", type=float, default=1e-6)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the network trains (pairs are always built on the CPU)")
    p.add_argument("--sampler", choices=("auto", "numpy", "tensor"), default="auto",
                   help="patch sampler: NumPy on the CPU, or PyTorch on --device "
                        "(auto: tensor on a GPU, numpy on the CPU)")
    p.add_argument("--time-budget", type=float, default=0.0, metavar="S",
                   help="train for about S seconds: --iters becomes the number of "
                        "iterations that fits, at the pace of the second half of the first "
                        "--time-probe iterations (logged)")
    p.add_argument("--time-probe", type=int, default=TIME_PROBE, metavar="N",
                   help="iterations that size a --time-budget run (inside --warmup); the "
                        "first half is not timed (start-up, and other jobs sharing a GPU "
                        "still starting)")
    p.add_argument("--init", type=Path, default=None, help="initialise from a checkpoint "
                   "or an exported .onnx file (tensors with matching names and shapes; a "
                   "narrower or shallower network of the same family is widened or deepened "
                   "so that training starts from exactly its output)")
    p.add_argument("--val", type=Path, default=None,
                   help="also score this test set (<set>/LRbicx<s>, <set>/GTmod12) at each "
                   "validation, for monitoring only: checkpoints are chosen on held-out "
                   "training images")
    p.add_argument("--no-val", action="store_true", help="skip validation")
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.iters < 1 or args.batch < 1 or args.patch < 8:
        p.error("--iters and --batch must be >= 1 and --patch >= 8")
    if (args.degrade in ("codec", "noise")) != (args.scale == 1):
        p.error("--degrade codec and noise go with --scale 1 (bicubic, chain and joint with 2..4)")
    if args.phases != 1:
        from .data import phase_offsets

        if args.degrade != "bicubic":
            p.error("--phases goes with --degrade bicubic")
        try:
            phase_offsets(args.scale, args.phases)
        except ValueError as exc:
            p.error(f"--phases: {exc}")
    if args.degrade == "distill" and args.scale != 4:
        p.error("--degrade distill goes with --scale 4 (the teacher is x4)")
    if not 0.0 <= args.compress_last <= 1.0 or (args.compress_last and args.degrade != "chain"):
        p.error("--compress-last is a probability (0..1) and goes with --degrade chain")
    if args.chain_blur is not None and (args.degrade != "chain"
                                        or not all(0.0 <= b <= 1.0 for b in args.chain_blur)):
        p.error("--chain-blur takes two probabilities (0..1) and goes with --degrade chain")
    if args.joint_config != "web" or args.degrade == "joint":  # joint_pairs needs PyAV
        from .joint_pairs import CONFIGS

        if args.joint_config not in CONFIGS or args.degrade != "joint":
            p.error(f"--joint-config takes one of {', '.join(CONFIGS)} and goes with "
                    "--degrade joint")
    if args.refresh_every < 0 or (args.refresh_every
                                  and args.degrade not in ("codec", "chain", "joint")):
        p.error("--refresh-every takes a number of iterations (>= 0) and goes with --degrade "
                "codec or chain")
    if args.degrade in ("codec", "chain", "joint", "distill", "noise") and args.channels != 3:
        p.error(f"--degrade {args.degrade} trains RGB models: use --channels 3")
    if args.adversarial < 0 or args.phase_weight < 0 or (args.phase_weight
                                                         and not args.adversarial):
        p.error("--adversarial and --phase-weight take weights >= 0; --phase-weight goes "
                "with --adversarial (it corrects the pattern the GAN loss prints)")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: PyTorch sees no CUDA GPU here")
    if args.sampler == "auto":
        args.sampler = "tensor" if args.device != "cpu" else "numpy"
    if args.sampler == "tensor" and args.degrade == "noise":
        p.error("--degrade noise adds its noise with NumPy: use --sampler numpy")
    if args.time_budget < 0 or args.time_probe < 2 or (args.time_budget
                                                       and args.warmup < args.time_probe):
        p.error("--time-budget takes seconds (>= 0) and needs --warmup >= --time-probe (>= 2): "
                "the iterations it times must not depend on the length of the run")
    if args.no_val or args.degrade not in ("bicubic", "distill"):
        args.val = None
    elif args.val is not None and not (args.val / f"LRbicx{args.scale}").is_dir():
        p.error(f"--val {args.val} has no LRbicx{args.scale}/ folder; pass a test set "
                f"(<set>/LRbicx{args.scale}, <set>/GTmod12) or --no-val")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pkg_log = logging.getLogger("revival")
    handlers = [logging.FileHandler(args.out / "log.txt"), logging.StreamHandler(sys.stderr)]
    for h in handlers:
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        pkg_log.addHandler(h)
    pkg_log.setLevel(logging.INFO)
    try:
        return _train(args, argv)
    finally:
        for h in handlers:
            pkg_log.removeHandler(h)
            h.close()


def _train(args: argparse.Namespace, argv: list[str] | None) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        native_bf16 = torch.cuda.is_bf16_supported()
    else:
        native_bf16 = has_bf16()
    bf16 = args.precision == "bf16" or (args.precision == "auto" and native_bf16)
    command = "python -m revival.train.sr " + shlex.join(sys.argv[1:] if argv is None else argv)

    net = build_arch(args.arch, scale=args.scale, channels=args.channels).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.99))
    disc = d_opt = None
    if args.adversarial > 0:
        from .adversarial import (PatchDiscriminator, discriminator_loss, generator_loss,
                                  phase_loss)

        disc = PatchDiscriminator(args.channels).to(device)
        d_opt = torch.optim.Adam(disc.parameters(), lr=args.d_lr, betas=(0.9, 0.99))
    log.info("command: %s", command)
    log.info("arch %s scale %d channels %d params %d bf16 %s device %s", args.arch,
             args.scale, args.channels, count_params(net), bf16, device)

    val_pairs: PairSet | None = None
    held_out = set(range(0, 100_000, VAL_EVERY_SOURCE))  # validation sources, never trained on
    if args.degrade == "codec":
        from .codec_pairs import build_codec_pairs

        # multi-frame networks: kept frames have their neighbours inside the clip
        radius = (input_frames(net) - 1) // 2
        frames = 6 if radius <= 1 else 2 * radius + 3
        keep = {0: (0, 2, 5), 1: (1, 3, 4)}.get(radius, tuple(range(radius, frames - radius)))
        clip = {"radius": radius, "keep": keep, "frames": frames}

        def make_pairs(seed: int) -> PairSet:
            return build_codec_pairs(args.data, seed=seed, skip=held_out, **clip)

        pairs = make_pairs(args.seed)
        if not args.no_val:
            val_pairs = build_codec_pairs(args.data, seed=args.seed, only=held_out, **clip)
    elif args.degrade in ("chain", "joint"):
        from dataclasses import replace
        from functools import partial

        from .chain_pairs import REALWORLD, build_chain_pairs
        from .joint_pairs import CONFIGS, build_joint_pairs

        if args.degrade == "chain":
            chain = replace(REALWORLD, compress_last_prob=args.compress_last)
            if args.chain_blur is not None:
                chain = replace(chain, blur_prob=tuple(args.chain_blur))
            build = partial(build_chain_pairs, config=chain)
            val_extra = {"per_image": 1}
        else:
            build = partial(build_joint_pairs, config=CONFIGS[args.joint_config])
            val_extra = {}

        def make_pairs(seed: int) -> PairSet:
            return build(args.data, scale=args.scale, seed=seed, min_lr=args.patch,
                         skip=held_out)

        pairs = make_pairs(args.seed)
        if not args.no_val:
            val_pairs = build(args.data, scale=args.scale, seed=args.seed, min_lr=args.patch,
                              only=held_out, **val_extra)
    elif args.degrade == "noise":
        from .noise_pairs import build_clean_pairs, noisy_validation

        pairs = build_clean_pairs(args.data, shrink=tuple(args.shrink), min_size=args.patch,
                                  skip=held_out)
        if not args.no_val:
            val_pairs = noisy_validation(build_clean_pairs(args.data, min_size=args.patch,
                                                           only=held_out), seed=args.seed)
    elif args.degrade == "distill":
        from .distill import build_distill_pairs

        pairs = build_distill_pairs(args.data, teacher=args.teacher, count=args.distill_count,
                                    patch=max(64, args.patch), seed=args.seed,
                                    cache=args.out / "teacher_pairs.npz")
    else:
        pairs = build_pairs(args.data, scale=args.scale, channels=args.channels,
                            shrink=tuple(args.shrink), min_lr=args.patch, skip=held_out,
                            phases=args.phases)
        if not args.no_val:
            val_pairs = build_pairs(args.data, scale=args.scale, channels=args.channels,
                                    min_lr=8, only=held_out)
    if args.sampler == "tensor":
        sampler = TensorPatchSampler(pairs, patch=args.patch, seed=args.seed, device=args.device)
    else:
        sampler = PatchSampler(pairs, patch=args.patch, seed=args.seed)
    del pairs  # the sampler holds the set; a refresh must be able to free it

    def refresh(it: int) -> None:
        """Degrade the training sources afresh: round k of ``--refresh-every`` uses seed
        ``seed + k`` (round 0 is the initial set), so a resumed run rebuilds the same set."""
        k = it // args.refresh_every
        if k:
            # free the current set before the next is built: a multi-frame set of 1,890
            # pairs takes several GB, and two or three alive at once exhausted 24 GB
            sampler.pairs = None
            gc.collect()
            sampler.use(make_pairs(args.seed + k))
            log.info("iteration %d: training pairs degraded afresh (seed %d, %d pairs)", it,
                     args.seed + k, len(sampler.pairs.lr))

    start, history, best, commands = 0, [], -1.0, [command]
    sized = not args.time_budget  # a --time-budget run learns its length after --time-probe
    last = args.out / "last.pt"
    if last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if disc is not None:
            if "disc" not in ck:
                raise ValueError(f"{last} was saved without a discriminator; resume it "
                                 "without --adversarial, or start in a new --out folder")
            disc.load_state_dict(ck["disc"])
            d_opt.load_state_dict(ck["d_opt"])
        sampler.set_state(ck["sampler"])
        torch.set_rng_state(ck["torch_rng"])
        start, history, best = ck["iter"], ck["history"], ck["best"]
        if args.time_budget and ck.get("iters"):
            args.iters, sized = ck["iters"], True  # the length the budget set at the start
        commands = ck.get("commands", []) + [f"{command}  # resumed at {start}"]
        log.info("resumed from %s at iteration %d", last, start)
        if args.refresh_every:
            refresh(start)
    elif args.init is not None:
        skipped = load_init(net, args.init)
        log.info("initialised from %s (re-initialised: %s)", args.init, skipped or "none")

    def save(path: Path, it: int) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "iter": it,
                    "sampler": sampler.state(), "torch_rng": torch.get_rng_state(),
                    "history": history, "best": best, "commands": commands,
                    "iters": args.iters if sized else None,
                    "arch": args.arch, "scale": args.scale,
                    "channels": args.channels,
                    **({} if disc is None else {"disc": disc.state_dict(),
                                                "d_opt": d_opt.state_dict()})}, tmp)
        os.replace(tmp, path)

    def write_summary(it: int) -> None:
        summary = {"command": command, "commands": commands, "arch": args.arch,
                   "scale": args.scale, "degrade": args.degrade,
                   "teacher": args.teacher if args.degrade == "distill" else None,
                   "channels": args.channels, "params": count_params(net), "iterations": it,
                   "iters_planned": args.iters, "batch": args.batch, "patch": args.patch,
                   "device": args.device, "time_budget": args.time_budget or None,
                   "lr": args.lr, "min_lr": args.min_lr, "warmup": args.warmup,
                   "adversarial": args.adversarial, "phase_weight": args.phase_weight,
                   "d_lr": args.d_lr if args.adversarial > 0 else None,
                   "shrink": args.shrink, "phases": args.phases, "seed": args.seed, "bf16": bf16,
                   "refresh_every": args.refresh_every,
                   "data": [str(d) for d in args.data], "commit": git_commit(),
                   "init": None if args.init is None else str(args.init),
                   "validation": history, "best_val_psnr_y": best}
        tmp = args.out / "train.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2))
        os.replace(tmp, args.out / "train.json")

    net.train()
    t0, loss_sum, d_sum, n_sum = time.perf_counter(), 0.0, 0.0, 0
    t_start = t0
    for it in itertools.count(start):
        if it >= args.iters:  # read each time: a --time-budget run sets it after its probe
            break
        if args.refresh_every and it > start and it % args.refresh_every == 0:
            refresh(it)
        for g in opt.param_groups:
            g["lr"] = lr_at(it, iters=args.iters, base=args.lr, floor=args.min_lr,
                            warmup=args.warmup)
        if args.sampler == "tensor":
            x, y = sampler.batch(args.batch)
        else:
            lr_np, hr_np = sampler.batch(args.batch)
            if args.degrade == "noise":
                lr_np = add_noise(hr_np, np.random.default_rng([args.seed, it]))
            x = torch.from_numpy(lr_np).to(device, non_blocking=True)
            y = torch.from_numpy(hr_np).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        loss = F.l1_loss(out.float(), y)
        if disc is not None:
            fake = out.float()
            for q in disc.parameters():  # the generator step does not train the critic
                q.requires_grad_(False)
            loss = loss + args.adversarial * generator_loss(disc, fake)
            if args.phase_weight > 0 and args.scale > 1:
                loss = loss + args.phase_weight * phase_loss(fake, y, args.scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if disc is not None:
            for q in disc.parameters():
                q.requires_grad_(True)
            d_loss = discriminator_loss(disc, y, fake)
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            d_sum += d_loss.detach()
        loss_sum += loss.detach()  # summed on the device: no wait for the GPU per step
        n_sum += 1
        done = it + 1
        if not sized and done in (start + args.time_probe // 2, start + args.time_probe):
            if device.type == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            if done == start + args.time_probe // 2:
                t_half = now
            else:
                pace = (now - t_half) / (args.time_probe - args.time_probe // 2)
                args.iters = iters_for_budget(budget=args.time_budget, elapsed=now - t_start,
                                              done=done, pace=pace)
                sized = True
                log.info("time budget %.0f s: %d iterations (%.4f s/iter over iterations "
                         "%d-%d)", args.time_budget, args.iters, pace,
                         start + args.time_probe // 2, done)
        if done % 100 == 0:
            dt = time.perf_counter() - t0
            log.info("iter %d loss %.5f%s lr %.2e %.3f s/iter", done, float(loss_sum) / n_sum,
                     "" if disc is None else f" critic {float(d_sum) / n_sum:.4f}",
                     opt.param_groups[0]["lr"], dt / n_sum)
            t0, loss_sum, d_sum, n_sum = time.perf_counter(), 0.0, 0.0, 0
        val_now = (args.val is not None or val_pairs is not None) and (
            done % args.val_every == 0 or done == args.iters)
        if val_now:
            net.eval()
            res: dict = {}
            score = None
            if val_pairs is not None:
                res = evaluate_pairs(net, val_pairs)
                score = res["psnr"]
                log.info("val iter %d held-out psnr %.3f (input %.3f)", done, res["psnr"],
                         res["psnr_input"])
            if args.val is not None:  # a test set: monitoring only, never chooses best.pt
                mon = evaluate_set(args.val, make_upscaler(net, args.channels),
                                   scale=args.scale)
                res["monitor"] = {"set": args.val.name, **mon}
                log.info("monitor iter %d %s psnr_y %.3f ssim_y %.4f", done, args.val.name,
                         mon["psnr_y"], mon["ssim_y"])
            net.train()
            history.append({"iter": done, **res})
            if score is not None and score > best:
                best = score
                save(args.out / "best.pt", done)
        if done % args.ckpt_every == 0 or done == args.iters or val_now:
            save(last, done)
            write_summary(done)
    save(args.out / "final.pt", args.iters)
    write_summary(args.iters)
    log.info("done: %d iterations, best validation PSNR %.3f dB", args.iters, best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
