"""DeepSEA (Zhou & Troyanskaya 2015, Nature Methods): Zhou & Troyanskaya's own architecture.

Not Gupta's "Conv3", his reimplementation with same padding and a 919-unit hidden layer
(60,472,479 parameters, ``conv3``). Architecture as DeepSEA's Torch code, also described by DanQ
(../shared/seeds/003_ac72b4d078e51d5c.txt: "three convolution layers and two max pooling layers
in alternating order"): convolutions of 320, 480 and 960 kernels of width 8 with ReLU and no
padding; max pooling 4 after the first two; dropout 0.2, 0.2 and 0.5; a fully connected layer of
925 ReLU units and one sigmoid output per target. 1000 -> 993 -> 248 -> 241 -> 60 -> 53
positions; 52,843,119 parameters at 919 targets (derived from the architecture; DeepSEA states
no count). The last five input bases reach no output (the pools drop a remainder): the
receptive field is 995 bp.

The same family gives Gupta's variants (thesis Appendix E.1, Table 7.2.1; config/models.yaml):
``conv3`` — his DeepSEA reimplementation with *same* padding and a 919-unit hidden layer
(60,472,479 parameters; the padding and the hidden size follow from the count), and ``dilated3``
— Conv3 with dilations 1, 3, 9 and 120, 240, 360 filters (22,284,639; the thesis gives the shape
only in words, this layout is inferred from the count), and ``dilated6`` — six convolutions, the
pools after the first two; no layout consistent with his text hits its 8,043,759
(benchmarks/dilated6_counts.py), so it is the nearest plausible one, six of 117 filters dilated
1, 3, 9 twice (8,064,831: 21,072 over; dilations growing past 9 would reach beyond
the 62 positions left after the pools). Gupta names BN among his searched
settings (Table 7.3.1) but the counts leave no room for affine BatchNorm, so there is none.

``embed_dim`` puts a learned embedding of the bases before the first convolution (the capstone's,
Chaves Moreno 2020, seed 004: 64-d; ``deepsea_embed``), for its one-hot vs embedding comparison;
the default (None) is DeepSEA's one-hot input.
Training as DeepSEA's Torch code (run.sh / main.lua): weights from U(-0.05, 0.05), SGD with
momentum 0.9, learning rate 1 decayed as 1 / (1 + 8e-7 * step), L2 penalty 5e-7 (weight decay
1e-6), an L1 penalty of 1e-8 on the last hidden layer's activations, kernel max-norm 0.9, batch
size 16.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register
from models.base import SeqModel
from models.blocks import DenseHead, base_embedding, conv_stack, output_length


@register("deepsea")
class DeepSEA(SeqModel):
    def __init__(self, n_targets: int, seq_length: int = 1000, conv_filters=(320, 480, 960),
                 conv_width: int = 8, pool_width: int = 4, dropout=(0.2, 0.2, 0.5), hidden: int = 925,
                 init_range: float | None = 0.05, padding: str = "valid", dilations=(1, 1, 1),
                 embed_dim: int | None = None):
        super().__init__(n_targets, seq_length)
        self.embed = base_embedding(embed_dim) if embed_dim else nn.Identity()
        n = len(conv_filters)
        if not len(dropout) == len(dilations) == n:
            raise ValueError(f"{n} convolutions need {n} dropouts and dilations (got {len(dropout)}, {len(dilations)})")
        self.trunk = conv_stack(embed_dim or 4, conv_filters, [conv_width] * n, pools=[pool_width] * 2 + [1] * (n - 2),
                                dropouts=dropout, dilations=list(dilations), padding=padding)
        flat = conv_filters[-1] * output_length(self.trunk, seq_length)
        self.head = DenseHead(flat, [hidden], n_targets)
        self.output, self.last_hidden = self.head.output, self.head.last_hidden
        if init_range:  # None keeps PyTorch's default initialisation
            for p in self.parameters():
                nn.init.uniform_(p, -init_range, init_range)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)
