"""The capstone's two networks (Chaves Moreno 2020, Udacity MLE capstone "Classifying non-coding
DNA sequences", ../shared/seeds/004_a74bc7f03b11c80e.txt; Table 1 and "Implementation"):

    bases -> learned embedding (64-d) -> WideResNet-1D (3 pre-activation bottleneck blocks,
    stride 2, expansion 16) -> context layer -> [context output ; ResNet output] -> flatten ->
    Linear 512 -> BN -> ReLU -> dropout -> weight-normalised Linear, one logit per target

* ``wrn_txl`` — the context layer is Transformer-XL (6 layers, 4 heads of 16, inner 256,
  d_model 256; :mod:`models.transformer_xl`): 39,235,886 parameters at 919 targets against
  Table 1's 39,242k: embedding 256 (256), ResNet 4,706,304 (4,710k), Transformer-XL 1,287,936
  (1,290k; HF's model also held a word embedding, unused for feature input, absent here), fully
  connected 33,241,390 (33,240k).
* ``wrn_lstm`` — the context layer is a bidirectional LSTM of hidden dimension 352 (176 per
  direction; 352 per direction would give 67 M, not the seed's "45M"): 44,703,022 parameters.

What the text fixes: no bias in convolution and linear layers (batch norm follows them); the
ResNet reduces the length by stride-2 convolutions, not pooling (1000 -> 500 -> 250 -> 125);
bottleneck, pre-activation blocks whose 3-wide convolution is widened by the expansion factor
(Wide ResNets); the head's first layer reads the concatenation of the context layer's output and
the ResNet's (a skip connection), BN after it; weight normalisation on the last layer (its
bias, set by the training setting ``prior_output_bias``, starts at the label prior); binary
cross-entropy on logits.

Choices it leaves open, taken here (the counts pin the first three): channels 64 -> 64 -> 128
-> 256 with bottleneck width out / 4 x expansion (94,912 parameters without expansion, the
seed's "94k"; 4,705,792 with it), 3-wide convolutions carrying the stride, a 1x1 strided
projection shortcut in every block; the ResNet ends with BN-ReLU (pre-activation networks do;
the seed's "followed with batch norm" for the skip connection), and both the context layer and
the head read that; the embedding is a linear map of the one-hot bases (nn.Embedding of
A C G T: 4 x 64 = 256 parameters; an N, 0.25 in each one-hot channel, gets the mean of the
four); the weight normalisation is Salimans & Kingma's per output (``torch``'s
``weight_norm``), our reading of the seed's "Weight Vector Normalization"; dropout 0.2 in the
head and the Transformer-XL (the low end of the 0.2-0.5 the seed found to help); the head is
Linear -> BN -> ReLU. The Transformer-XL's own open choices are listed in its module.

No motif layer: the first convolution is a 1x1 one over the embedding (its "filters" are one
base wide), so ``motif_layer`` is False.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import weight_norm

from models import register
from models.base import SeqModel
from models.blocks import BiLSTM, DenseHead, PreActBottleneck, base_embedding, output_length
from models.transformer_xl import TransformerXL


def wide_resnet(inputs: int, channels, *, bottleneck: int, expansion: int, kernel: int, stride: int) -> nn.Sequential:
    """Pre-activation bottleneck blocks, each at ``stride``, then BN-ReLU."""
    blocks = []
    for outputs in channels:
        blocks.append(PreActBottleneck(inputs, outputs // bottleneck * expansion, outputs, kernel=kernel, stride=stride))
        inputs = outputs
    return nn.Sequential(*blocks, nn.BatchNorm1d(inputs), nn.ReLU())


class WideResNetContext(SeqModel):
    """Embedding -> WideResNet -> ``context`` layer -> head on [context ; ResNet] (see module)."""
    motif_layer = False

    def __init__(self, n_targets: int, seq_length: int, context: nn.Module, context_channels: int, *,
                 embed_dim: int, channels, bottleneck: int, expansion: int, kernel: int, stride: int,
                 hidden: int, dropout: float):
        super().__init__(n_targets, seq_length)
        self.embed = base_embedding(embed_dim)
        self.trunk = wide_resnet(embed_dim, channels, bottleneck=bottleneck, expansion=expansion, kernel=kernel,
                                 stride=stride)
        self.context = context
        steps = output_length(self.trunk, seq_length)
        self.head = DenseHead(steps * (context_channels + channels[-1]), [hidden], n_targets, norm="batch",
                              dropout=dropout, bias=False)
        self.output = weight_norm(self.head.output)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)

    def after_trunk(self, t: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.context(t), t], dim=1))


RESNET = dict(embed_dim=64, channels=(64, 128, 256), bottleneck=4, expansion=16, kernel=3, stride=2)


@register("wrn_txl")
class WideResNetTXL(WideResNetContext):
    def __init__(self, n_targets: int, seq_length: int = 1000, *, layers: int = 6, heads: int = 4,
                 head_dim: int = 16, inner: int = 256, causal: bool = True, segment_length: int | None = None,
                 hidden: int = 512, dropout: float = 0.2, **resnet):
        resnet = {**RESNET, **resnet}
        d_model = resnet["channels"][-1]
        txl = TransformerXL(d_model, layers, heads, head_dim, inner, dropout, causal, segment_length)
        super().__init__(n_targets, seq_length, txl, d_model, hidden=hidden, dropout=dropout, **resnet)


@register("wrn_lstm")
class WideResNetLSTM(WideResNetContext):
    def __init__(self, n_targets: int, seq_length: int = 1000, *, lstm_units: int = 176, hidden: int = 512,
                 dropout: float = 0.2, **resnet):
        resnet = {**RESNET, **resnet}
        lstm = BiLSTM(resnet["channels"][-1], lstm_units)
        super().__init__(n_targets, seq_length, lstm, 2 * lstm_units, hidden=hidden, dropout=dropout, **resnet)
