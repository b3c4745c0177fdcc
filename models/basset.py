"""Basset (Kelley, Snoek & Rinn 2016, Genome Research), the DSSDA paper's "LeNet" baseline.

DSSDA (../shared/seeds/000_9e401de77a8c21ca.txt, section 4.3) trains it on the 600 bp DHS data
set and reports a mean AUC of 0.895 over 164 cell types (Table 2). Architecture as Basset's
published model: three convolutions (300 x 19, 200 x 11, 200 x 7), each with batch
normalisation, ReLU and max pooling (3, 4, 4), then two fully connected layers of 1000 units with
batch normalisation and dropout 0.3, and one sigmoid output per target. No padding: 600 -> 582
-> 194 -> 184 -> 46 -> 40 -> 10 positions; 4,135,064 parameters at 164 targets. Trained with
RMSprop (learning rate 0.002, decay 0.98), batch size 128.
"""
from __future__ import annotations

from models import register
from models.base import SeqModel
from models.blocks import DenseHead, conv_stack, output_length


@register("basset")
class Basset(SeqModel):
    def __init__(self, n_targets: int, seq_length: int = 600, conv_filters=(300, 200, 200),
                 conv_widths=(19, 11, 7), pool_widths=(3, 4, 4), hidden=(1000, 1000),
                 dropout: float = 0.3):
        super().__init__(n_targets, seq_length)
        self.trunk = conv_stack(4, conv_filters, conv_widths, pools=pool_widths, norm="batch")
        flat = conv_filters[-1] * output_length(self.trunk, seq_length)
        self.head = DenseHead(flat, hidden, n_targets, norm="batch", dropout=dropout)
        self.output = self.head.output
