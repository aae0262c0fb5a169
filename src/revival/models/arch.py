"""Super-resolution architectures (PyTorch; used for training and export only).

``AnchorSR`` is a compact, quantisation-friendly network made of 3x3
convolutions and ReLUs at low resolution, a pixel-shuffle upsampler and a
global "anchor" skip: the input pixel is repeated ``scale**2`` times before the
pixel shuffle, so the convolutions learn only the residual over nearest-neighbour
upsampling. Every operation exports to plain ONNX (Conv, Relu, Add, Concat,
DepthToSpace), so ONNX Runtime, OpenVINO and static INT8 quantisation handle it.

Input: ``(N, C, H, W)`` float32 in [0, 1], ``C = 1`` (luma Y') or ``3`` (RGB,
gamma-encoded). Output: ``(N, C, H*scale, W*scale)``, not clipped (the runtime
clips to [0, 1]).

Example:
    >>> import torch
    >>> net = build_arch("anchor_c48_b8", scale=4, channels=1)
    >>> net(torch.rand(1, 1, 12, 16)).shape
    torch.Size([1, 1, 48, 64])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

try:
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError as exc:  # pragma: no cover - torch is the `train` extra
    from ..errors import MissingDependencyError

    raise MissingDependencyError(
        "revival.models.arch needs PyTorch (training/export only); install the extra with "
        "`pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu` then "
        "`pip install -e .[train]`") from exc

from .reparam import RepConv, fuse


@dataclass(frozen=True)
class ArchSpec:
    """Hyper-parameters of an :class:`AnchorSR` network.

    Attributes:
        width: feature channels of the body.
        blocks: number of body convolutions (each followed by ReLU).
        scale: upscaling factor (2, 3 or 4).
        channels: image channels, 1 (Y') or 3 (RGB).
        tail_kernel: kernel size of the last convolution, 3 or 1 (name suffix ``_t1``).
            Its few output channels (``channels * scale**2``) fill a fraction of the
            16-channel blocks of OpenVINO's INT8 convolutions, so a 3x3 tail of a narrow
            network costs about a body convolution (``fast.x2`` v1.0.0 at 720p: 12.9
            against 11.0 ms); 1x1 took 3.9 ms.
        rep: train every 3x3 convolution through re-parameterised branches
            (:class:`revival.models.reparam.RepConv`, name suffix ``_rep``); export fuses
            them, so the inference network is the plain one (:attr:`plain_name`).
    """

    width: int
    blocks: int
    scale: int
    channels: int
    tail_kernel: int = 3
    rep: bool = False

    @property
    def name(self) -> str:
        suffix = ("_t1" if self.tail_kernel == 1 else "") + ("_rep" if self.rep else "")
        return f"anchor_c{self.width}_b{self.blocks}{suffix}"

    @property
    def plain_name(self) -> str:
        """The inference network: the same layers with plain convolutions."""
        return self.name.removesuffix("_rep")


_NAME = re.compile(r"^anchor_c(\d+)_b(\d+)(_t1)?(_rep)?$")


def parse_arch(name: str, *, scale: int, channels: int) -> ArchSpec:
    """Parse ``"anchor_c<width>_b<blocks>"`` (optionally ``_t1``, then ``_rep``) into an
    :class:`ArchSpec`.

    Raises:
        ValueError: the name does not follow that pattern or a value is out of range.
    """
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"unknown architecture {name!r}; expected 'anchor_c<width>_b<blocks>' "
                         f"with optional '_t1' and '_rep' suffixes, e.g. 'anchor_c48_b8'")
    width, blocks = int(m.group(1)), int(m.group(2))
    if not 4 <= width <= 256 or not 1 <= blocks <= 64:
        raise ValueError(f"{name}: width must be 4..256 and blocks 1..64")
    if scale not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, got {scale}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (Y') or 3 (RGB), got {channels}")
    return ArchSpec(width=width, blocks=blocks, scale=scale, channels=channels,
                    tail_kernel=1 if m.group(3) else 3, rep=bool(m.group(4)))


class AnchorSR(nn.Module):
    """Conv/ReLU body with a long skip, pixel shuffle and a nearest-neighbour anchor."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        self.spec = spec
        c, w, s = spec.channels, spec.width, spec.scale

        def conv3(cin: int, cout: int) -> nn.Module:
            return RepConv(cin, cout) if spec.rep else nn.Conv2d(cin, cout, 3, padding=1)

        self.head = conv3(c, w)
        self.body = nn.ModuleList(conv3(w, w) for _ in range(spec.blocks))
        k = spec.tail_kernel
        self.tail = conv3(w, c * s * s) if k == 3 else nn.Conv2d(w, c * s * s, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in [self.head, *self.body]:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        # start as nearest-neighbour upsampling: the residual branch begins near zero
        nn.init.normal_(self.tail.weight, std=1e-3)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s2 = self.spec.scale ** 2
        feat = F.relu(self.head(x))
        y = feat
        for conv in self.body:
            y = F.relu(conv(y))
        y = self.tail(y + feat).float()  # fp32 residual add even under bf16 autocast
        # anchor: each channel repeated s^2 times, in the channel order DepthToSpace expects
        # (a Concat, which exports with dynamic H/W and quantises cleanly)
        anchor = torch.cat([x[:, c:c + 1] for c in range(x.shape[1]) for _ in range(s2)], dim=1)
        return F.pixel_shuffle(y + anchor, self.spec.scale)


_RESTORE = re.compile(r"^restore_c(\d+)_b(\d+)(?:_f(\d+))?$")


def _init(*, relu: list, silent: list) -> None:
    """He initialisation for convolutions followed by ReLU; near-zero weights for those whose
    output is added to a skip, so the branch starts out contributing nothing."""
    for conv in relu:
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        nn.init.zeros_(conv.bias)
    for conv in silent:
        nn.init.normal_(conv.weight, std=1e-3)
        nn.init.zeros_(conv.bias)


class RestoreNet(nn.Module):
    """Same-size restoration (deblocking, denoising): the body runs at half resolution.

    The input is folded 2x2 into channels (pixel unshuffle), so every convolution
    sees four times fewer positions and the receptive field spans 8x8 and 16x16
    codec blocks cheaply; the tail predicts a residual that is unfolded (pixel
    shuffle) and added to the input. Height and width must be even (the runtime
    pads; the manifest states ``size_multiple: 2``).

    ``frames`` > 1 makes a multi-frame network: the input stacks the frame to restore
    and ``frames - 1`` neighbours aligned to it on the channel axis, centre first
    (:func:`revival.flow.align.stack_aligned`); the residual is added to the centre
    frame, so the output has ``channels`` channels.
    """

    def __init__(self, width: int, blocks: int, channels: int, frames: int = 1) -> None:
        super().__init__()
        self.spec = ArchSpec(width=width, blocks=blocks, scale=1, channels=channels)
        self.frames = frames
        c4 = 4 * channels
        self.head = nn.Conv2d(c4 * frames, width, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(blocks))
        self.tail = nn.Conv2d(width, c4, 3, padding=1)
        _init(relu=[self.head, *self.body], silent=[self.tail])  # starts as the identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.head(F.pixel_unshuffle(x, 2)))
        y = feat
        for conv in self.body:
            y = F.relu(conv(y))
        centre = x if self.frames == 1 else x[:, :self.spec.channels]
        return centre + F.pixel_shuffle(self.tail(y + feat).float(), 2)


_UNET = re.compile(r"^unet_c(\d+)_b(\d+)$")


class RestoreUNet(nn.Module):
    """Same-size restoration with a second, coarser level: a small U-Net of plain convolutions.

    Level 1 works at half resolution (2x2 pixel unshuffle, ``width`` channels):
    two convolutions before and two after level 2. Level 2 folds level 1's
    features 2x2 again (quarter resolution) and runs ``blocks`` convolutions of
    ``2 * width`` channels. A level-2 convolution costs the same per input pixel
    as a level-1 one but widens the receptive field four times as fast, which is
    what blocking on 16x16 macroblocks and low-frequency codec errors need. Only
    Conv, Relu, Add, SpaceToDepth/DepthToSpace: exports and quantises like
    :class:`RestoreNet`. Height and width must be multiples of 4.
    """

    def __init__(self, width: int, blocks: int, channels: int) -> None:
        super().__init__()
        self.spec = ArchSpec(width=width, blocks=blocks, scale=1, channels=channels)
        c4, w2 = 4 * channels, 2 * width
        self.head = nn.Conv2d(c4, width, 3, padding=1)
        self.enc = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(2))
        self.down = nn.Conv2d(4 * width, w2, 3, padding=1)
        self.mid = nn.ModuleList(nn.Conv2d(w2, w2, 3, padding=1) for _ in range(blocks))
        self.up = nn.Conv2d(w2, 4 * width, 3, padding=1)
        self.dec = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(2))
        self.tail = nn.Conv2d(width, c4, 3, padding=1)
        # level 2 starts silent and the whole network as the identity
        _init(relu=[self.head, *self.enc, self.down, *self.mid, *self.dec],
              silent=[self.up, self.tail])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.head(F.pixel_unshuffle(x, 2)))
        y = feat
        for conv in self.enc:
            y = F.relu(conv(y))
        z = F.relu(self.down(F.pixel_unshuffle(y, 2)))
        z0 = z
        for conv in self.mid:
            z = F.relu(conv(z))
        y = y + F.pixel_shuffle(self.up(z + z0), 2)
        for conv in self.dec:
            y = F.relu(conv(y))
        return x + F.pixel_shuffle(self.tail(y + feat).float(), 2)


def build_arch(name: str, *, scale: int, channels: int) -> nn.Module:
    """Build an untrained network from its name.

    ``anchor_c<width>_b<blocks>`` is :class:`AnchorSR` (scale 2..4, see
    :func:`parse_arch`); ``restore_c<width>_b<blocks>`` is :class:`RestoreNet` and
    ``unet_c<width>_b<blocks>`` :class:`RestoreUNet` (both scale 1);
    ``restore_c<width>_b<blocks>_f<frames>`` is a multi-frame :class:`RestoreNet`
    (``frames`` odd, 3..7: the centre frame and its aligned neighbours).
    """
    for pattern, cls in ((_RESTORE, RestoreNet), (_UNET, RestoreUNet)):
        m = pattern.match(name)
        if not m:
            continue
        width, blocks = int(m.group(1)), int(m.group(2))
        if scale != 1:
            raise ValueError(f"{name} is a same-size restoration network; scale must be 1, "
                             f"got {scale}")
        if not 4 <= width <= 256 or not 1 <= blocks <= 64 or channels not in (1, 3):
            raise ValueError(f"{name}: width must be 4..256, blocks 1..64, channels 1 or 3")
        if pattern is _RESTORE and m.group(3):
            frames = int(m.group(3))
            if frames not in (3, 5, 7):
                raise ValueError(f"{name}: frames must be 3, 5 or 7, got {frames}")
            return cls(width, blocks, channels, frames)
        return cls(width, blocks, channels)
    return AnchorSR(parse_arch(name, scale=scale, channels=channels))


def input_frames(net: nn.Module) -> int:
    """Frames the network takes, stacked on the channel axis (1 for single-frame ones)."""
    return int(getattr(net, "frames", 1))


def size_multiple(net: nn.Module) -> int:
    """Input height and width must be multiples of this."""
    if isinstance(net, RestoreUNet):
        return 4
    return 2 if isinstance(net, RestoreNet) else 1


def receptive_radius(net: nn.Module) -> int:
    """Receptive radius in input pixels (the kernel radii of the convolutions at the working
    scale)."""
    if isinstance(net, RestoreUNet):
        # head, encoder, decoder, tail at half resolution; down, mid, up at a quarter
        half = 2 + len(net.enc) + len(net.dec)
        quarter = 2 + len(net.mid)
        return 2 * half + 4 * quarter + 3
    if isinstance(net, RestoreNet):
        convs = sum(1 for m in net.modules() if isinstance(m, nn.Conv2d))
        return 2 * convs + 1
    return (sum(m.kernel_size[0] // 2 for m in net.modules() if isinstance(m, nn.Conv2d))
            + sum(1 for m in net.modules() if isinstance(m, RepConv)))


def inference_net(net: nn.Module) -> nn.Module:
    """The network to export: ``net`` itself, or for a ``_rep`` network the plain network
    of the same layers with every :class:`RepConv`'s branches fused into one kernel."""
    if isinstance(net, AnchorSR) and net.spec.rep:
        return fuse(net, AnchorSR(replace(net.spec, rep=False)))
    return net


def count_params(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
