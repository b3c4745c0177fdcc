"""Gupta's fully connected baselines for the 1000 bp task (Gupta 2017, thesis Appendix E.1 and
Table 7.2.1, ../shared/seeds/001_1a5e2163ee93479e.txt):

* ``lr`` — logistic regression on the flattened one-hot sequence (4 x 1000 = 4,000 inputs), one
  sigmoid output per target: 3,676,919 parameters at 919 targets (``hidden: []``);
* ``mlp`` — one hidden layer of 925 ReLU units: 4,551,919 parameters.

Choices the thesis leaves open, taken here: an N is 0.25 in every one-hot channel (as for every
model of seq2reg); no dropout (none is mentioned); PyTorch's default initialisation; trained
like his other Task 1 models (Adam, see config/models.yaml). No convolution: these models have no
first-layer filters, so no motifs are extracted from them.
"""
from __future__ import annotations

import torch

from models import register
from models.base import SeqModel
from models.blocks import DenseHead


@register("mlp")
class MLP(SeqModel):
    motif_layer = False

    def __init__(self, n_targets: int, seq_length: int = 1000, hidden=(925,), dropout: float = 0.0):
        super().__init__(n_targets, seq_length)
        self.head = DenseHead(4 * seq_length, list(hidden), n_targets, dropout=dropout)
        self.output = self.head.output

    def body(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)
