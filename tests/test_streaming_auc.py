"""The streamed, binned per-base AUCs (workflow_scripts/streaming_auc.py) against scikit-learn's exact ones."""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from workflow_scripts.streaming_auc import BinnedAUC


def per_base_predictions(seed: int, windows: int = 6, targets: int = 8, length: int = 4000):
    """Real-ish per-nucleotide output: peaks as runs of positives (100-1500 bp, prevalence from
    0.2 % to 10 % by target), probabilities smooth along the sequence (a moving average of
    noise plus a signal under the peaks), some targets rounded to bf16 (many ties)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((windows, targets, length), np.uint8)
    for t, prevalence in enumerate(np.geomspace(0.002, 0.1, targets)):
        for w in range(windows):
            while labels[w, t].mean() < prevalence:
                start, width = rng.integers(0, length), rng.integers(100, 1500)
                labels[w, t, start:start + width] = 1
    noise = rng.normal(0, 1, labels.shape)
    kernel = np.ones(50) / 50
    smooth = np.apply_along_axis(lambda v: np.convolve(v, kernel, "same"), -1, noise) * 6
    logits = smooth + 2.0 * labels - 4 + np.linspace(-2, 1, targets)[None, :, None]
    probs = torch.sigmoid(torch.tensor(logits, dtype=torch.float32))
    probs[:, ::3] = probs[:, ::3].bfloat16().float()
    return probs, torch.tensor(labels)


def exact(probs, labels):
    p = probs.transpose(1, 2).reshape(-1, probs.shape[1]).numpy()
    y = labels.transpose(1, 2).reshape(-1, labels.shape[1]).numpy()
    return (np.array([roc_auc_score(y[:, t], p[:, t]) for t in range(p.shape[1])]),
            np.array([average_precision_score(y[:, t], p[:, t]) for t in range(p.shape[1])]))


@pytest.mark.parametrize("mantissa_bits", [10, 4])
def test_binned_aucs_lie_within_their_bounds_of_sklearn(mantissa_bits):
    probs, labels = per_base_predictions(seed=mantissa_bits)
    scorer = BinnedAUC(probs.shape[1], "cpu", mantissa_bits=mantissa_bits)
    for w in range(0, len(probs), 2):                              # streamed, two windows a batch
        scorer.update(probs[w:w + 2], labels[w:w + 2])
    got = scorer.result(min_positives=1)
    roc, pr = exact(probs, labels)
    assert np.all(np.abs(got["roc_auc"] - roc) <= got["roc_auc_bound"] + 1e-12)
    assert np.all(np.abs(got["pr_auc"] - pr) <= got["pr_auc_bound"] + 1e-12)
    assert np.array_equal(got["n_pos"], labels.sum(dim=(0, 2)).numpy())
    if mantissa_bits == 10:                                      # the default bins are fine enough
        assert got["roc_auc_bound"].max() < 5e-4 and got["pr_auc_bound"].max() < 2e-3
        assert np.abs(got["roc_auc"] - roc).max() < 1e-4


def test_bins_order_probabilities_and_resolve_both_ends():
    scorer = BinnedAUC(1, "cpu")
    p = torch.rand(100_000) ** 8
    p = torch.sort(torch.cat([torch.tensor([0.0, 1e-30, 0.5, 1.0]), p, 1 - p]))[0]
    bins = scorer.bin_index(p)
    assert torch.all(bins[1:] >= bins[:-1]) and bins.min() >= 0 and bins.max() < scorer.n_bins
    near_one = scorer.bin_index(torch.tensor([0.999, 0.9991, 0.001, 0.0010001]))
    assert near_one[0] != near_one[1] and near_one[2] == near_one[3]   # relative width 2^-10


def test_few_positives_and_bad_input():
    scorer = BinnedAUC(2, "cpu")
    scorer.update(torch.tensor([[0.2, 0.9], [0.3, 0.1]]), torch.tensor([[1, 0], [0, 0]]))
    got = scorer.result(min_positives=1)
    assert got["roc_auc"][0] == 0.0 and np.isnan(got["roc_auc"][1])
    with pytest.raises(ValueError, match="NaN"):
        scorer.update(torch.tensor([[float("nan"), 0.5]]), torch.tensor([[0, 1]]))


def test_evaluation_scores_every_base_of_a_per_nucleotide_split_within_the_bounds(tmp_path):
    """evaluate's path: the binned AUCs of every base beside the exact ones of every base (stride
    1) agree within their bounds; with a stride, fewer bases are scored exactly."""
    import yaml

    from conftest import ROOT, write_toy_dataset
    from models import build_model
    from workflow_scripts.configuration import model_settings
    from workflow_scripts.evaluate import score_split, stride_gap
    from workflow_scripts.loaders import SplitReader

    data = write_toy_dataset(tmp_path / "d.h5", {"train": 2, "valid": 2, "test": 12}, length=1000, per_nucleotide=True)
    entry = model_settings({**yaml.safe_load((ROOT / "config" / "models.yaml").read_text()), "profile": "smoke"}, "conv7")
    torch.manual_seed(0)
    model = build_model(entry["family"], 3, 1000, **entry["args"]).eval()
    reader = SplitReader(data, "test")
    args = dict(every_base=True, min_positives=1, batch_size=4, rc_average=True)
    _, table = score_split(model, reader, torch.device("cpu"), eval_stride=1, **args)
    assert np.all(np.abs(table["roc_auc"] - table["roc_auc_strided"]) <= table["roc_auc_bound"] + 1e-12)
    assert np.all(np.abs(table["pr_auc"] - table["pr_auc_strided"]) <= table["pr_auc_bound"] + 1e-12)
    assert (table["n_pos"] == table["n_pos_strided"]).all() and table["roc_auc"].notna().all()
    pred, strided = score_split(model, reader, torch.device("cpu"), eval_stride=7, **args)
    assert len(pred.probs) == 12 * len(range(0, 1000, 7))
    assert (strided["n_pos_strided"] < strided["n_pos"]).all()
    np.testing.assert_array_equal(strided["roc_auc"], table["roc_auc"])      # every base, whatever the stride
    gap = stride_gap(strided, 7)
    assert gap["eval_stride"] == 7 and 0 <= gap["mean_abs_roc_auc_gap"] <= gap["max_abs_roc_auc_gap"]
