"""Per-target ROC and PR AUC of every scored base, streamed as histograms (library for evaluate).

Per-nucleotide data cannot be scored with a sort: hg19's nuc25k test set is ~2 x 10^8 bases and
the whole genome ~2 x 10^9, times 919 targets. Each batch's probabilities instead go into fixed
bins, and per target and bin the positives and negatives are counted (on the batch's device);
the areas are computed from the counts at the end. Memory is the counts' only:
``targets x n_bins x 2`` int64 (919 x 47,106 bins: 661 MB), whatever the number of bases.

**Bins.** A probability p goes to a bin by the top bits of a float32: of p when p < 1/2, of
1 - p (exact in float32) mirrored when p >= 1/2. Keeping ``mantissa_bits`` m bits, a bin spans a
relative width 2^-m of p (or of 1 - p): fine at both ends, like bins of the logit. m = 10 by
default: with 8, a nearly constant output (an undertrained model's) left bounds of 1.5e-2 on the
demo, with 10 a quarter of that. Values below
2^-e (above 1 - 2^-e), e = ``min_exponent``, share an end bin. The bin index is a non-decreasing
function of p, so a positive and a negative in different bins are ordered as by their scores.

**Error bounds against the exact AUC of the same scores** (scikit-learn's, ties counted half),
with P and N the positives and negatives of a target and p_b, n_b those of bin b:

* ROC AUC = (pairs positive > negative + half the tied pairs) / PN. Pairs in different bins are
  counted alike by both; the binned AUC counts each of the sum_b p_b n_b pairs within a bin as a
  half, the exact one as 0, 1/2 or 1. Hence |binned - exact| <= 1/2 sum_b p_b n_b / (PN).
* PR AUC (average precision) = sum over thresholds of (recall step) x precision. The binned one
  takes each bin as one threshold: (p_b / P) x prec_b with prec_b = (A + p_b) / (A + B + p_b + n_b),
  A and B the positives and negatives in higher bins. Every exact threshold inside bin b with a
  recall step has precision (A + x) / (A + B + x + y) with 1 <= x <= p_b, 0 <= y <= n_b, between
  lo_b = (A + 1) / (A + B + 1 + n_b) and hi_b = (A + p_b) / (A + B + p_b), and its steps add up to
  p_b / P. Hence |binned - exact| <= sum_b (p_b / P) max(hi_b - prec_b, prec_b - lo_b).

Both bounds are computed from the counts themselves, per target (``roc_auc_bound``,
``pr_auc_bound``), so every reported AUC carries its own guarantee; they vanish as the bins
empty out (a larger m) and are tested against scikit-learn in tests/test_streaming_auc.py.
"""
from __future__ import annotations

import numpy as np
import torch

FLOAT32_MANTISSA = 23
FLOAT32_BIAS = 127


class BinnedAUC:
    """Counts of positives and negatives per target and probability bin, updated per batch."""

    def __init__(self, n_targets: int, device, *, mantissa_bits: int = 10, min_exponent: int = 24):
        if not 0 <= mantissa_bits <= FLOAT32_MANTISSA or not 2 <= min_exponent <= 126:
            raise ValueError(f"mantissa_bits {mantissa_bits} (0-23) or min_exponent {min_exponent} (2-126) out of range")
        self.n_targets, self.mantissa_bits, self.min_exponent = n_targets, mantissa_bits, min_exponent
        self.half = (min_exponent - 1) * 2 ** mantissa_bits + 1       # bins for p < 1/2 (and for p >= 1/2)
        if n_targets * self.n_bins * 2 >= 2 ** 31:
            raise ValueError(f"{n_targets} targets x {self.n_bins} bins: too many for int32 count indices")
        self.counts = torch.zeros(n_targets * self.n_bins * 2, dtype=torch.int64, device=device)

    @property
    def n_bins(self) -> int:
        return 2 * self.half

    def bin_index(self, p: torch.Tensor) -> torch.Tensor:
        """Bin of each float32 probability (a non-decreasing function of p), int32. In-place
        integer steps: at hg19 size the batches are large (8 windows x 919 x 25,000)."""
        p = p.float()
        upper = p >= 0.5
        key = torch.where(upper, 1 - p, p).clamp_(2.0 ** -self.min_exponent, 0.5).view(torch.int32)
        key -= (FLOAT32_BIAS - self.min_exponent) << FLOAT32_MANTISSA
        key >>= FLOAT32_MANTISSA - self.mantissa_bits
        return torch.where(upper, self.n_bins - 1 - key, key)

    @torch.no_grad()
    def update(self, probs: torch.Tensor, labels: torch.Tensor) -> None:
        """Add a batch: (B, T) or (B, T, L) probabilities and 0/1 labels of the same shape."""
        if probs.shape != labels.shape or probs.shape[1] != self.n_targets:
            raise ValueError(f"probabilities {tuple(probs.shape)} and labels {tuple(labels.shape)} must be "
                             f"(B, {self.n_targets}[, L])")
        if torch.isnan(probs).any():
            raise ValueError("probabilities contain NaN")
        index = self.bin_index(probs)
        index += torch.arange(0, self.n_targets * self.n_bins, self.n_bins, dtype=torch.int32,
                              device=probs.device).view(1, -1, *([1] * (probs.dim() - 2)))
        index *= 2
        index += labels != 0                                        # count index: (target, bin, label)
        self.counts += torch.bincount(index.flatten(), minlength=len(self.counts))

    def positives_negatives(self) -> tuple[np.ndarray, np.ndarray]:
        """(T, n_bins) counts of positives and of negatives, bins in ascending probability."""
        c = self.counts.cpu().numpy().reshape(self.n_targets, self.n_bins, 2)
        return c[..., 1], c[..., 0]

    def result(self, min_positives: int = 10) -> dict[str, np.ndarray]:
        """Per target: ``roc_auc``, ``pr_auc``, their bounds, ``n_pos`` and ``n_neg``; NaN for
        targets with fewer than ``min_positives`` positives or no negatives."""
        pos, neg = self.positives_negatives()
        out = areas_from_counts(pos, neg)
        scored = (out["n_pos"] >= max(1, min_positives)) & (out["n_neg"] > 0)
        for key in ("roc_auc", "pr_auc", "roc_auc_bound", "pr_auc_bound"):
            out[key] = np.where(scored, out[key], np.nan)
        return out


def areas_from_counts(pos: np.ndarray, neg: np.ndarray) -> dict[str, np.ndarray]:
    """Binned ROC AUC and average precision with their error bounds (module docstring) from
    (T, n_bins) counts in ascending bins."""
    pos, neg = pos.astype(np.float64), neg.astype(np.float64)
    n_pos, n_neg = pos.sum(1), neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        neg_below = np.cumsum(neg, 1) - neg
        pairs = n_pos * n_neg
        roc = (pos * (neg_below + 0.5 * neg)).sum(1) / pairs
        roc_bound = 0.5 * (pos * neg).sum(1) / pairs
        pos_above = np.cumsum(pos[:, ::-1], 1)[:, ::-1] - pos        # A: positives in higher bins
        neg_above = np.cumsum(neg[:, ::-1], 1)[:, ::-1] - neg        # B
        has = pos > 0
        precision = np.where(has, (pos_above + pos) / (pos_above + neg_above + pos + neg), 0)
        lowest = np.where(has, (pos_above + 1) / (pos_above + neg_above + 1 + neg), 0)
        highest = np.where(has, (pos_above + pos) / (pos_above + neg_above + pos), 0)
        share = pos / n_pos[:, None]
        pr = (share * precision).sum(1)
        pr_bound = (share * np.maximum(highest - precision, precision - lowest)).sum(1)
    return {"roc_auc": roc, "pr_auc": pr, "roc_auc_bound": roc_bound, "pr_auc_bound": pr_bound,
            "n_pos": n_pos.astype(np.int64), "n_neg": n_neg.astype(np.int64)}
