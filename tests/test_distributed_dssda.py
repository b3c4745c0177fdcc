"""The distributed DSSDA benchmark (benchmarks/distributed_dssda.py) on CPU processes with gloo:
its three runs go through, and one process taking the global batch as the two ranks' micro-batches
ends with the weights of two synchronous processes. Timings are reported, not asserted."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, write_toy_dataset


def test_one_and_two_synchronous_processes_reach_the_same_weights(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", {"train": 256, "valid": 32, "test": 8}, length=600)
    done = subprocess.run([sys.executable, "benchmarks/distributed_dssda.py", "--dataset", str(data), "--out",
                           str(tmp_path), "--steps", "4", "--warmup", "1", "--batch", "32", "--period", "2",
                           "--check-equal"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    assert set(report["runs"]) == {"sync_1", "sync_2", "periodic_2"}
    assert report["max_weight_difference"] < 1e-6
    for run in report["runs"].values():
        assert run["steps"] == 4 and run["mean_s_per_iteration"] > 0 and 0 <= run["valid_mean_roc_auc"] <= 1
    assert report["runs"]["sync_1"]["speed_up"] == 1
    assert "speed-up" in done.stdout
