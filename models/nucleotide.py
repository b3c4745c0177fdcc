"""What Gupta's per-nucleotide models for 25 kb windows share (thesis chapter 8, Fig. 8.2.1 and
Appendix E.2, ../shared/seeds/001_1a5e2163ee93479e.txt; his code, harvardnlp/regulatory-prediction
``models.py``, was read for the layouts the thesis leaves open).

Nucleotide codes are embedded in 4 dimensions (the thesis embeds rather than one-hot encodes; N
has an embedding of its own), a trunk maps them to one vector per base, and two fully connected
layers applied at every base (``hidden`` units with ReLU and dropout, then one logit per target)
give each base's markers. A trunk with strided layers reads the embedding padded with N's
embedding to a whole number of strides; the padding's predictions are cut off.

Parameter counts: each of Table 8.2.1's six counts is exactly the default layout of his code
(kernel width 10, a bias in every layer, no batch normalisation) with 917 outputs, not the 919 of
the text: at 919 each is 252 = 2 x (125 + 1) higher, and no layout within the thesis's ranges hits
any of them at 919 (benchmarks/nuc25k_counts.py searches). config/models.yaml states them at 917.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models.base import SeqModel
from models.blocks import ConvBlock, PositionwiseHead, SamePool


class NucleotideModel(SeqModel):
    """Embedded codes -> ``trunk`` (set by the subclass; its input a whole number of ``stride``
    long) -> position-wise head (:meth:`add_head`)."""
    input_encoding = "codes"
    per_nucleotide = True

    def __init__(self, n_targets: int, seq_length: int, embed_dim: int, stride: int):
        super().__init__(n_targets, seq_length)
        self.embed = nn.Embedding(5, embed_dim)
        self.stride = stride

    def add_head(self, channels: int, hidden: int, dropout: float) -> None:
        self.head = PositionwiseHead(channels, hidden, self.n_targets, dropout=dropout)
        self.output = self.head.output

    def stem(self, codes: torch.Tensor) -> torch.Tensor:
        return self.embed(codes).transpose(1, 2)

    def padded(self, h: torch.Tensor) -> torch.Tensor:
        """The embedded sequence with N's embedding appended up to a whole number of strides."""
        pad = (-h.shape[-1]) % self.stride
        if not pad:
            return h
        n = self.embed.weight[4][None, :, None].expand(h.shape[0], -1, pad)
        return torch.cat([h, n.to(h.dtype)], dim=-1)

    def body(self, h: torch.Tensor) -> torch.Tensor:
        return self.after_trunk(self.trunk(self.padded(h)))[..., :h.shape[-1]]


def middle_convolutions(inputs: int, f2: int, f3: int, kernel: int, dilations, *, pool_after=(),
                        pool_width: int = 5, pool_dilated: bool = False, **block) -> tuple[nn.Sequential, int]:
    """The layers after a first convolution of ``inputs`` filters: one "same"-padded convolution
    of width ``kernel`` per dilation rate, ``f2`` filters then ``f3`` (Table 8.3.1's naming), each
    with ``block`` (norm, dropout); after each layer numbered in ``pool_after`` (0 is the first
    convolution, 1 the first of these) a stride-1 max-pool of ``pool_width``, dilated like that
    layer's convolution when ``pool_dilated``. Returns the layers and their output channels."""
    layers, channels = [], inputs
    for layer, rate in enumerate((1, *dilations)):
        if layer:
            out = f2 if layer == 1 else f3
            layers.append(ConvBlock(channels, out, kernel, dilation=rate, padding="same", **block))
            channels = out
        if layer in pool_after:
            layers.append(SamePool(pool_width, rate if pool_dilated else 1))
    return nn.Sequential(*layers), channels
