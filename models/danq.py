"""DanQ and DanQ-JASPAR (Quang & Xie 2016), ../shared/seeds/003_ac72b4d078e51d5c.txt.

Supplementary note: one convolution (320 kernels of width 26; DanQ-JASPAR 1024 of width 30) with
ReLU, max pooling 13 (15) with dropout 0.2, a bidirectional LSTM of 320 (512) units per direction
with dropout 0.5, a fully connected layer of 925 ReLU units and one sigmoid output per target.
Weights start from U(-0.05, 0.05) and biases from 0. Trained with RMSprop, batch size 100, binary
cross-entropy, up to 60 (DanQ-JASPAR 30) epochs.

DanQ-JASPAR initialises about half of its kernels from JASPAR, as DanQ's own code does
(DanQ-JASPAR_train.py, read for this): every one of the 519 JASPAR 2016 CORE vertebrate matrices
(``jaspar_release``, read offline from pyjaspar; ``jaspar_init`` = how many, all by default in the
paper entry), then the reverse complements of six of them (``jaspar_reverse``: DanQ's indices
19, 97-101 — into the release's matrix order as pyjaspar returns it, which we assume is the order
of DanQ's .npy file: not verifiable, the file is binary), 525 kernels in all. Each kernel gets
frequency - 0.25 at a random offset in [3, width - length - 3] and a bias from U(-1, 0). DanQ
reverses each matrix along its length first, because Theano's convolution flips kernels; PyTorch's
does not, so we do not. Fewer than all matrices (the demo's 24) are a random choice (``seed``).

Parameters at 919 targets: 46,929,039 by default (PyTorch's LSTM has two bias vectors per gate);
``keras_lstm_bias=True`` keeps one (the second is zero and frozen, which computes the same
function), giving exactly Gupta's 46,926,479 (Table 7.2.1) for the Keras model.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register
from models.base import SeqModel
from models.blocks import ConvBlock, DenseHead, output_length, single_lstm_bias


@register("danq")
class DanQ(SeqModel):
    def __init__(self, n_targets: int, seq_length: int = 1000, conv_filters: int = 320,
                 conv_width: int = 26, pool_width: int = 13, lstm_units: int = 320, hidden: int = 925,
                 dropout=(0.2, 0.5), init_range: float | None = 0.05, jaspar_init: int = 0,
                 jaspar_release: str = "JASPAR2016", jaspar_reverse=(), seed: int = 0,
                 keras_lstm_bias: bool = False):
        super().__init__(n_targets, seq_length)
        self.trunk = ConvBlock(4, conv_filters, conv_width, pool=pool_width, dropout=dropout[0])
        self.lstm = nn.LSTM(conv_filters, lstm_units, batch_first=True, bidirectional=True)
        self.lstm_dropout = nn.Dropout(dropout[1])
        steps = output_length(self.trunk, seq_length)
        self.head = DenseHead(steps * 2 * lstm_units, [hidden], n_targets)
        self.output = self.head.output
        if init_range:  # None keeps PyTorch's default initialisation
            for name, p in self.named_parameters():
                nn.init.zeros_(p) if "bias" in name else nn.init.uniform_(p, -init_range, init_range)
        if keras_lstm_bias:
            single_lstm_bias(self.lstm)
        if jaspar_init:
            from workflow_scripts.motif_files import jaspar_motifs
            matrices = [m.freqs for m in jaspar_motifs(jaspar_release)]
            chosen = matrices
            if jaspar_init < len(matrices):
                pick = torch.randperm(len(matrices), generator=torch.Generator().manual_seed(seed))[:jaspar_init]
                chosen = [matrices[int(i)] for i in sorted(pick)]
            self.init_from_motifs(chosen + [matrices[i][::-1, ::-1] for i in jaspar_reverse], seed)

    @torch.no_grad()
    def init_from_motifs(self, motifs, seed: int = 0) -> None:
        """DanQ-JASPAR: put motif frequencies - 0.25 at a random offset of the first kernels,
        3 bases from either end where there is room (motifs longer than the kernel are cut)."""
        g = torch.Generator().manual_seed(seed + 1)
        weight, bias = self.trunk.conv.weight, self.trunk.conv.bias
        width = weight.shape[2]
        for k, freqs in enumerate(motifs[: weight.shape[0]]):
            m = torch.as_tensor(freqs.copy(), dtype=weight.dtype)[:width]   # (w, 4)
            margin = 3 if width - len(m) >= 6 else 0
            at = int(torch.randint(margin, width - len(m) + 1 - margin, (1,), generator=g))
            weight[k, :, at:at + len(m)] = (m - 0.25).T
            bias[k] = -torch.rand(1, generator=g).item()

    def after_trunk(self, t: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(t.transpose(1, 2))          # (B, steps, 2 x units)
        return self.head(self.lstm_dropout(h))
