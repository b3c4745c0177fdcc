"""The data-set benchmark at scale 0.1 (310 Mbp genome, 958 peak files): it runs and its figures
are sane. Timings are reported, not asserted (see benchmarks/build_datasets.py)."""
from __future__ import annotations

import json
import subprocess
import sys

import h5py

from conftest import ROOT


def test_dataset_benchmark_at_scale_0_1(tmp_path):
    done = subprocess.run([sys.executable, "benchmarks/build_datasets.py", "--scale", "0.1", "--out", str(tmp_path),
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
        assert len(f.attrs["targets"]) == 164 and f["test"]["start"].shape[0] == int(71886 * 0.1)
    with h5py.File(tmp_path / "nuc25k.h5") as f:
        kept = sum(f[s]["start"].shape[0] for s in ("train", "valid", "test"))
        assert 0.7 * 3.1e8 / 25_000 < kept < 3.1e8 / 25_000
