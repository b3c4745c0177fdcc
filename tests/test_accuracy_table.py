"""DanQ's Table S1 (accuracy_table) and Figs. 2-3 (curve_overlay) on small trained models: every
figure counted independently here from the model's own predictions, per sequence and per base,
with DanQ's published rows (real file) after ours."""
from __future__ import annotations

from dataclasses import fields

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import ROOT, write_toy_dataset
from test_train import SMALL_BASSET
from workflow_scripts import accuracy_table, curve_overlay
from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs, fit
from workflow_scripts.evaluate import EvalOutputs, evaluate
from workflow_scripts.inference import load_trained, predict_batches, predict_split
from workflow_scripts.loaders import SplitReader

CPU = torch.device("cpu")
SMALL_DILATED = {"f1": 8, "f2": 8, "f3": 8, "hidden": 8}


def trained(data, tmp_path, family, args, stride=1):
    out = TrainOutputs(*(tmp_path / family / f for f in ("weights.pt", "model.json", "log.tsv")))
    cfg = TrainConfig.from_dict({"optimizer": "adam", "lr": 0.003, "batch_size": 16, "max_epochs": 1, "seed": 1})
    fit(Trainer(data, out, family, args, cfg))
    files = EvalOutputs(**{f.name: tmp_path / family / f.name for f in fields(EvalOutputs)})
    evaluate(data, out.weights, out.meta, files, rc_average=True, min_positives=1, eval_stride=stride, batch_size=64,
             curve_targets=[], name=family)
    return out, files


def expected(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Loss, accuracy and F1 over every cell, counted directly."""
    p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
    called, truth = probs >= 0.5, labels.astype(bool)
    tp, fp, fn = (called & truth).sum(), (called & ~truth).sum(), (~called & truth).sum()
    return {"loss": float(-(truth * np.log(p) + ~truth * np.log(1 - p)).mean()),
            "accuracy": float((called == truth).mean()), "f1": 2 * tp / (2 * tp + fp + fn), "cells": truth.size}


def run_stage(data, tmp_path, model, files, *extra):
    out = tmp_path / "accuracy_table.tsv"
    accuracy_table.main(accuracy_table.build_parser().parse_args([
        "--dataset", str(data), "--models", "m", "--weights", str(model.weights), "--meta", str(model.meta),
        "--metrics", str(files.metrics), "--valid-metrics", str(files.valid_metrics), "--table", str(out), *extra]))
    return pd.read_csv(out, sep="\t").set_index(["predictor", "split"])


def test_table_s1_per_sequence_with_danqs_published_rows(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 400, "valid": 64, "test": 128}, length=300)
    model, files = trained(data, tmp_path, "basset", SMALL_BASSET)
    published = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())["accuracy_table"]["published"]
    table = run_stage(data, tmp_path, model, files, "--train-bases", "30000", "--seed", "3",
                      "--published", str(ROOT / published["deepsea1000"]))

    net, _ = load_trained(model.weights, model.meta)
    for split in ("valid", "test"):
        pred = predict_split(net, SplitReader(data, split), CPU, batch_size=50, rc_average=True)
        want, got = expected(pred.probs, pred.labels), table.loc[("m", split)]
        assert got[["loss", "accuracy", "f1"]].tolist() == pytest.approx([want["loss"], want["accuracy"], want["f1"]],
                                                                          abs=1e-5)
        assert got["cells"] == want["cells"] and got["rows"] == len(pred.probs)
        zeros = table.loc[("all_zeros", split)]
        assert zeros["accuracy"] == pytest.approx(1 - pred.labels.mean(), abs=1e-6) and zeros["f1"] == 0
        assert np.isnan(zeros["loss"]) and zeros["mean_roc_auc"] == 0.5
        assert zeros["mean_pr_auc"] == pytest.approx(pred.labels.mean(0).mean(), abs=1e-6)
    assert table.loc[("m", "test"), "loss"] == pytest.approx(pred.loss, abs=1e-5)    # evaluate's test_loss
    metrics = pd.read_csv(files.metrics, sep="\t")
    assert table.loc[("m", "test"), "mean_roc_auc"] == pytest.approx(metrics["roc_auc"].mean(), abs=1e-6)

    # the training split: a seeded sample of 30,000 bases = 100 of the 400 sequences
    train = table.loc[("m", "train")]
    assert train["rows"] == 100 and np.isnan(train["mean_roc_auc"])
    rows = accuracy_table.train_sample(SplitReader(data, "train"), 30000, 3)
    assert len(set(rows)) == 100 and list(rows) == sorted(rows)
    batch = SplitReader(data, "train").read(rows)
    probs = np.concatenate(list(predict_batches(net, [batch["codes"]], CPU, rc_average=True)))
    assert train["accuracy"] == pytest.approx(expected(probs, batch["labels"])["accuracy"], abs=1e-6)

    danq = table.loc["DanQ_published"]
    assert danq.loc["test", "loss"] == 0.0538 and danq.loc["test", "accuracy"] == 0.9824
    assert table.loc["all_zeros_published", "accuracy"].tolist() == [0.9784, 0.9805, 0.9794]   # train, valid, test
    assert table.loc["all_zeros_published", "loss"].isna().all()

    overlay = tmp_path / "overlay.png"
    shown = curve_overlay.plot_overlay({"a": files.predictions, "b": files.predictions}, {"a": files.metrics,
                                       "b": files.metrics}, ["t2", "missing", "t0"], "toy", overlay)
    assert shown == ["t2", "t0"] and overlay.stat().st_size > 0
    # DSSDA's Fig. 3: other targets drawn at random, the same draw each time, never one asked for twice
    drawn = curve_overlay.plot_overlay({"a": files.predictions}, {"a": files.metrics}, ["t2"], "toy", overlay, 1)
    assert drawn[0] == "t2" and len(drawn) == 2 and drawn[1] in {"t0", "t1"}
    assert curve_overlay.plot_overlay({"a": files.predictions}, {"a": files.metrics}, ["t2"], "toy", overlay, 1) == drawn
    assert sorted(curve_overlay.plot_overlay({"a": files.predictions}, {"a": files.metrics}, [], "toy", overlay, 9)) == \
        ["t0", "t1", "t2"]
    probs, labels = curve_overlay.target_columns(files.predictions, shown)      # columns in the order asked
    with h5py.File(files.predictions) as f:
        all_probs, all_labels = f["probs"][:], np.unpackbits(f["labels"][:], axis=1)
    assert np.array_equal(probs, all_probs[:, [2, 0]]) and np.array_equal(labels, all_labels[:, [2, 0]])


def test_per_nucleotide_rows_are_bases_streamed_in_bounded_batches(tmp_path, monkeypatch):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 8, "valid": 6, "test": 6}, length=400, per_nucleotide=True)
    model, files = trained(data, tmp_path, "dilated", SMALL_DILATED, stride=7)
    monkeypatch.setattr(accuracy_table, "CELLS_PER_BATCH", 2 * 400 * 3)          # two windows a batch
    table = run_stage(data, tmp_path, model, files)
    net, _ = load_trained(model.weights, model.meta)
    pred = predict_split(net, SplitReader(data, "test"), CPU, batch_size=6, rc_average=True)   # every base
    got, want = table.loc[("m", "test")], expected(pred.probs, pred.labels)
    assert got["rows"] == 6 * 400 and got["cells"] == 6 * 400 * 3
    assert got[["loss", "accuracy", "f1"]].tolist() == pytest.approx([want["loss"], want["accuracy"], want["f1"]],
                                                                      abs=1e-5)
    assert table.loc[("all_zeros", "train"), "rows"] == 8 * 400         # whole: the sample exceeds the split
