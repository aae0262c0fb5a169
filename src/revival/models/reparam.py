"""Re-parameterised 3x3 convolutions: several linear branches in training, one kernel after.

A :class:`RepConv` adds to a plain 3x3 kernel (``weight``, ``bias``) a 1x1 kernel, a
1x1 -> 3x3 pair through ``2 * out`` channels, and three fixed edge filters (Sobel x,
Sobel y, Laplacian), each after its own 1x1 and a learnt per-channel scale. Every
branch is linear in the input, so their sum is one 3x3 convolution: the forward pass
builds that kernel and runs a single convolution, and :func:`fuse` copies it into the
plain network of the same name without ``_rep``. The function class is that of the
plain network; only the path gradient descent takes through it changes (the idea of
RepVGG, Ding et al. 2021, and of the edge-oriented blocks of ECBSR, Zhang et al. 2021).

The extra branches start with a zero product (``k1``, ``expand_out`` and ``edge_scale``
are zero), so a :class:`RepConv` whose ``weight`` and ``bias`` are loaded from a plain
network computes exactly that network's function.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

_EDGES = torch.tensor([
    [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]],   # Sobel x
    [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]],   # Sobel y
    [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],     # Laplacian
])


class RepConv(nn.Module):
    """A 3x3 convolution (padding 1) trained through several linear branches."""

    def __init__(self, in_channels: int, out_channels: int, expand: int = 2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.k1 = nn.Parameter(torch.zeros(out_channels, in_channels))
        mid = expand * out_channels
        self.expand_in = nn.Parameter(torch.empty(mid, in_channels))
        self.expand_out = nn.Parameter(torch.zeros(out_channels, mid, 3, 3))
        self.edge_in = nn.Parameter(torch.empty(len(_EDGES), out_channels, in_channels))
        self.edge_scale = nn.Parameter(torch.zeros(len(_EDGES), out_channels))
        self.register_buffer("edges", _EDGES.clone(), persistent=False)
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")
        nn.init.normal_(self.expand_in, std=(1.0 / in_channels) ** 0.5)
        nn.init.normal_(self.edge_in, std=(1.0 / in_channels) ** 0.5)

    def kernel(self) -> torch.Tensor:
        """The merged (out, in, 3, 3) kernel."""
        k = self.weight + F.pad(self.k1[:, :, None, None], (1, 1, 1, 1))
        k = k + torch.einsum("omyx,mi->oiyx", self.expand_out, self.expand_in)
        edge = self.edge_scale[:, :, None] * self.edge_in          # (3, out, in)
        return k + torch.einsum("eoi,eyx->oiyx", edge, self.edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel(), self.bias, padding=1)


def fuse(net: nn.Module, plain: nn.Module) -> nn.Module:
    """Load ``plain`` (the same architecture with ``nn.Conv2d`` in place of every
    :class:`RepConv`) with the merged kernels of ``net``; returns ``plain`` in eval mode.

    Raises:
        ValueError: the two networks do not have the same layers.
    """
    state = {}
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, RepConv):
                state[f"{name}.weight"] = module.kernel().detach().clone()
                state[f"{name}.bias"] = module.bias.detach().clone()
            elif isinstance(module, nn.Conv2d):
                state[f"{name}.weight"] = module.weight.detach().clone()
                if module.bias is not None:
                    state[f"{name}.bias"] = module.bias.detach().clone()
    own = plain.state_dict()
    if set(own) != set(state) or any(own[k].shape != v.shape for k, v in state.items()):
        raise ValueError(f"cannot fuse {type(net).__name__} into {type(plain).__name__}: the "
                         f"layers differ")
    plain.load_state_dict(state)
    return plain.eval()
