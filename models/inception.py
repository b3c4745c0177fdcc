"""1-D Inception V1 (GoogLeNet, Szegedy et al. 2015, Table 1) as DSSDA trains it on the 600 bp DHS
set (Shams, Platania et al. 2018, ../shared/seeds/000_9e401de77a8c21ca.txt, section 4.3, Table 2:
mean AUC 0.911).

Architecture: GoogLeNet's stem (a convolution of 64, max-pool 3/2, convolutions 1 x 64 and
3 x 192, max-pool 3/2), its nine Inception modules with GoogLeNet's filter numbers (3a, 3b,
max-pool 3/2, 4a-4e, max-pool 3/2, 5a, 5b), global average pooling, dropout 0.4 and one output
per target. A module concatenates four parallel branches: 1-wide; 1-wide reduction then 3-wide;
1-wide reduction then 5-wide; 3-wide max-pool (stride 1) then 1-wide projection. Every layer
keeps its length ("same" padding); pools halve it: 600 -> 300 -> 150 -> 75 -> 38 positions.
3,600,772 parameters at 164 targets.

The seed says filter size, stride, initialisation, batch normalisation and the fully connected
width were tuned and not reported. Chosen here, each a setting:
- GoogLeNet's filter numbers and 1-D kernels of GoogLeNet's sizes (3 and 5 bases in a module);
- the first convolution 19 bases wide at stride 1 (a motif, as Basset's; GoogLeNet: 7, stride 2);
- batch normalisation after every convolution (in place of local response normalisation, as
  BN-Inception and torchvision's GoogLeNet), so no convolution bias;
- no auxiliary classifiers (GoogLeNet's two side heads, a training aid only);
- PyTorch's default initialisation.
``scale`` multiplies every filter number (the demo and smoke profiles shrink the model with it).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register
from models.base import SeqModel
from models.blocks import ConvBlock, DenseHead, trace_parallel

# GoogLeNet's Table 1: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection
GOOGLENET = ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64),                        # 3a, 3b
             (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
             (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128),                    # 4a-4e
             (256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128))                  # 5a, 5b


class InceptionModule(nn.Module):
    """Four parallel branches (see the module docstring), concatenated along channels."""

    def __init__(self, inputs: int, ones: int, reduce_a: int, out_a: int, reduce_b: int, out_b: int,
                 pool_proj: int, widths=(3, 5)):
        super().__init__()

        def conv(i, o, w=1):
            return ConvBlock(i, o, w, padding="same", norm="batch", bias=False)
        self.branches = nn.ModuleList([
            conv(inputs, ones),
            nn.Sequential(conv(inputs, reduce_a), conv(reduce_a, out_a, widths[0])),
            nn.Sequential(conv(inputs, reduce_b), conv(reduce_b, out_b, widths[1])),
            nn.Sequential(nn.MaxPool1d(3, stride=1, padding=1), conv(inputs, pool_proj))])
        self.channels = ones + out_a + out_b + pool_proj

    def trace_geometry(self, g):
        return trace_parallel(self.branches, g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def halving_pool() -> nn.MaxPool1d:
    return nn.MaxPool1d(3, stride=2, padding=1)


@register("inception")
class Inception(SeqModel):
    def __init__(self, n_targets: int, seq_length: int = 600, stem_filters=(64, 64, 192),
                 stem_width: int = 19, modules=GOOGLENET, pool_after=(1, 6), branch_widths=(3, 5),
                 dropout: float = 0.4, scale: float = 1.0):
        super().__init__(n_targets, seq_length)
        n = [max(1, round(f * scale)) for f in stem_filters]
        layers = [ConvBlock(4, n[0], stem_width, padding="same", norm="batch", bias=False,
                            pool=3, pool_stride=2, pool_padding=1),
                  ConvBlock(n[0], n[1], 1, norm="batch", bias=False),
                  ConvBlock(n[1], n[2], 3, padding="same", norm="batch", bias=False,
                            pool=3, pool_stride=2, pool_padding=1)]
        channels = n[2]
        for k, spec in enumerate(modules):
            layers.append(InceptionModule(channels, *[max(1, round(f * scale)) for f in spec], widths=branch_widths))
            channels = layers[-1].channels
            layers += [halving_pool()] if k in pool_after else []
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Dropout(dropout),
                                  DenseHead(channels, [], n_targets))
        self.output = self.head[-1].output
