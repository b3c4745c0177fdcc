"""Basset (Kelley, Snoek & Rinn 2016, Genome Research), the DSSDA paper's "LeNet" baseline.

DSSDA (../shared/seeds/000_9e401de77a8c21ca.txt, section 4.3) trains it on the 600 bp DHS data
set and reports a mean AUC of 0.895 over 164 cell types (Table 2). Architecture as Basset's
published model: three convolutions (300 x 19, 200 x 11, 200 x 7), each with batch
normalisation, ReLU and max pooling (3, 4, 4), then two fully connected layers of 1000 units with
batch normalisation and dropout 0.3, and one sigmoid output per target. No padding: 600 -> 582
-> 194 -> 184 -> 46 -> 40 -> 10 positions; 4,135,064 parameters at 164 targets. Trained with
RMSprop (learning rate 0.002, decay 0.98), batch size 128.

``basset_w2v`` is the same network on DSSDA's word2vec input (section 4.2.2; section 5.5: mean
AUC 0.904 against 0.89 one-hot, converged in 42 epochs against 73, 3.25 s against 0.31 s per
iteration): each 600 bp sequence as its 598 overlapping 3-mers, each a 16-d vector fitted by
word2vec on the training split (workflow_scripts/word2vec.py), so the first convolution reads
(B, 16, 598): 598 -> 580 -> 193 -> 183 -> 45 -> 39 -> 9 positions; 4,003,464 parameters at 164
targets. The vectors are fixed while the network trains (the seed fits word2vec first and does
not say it fine-tunes them); a 3-mer with an N reads a vector of zeros. Its first-layer filters
read vectors, not bases, so they are not turned into motifs.
"""
from __future__ import annotations

from models import register
from models.base import SeqModel
from models.blocks import DenseHead, conv_stack, output_length
from models.encodings import kmer_size


@register("basset")
class Basset(SeqModel):
    input_channels = 4

    def __init__(self, n_targets: int, seq_length: int = 600, conv_filters=(300, 200, 200),
                 conv_widths=(19, 11, 7), pool_widths=(3, 4, 4), hidden=(1000, 1000),
                 dropout: float = 0.3, encoding_file: str | None = None):
        super().__init__(n_targets, seq_length, encoding_file)
        self.trunk = conv_stack(self.input_channels, conv_filters, conv_widths, pools=pool_widths, norm="batch")
        flat = conv_filters[-1] * output_length(self.trunk, seq_length - self.input_window + 1)
        self.head = DenseHead(flat, hidden, n_targets, norm="batch", dropout=dropout)
        self.output = self.head.output


@register("basset_w2v")
class BassetW2V(Basset):
    """Basset on fitted k-mer vectors (``encoding_file``: the word2vec rule's table)."""
    input_encoding = "kmer_vectors"
    motif_layer = False
    first_block = None

    @property
    def input_channels(self) -> int:
        return self.encoding_table.shape[1]

    @property
    def input_window(self) -> int:
        return kmer_size(self.encoding_table)
