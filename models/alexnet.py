"""1-D AlexNet (Krizhevsky et al. 2012) as DSSDA trains it on the 600 bp DHS set (Shams, Platania
et al. 2018, ../shared/seeds/000_9e401de77a8c21ca.txt, sections 4.3-4.4, Table 2: mean AUC 0.929).

Architecture: five convolutions, the first three each followed by a 2x1 max-pool (the seed, 4.4),
then three fully connected layers, the last one the output (one sigmoid per target): AlexNet's
numbers of layers and pools. Every convolution and hidden fully connected layer is followed by
batch normalisation and ReLU. At the defaults, 600 -> 582 -> 291 -> 287 -> 143 -> 141 -> 70 -> 68
-> 66 positions; 19,229,284 parameters at 164 targets.

The seed says filter size, stride, initialisation, batch normalisation, the widths of the fully
connected layers (and the batch size) were tuned and not reported. Chosen here, each a setting:
- filters: AlexNet's (96, 256, 384, 384, 256);
- widths: 19 for the first (a motif, as Basset's first layer), then AlexNet's 5, 3, 3, 3;
- stride 1 everywhere and no padding (a strided first layer would skip motif offsets);
- batch normalisation after every convolution and hidden layer (in place of AlexNet's local
  response normalisation), so no bias before it (its shift is the bias);
- fully connected widths (1000, 1000), Basset's (DSSDA's LeNet baseline), not AlexNet's 4096;
- dropout 0.5 after each hidden fully connected layer (AlexNet's);
- PyTorch's default initialisation.
"""
from __future__ import annotations

from models import register
from models.base import SeqModel
from models.blocks import DenseHead, conv_stack, output_length


@register("alexnet")
class AlexNet(SeqModel):
    def __init__(self, n_targets: int, seq_length: int = 600, conv_filters=(96, 256, 384, 384, 256),
                 conv_widths=(19, 5, 3, 3, 3), pool_widths=(2, 2, 2, 1, 1), hidden=(1000, 1000),
                 dropout: float = 0.5, batch_norm: bool = True):
        super().__init__(n_targets, seq_length)
        norm = "batch" if batch_norm else None
        self.trunk = conv_stack(4, conv_filters, conv_widths, pools=pool_widths, norm=norm, bias=not batch_norm)
        flat = conv_filters[-1] * output_length(self.trunk, seq_length)
        self.head = DenseHead(flat, hidden, n_targets, norm=norm, dropout=dropout, bias=not batch_norm)
        self.output = self.head.output
