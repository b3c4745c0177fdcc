"""DanQ's k-mer baseline (Quang & Xie 2016, Methods and Supplementary note,
../shared/seeds/003_ac72b4d078e51d5c.txt): logistic regression on the z-scored counts of every
k-mer for k = 1 ... 5 (4 + 16 + 64 + 256 + 1,024 = 1,364 features), one sigmoid output per
target: 1,254,435 parameters at 919 targets. Trained with an L2 penalty of 1e-6, RMSprop and
batches of 100 (config/models.yaml).

Choices the paper leaves open, taken here: k-mers are counted on the forward strand of the
input (reverse-complement augmentation and test-time averaging supply the other strand); a
window with an N is not counted; the z-score uses the mean and standard deviation of each
feature over the first training batches (:meth:`prepare`, up to 100 batches), kept as buffers
so that they travel with the weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models import register
from models.base import SeqModel


@register("kmer_lr")
class KmerLR(SeqModel):
    input_encoding = "kmer_counts"
    motif_layer = False

    def __init__(self, n_targets: int, seq_length: int = 1000, ks=(1, 2, 3, 4, 5)):
        super().__init__(n_targets, seq_length)
        self.encoding_args = {"ks": tuple(ks)}
        features = sum(4 ** k for k in ks)
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.output = nn.Linear(features, n_targets)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale

    def body(self, h: torch.Tensor) -> torch.Tensor:
        return self.output(h)

    @torch.no_grad()
    def prepare(self, batches) -> None:
        total, total_sq, n = 0.0, 0.0, 0
        for batch in batches:
            counts = self.encode(torch.as_tensor(batch["codes"]).to(self.mean.device)).double()
            total, total_sq, n = total + counts.sum(0), total_sq + (counts ** 2).sum(0), n + len(counts)
        if n:
            mean = total / n
            sd = (total_sq / n - mean ** 2).clamp(min=0).sqrt()
            self.mean.copy_(mean.float())
            self.scale.copy_(torch.where(sd > 0, sd, torch.ones_like(sd)).float())
