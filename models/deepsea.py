"""DeepSEA (Zhou & Troyanskaya 2015, Nature Methods), Gupta's "Conv3" baseline.

Architecture as described by DanQ (../shared/seeds/003_ac72b4d078e51d5c.txt: "three convolution
layers and two max pooling layers in alternating order") and Gupta (../shared/seeds/
001_1a5e2163ee93479e.txt, Appendix E.1): convolutions of 320, 480 and 960 kernels of width 8 with
ReLU; max pooling 4 after the first two; dropout 0.2, 0.2 and 0.5; a fully connected layer of 925
ReLU units and one sigmoid output per target (919). No padding: 1000 -> 993 -> 248 -> 241 ->
60 -> 53 positions; 52,843,119 parameters for 919 targets.

Training as DeepSEA's Torch code (run.sh / main.lua): weights from U(-0.05, 0.05), SGD with
momentum 0.9, learning rate 1 decayed as 1 / (1 + 8e-7 * step), L2 penalty 5e-7 (weight decay
1e-6), an L1 penalty of 1e-8 on the last hidden layer's activations, kernel max-norm 0.9, batch
size 16.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register


@register("deepsea")
class DeepSEA(nn.Module):
    input_encoding = "onehot"
    per_nucleotide = False
    uses_unlabelled = False

    def __init__(self, n_targets: int, seq_length: int = 1000, conv_filters=(320, 480, 960),
                 conv_width: int = 8, pool_width: int = 4, dropout=(0.2, 0.2, 0.5), hidden: int = 925,
                 init_range: float = 0.05):
        super().__init__()
        f1, f2, f3 = conv_filters
        self.conv1 = nn.Sequential(nn.Conv1d(4, f1, conv_width), nn.ReLU())
        self.body = nn.Sequential(
            nn.MaxPool1d(pool_width), nn.Dropout(dropout[0]),
            nn.Conv1d(f1, f2, conv_width), nn.ReLU(), nn.MaxPool1d(pool_width), nn.Dropout(dropout[1]),
            nn.Conv1d(f2, f3, conv_width), nn.ReLU(), nn.Dropout(dropout[2]))
        length = ((seq_length - conv_width + 1) // pool_width - conv_width + 1) // pool_width - conv_width + 1
        self.dense = nn.Sequential(nn.Linear(f3 * length, hidden), nn.ReLU())
        self.last_hidden = self.dense
        self.output = nn.Linear(hidden, n_targets)
        self.first_layer_window = (conv_width, 1, 0)
        if init_range:  # None keeps PyTorch's default initialisation
            for p in self.parameters():
                nn.init.uniform_(p, -init_range, init_range)

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.dense(self.body(self.conv1(x)).flatten(1)))
