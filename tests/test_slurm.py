"""The demo through a real single-node SLURM cluster (Debian's slurmctld, slurmd and munge, one
fake GPU as a gres with a device file), via snakemake-executor-plugin-slurm and a profile.

Needs root and apt-get (tests/slurm/slurm-up.sh installs and starts the daemons, idempotently,
and writes a teardown script that stops them by recorded PID); elsewhere the test is skipped with
the reason. Models use the `smoke` profile (tiny, one short epoch): this tests the cluster path,
not model quality. The training jobs ask for a GPU and must run with one assigned by SLURM.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

UP = ROOT / "tests" / "slurm" / "slurm-up.sh"


def can_run() -> str | None:
    if sys.platform != "linux":
        return "SLURM test needs Linux"
    if os.geteuid() != 0:
        return "SLURM test needs root (it installs and starts slurmctld, slurmd and munge)"
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        return "SLURM test needs apt-get to install Debian's slurm packages"
    return None


pytestmark = pytest.mark.skipif(can_run() is not None, reason=can_run() or "")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "PREFIX": str(prefix), "ACCOUNTING": "none", "FAKE_GPUS": "1"}
    up = subprocess.run(["bash", str(UP)], env=env, capture_output=True, text=True, timeout=900)
    if up.returncode != 0:
        subprocess.run(["bash", str(prefix / "slurm-down.sh")], capture_output=True)
        pytest.fail(f"could not start SLURM:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}")
    yield {**os.environ, "SLURM_CONF": str(prefix / "etc" / "slurm.conf")}
    subprocess.run(["scancel", "--user", "root"], capture_output=True)
    subprocess.run(["bash", str(prefix / "slurm-down.sh")], capture_output=True, timeout=120)


def test_demo_runs_through_slurm_with_gpu_training_jobs(cluster, tmp_path):
    env = {**cluster, "PATH": f"{Path(sys.executable).parent}:{cluster['PATH']}"}
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "snakemake", "--profile", "tests/slurm/profile", "--cores", "2",
           "--config", f"results={results}", f"download_cache={tmp_path}/downloads", "profile=smoke"]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    except subprocess.TimeoutExpired:
        subprocess.run(["scancel", "--user", "root"], capture_output=True)
        raise
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-6000:]
    assert (results / "report" / "index.html").exists()
    assert "--gpus=1" in done.stdout + done.stderr or "gpu" in (done.stdout + done.stderr).lower()
    for dataset, model in (("dhs600", "basset"), ("deepsea1000", "deepsea"), ("nuc25k", "dilated")):
        log = (results / "logs" / "train" / dataset / f"{model}.log").read_text()
        assert "SLURM job -;" not in log, f"{model} did not run as a SLURM job"
        assert "CUDA_VISIBLE_DEVICES=-" not in log, f"{model} got no GPU from SLURM:\n{log[-1500:]}"
