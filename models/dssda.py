"""DSSDA: a ladder network (Rasmus et al. 2015, NIPS, Algorithm 1) on the 1-D AlexNet encoder
(Shams, Platania et al. 2018, ../shared/seeds/000_9e401de77a8c21ca.txt, section 4.4, Fig. 1,
Eqs. 1-4; Table 2: mean AUC 0.946 with all labels, 0.822 with 10 %, 0.853 with 25 %).

The encoder is :class:`models.alexnet.AlexNet`'s layers (the same modules), run two ways:
- clean: AlexNet as it is; ``forward`` (prediction) is AlexNet's, deterministic; in training its
  batch-normalised pre-activations ``z_l`` are the denoising targets;
- corrupted (``training_step`` only), Eq. 1: ``h~_0 = x + N(0, s^2)``; at each layer l = 1..8 (five
  convolutions, two hidden fully connected layers, the output layer)
  ``z~_l = batchnorm(W_l h~_l-1) + N(0, s^2)``, ``h~_l = ReLU(gamma_l z~_l + beta_l)``, pooled where
  AlexNet pools; the output layer has no batch norm: ``z~_8`` is its logits plus noise.
The decoder (Algorithm 1), from the top down: ``u_8 = batchnorm(sigmoid(z~_8))``, else
``u_l = batchnorm(unpool(V_l+1 z^_l+1))``; ``z^_l = g_l(z~_l, u_l)``, Rasmus' "vanilla" denoising
function; ``z^_l,BN = (z^_l - mu_l) / sigma_l`` with the clean batch's mean and deviation of
``W_l h_l-1`` (Rasmus et al.'s Algorithm 1). The fully connected layers, "convolutions as long as
their input" in the seed, are linear maps of the flattened input (the same function), and their
decoder maps are the transposes. Cost (Eqs. 2-4): binary cross-entropy of the corrupted output
on the labelled rows, plus ``sum_l lambda_l / N sum_n |z_l(n) - z^_l,BN(n)|^2 / m_l`` over all N
rows of the batch, m_l the layer's size, lambda_l = ``denoising_cost`` = 0.2 (the seed's) for l = 0..8.
38,487,092 parameters at 164 targets: AlexNet's 19,229,284, plus the decoder's 19,222,368
(V_1..V_8) and the denoising functions' 35,440 (ten per channel or unit).

Choices the seed leaves open (each a setting):
- ``noise`` s = 0.3, Rasmus et al.'s (the seed gives none);
- ``per_unit``: each layer's cost is divided by its size m_l, as in Rasmus et al.'s cost and
  code; the seed's Eq. 3 prints no m_l, but its reason for one lambda for all
  layers, "the same significance", holds only per unit (False: Eq. 3 as printed);
- batch normalisation as Rasmus': noise is added to the normalised value, the layer's scale and
  shift (the affine batch norm's; AlexNet's convolutions have no bias) come after it; layers
  without batch norm (the input, the output layer) are compared unnormalised; statistics are the
  whole batch's, labelled and unlabelled rows together (Rasmus' code: each part apart);
- unpooling repeats each value over its pool window (Rasmus et al.'s code's "depooling");
- ``h~_8`` is the corrupted output's sigmoid (Rasmus: its softmax);
- the decoder's maps have no bias (batch normalisation follows each);
- g's ten parameters start at a1 = a2 = a6 = a7 = 1, the rest 0: mu(u) = v(u) = sigmoid(u),
  an even blend of z~ and mu(u). Rasmus' start (a1 = a6 = 0) gives u, and so the decoder's maps,
  no gradient until a1 or a6 has moved;
- AlexNet's settings (models/alexnet.py) pass through; its dropout is off (``dropout``: the
  ladder's noise regularises; Rasmus used none).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import register
from models.alexnet import AlexNet
from models.base import labelled_bce
from models.blocks import Geometry, trace

G_START = (1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0)    # a1..a10


@dataclass
class Rung:
    """One encoder layer as the ladder reads it: ``z = norm(map(h))``, ``h' = after(affine(z))``."""
    map: nn.Module                    # nn.Conv1d or nn.Linear
    norm: nn.BatchNorm1d | None
    after: tuple = ()                 # activation, pooling, dropout

    @property
    def pool(self) -> int:
        return next((m.stride for m in self.after if isinstance(m, nn.MaxPool1d)), 1)


@dataclass
class Pass:
    """One pass through the encoder: ``z`` from the input (l = 0) to the logits (l = L)."""
    z: list = field(default_factory=list)
    stats: list = field(default_factory=list)     # clean path: batch (var, mean) before batch norm, or None
    shapes: list = field(default_factory=list)    # what each rung's map reads, before flattening


def per_channel(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.view(1, -1, *([1] * (like.dim() - 2)))


def batch_normalised(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalised per channel by the batch's statistics, no scale or shift."""
    return F.batch_norm(x.float(), None, None, training=True, eps=eps)


class Denoise(nn.Module):
    """Rasmus et al.'s vanilla g(z~, u) = (z~ - mu(u)) v(u) + mu(u), per channel or unit, with
    mu(u) = a1 sigmoid(a2 u + a3) + a4 u + a5 and v(u) = a6 sigmoid(a7 u + a8) + a9 u + a10."""

    def __init__(self, channels: int):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(G_START)[:, None].repeat(1, channels))

    def forward(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        a = [per_channel(row, z) for row in self.a]
        mu = a[0] * torch.sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]
        v = a[5] * torch.sigmoid(a[6] * u + a[7]) + a[8] * u + a[9]
        return (z - mu) * v + mu


class Unmap(nn.Module):
    """The decoder's V_l: from layer l's shape back to layer l - 1's: the transpose of the rung's
    convolution (or linear map), then unpooling where layer l - 1 pooled."""

    def __init__(self, layer: nn.Module, pool: int):
        super().__init__()
        if isinstance(layer, nn.Conv1d):
            self.map = nn.ConvTranspose1d(layer.out_channels, layer.in_channels, layer.kernel_size, layer.stride,
                                          padding=layer.padding, dilation=layer.dilation, bias=False)
        else:
            self.map = nn.Linear(layer.out_features, layer.in_features, bias=False)
        self.pool = pool

    def forward(self, z_hat: torch.Tensor, shape: torch.Size, length: int) -> torch.Tensor:
        """``shape``: what layer l's map reads (layer l - 1 pooled); ``length``: before pooling."""
        if isinstance(self.map, nn.ConvTranspose1d):
            u = self.map(z_hat, output_size=shape[-1:])
        else:
            u = self.map(z_hat).view(shape)
        if self.pool > 1:                            # each value over its pool window
            u = u.repeat_interleave(self.pool, dim=-1)[..., :length]
            u = F.pad(u, (0, length - u.shape[-1]), mode="replicate")
        return u


@register("dssda")
class DSSDA(AlexNet):
    uses_unlabelled = True

    def __init__(self, n_targets: int, seq_length: int = 600, noise: float = 0.3, denoising_cost: float = 0.2,
                 per_unit: bool = True, dropout: float = 0.0, **alexnet):
        super().__init__(n_targets, seq_length, dropout=dropout, **alexnet)
        self.noise, self.denoising_cost, self.per_unit = noise, denoising_cost, per_unit
        rungs = self.rungs()
        if any(r.norm is None for r in rungs[:-1]):
            raise ValueError("the ladder needs batch normalisation in every hidden layer (batch_norm: true)")
        below = [Rung(None, None)] + rungs[:-1]
        self.decoder = nn.ModuleList(Unmap(r.map, b.pool) for r, b in zip(rungs, below))
        widths = [getattr(r.map, "out_channels", None) or r.map.out_features for r in rungs]
        channels = [rungs[0].map.in_channels] + widths
        self.denoise = nn.ModuleList(Denoise(c) for c in channels)

    def rungs(self) -> list[Rung]:
        """The encoder's layers in order: the trunk's blocks, the head's hidden layers, the output."""
        convs = [Rung(b.conv, b.norm, tuple(m for n, m in b.named_children() if n not in ("conv", "norm")))
                 for b in self.trunk]
        dense = [Rung(b[0], b[1], tuple(b[2:])) for b in self.head.hidden]
        return convs + dense + [Rung(self.output, None)]

    def trace_geometry(self, g: Geometry) -> Geometry:
        """The clean encoder's geometry (the decoder only trains)."""
        return trace(self.head, trace(self.trunk, g))

    # ------------------------------------------------------------ the ladder's cost
    def training_step(self, x: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
        clean = self.encode_path(x, 0.0, clean=True)
        corrupted = self.encode_path(x, self.noise, clean=False)
        supervised = labelled_bce(corrupted.z[-1], targets, labelled, self.positive_weight)
        return supervised + self.unsupervised_cost(clean, corrupted)

    def encode_path(self, x: torch.Tensor, noise: float, clean: bool) -> Pass:
        """Eq. 1 through every rung; the clean path keeps the batch statistics (for the cost) and
        updates batch norm's running statistics, as ``forward`` in training would."""
        def corrupt(t):
            return t + noise * torch.randn_like(t) if noise else t
        h = corrupt(x)
        path = Pass([h], [None])
        for rung in self.rungs():
            path.shapes.append(h.shape)
            z = rung.map(h.flatten(1) if isinstance(rung.map, nn.Linear) else h)
            stats = None
            if rung.norm is not None:
                if clean:
                    stats = torch.var_mean(z.float(), dim=[0, 2] if z.dim() == 3 else [0], correction=0)
                z = self.normalise(rung.norm, z, track=clean)
            z = corrupt(z)
            path.z.append(z)
            path.stats.append(stats)
            h = z if rung.norm is None else z * per_channel(rung.norm.weight, z) + per_channel(rung.norm.bias, z)
            for layer in rung.after:
                h = layer(h)
        return path

    def normalise(self, bn: nn.BatchNorm1d, z: torch.Tensor, track: bool) -> torch.Tensor:
        """Batch norm without its scale and shift; ``track``: update its running statistics."""
        if not (track and self.training and bn.track_running_stats):
            return batch_normalised(z, bn.eps)
        bn.num_batches_tracked.add_(1)
        momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        return F.batch_norm(z.float(), bn.running_mean, bn.running_var, training=True, momentum=momentum, eps=bn.eps)

    def unsupervised_cost(self, clean: Pass, corrupted: Pass) -> torch.Tensor:
        """Algorithm 1's decoder and Eq. 3's cost, over every row."""
        top = len(self.decoder)
        cost, z_hat = 0.0, None
        for k in range(top, -1, -1):
            if k == top:
                u = torch.sigmoid(corrupted.z[top])
            else:
                u = self.decoder[k](z_hat, corrupted.shapes[k], corrupted.z[k].shape[-1])
            z_hat = self.denoise[k](corrupted.z[k], batch_normalised(u))
            cost = cost + self.denoising_cost * self.layer_cost(clean.z[k], z_hat, clean.stats[k])
        return cost

    def layer_cost(self, z: torch.Tensor, z_hat: torch.Tensor, stats) -> torch.Tensor:
        """``1/N sum_n |z(n) - z^_BN(n)|^2``, divided by the layer's size when ``per_unit``."""
        if stats is not None:
            var, mean = stats
            z_hat = (z_hat - per_channel(mean, z_hat)) / per_channel(var + 1e-5, z_hat).sqrt()
        per_row = (z.float() - z_hat).pow(2).flatten(1)
        per_row = per_row.mean(1) if self.per_unit else per_row.sum(1)
        return per_row.mean()
