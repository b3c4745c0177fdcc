"""Gupta's Deep-Dilated model for the 1000 bp task (Gupta 2017, thesis Appendix E.1 and Table
7.2.1, ../shared/seeds/001_1a5e2163ee93479e.txt): 15 dilated convolutions of 32 filters, kernel 3,
valid padding, in three groups with dilations 1, 2, 4, 8, 16, each group followed by a max-pool
of width 4 and stride 2, then one fully connected layer to the targets ("only a very small fully
connected layer at the end"): 1000 -> 938 -> 468 -> 406 -> 202 -> 140 -> 69 positions,
2,073,943 parameters at 919 targets, as the thesis reports.

Choices the thesis leaves open, taken here: ReLU after every convolution, no batch
normalisation and no dropout (the count leaves no room for affine BatchNorm; dropout is
configurable), PyTorch's default initialisation.
"""
from __future__ import annotations

from models import register
from models.base import SeqModel
from models.blocks import DenseHead, conv_stack, output_length


@register("deep_dilated")
class DeepDilated(SeqModel):
    def __init__(self, n_targets: int, seq_length: int = 1000, filters: int = 32, width: int = 3,
                 dilations=(1, 2, 4, 8, 16), groups: int = 3, pool_width: int = 4, pool_stride: int = 2,
                 dropout: float = 0.0):
        super().__init__(n_targets, seq_length)
        per_group = len(dilations)
        n = per_group * groups
        self.trunk = conv_stack(4, [filters] * n, [width] * n, dilations=list(dilations) * groups,
                                pools=([1] * (per_group - 1) + [pool_width]) * groups,
                                dropouts=[dropout] * n, pool_stride=pool_stride)
        self.head = DenseHead(filters * output_length(self.trunk, seq_length), [], n_targets)
        self.output = self.head.output
