"""Gupta's per-nucleotide Bi-LSTM for 25 kb windows (Gupta 2017, thesis Appendix E.2, Tables
8.2.1 and 8.3.1, ../shared/seeds/001_1a5e2163ee93479e.txt): a strided convolution, a
bidirectional LSTM over the strided sequence, and a deconvolution back to one vector per base,
then the position-wise head (models/nucleotide.py: embedding, padding, head).

The embedding (4) -> convolution of f1 = 128 filters, width and stride ``stride`` -> ReLU, dropout
-> bidirectional LSTM of f2 units per direction -> deconvolution of f3 filters, width and stride
``stride`` -> ReLU, dropout -> position-wise layers (d_hidden, then one logit per target).
Defaults: stride 100, f2 20, f3 50, d_hidden 125: 397,155 parameters at 917 outputs, Table
8.2.1's count (397,407 at 919). The LSTM makes every base's prediction depend on the whole
window (receptive field 25,000 bp).

Choices the thesis leaves open (benchmarks/nuc25k_counts.py searches the count over them):
- Stride: Table 8.3.1 searches 10, 20, 50, 100 (a setting); only 100 hits the count.
- The convolution's width: the text says 10, but only a width equal to the stride (his code's
  ``dim_reduction``, used for both) hits the count; so is the deconvolution's.
- f2 and f3 from Table 8.3.1's LSTM ranges ({20, 40, 80}, {50, 128}), d_hidden from {64, 125, 200}:
  only 20, 50 and 125 hit, as in his code's defaults.
- One learned bias per LSTM gate, as TensorFlow's BasicLSTMCell (``tf_lstm_bias``; PyTorch's
  second bias is frozen and holds the cell's constant forget bias of 1); False keeps PyTorch's
  two learned biases (160 more parameters at f2 = 20).
- No dropout on the LSTM's output and no batch normalisation, as his code; dropout 0.1 (Table
  8.3.1: 0.1 or 0.01); PyTorch's default initialisation.
"""
from __future__ import annotations

from models import register
from models.blocks import BiLSTM, Resampled, single_lstm_bias
from models.nucleotide import NucleotideModel


@register("bilstm_nuc")
class BiLSTMNuc(NucleotideModel):
    def __init__(self, n_targets: int, seq_length: int = 25000, embed_dim: int = 4, f1: int = 128,
                 f2: int = 20, f3: int = 50, stride: int = 100, hidden: int = 125, dropout: float = 0.1,
                 tf_lstm_bias: bool = True):
        super().__init__(n_targets, seq_length, embed_dim, stride)
        recurrent = BiLSTM(f1, f2)
        if tf_lstm_bias:
            single_lstm_bias(recurrent.lstm, forget=1.0)
        self.trunk = Resampled(embed_dim, f1, recurrent, 2 * f2, f3, stride, dropout=dropout)
        self.add_head(f3, hidden, dropout)
