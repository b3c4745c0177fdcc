"""Per-target ROC AUC and PR AUC (average precision), vectorised, with scikit-learn's tie rules.

For each target the scores are sorted once (float32 scores are packed with their label into one
uint64 key, which numpy sorts with SIMD code); tied scores form one threshold, exactly as
``sklearn.metrics.roc_auc_score`` and ``average_precision_score`` do. Targets are processed in a
thread pool (numpy releases the GIL while sorting). Targets with fewer than ``min_positives``
positives (or no negatives) get NaN.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _sorted_desc(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores (as sortable keys) and labels in decreasing score order."""
    if scores.dtype == np.float32:
        bits = (scores + np.float32(0.0)).view(np.uint32)     # -0.0 + 0.0 = +0.0: one tie group
        keys = np.where(bits & 0x80000000, ~bits, bits | 0x80000000).astype(np.uint64)
        packed = np.sort((keys << np.uint64(32)) | labels.astype(np.uint64))[::-1]
        return packed >> np.uint64(32), (packed & np.uint64(1)).astype(np.int64)
    order = np.argsort(scores)[::-1]
    return scores[order], labels[order].astype(np.int64)


def roc_pr_auc(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(ROC AUC, average precision) of one target; NaN when a class is missing."""
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    s, y = _sorted_desc(scores, labels != 0)
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]     # end of each tie group
    tps = np.cumsum(y)[last]
    fps = last + 1 - tps
    pos, neg = tps[-1], fps[-1]
    if pos == 0 or neg == 0:
        return float("nan"), float("nan")
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    roc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    ap = float(np.sum(np.diff(tpr) * (tps / (tps + fps))))
    return roc, ap


def per_target_auc(scores: np.ndarray, labels: np.ndarray, *, min_positives: int = 10,
                   workers: int | None = None) -> dict[str, np.ndarray]:
    """ROC AUC, PR AUC and positive counts per column of (N, T) scores and 0/1 labels."""
    n_pos = (labels != 0).sum(axis=0)
    n_targets = scores.shape[1]
    roc = np.full(n_targets, np.nan)
    pr = np.full(n_targets, np.nan)
    todo = [t for t in range(n_targets) if n_pos[t] >= max(min_positives, 1) and n_pos[t] < len(labels)]

    def one(t):
        roc[t], pr[t] = roc_pr_auc(np.ascontiguousarray(scores[:, t]), np.ascontiguousarray(labels[:, t]))

    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(one, todo))
    return {"roc_auc": roc, "pr_auc": pr, "n_pos": n_pos}
