"""The comparison of models: published per-target tables read as they are written (DanQ's
supplementary table, real file), targets' frequencies per split and the frequency-weighted means."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, write_toy_dataset
from workflow_scripts import explore_dataset
from workflow_scripts.compare import CompareOutputs, compare, kept_epoch, read_published
from workflow_scripts.peak_files import parse_peak_line


def test_published_danq_table_keeps_the_treatment_none():
    spec = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())["evaluate"]["published"]["deepsea1000"][0]
    spec["file"] = str(ROOT / spec["file"])
    tables = read_published(spec)
    assert set(tables) == {"DeepSEA_published", "DanQ_published", "DanQ-JASPAR_published"}
    danq = tables["DanQ_published"]
    assert len(danq) == 919 and "8988T|DNase|None" in set(danq["target"])
    assert not danq["target"].str.contains("nan").any()
    # one target had no positive in DanQ's test region; the table says so in words
    assert list(danq.loc[danq["roc_auc"].isna(), "target"]) == ["K562|BRF1|None"]
    assert danq["roc_auc"].dropna().between(0.5, 1).all()


def test_a_strand_column_is_plus_minus_or_dot():
    for raw, strand in (("+", "+"), ("-", "-"), ("+-", "."), ("", "."), (".", ".")):
        assert parse_peak_line(["chr1", "10", "20", "x", "0", raw])[4] == strand


def test_target_counts_read_in_slices_equal_the_labels_counted_whole(tmp_path, monkeypatch):
    """explore_dataset's positives per split, for both label layouts, equal a direct count."""
    monkeypatch.setattr(explore_dataset, "ROWS_PER_READ", 7)         # many slices, a ragged last one
    for per_nucleotide in (False, True):
        path = write_toy_dataset(tmp_path / f"toy{per_nucleotide}.h5", chunk_rows=16, per_nucleotide=per_nucleotide)
        table = explore_dataset.target_counts(path)
        with h5py.File(path) as f:
            for split in ("train", "valid", "test"):
                g = f[split]
                if per_nucleotide:
                    iv = g["intervals"][:]
                    expected = np.bincount(iv[:, 0], weights=iv[:, 2] - iv[:, 1], minlength=3)
                    total = g["seq"].shape[0] * g["seq"].shape[1]
                else:
                    expected = np.unpackbits(g["labels"][:], axis=1)[:, :3].sum(0)
                    total = g["seq"].shape[0]
                assert table[f"{split}_positives"].tolist() == expected.astype(int).tolist()
                assert np.allclose(table[f"{split}_frequency"], expected / total)
        assert (table["train_positives"] > 0).all()


def test_compare_weighs_targets_by_their_training_frequency(tmp_path):
    """The capstone's weighted mean: AUCs weighted by training-split frequency, matched by name
    (a repeated name matched occurrence by occurrence), next to the plain mean."""
    counts = pd.DataFrame({"target": ["a", "b", "a"], "category": ["TF", "DNase", "TF"],
                           "train_frequency": [0.1, 0.6, 0.3]})
    counts.to_csv(tmp_path / "targets.tsv", sep="\t", index=False)
    metrics = pd.DataFrame({"target": ["a", "b", "a"], "category": ["TF", "DNase", "TF"], "n_pos": [5, 50, 10],
                            "roc_auc": [0.6, 0.9, 0.7], "pr_auc": [0.2, 0.5, 0.4]})
    metrics.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    pd.DataFrame({"epoch": [1], "train_loss": [0.5], "valid_loss": [0.5], "valid_roc_auc": [0.6],
                  "valid_pr_auc": [0.2], "samples_per_s": [100.0]}).to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    out = CompareOutputs(*(tmp_path / f for f in ("c.tsv", "s.tsv", "w.tsv", "r.png", "p.png", "b.png", "t.png")))
    table = compare("toy", {"m": tmp_path / "m.tsv"}, {"m": tmp_path / "log.tsv"}, tmp_path / "targets.tsv", out, [])
    assert table["train_frequency"].tolist() == [0.1, 0.6, 0.3]
    summary = pd.read_csv(out.summary, sep="\t").iloc[0]
    assert summary["mean_roc_auc"] == pytest.approx((0.6 + 0.9 + 0.7) / 3, abs=1e-4)
    assert summary["weighted_roc_auc"] == pytest.approx(0.1 * 0.6 + 0.6 * 0.9 + 0.3 * 0.7, abs=1e-4)
    assert summary["weighted_pr_auc"] == pytest.approx(0.1 * 0.2 + 0.6 * 0.5 + 0.3 * 0.4, abs=1e-4)


def test_the_kept_epoch_follows_the_models_monitor(tmp_path):
    """best_epoch is the epoch whose weights training kept: by model.json's train.monitor; the
    summary also names each model's family and share of labelled rows (DSSDA's label study)."""
    log = pd.DataFrame({"epoch": [1, 2, 3], "valid_loss": [0.6, 0.4, 0.5], "valid_roc_auc": [0.6, 0.7, 0.8],
                        "valid_pr_auc": [0.3, 0.3, 0.2]})
    assert [kept_epoch(log, m) for m in ("valid_loss", "valid_roc_auc", "valid_pr_auc")] == [2, 3, 1]
    pd.DataFrame({"target": ["a"], "category": ["TF"], "train_frequency": [0.1]}).to_csv(
        tmp_path / "targets.tsv", sep="\t", index=False)
    pd.DataFrame({"target": ["a"], "category": ["TF"], "n_pos": [20], "roc_auc": [0.8], "pr_auc": [0.3]}).to_csv(
        tmp_path / "test.tsv", sep="\t", index=False)
    log.assign(train_loss=0.5, samples_per_s=100.0).to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    (tmp_path / "model.json").write_text('{"family": "dilated", "train": {"monitor": "valid_roc_auc", "label_fraction": 0.25}}')
    out = CompareOutputs(*(tmp_path / f for f in ("c.tsv", "s.tsv", "w.tsv", "r.png", "p.png", "b.png", "t.png")))
    compare("nuc25k", {"dilated": tmp_path / "test.tsv"}, {"dilated": tmp_path / "log.tsv"}, tmp_path / "targets.tsv",
            out, [], model_meta={"dilated": tmp_path / "model.json"})
    ours = pd.read_csv(out.summary, sep="\t").set_index("model").loc["dilated"]
    assert (ours["best_epoch"], ours["family"], ours["label_fraction"]) == (3, "dilated", 0.25)


def test_dssdas_table_2_stands_beside_our_validation_means(tmp_path):
    """DSSDA reports mean AUC over classes on its validation split: our models' validation means
    and the epoch kept sit in the summary with the published rows (real file), whose validation
    values fill the validation columns only."""
    pd.DataFrame({"target": ["a", "b"], "category": ["DNase"] * 2, "train_frequency": [0.1, 0.2]}).to_csv(
        tmp_path / "targets.tsv", sep="\t", index=False)
    for split, aucs in (("test", [0.8, 0.9]), ("valid", [0.7, 0.9])):
        pd.DataFrame({"target": ["a", "b"], "category": ["DNase"] * 2, "n_pos": [20, 30], "roc_auc": aucs,
                      "pr_auc": [0.3, 0.4]}).to_csv(tmp_path / f"{split}.tsv", sep="\t", index=False)
    pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.6, 0.5, 0.4], "valid_loss": [0.6, 0.4, 0.5],
                  "valid_roc_auc": [0.6] * 3, "valid_pr_auc": [0.2] * 3, "samples_per_s": [90.0, 100.0, 200.0]}
                 ).to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    out = CompareOutputs(*(tmp_path / f for f in ("c.tsv", "s.tsv", "w.tsv", "r.png", "p.png", "b.png", "t.png")))
    table2 = {"file": str(ROOT / "resources/published/dssda_table2.tsv"), "summary": True}
    compare("dhs600", {"dssda": tmp_path / "test.tsv"}, {"dssda": tmp_path / "log.tsv"}, tmp_path / "targets.tsv",
            out, [table2], {"dssda": tmp_path / "valid.tsv"})
    summary = pd.read_csv(out.summary, sep="\t").set_index("model")
    ours = summary.loc["dssda"]
    assert ours["mean_roc_auc"] == pytest.approx(0.85) and ours["valid_mean_roc_auc"] == pytest.approx(0.8)
    assert ours["valid_sd_roc_auc"] == pytest.approx(0.2 / 2 ** 0.5, abs=1e-4) and ours["best_epoch"] == 2 and ours["samples_per_s"] == 100
    published = summary.loc[["LeNet_published", "Inception_published", "AlexNet_published", "DSSDA_published",
                             "DSSDA_10_published", "DSSDA_25_published"]]
    assert published["valid_mean_roc_auc"].tolist() == [0.895, 0.911, 0.929, 0.946, 0.822, 0.853]
    assert published["mean_roc_auc"].isna().all() and (published["n_targets"] == 164).all()
    assert summary.loc["DSSDA_published", "valid_sd_roc_auc"] == 0.0102
    assert summary.loc["AlexNet_published", "valid_sd_roc_auc"] == 0.0185
    assert summary.loc["LeNet_word2vec_published", "mean_roc_auc"] == 0.904


def test_guptas_task_2_tables_stand_beside_our_validation_and_test_means_by_category(tmp_path):
    """Gupta's Tables C.2.1-2 (real file, as hg19's configuration names it): one row per model with
    validation and test means by category, beside ours from metrics_valid.tsv and metrics.tsv."""
    targets = ["a", "b", "c"]
    pd.DataFrame({"target": targets, "category": ["TF", "TF", "Histone"], "train_frequency": [0.1, 0.2, 0.3]}).to_csv(
        tmp_path / "targets.tsv", sep="\t", index=False)
    for split, aucs in (("test", [0.8, 0.9, 0.6]), ("valid", [0.7, 0.8, 0.5])):
        pd.DataFrame({"target": targets, "category": ["TF", "TF", "Histone"], "n_pos": [20, 30, 40], "roc_auc": aucs,
                      "pr_auc": [0.3, 0.4, 0.2]}).to_csv(tmp_path / f"{split}.tsv", sep="\t", index=False)
    pd.DataFrame({"epoch": [1], "train_loss": [0.6], "valid_loss": [0.6], "valid_roc_auc": [0.6],
                  "valid_pr_auc": [0.2], "samples_per_s": [90.0]}).to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    spec = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())["evaluate"]["published"]["nuc25k"][0]
    out = CompareOutputs(*(tmp_path / f for f in ("c.tsv", "s.tsv", "w.tsv", "r.png", "p.png", "b.png", "t.png")))
    compare("nuc25k", {"dilated": tmp_path / "test.tsv"}, {"dilated": tmp_path / "log.tsv"}, tmp_path / "targets.tsv",
            out, [{**spec, "file": str(ROOT / spec["file"])}], {"dilated": tmp_path / "valid.tsv"})
    summary = pd.read_csv(out.summary, sep="\t").set_index("model")
    assert summary.loc["dilated", "valid_TF_roc_auc"] == pytest.approx(0.75)
    assert summary.loc["dilated", "TF_roc_auc"] == pytest.approx(0.85)
    assert summary.loc["dilated", "valid_Histone_pr_auc"] == pytest.approx(0.2)
    published = summary.loc[[f"{m}_published" for m in ("Conv1", "Conv3", "Conv7", "Dilated", "Bi-LSTM", "ID-CNN")]]
    assert published["valid_TF_roc_auc"].tolist() == [0.712, 0.840, 0.905, 0.895, 0.854, 0.888]    # Table C.2.1
    assert published["TF_roc_auc"].tolist() == [0.726, 0.850, 0.911, 0.898, 0.864, 0.892]
    assert published["valid_Histone_pr_auc"].tolist() == [0.053, 0.115, 0.154, 0.279, 0.238, 0.247]  # C.2.2, 8.4.1
    assert published["DNase_pr_auc"].tolist() == [0.035, 0.098, 0.171, 0.163, 0.086, 0.142]
    assert published["mean_roc_auc"].isna().all()                   # the thesis gives no overall mean


def test_guptas_task_1_tables_stand_beside_our_deepsea1000_means_by_category(tmp_path):
    """Gupta's Table 7.4.1 and Tables C.1.1-2 (real file, as hg19's configuration names it for
    deepsea1000): validation and test means by category of his Task 1 models, beside ours."""
    targets = ["a", "b", "c"]
    pd.DataFrame({"target": targets, "category": ["TF", "DNase", "Histone"], "train_frequency": [0.1, 0.2, 0.3]}).to_csv(
        tmp_path / "targets.tsv", sep="\t", index=False)
    for split, aucs in (("test", [0.8, 0.9, 0.6]), ("valid", [0.7, 0.85, 0.5])):
        pd.DataFrame({"target": targets, "category": ["TF", "DNase", "Histone"], "n_pos": [20, 30, 40],
                      "roc_auc": aucs, "pr_auc": [0.3, 0.4, 0.2]}).to_csv(tmp_path / f"{split}.tsv", sep="\t", index=False)
    pd.DataFrame({"epoch": [1], "train_loss": [0.6], "valid_loss": [0.6], "valid_roc_auc": [0.6],
                  "valid_pr_auc": [0.2], "samples_per_s": [90.0]}).to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    specs = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())["evaluate"]["published"]["deepsea1000"]
    spec = next(s for s in specs if "task1" in s["file"])
    out = CompareOutputs(*(tmp_path / f for f in ("c.tsv", "s.tsv", "w.tsv", "r.png", "p.png", "b.png", "t.png")))
    compare("deepsea1000", {"dilated3": tmp_path / "test.tsv"}, {"dilated3": tmp_path / "log.tsv"},
            tmp_path / "targets.tsv", out, [{**spec, "file": str(ROOT / spec["file"])}],
            {"dilated3": tmp_path / "valid.tsv"})
    summary = pd.read_csv(out.summary, sep="\t").set_index("model")
    assert summary.loc["dilated3", ["valid_DNase_roc_auc", "DNase_roc_auc"]].tolist() == pytest.approx([0.85, 0.9])
    names = ["LR", "FF", "Conv3", "LSTM", "Dilated3", "Dilated6", "Deep-Dilated"]
    published = summary.loc[[f"Gupta_{m}_published" for m in names]]
    assert published["TF_roc_auc"].tolist() == [0.716, 0.737, 0.869, 0.935, 0.864, 0.923, 0.881]       # Table 7.4.1
    assert published["DNase_pr_auc"].tolist() == [0.097, 0.106, 0.319, 0.407, 0.299, 0.390, 0.350]
    assert published["valid_TF_roc_auc"].tolist() == [0.735, 0.745, 0.880, 0.947, 0.877, 0.939, 0.895]  # C.1.1
    assert published["valid_Histone_pr_auc"].tolist() == [0.139, 0.194, 0.285, 0.350, 0.294, 0.329, 0.278]  # C.1.2
    assert published["mean_roc_auc"].isna().all()                   # the thesis gives no overall mean


def test_the_capstones_weighted_means_stand_beside_ours(tmp_path):
    """The capstone's Table 3 (real file, as hg19's configuration names it) fills the weighted
    columns, which for our models weigh targets by training frequency."""
    pd.DataFrame({"target": ["a", "b"], "category": ["TF", "TF"], "train_frequency": [0.01, 0.03]}).to_csv(
        tmp_path / "targets.tsv", sep="\t", index=False)
    pd.DataFrame({"target": ["a", "b"], "category": ["TF", "TF"], "n_pos": [30, 10], "roc_auc": [0.8, 0.9],
                  "pr_auc": [0.2, 0.4]}).to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    pd.DataFrame({"epoch": [1], "train_loss": [0.5], "valid_loss": [0.5], "valid_roc_auc": [0.6],
                  "valid_pr_auc": [0.2], "samples_per_s": [10.0]}).to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    spec = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())["evaluate"]["published"]["deepsea1000"][1]
    out = CompareOutputs(*(tmp_path / f for f in ("c.tsv", "s.tsv", "w.tsv", "r.png", "p.png", "b.png", "t.png")))
    compare("deepsea1000", {"wrn_txl": tmp_path / "m.tsv"}, {"wrn_txl": tmp_path / "log.tsv"},
            tmp_path / "targets.tsv", out, [{**spec, "file": str(ROOT / spec["file"])}])
    summary = pd.read_csv(out.summary, sep="\t").set_index("model")
    assert summary.loc["wrn_txl", "weighted_roc_auc"] == pytest.approx(0.25 * 0.8 + 0.75 * 0.9, abs=1e-4)
    assert summary.loc["wrn_txl_published", ["weighted_roc_auc", "weighted_pr_auc"]].tolist() == [0.8902, 0.4178]
    assert summary.loc["wrn_lstm_published", "weighted_roc_auc"] == 0.8896
    assert summary.loc["DanQ_capstone", "accuracy"] == 0.9824 and pd.isna(summary.loc["DanQ_capstone", "mean_roc_auc"])


def test_the_label_study_lines_up_each_family_by_label_fraction(tmp_path):
    """DSSDA's label study: the families with a model below all labels, by fraction, then the other
    models as references; published rows (no family) left out; a data set without one is refused."""
    from workflow_scripts.cli import InputError
    from workflow_scripts.label_study import label_study, label_table
    summary = pd.DataFrame({
        "model": ["basset", "alexnet", "alexnet_10", "dssda_10", "DSSDA_published"],
        "family": ["basset", "alexnet", "alexnet", "dssda", None],
        "label_fraction": [1.0, 1.0, 0.1, 0.1, None],
        "valid_mean_roc_auc": [0.93, 0.85, 0.60, 0.64, 0.946], "mean_roc_auc": [0.93, 0.84, 0.61, 0.63, None],
        "mean_pr_auc": [0.7, 0.6, 0.3, 0.35, None], "sd_roc_auc": [0.02, 0.03, 0.05, 0.04, None],
        "best_epoch": [8, 6, 30, 6, None]})
    summary.to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    table = label_study(tmp_path / "s.tsv", tmp_path / "l.tsv", tmp_path / "l.png", "dhs600")
    assert table["model"].tolist() == ["alexnet_10", "alexnet", "dssda_10", "basset"]
    assert table["reference"].tolist() == [False, False, False, True]
    assert pd.read_csv(tmp_path / "l.tsv", sep="\t")["mean_roc_auc"].tolist() == [0.61, 0.84, 0.63, 0.93]
    assert (tmp_path / "l.png").stat().st_size > 10_000
    with pytest.raises(InputError, match="label fraction below 1"):
        label_table(summary[summary["label_fraction"] != 0.1])
