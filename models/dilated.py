"""Gupta's per-nucleotide "Dilated" model for 25 kb windows (Gupta 2017, thesis Appendix E.2,
../shared/seeds/001_1a5e2163ee93479e.txt; Table 8.2.1: 629,825 parameters at 919 targets).

Nucleotide codes are embedded (4 dimensions; the thesis embeds rather than one-hot encodes), a
strided convolution (kernel 10, stride 10, f1 = 128 filters) brings the sequence to 1/10 of its
length, four dilated convolutions (kernel 3, dilation 3, 9, 27, 81; f2 = 240 then f3 = 128
filters) aggregate context, and a deconvolution (kernel 10, stride 10) returns to one vector per
nucleotide; two fully connected layers applied per nucleotide (d_hidden = 125) give one logit
per target and base. Every layer has batch normalisation and ReLU, with dropout between layers
(0.1). The thesis gives filter counts only as search ranges (Table 8.3.1: f1 in {64, 128},
f2 in {120, 240}, f3 in {50, 128}, d_hidden in {125, 200}); these defaults give 586,163
parameters at 919 targets. ``dilated_pooling`` adds the thesis's dilated max-pooling after the
third and fourth dilated convolutions. Receptive field: 10 + 2 x 10 x (3 + 9 + 27 + 81) = 2,410 bp.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register
from models.base import SeqModel
from models.blocks import ConvBlock, PositionwiseHead


@register("dilated")
class Dilated(SeqModel):
    input_encoding = "codes"
    per_nucleotide = True

    def __init__(self, n_targets: int, seq_length: int = 25000, embed_dim: int = 4, f1: int = 128,
                 f2: int = 240, f3: int = 128, stride: int = 10, kernel: int = 3,
                 dilations=(3, 9, 27, 81), hidden: int = 125, dropout: float = 0.1,
                 dilated_pooling: bool = False):
        super().__init__(n_targets, seq_length)
        self.embed = nn.Embedding(5, embed_dim)
        layers, channels = [ConvBlock(embed_dim, f1, stride, stride=stride, norm="batch", dropout=dropout)], f1
        for i, d in enumerate(dilations):
            out = f2 if i == 0 else f3
            pooled = dilated_pooling and i >= len(dilations) - 2
            layers.append(ConvBlock(channels, out, kernel, dilation=d, padding="same", norm="batch",
                                    dropout=dropout, **(dict(pool=kernel, pool_stride=1, pool_dilation=d,
                                                             pool_padding=d * (kernel - 1) // 2) if pooled else {})))
            channels = out
        layers.append(nn.Sequential(nn.ConvTranspose1d(channels, f3, stride, stride=stride),
                                    nn.BatchNorm1d(f3), nn.ReLU()))
        self.trunk = nn.Sequential(*layers)
        self.head = PositionwiseHead(f3, hidden, n_targets, dropout=dropout)
        self.output = self.head.output
        self.stride = stride

    def stem(self, codes: torch.Tensor) -> torch.Tensor:
        return self.embed(codes).transpose(1, 2)

    def body(self, h: torch.Tensor) -> torch.Tensor:
        length = h.shape[-1]
        pad = (-length) % self.stride             # pad with the embedding of N to whole strides
        if pad:
            n = self.embed.weight[4][None, :, None].expand(h.shape[0], -1, pad)
            h = torch.cat([h, n.to(h.dtype)], dim=-1)
        return self.head(self.trunk(h))[..., :length]
