"""Gupta's per-nucleotide convolution stacks for 25 kb windows: Conv1, Conv3, Conv7 and Dilated
(Gupta 2017, thesis Appendix E.2 and Tables 8.2.1, 8.3.1, ../shared/seeds/001_1a5e2163ee93479e.txt).
What they share (embedding, padding, head, the 917 outputs of his counts) is models/nucleotide.py.

One architecture, as in his code (harvardnlp/regulatory-prediction ``models.py``, which builds
them all alike): the embedding (4) -> a first convolution of f1 filters -> convolutions of width
``kernel``, one per rate in ``dilations`` (f2 filters, then f3) -> position-wise head (d_hidden,
then one logit per target). With ``stride`` > 1 the first convolution is strided (width = stride:
its windows tile the input), the middle convolutions run at 1/stride of the length, and a
deconvolution (width = stride, f3 filters) returns to one vector per base (Conv3's "resizing",
Conv7, Dilated); with stride 1 the first convolution is "same"-padded and there is no
deconvolution (Conv1). ReLU after every convolution, dropout after every layer but the output.

The defaults are Dilated: stride 10, dilations 3, 9, 27, 81, f1 128, f2 240, f3 50, d_hidden 125,
kernel 10: 629,825 parameters at 917 outputs, Table 8.2.1's count (630,077 at 919). Receptive
field 10 + 10 x 9 x (3 + 9 + 27 + 81) = 10,810 bp. config/models.yaml: ``conv1`` (stride 1, no
middle layers; 136,935, field 10), ``conv3_nuc`` (dilations [1]; 554,675, field 100), ``conv7``
(dilations [1, 1, 1, 1, 1]; 654,875, field 460), and his two variants of Dilated:
``dilated_maxpool`` (stride-1 max-pools of width 5 after the first, second and fourth
convolutions) and ``dilated_dilpool`` (max-pools of width 5 dilated like the convolution after the
third and fourth dilated convolutions), which add no parameters.

Choices the thesis leaves open (benchmarks/nuc25k_counts.py searches the counts over them):
- Filter counts and d_hidden: Table 8.3.1 gives ranges (f1 {64, 128}, f2 {120, 240}, f3 {50, 128},
  d_hidden {125, 200}); E.2 gives Conv3's 128/240/50. Only 128/240/50 and 125 hit the counts, as
  in his code's defaults.
- Kernel width 10 for every convolution (his code's ``kw``; the text gives it for Conv1 and the
  strided convolutions only): width 3 hits none of the counts. The deconvolution is as wide as
  its stride (width 2 x stride also misses).
- Biases in every layer; no batch normalisation by default (``norm="batch"`` adds it after every
  convolution and the deconvolution, as his "_normed" variants, 2 parameters per channel): the
  counts leave no room for affine batch normalisation, though Table 8.3.1 tunes its decay.
- Conv3 is the "resizing" layout (the title of E.2's entry); a plain three-layer Conv3 (stride 1,
  dilations [1, 1]) has the same count. Pools come after the layer's dropout, as in his code; the
  stride-1 pools' places and width, which the thesis does not give, are his code's.
- Dropout 0.1 (Table 8.3.1: 0.1 or 0.01); PyTorch's default initialisation (his: truncated normal
  0.1, biases 0.1).

A property of his layout, kept as the default because it is his: the dilations 3, 9, 27, 81 are
all multiples of 3 at 1/10 resolution, and the strided convolution's windows do not overlap, so a
base in 10 bp chunk j depends only on chunks j + 3k. Neighbouring chunks never meet: a motif that
crosses a chunk boundary is seen as two halves that no later layer joins. The demo profile
(config/models.yaml) uses stride 1 and dilations 1, 3, 9, 27, which have no such gap (README,
"Evaluation": the demo's 25 kb task).
"""
from __future__ import annotations

import torch.nn as nn

from models import register
from models.blocks import ConvBlock, Resampled
from models.nucleotide import NucleotideModel, middle_convolutions


@register("dilated")
class Dilated(NucleotideModel):
    def __init__(self, n_targets: int, seq_length: int = 25000, embed_dim: int = 4, f1: int = 128,
                 f2: int = 240, f3: int = 50, stride: int = 10, kernel: int = 10,
                 dilations=(3, 9, 27, 81), hidden: int = 125, dropout: float = 0.1, norm: str | None = None,
                 pool_after=(), pool_width: int = 5, pool_dilated: bool = False):
        super().__init__(n_targets, seq_length, embed_dim, stride)
        block = dict(norm=norm, dropout=dropout)
        middle, channels = middle_convolutions(f1, f2, f3, kernel, dilations, pool_after=pool_after,
                                               pool_width=pool_width, pool_dilated=pool_dilated, **block)
        if stride > 1:
            self.trunk = Resampled(embed_dim, f1, middle, channels, f3, stride, **block)
            channels = f3
        else:
            self.trunk = nn.Sequential(ConvBlock(embed_dim, f1, kernel, padding="same", **block), *middle)
        self.add_head(channels, hidden, dropout)
