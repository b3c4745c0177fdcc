"""The demo's planted motifs: every instance is a strong match (p < 1e-5 against the demo's
background), sampled from the real JASPAR matrix (pyjaspar), so models can learn every one."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from workflow_scripts.make_demo import BACKGROUND, SITE_PVALUE, jaspar_matrix, sample_instance, score_threshold


def test_the_score_threshold_is_the_exact_background_tail():
    """Against every sequence of a 4-wide matrix, enumerated with its background probability."""
    log_odds = np.log2(np.array([[0.7, 0.1, 0.1, 0.1], [0.05, 0.05, 0.85, 0.05],
                                 [0.4, 0.1, 0.1, 0.4], [0.1, 0.6, 0.2, 0.1]]) / BACKGROUND)
    seqs = np.array(list(itertools.product(range(4), repeat=4)))
    scores = log_odds[np.arange(4), seqs].sum(axis=1)
    weights = BACKGROUND[seqs].prod(axis=1)
    for pvalue in (0.1, 0.03, 0.01):
        threshold, rounding = score_threshold(log_odds, pvalue), 4 * 0.005 + 1e-9   # 4 columns, 0.01-bit grid
        assert weights[scores >= threshold + rounding].sum() <= pvalue     # as rare as asked ...
        assert weights[scores >= threshold - rounding].sum() > pvalue      # ... and no stricter
    with pytest.raises(ValueError, match="as rare as"):
        score_threshold(log_odds, 0.001)                 # even the best sequence is commoner


@pytest.mark.parametrize("matrix_id", ["MA0497.2", "MA0046.3", "MA0139.2"])   # MEF2C, HNF1A, CTCF
def test_planted_instances_are_strong_and_keep_the_matrix_degeneracy(matrix_id):
    matrix = jaspar_matrix(matrix_id)
    rng = np.random.default_rng(0)
    sites = np.array([sample_instance(rng, matrix) for _ in range(400)])
    codes = np.searchsorted(np.frombuffer(b"ACGT", np.uint8), sites)
    assert (matrix.score(codes) >= matrix.min_score).all()
    background = rng.choice(4, size=(200_000, len(matrix.probs)), p=BACKGROUND)
    assert np.mean(matrix.score(background) >= matrix.min_score) < 3 * SITE_PVALUE
    assert len({bytes(s) for s in sites}) >= 15        # sampled, not the consensus over and over
