"""Adversarial loss for perceptual SR: a small patch discriminator and hinge losses.

Training only (PyTorch); nothing here is exported or shipped. The discriminator
judges overlapping patches of the high-resolution output: four strided
convolutions with spectral normalisation (which keeps it 1-Lipschitz per layer,
so a short fine-tune on a CPU stays stable without a gradient penalty), one
score per 16x16-pixel receptive cell. Hinge losses (Lim and Ye, 2017; Miyato et
al., 2018):

    D: mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))
    G: -mean(D(fake))

With ``--degrade distill`` the "real" images are the teacher's outputs, so the
student is pushed towards the teacher's texture statistics, not their average
(which is what an L1 loss alone converges to).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """Patch critic for RGB or Y' images in [0, 1]; returns a score map at 1/16 scale.

    Args:
        channels: image channels (1 or 3).
        width: channels of the first convolution (doubles twice, then stays).

    Example:
        >>> d = PatchDiscriminator(3, width=8)
        >>> tuple(d(torch.zeros(2, 3, 64, 64)).shape)
        (2, 1, 4, 4)
    """

    def __init__(self, channels: int = 3, width: int = 32) -> None:
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        layers: list[nn.Module] = []
        for cin, cout in ((channels, c1), (c1, c2), (c2, c3), (c3, c3)):
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers.append(spectral_norm(nn.Conv2d(c3, 1, 3, padding=1)))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(2.0 * x - 1.0)


def discriminator_loss(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the discriminator (``fake`` is detached here)."""
    return (torch.relu(1.0 - d(real)).mean() + torch.relu(1.0 + d(fake.detach())).mean())


def generator_loss(d: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """Hinge loss of the generator: the discriminator's mean score of ``fake``, negated."""
    return -d(fake).mean()


def phase_pattern(x: torch.Tensor, period: int) -> torch.Tensor:
    """Mean high-pass image at each of the ``period`` x ``period`` phases of the pixel grid.

    A sub-pixel convolution upscaler makes each output phase with its own filters, so
    an adversarial loss can push it into a fixed pattern that repeats every ``period``
    pixels (a grid that natural images do not have). The high-pass (the image minus
    its 5x5 box mean) keeps smooth content out of the phase means.

    Returns:
        (N, C, period, period) tensor.
    """
    n, c, h, w = x.shape
    h, w = h - h % period, w - w % period
    hp = x - F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    hp = hp[:, :, :h, :w].reshape(n, c, h // period, period, w // period, period)
    return hp.mean(dim=(2, 4))


def phase_loss(out: torch.Tensor, target: torch.Tensor, period: int) -> torch.Tensor:
    """L1 distance between the grid patterns (:func:`phase_pattern`) of output and target.

    The differentiable counterpart of :func:`revival.metrics.artifacts.grid_pattern`
    (the same high-pass and phase means, per channel, on tensors in [0, 1]).
    """
    return F.l1_loss(phase_pattern(out, period), phase_pattern(target, period))
