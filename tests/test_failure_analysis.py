"""SuperQ's failure analysis on a trained (smoke-size) SuperQ: the reconstruction against chance
and the most frequent base, counted independently here (its accuracy beside the AUCs is the
accuracy table's: tests/test_accuracy_table.py)."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import write_toy_dataset
from test_train import SMALL_SUPERQ
from workflow_scripts import failure_analysis
from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs, fit


def trained(data, tmp_path, family, args):
    out = TrainOutputs(*(tmp_path / family / f for f in ("weights.pt", "model.json", "log.tsv")))
    cfg = TrainConfig.from_dict({"optimizer": "adam", "lr": 0.003, "batch_size": 32, "max_epochs": 1, "seed": 1})
    fit(Trainer(data, out, family, args, cfg))
    return out


def test_failure_analysis_tables(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 400, "valid": 64, "test": 128}, length=300)
    superq = trained(data, tmp_path, "superq", SMALL_SUPERQ)
    out = {k: tmp_path / f for k, f in (("reconstruction", "r.tsv"), ("plot", "f.png"))}
    parser = failure_analysis.build_parser()
    failure_analysis.main(parser.parse_args([
        "--dataset", str(data), "--name", "toy", "--autoencoders", "superq", "--weights", str(superq.weights),
        "--meta", str(superq.meta), "--max-rows", "100",
        "--reconstruction", str(out["reconstruction"]), "--plot", str(out["plot"])]))

    recon = pd.read_csv(out["reconstruction"], sep="\t").iloc[0]
    with h5py.File(data) as f:
        test_codes, train_codes = f["test"]["seq"][:100], f["train"]["seq"][:100]
    most = np.bincount(train_codes.ravel(), minlength=4)[:4].argmax()
    assert recon["most_frequent_base"] == "ACGT"[most] and recon["rows"] == 100
    assert recon["most_frequent_base_accuracy"] == pytest.approx((test_codes == most).mean(), abs=1e-4)
    assert 0 < recon["reconstruction_accuracy"] < 1 and recon["chance"] == 0.25

    assert out["plot"].stat().st_size > 0
