"""Per-target ROC and PR AUC against scikit-learn (to 1e-9), random and tied data."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from workflow_scripts.metrics import BLOCK_TARGETS, per_target_auc


def roc_pr_auc(scores, labels):
    out = per_target_auc(np.asarray(scores)[:, None], np.asarray(labels)[:, None], min_positives=1)
    return out["roc_auc"][0], out["pr_auc"][0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_matches_scikit_learn(dtype, ties):
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(2, 2000))
        y = rng.random(n) < rng.uniform(0.01, 0.9)
        if y.all() or not y.any():
            continue
        s = (rng.integers(0, 6, n) / 5.0 if ties else rng.normal(size=n)).astype(dtype)
        roc, ap = roc_pr_auc(s, y)
        assert abs(roc - roc_auc_score(y, s)) < 1e-9 and abs(ap - average_precision_score(y, s)) < 1e-9


def test_per_target_table_and_few_positives():
    rng = np.random.default_rng(1)
    y = (rng.random((5000, 6)) < 0.05).astype(np.uint8)
    y[:, 5] = 0
    y[:3, 5] = 1                                            # 3 positives < 10
    s = (rng.random((5000, 6)) + y * 0.3).astype(np.float32)
    out = per_target_auc(s, y, min_positives=10)
    assert np.isnan(out["roc_auc"][5]) and out["n_pos"][5] == 3
    for t in range(5):
        assert abs(out["roc_auc"][t] - roc_auc_score(y[:, t], s[:, t])) < 1e-9
        assert abs(out["pr_auc"][t] - average_precision_score(y[:, t], s[:, t])) < 1e-9


def test_negative_scores_and_nan_are_handled():
    s = np.array([-3.0, -1.0, 0.0, 2.0, -0.0], dtype=np.float32)
    y = np.array([0, 0, 1, 1, 0])
    assert abs(roc_pr_auc(s, y)[0] - roc_auc_score(y, s)) < 1e-12
    with pytest.raises(ValueError, match="NaN"):
        roc_pr_auc(np.array([np.nan, 1.0]), np.array([0, 1]))
    assert np.isnan(roc_pr_auc(np.array([0.2, 0.4]), np.array([1, 1]))).all()     # no negatives


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strided", [False, True])
def test_blocks_of_targets_and_strided_inputs(dtype, strided):
    """More targets than one block, a partial last block, and column slices of a larger array."""
    rng = np.random.default_rng(3)
    t = 2 * BLOCK_TARGETS + 3
    y = (rng.random((3000, t)) < 0.1).astype(np.uint8)
    scores = np.round(rng.random((3000, t)), 2) + y * 0.1                         # many ties
    s = np.zeros((3000, 2 * t), dtype)
    s[:, ::2] = scores
    s = s[:, ::2] if strided else np.ascontiguousarray(s[:, ::2])
    out = per_target_auc(s, y, min_positives=10)
    sk = [(roc_auc_score(y[:, k], s[:, k]), average_precision_score(y[:, k], s[:, k])) for k in range(t)]
    assert np.allclose(out["roc_auc"], [r for r, _ in sk], atol=1e-9, rtol=0)
    assert np.allclose(out["pr_auc"], [p for _, p in sk], atol=1e-9, rtol=0)
