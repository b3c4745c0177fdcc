"""The benchmarks run and their figures are sane: data sets at scale 0.05 (a 155 Mbp genome, every
peak file at 1/20 of its size) and the training-throughput benchmark in its reduced CPU form.
Timings are reported, not asserted (see benchmarks/)."""
from __future__ import annotations

import json
import subprocess
import sys

import h5py
import pandas as pd
import pytest
import yaml

from conftest import ROOT, write_toy_dataset


def test_dataset_benchmark_at_a_twentieth_of_hg19(tmp_path):
    scale = 0.05
    done = subprocess.run([sys.executable, "benchmarks/build_datasets.py", "--scale", str(scale), "--out", str(tmp_path),
                           "--workers", "2"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)
    report = json.loads((tmp_path / "results.json").read_text())["builds"]
    assert set(report) == {"dhs600 (merge)", "dhs600 (h5)", "deepsea1000", "nuc25k"}
    assert all(r["seconds"] > 0 and r["peak_mb"] > 0 and r["output_mb"] > 0 for r in report.values())
    with h5py.File(tmp_path / "deepsea1000.h5") as f:
        assert len(f.attrs["targets"]) == 919 and f["test"]["seq"].shape[1] == 1000
        assert f["train"]["start"].shape[0] > 5 * f["test"]["start"].shape[0] > 0     # chr8 + chr9 test
    with h5py.File(tmp_path / "dhs600.h5") as f:
        assert len(f.attrs["targets"]) == 164 and f["test"]["start"].shape[0] == int(71886 * scale)
    with h5py.File(tmp_path / "nuc25k.h5") as f:
        kept = sum(f[s]["start"].shape[0] for s in ("train", "valid", "test"))
        assert 0.7 * 3.1e9 * scale / 25_000 < kept < 3.1e9 * scale / 25_000


def test_training_throughput_benchmark_covers_every_model_on_cpu(tmp_path):
    """The GPU benchmark's reduced CPU run: every model of the zoo, real loader, smoke sizes."""
    done = subprocess.run([sys.executable, "benchmarks/throughput.py", "--out", str(tmp_path), "--profile", "smoke",
                           "--rows", "300", "--steps", "2", "--workers", "0", "--train-workers", "0",
                           "--loader-seconds", "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((tmp_path / "training.json").read_text())["rows"]
    zoo = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())["models"]
    assert [r["model"] for r in rows] == list(zoo)
    assert all(r["samples_per_s"] > 0 and 0 <= r["data_wait_share"] < 1 for r in rows)


def test_bf16_parity_benchmark_runs_through_the_engine_on_cpu(tmp_path):
    """The GPU check's reduced CPU run (both precisions are float32 on a CPU, so they agree exactly):
    windows of steps through the engine, both precisions, the comparison, the plot."""
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 400, "valid": 64, "test": 16}, length=1000)
    done = subprocess.run([sys.executable, "benchmarks/bf16_parity.py", "--dataset", str(data), "--models", "deepsea",
                           "--profile", "smoke", "--steps", "6", "--window", "3", "--workers", "0",
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "parity.json").read_text())
    r = report["results"]["deepsea"]
    assert [len(r["runs"][p]) for p in ("fp32", "bf16")] == [2, 2]
    assert r["passes"] and r["train_loss_max_rel_diff"] == 0 and r["final_auc_diff"] == 0
    assert (tmp_path / "out" / "parity.png").stat().st_size > 0


def test_every_base_scoring_benchmark_runs_small(tmp_path):
    """benchmarks/streaming_auc.py at a toy size: its extrapolation is the measured rate times the windows."""
    done = subprocess.run([sys.executable, "benchmarks/streaming_auc.py", "--targets", "8", "--windows", "1",
                           "--repeats", "1", "--model", "", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "streaming_auc.json").read_text())
    assert report["update_s_per_window"] > 0 and report["update_peak_mb"] > report["counts_mb"] > 0
    test = report["hg19_test_split"]
    assert test["update_hours"] == pytest.approx(report["update_s_per_window"] * test["windows"] / 3600)
    assert test["every_base_exact_gb"] == pytest.approx(200 * test["strided_200_exact_gb"])


def test_label_fraction_gains_pair_each_dssda_with_the_alexnet_at_its_fraction():
    """benchmarks/demo_label_fractions.py (not run here: minutes of demo training per seed)
    compares DSSDA with the AlexNet trained on the same labelled rows, seed by seed."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from demo_label_fractions import gains
    table = pd.DataFrame({"seed": [1, 1, 1, 1, 2, 2], "label_fraction": [0.1, 0.1, 0.25, 0.25, 0.1, 0.1],
                          "model": ["alexnet_10", "dssda_10", "dssda_25", "alexnet_25", "dssda_10", "alexnet_10"],
                          "test_mean_roc_auc": [0.70, 0.75, 0.80, 0.78, 0.71, 0.73]})
    assert gains(table)["dssda_minus_alexnet"].round(4).tolist() == [0.05, 0.02, -0.02]
