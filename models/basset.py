"""Basset (Kelley, Snoek & Rinn 2016, Genome Research), the DSSDA paper's "LeNet" baseline.

DSSDA (../shared/seeds/000_9e401de77a8c21ca.txt, section 4.3) trains it on the 600 bp DHS data
set and reports a mean AUC of 0.895 over 164 cell types (Table 2). Architecture as Basset's
published model: three convolutions (300 x 19, 200 x 11, 200 x 7), each with batch
normalisation, ReLU and max pooling (3, 4, 4), then two fully connected layers of 1000 units with
dropout 0.3, and one sigmoid output per target. No padding: 600 -> 582 -> 194 -> 184 -> 46 ->
40 -> 10 positions. Trained with RMSprop (learning rate 0.002, decay 0.98), batch size 128.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register


@register("basset")
class Basset(nn.Module):
    input_encoding = "onehot"
    per_nucleotide = False
    uses_unlabelled = False

    def __init__(self, n_targets: int, seq_length: int = 600, conv_filters=(300, 200, 200),
                 conv_widths=(19, 11, 7), pool_widths=(3, 4, 4), hidden=(1000, 1000),
                 dropout: float = 0.3):
        super().__init__()
        layers, channels, length = [], 4, seq_length
        for filters, width, pool in zip(conv_filters, conv_widths, pool_widths):
            layers.append(nn.Sequential(nn.Conv1d(channels, filters, width), nn.BatchNorm1d(filters),
                                        nn.ReLU()))
            layers.append(nn.MaxPool1d(pool))
            channels, length = filters, (length - width + 1) // pool
        self.conv = nn.Sequential(*layers)
        dense, inputs = [], channels * length
        for units in hidden:
            dense += [nn.Linear(inputs, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(dropout)]
            inputs = units
        self.dense = nn.Sequential(*dense)
        self.output = nn.Linear(inputs, n_targets)
        self.first_layer_window = (conv_widths[0], 1, 0)

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv[0](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.dense(self.conv(x).flatten(1)))
