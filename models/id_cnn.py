"""Gupta's per-nucleotide ID-CNN for 25 kb windows: Strubell et al. 2017's iterated dilated CNN
(Gupta 2017, thesis Appendix E.2, Tables 8.2.1 and 8.3.1, ../shared/seeds/001_1a5e2163ee93479e.txt;
Strubell, Verga, Belanger & McCallum, arXiv:1702.02098). Embedding, padding and head are shared
with the other Task 2 models (models/nucleotide.py).

"3 blocks of 5 dilated convolutions [that] share parameters". The embedding (4) -> a "same"
convolution of f1 = 50 filters, width 20 -> the block, applied 3 times with the same parameters:
a convolution of f1 filters, width and stride 20 -> convolutions of width 10 dilated 3, 9, 27
(f2 = 240, then f3 = 80 filters) -> a deconvolution of f1 filters, width and stride 20 -> the
position-wise head (d_hidden 125, then one logit per target), also shared by the blocks. ReLU and
dropout after every convolution. As in Strubell et al., every block's output is scored during
training (the loss is the mean over blocks) and the last block's is the prediction.
632,487 parameters at 917 outputs, Table 8.2.1's count (632,739 at 919). Receptive field
20 + 20 x 3 x 9 x (3 + 9 + 27) + 19 = 21,099 bp.

Choices the thesis leaves open, all his code's defaults (``ID_CNN_model``; the thesis gives no
filter counts for this model, and his 50 and 80 are outside Table 8.3.1's f1 and f3 ranges).
benchmarks/nuc25k_counts.py searches the count over f1 in {50, 64, 128}, f2 in {120, 240}, f3 in
{50, 80, 128}, widths 3 or 10, strides 10 or 20, first widths 10 or 20, d_hidden 125 or 200, and
Strubell's original block (five stride-1 dilated convolutions of f1 filters): only this layout
hits it.
- A block's "5 convolutions" are the strided convolution, three dilated ones and the deconvolution.
- No batch normalisation (his "_normed" variant normalises each block separately, which the count
  excludes); dropout 0.1 (Table 8.3.1: 0.1 or 0.01); PyTorch's default initialisation.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from models import register
from models.base import labelled_bce
from models.blocks import ConvBlock, Geometry, Resampled, trace
from models.nucleotide import NucleotideModel, middle_convolutions


class Iterated(nn.Module):
    """One :class:`~models.blocks.Resampled` block applied ``times`` times, the same parameters
    each time. :meth:`each` gives every application's output, ``forward`` the last."""

    def __init__(self, block: Resampled, times: int):
        super().__init__()
        self.block, self.times = block, times

    def each(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for _ in range(self.times):
            x = self.block(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.each(x)[-1]

    def trace_geometry(self, g: Geometry) -> Geometry:
        """A block's output positions of one stride read one middle position, so the next
        block's strided convolution (its windows are those strides) reads one middle position:
        the repetitions compose at the middle resolution, their middles one after another."""
        g = trace(self.block.down, g)
        for _ in range(self.times):
            g = trace(self.block.middle, g)
        return trace(self.block.up, g)


@register("id_cnn")
class IdCnn(NucleotideModel):
    def __init__(self, n_targets: int, seq_length: int = 25000, embed_dim: int = 4, f1: int = 50,
                 f2: int = 240, f3: int = 80, first_width: int = 20, stride: int = 20, kernel: int = 10,
                 dilations=(3, 9, 27), blocks: int = 3, hidden: int = 125, dropout: float = 0.1):
        super().__init__(n_targets, seq_length, embed_dim, stride)
        middle, channels = middle_convolutions(f1, f2, f3, kernel, dilations, dropout=dropout)
        self.trunk = nn.Sequential(OrderedDict(
            first=ConvBlock(embed_dim, f1, first_width, padding="same", dropout=dropout),
            blocks=Iterated(Resampled(f1, f1, middle, channels, f1, stride, dropout=dropout), blocks)))
        self.add_head(f1, hidden, dropout)

    def block_logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every block's prediction (logits), the last one's is ``forward``'s."""
        h = self.stem(x)
        outputs = self.trunk.blocks.each(self.trunk.first(self.padded(h)))
        return [self.head(t)[..., :h.shape[-1]] for t in outputs]

    def training_step(self, x: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
        """Strubell et al.'s loss, as Gupta's train.py: the mean over blocks of each one's loss."""
        return torch.stack([labelled_bce(logits, targets, labelled, self.positive_weight) for logits in self.block_logits(x)]).mean()
