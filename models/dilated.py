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
third and fourth dilated convolutions.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register


def _block(inputs: int, outputs: int, dropout: float, **conv) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(inputs, outputs, **conv), nn.BatchNorm1d(outputs), nn.ReLU(),
                         nn.Dropout(dropout))


@register("dilated")
class Dilated(nn.Module):
    input_encoding = "codes"
    per_nucleotide = True
    uses_unlabelled = False

    def __init__(self, n_targets: int, seq_length: int = 25000, embed_dim: int = 4, f1: int = 128,
                 f2: int = 240, f3: int = 128, stride: int = 10, kernel: int = 3,
                 dilations=(3, 9, 27, 81), hidden: int = 125, dropout: float = 0.1,
                 dilated_pooling: bool = False):
        super().__init__()
        self.embed = nn.Embedding(5, embed_dim)
        self.strided = _block(embed_dim, f1, dropout, kernel_size=stride, stride=stride)
        layers, channels = [], f1
        for i, d in enumerate(dilations):
            out = f2 if i == 0 else f3
            layers.append(_block(channels, out, dropout, kernel_size=kernel, dilation=d, padding=d * (kernel - 1) // 2))
            if dilated_pooling and i >= len(dilations) - 2:
                layers.append(nn.MaxPool1d(kernel, stride=1, dilation=d, padding=d * (kernel - 1) // 2))
            channels = out
        self.dilated = nn.Sequential(*layers)
        self.deconv = nn.Sequential(nn.ConvTranspose1d(channels, f3, stride, stride=stride),
                                    nn.BatchNorm1d(f3), nn.ReLU())
        self.per_base = nn.Sequential(nn.Conv1d(f3, hidden, 1), nn.ReLU(), nn.Dropout(dropout))
        self.output = nn.Conv1d(hidden, n_targets, 1)
        self.stride = stride
        self.first_layer_window = (stride, stride, 0)

    def first_layer(self, codes: torch.Tensor) -> torch.Tensor:
        return self.strided[:3](self.embed(codes).transpose(1, 2))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        length = codes.shape[1]
        pad = (-length) % self.stride
        if pad:
            codes = nn.functional.pad(codes, (0, pad), value=4)
        h = self.deconv(self.dilated(self.strided(self.embed(codes).transpose(1, 2))))
        return self.output(self.per_base(h))[..., :length]
