"""Per-target ROC AUC and PR AUC (average precision), with scikit-learn's tie rules.

Targets are processed in blocks by a thread pool. For each target, every score becomes an
order-preserving 32-bit key (float32: its bits, sign-folded; other dtypes: its dense rank) packed
with the label into one uint64, so that one numpy sort (SIMD, releases the GIL) orders scores and
labels together; one compiled pass from the highest score down then sums both areas, with tied
scores forming one threshold, exactly as ``sklearn.metrics.roc_auc_score`` and
``average_precision_score`` do. Targets with fewer than ``min_positives`` positives (or no
negatives) get NaN.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

BLOCK_TARGETS = 16      # targets packed together (row-wise reads of the score matrix)

_SIGN = np.uint64(0x80000000)
_LOW32 = np.uint64(0xFFFFFFFF)
_ONE = np.uint64(1)
_SHIFT = np.uint64(32)


@nb.njit(nogil=True, cache=True)
def _pack_block(keys, labels, first, float_bits, out):
    """out[k, i] = (order-preserving key at keys[i, first + k]) << 32 | labels[i, k]."""
    for i in range(keys.shape[0]):
        for k in range(out.shape[0]):
            key = np.uint64(keys[i, first + k])
            if float_bits:
                if key == _SIGN:                                  # -0.0 ties with +0.0
                    key = np.uint64(0)
                key = (~key & _LOW32) if key & _SIGN else key | _SIGN
            out[k, i] = (key << _SHIFT) | (_ONE if labels[i, k] else np.uint64(0))


@nb.njit(nogil=True, cache=True)
def _areas(packed):
    """(ROC AUC, average precision) from ascending packed keys; NaN when a class is missing."""
    tp = fp = prev_tp = prev_fp = 0
    roc2, ap = 0.0, 0.0
    for j in range(packed.shape[0] - 1, -1, -1):
        y = int(packed[j] & _ONE)
        tp += y
        fp += 1 - y
        if j == 0 or (packed[j - 1] >> _SHIFT) != (packed[j] >> _SHIFT):   # end of a tie group
            roc2 += float(fp - prev_fp) * float(tp + prev_tp)
            ap += (tp - prev_tp) * (tp / (tp + fp))
            prev_tp, prev_fp = tp, fp
    if tp == 0 or fp == 0:
        return np.nan, np.nan
    return roc2 / (2.0 * tp * fp), ap / tp


def _column_keys(scores: np.ndarray, first: int, count: int) -> tuple[np.ndarray, int, bool]:
    """Keys, the column offset into them, and whether they are float32 bits to sign-fold."""
    if scores.dtype == np.float32 and scores.flags.c_contiguous:
        return scores.view(np.uint32), first, True
    ranks = np.empty((scores.shape[0], count), np.uint32)
    for k in range(count):
        ranks[:, k] = np.unique(scores[:, first + k], return_inverse=True)[1].reshape(-1)
    return ranks, 0, False


def per_target_auc(scores: np.ndarray, labels: np.ndarray, *, min_positives: int = 10,
                   workers: int | None = None) -> dict[str, np.ndarray]:
    """ROC AUC, PR AUC and positive counts per column of (N, T) scores and 0/1 labels."""
    if scores.ndim != 2 or scores.shape != labels.shape:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be the same (N, T) shape")
    if np.issubdtype(scores.dtype, np.floating) and np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    labels = labels != 0
    n_pos = labels.sum(axis=0)
    n_targets = scores.shape[1]
    roc = np.full(n_targets, np.nan)
    pr = np.full(n_targets, np.nan)
    wanted = (n_pos >= max(min_positives, 1)) & (n_pos < len(labels))

    def block(first: int) -> None:
        count = min(BLOCK_TARGETS, n_targets - first)
        keys, offset, float_bits = _column_keys(scores, first, count)
        packed = np.empty((count, len(labels)), np.uint64)
        _pack_block(keys, labels[:, first:first + count], offset, float_bits, packed)
        for k in range(count):
            if wanted[first + k]:
                packed[k].sort()
                roc[first + k], pr[first + k] = _areas(packed[k])

    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(block, range(0, n_targets, BLOCK_TARGETS)))
    return {"roc_auc": roc, "pr_auc": pr, "n_pos": n_pos}
