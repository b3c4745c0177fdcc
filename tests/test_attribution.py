"""Attribution and de-novo motifs: DeepLIFT/SHAP (tangermeme) with its additivity checked, the ISM
fallback against whole-model mutants, the refusal of a forest classifier, and real modisco-lite +
the project's Tomtom against real JASPAR 2024 finding a planted motif."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import write_toy_dataset
from models import build_model
from workflow_scripts import modisco, tomtom
from workflow_scripts.attribution import AttributionWriter, Attributions, attribute, attribution_method
from workflow_scripts.cli import InputError
from workflow_scripts.configuration import attributed_models
from workflow_scripts.inference import write_trained
from workflow_scripts.motif_files import jaspar_motifs, write_meme
from workflow_scripts.sequence import N_CODE

TARGETS = ["t0", "t1", "t2"]
SMALL = {"basset": {"conv_filters": [8, 8, 8], "conv_widths": [7, 5, 3], "pool_widths": [2, 2, 2], "hidden": [16, 16]},
         "deepsea": {"conv_filters": [8, 8, 8], "hidden": 16, "init_range": 0.3, "pool_width": 2},
         "danq": {"conv_filters": 8, "conv_width": 7, "pool_width": 4, "lstm_units": 4, "hidden": 8}}


def trained(tmp_path, family: str, length: int = 200):
    torch.manual_seed(1)
    model = build_model(family, len(TARGETS), length, **SMALL[family])
    d = tmp_path / family
    write_trained(model.state_dict(), {"family": family, "args": SMALL[family], "targets": TARGETS,
                                       "categories": ["TF", "TF", "DNase"], "seq_length": length, "train": {},
                                       "dataset": "toy"}, d / "weights.pt", d / "model.json")
    return d, model.eval()


def read(path):
    with h5py.File(path) as f:
        return {k: f[k][:] for k in f}


def logits(model, codes):
    with torch.no_grad():
        return model(model.encode(torch.as_tensor(codes))).double().numpy()


@pytest.mark.parametrize("family", ["basset", "deepsea"])
def test_deeplift_is_additive_and_explains_each_targets_top_rows(tmp_path, family):
    dataset = write_toy_dataset(tmp_path / "toy.h5", n={"train": 4, "valid": 4, "test": 40}, length=200)
    model_dir, model = trained(tmp_path, family)
    methods = attribute(model_dir, tmp_path / "a.h5", dataset=dataset, targets=["TF"], top=3, n_shuffles=4)
    a = read(tmp_path / "a.h5")
    assert methods == {"deeplift": len(a["row"])} and set(a["method"]) == {b"deeplift"}
    assert (a["additivity_error"] <= 1e-3).all()
    one_hot = a["codes"][..., None] == np.arange(4)
    summed = (a["hypothetical"] * one_hot).sum(axis=(1, 2))
    assert np.allclose(summed, a["output"] - a["reference_output"], atol=1e-3)
    # the top 3 test rows of each TF target (t0, t1), each explaining the target it ranks best for
    with h5py.File(dataset) as f:
        all_logits = logits(model, f["test/seq"][:])
    ranks = {t: {int(r): k for k, r in enumerate(np.argsort(-all_logits[:, t], kind="stable")[:3])} for t in (0, 1)}
    expected = {r: min((0, 1), key=lambda t: ranks[t].get(r, 99)) for r in set(ranks[0]) | set(ranks[1])}
    assert list(a["row"]) == sorted(expected)
    assert [int(np.argmax(w)) for w in a["weights"]] == [expected[r] for r in a["row"]]
    assert np.allclose(a["output"], all_logits[a["row"], [expected[r] for r in a["row"]]], atol=1e-5)


def ism_by_whole_mutants(model, codes, weights):
    """Mean-centred logit effects of every substitution, each mutant run through the whole model."""
    d = np.zeros((len(codes), 4))
    ref = logits(model, codes[None])[0] @ weights
    for i in range(len(codes)):
        mutants = np.repeat(codes[None], 4, 0)
        mutants[:, i] = np.arange(4)
        d[i] = logits(model, mutants) @ weights - ref
    return d - d.mean(1, keepdims=True)


def test_danq_falls_back_to_ism_which_equals_whole_model_mutants(tmp_path):
    model_dir, model = trained(tmp_path, "danq", length=60)
    assert attribution_method(model) == "ism"
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(2)]
    (tmp_path / "s.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    attribute(model_dir, tmp_path / "a.h5", fasta=tmp_path / "s.fa", targets=["t1", "t2"])
    a = read(tmp_path / "a.h5")
    assert set(a["method"]) == {b"ism"} and np.isnan(a["additivity_error"]).all()
    weights = np.array([0, 0.5, 0.5])
    for codes, hyp in zip(a["codes"], a["hypothetical"]):
        assert np.allclose(hyp, ism_by_whole_mutants(model, codes, weights), atol=1e-4)


def test_a_sequence_failing_additivity_falls_back_to_ism(tmp_path):
    model_dir, model = trained(tmp_path, "deepsea", length=100)
    codes = np.random.default_rng(2).integers(0, 4, (2, 100)).astype(np.uint8)
    codes[0, 10:20] = N_CODE
    (tmp_path / "s.fa").write_text("".join(f">s{i}\n{''.join('ACGTN'[c] for c in row)}\n" for i, row in enumerate(codes)))
    attribute(model_dir, tmp_path / "a.h5", fasta=tmp_path / "s.fa", n_shuffles=3, tolerance=1e-30)
    a = read(tmp_path / "a.h5")
    assert set(a["method"]) == {b"ism"}
    assert np.isnan(a["additivity_error"][0]) and a["additivity_error"][1] > 1e-30   # N: no DeepLIFT; else kept
    assert np.isnan(a["reference_output"]).all()
    assert np.allclose(a["hypothetical"][1], ism_by_whole_mutants(model, codes[1], np.full(3, 1 / 3)), atol=1e-4)


def test_a_forest_classifier_is_refused_and_not_planned(tmp_path):
    model = build_model("superq", 3, 100, conv_filters=4, conv_width=5, pool_width=4, lstm_units=4, code_size=4)
    with pytest.raises(InputError, match="not a torch layer"):
        attribution_method(model)
    config = {"models": {"sq": {"family": "superq"}, "ds": {"family": "deepsea"}},
              "datasets": {"d": {"models": ["sq", "ds"]}},
              "use_models": {"models": [], "attribution": {"models": []}}}
    assert attributed_models(config) == [("d", "ds")]


def planted_attributions(path, ppm: np.ndarray, n: int = 300, length: int = 120, seed: int = 0):
    """Random sequences each carrying one instance sampled from ``ppm``; an ideal model's
    hypothetical contributions: log-odds of each base against uniform inside the instance, 0 outside."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length)).astype(np.uint8)
    hyp = np.zeros((n, length, 4), np.float32)
    w = len(ppm)
    for i in range(n):
        at = rng.integers(10, length - w - 10)
        codes[i, at:at + w] = [rng.choice(4, p=col / col.sum()) for col in ppm]
        hyp[i, at:at + w] = np.log2((ppm + 0.01) / 0.25)
    with h5py.File(path, "w") as h5:
        writer = AttributionWriter(h5, length, 1, 64)
        nan = np.full(n, np.nan)
        writer.append(codes, [f"s{i}" for i in range(n)], np.arange(n), np.ones((n, 1)),
                      Attributions(hyp, np.full(n, b"deeplift"), nan, nan, nan))


def test_modisco_and_tomtom_recover_a_planted_jaspar_motif(tmp_path):
    jaspar = jaspar_motifs()
    ctcf = next(m for m in jaspar if m.id == "MA0139.2")
    planted_attributions(tmp_path / "a.h5", ctcf.freqs)
    n = modisco.modisco(tmp_path / "a.h5", tmp_path / "m.h5", tmp_path / "p.meme", tmp_path / "p.png",
                        settings={"n_leiden_runs": 2, "max_seqlets_per_metacluster": 2000})
    assert n >= 1 and (tmp_path / "p.png").stat().st_size > 1000
    write_meme(tmp_path / "jaspar.meme", jaspar)
    tomtom.main(tomtom.build_parser().parse_args(["--query", str(tmp_path / "p.meme"), "--targets",
                                                  str(tmp_path / "jaspar.meme"), "--output", str(tmp_path / "t.tsv"),
                                                  "--summary", str(tmp_path / "s.tsv")]))
    table = pd.read_csv(tmp_path / "t.tsv", sep="\t")
    assert "MA0139.2" in set(table.loc[table["E-value"] < 0.01, "Target_ID"])
    with h5py.File(tmp_path / "m.h5") as f:
        assert "pos_patterns" in f and f["pos_patterns/pattern_0/seqlets/n_seqlets"][0] >= 20


def test_a_data_set_with_other_targets_is_refused_leaving_no_output(tmp_path):
    dataset = write_toy_dataset(tmp_path / "toy.h5", n={"train": 4, "valid": 4, "test": 10}, length=200, n_targets=4)
    model_dir, _ = trained(tmp_path, "deepsea")
    with pytest.raises(InputError, match="its targets are not the model's"):
        attribute(model_dir, tmp_path / "a.h5", dataset=dataset)
    assert not (tmp_path / "a.h5").exists()
