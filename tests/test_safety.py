"""What a user relies on without thinking about it: no retry of what cannot change, no stale
temporaries, the pipeline's own interpreter without activating anything, and a killed run that
the everyday command picks up again."""
from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from conftest import DATA, ROOT, snakemake
from workflow_scripts.io_utils import atomic_dir, atomic_output

REAL = DATA / "real-hg38-chr2"


def small_config(tmp_path: Path, **genome) -> str:
    """A configuration of a user's own: the real hg38 chr2 piece and one real ATAC sample."""
    files = tmp_path / "user"
    files.mkdir(exist_ok=True)
    shutil.copy(REAL / "hg38_chr2_1-2333275.fa.gz", files / "hg38.fa.gz")
    with gzip.open(REAL / "ENCSR356KRQ_atac_ppr.naive_overlap.filt.hg38.narrowPeak.gz", "rt") as src, \
            gzip.open(files / "atac.narrowPeak.gz", "wt") as dst:
        dst.writelines(line for line in src if line.startswith("chr2\t"))
    (files / "samples.tsv").write_text(f"name\tcategory\turl\nATAC_1\tATAC\t{files / 'atac.narrowPeak.gz'}\n")
    config = {"results": str(tmp_path / "results"), "download_cache": str(tmp_path / "cache"),
              "genome": {"url": str(files / "hg38.fa.gz"), "chromosomes": ["chr2"], **genome},
              "datasets": {"atac": {"builder": "dhs600", "samples": str(files / "samples.tsv"),
                                    "split": {"mode": "random", "test_count": 5, "valid_count": 5}}}}
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_an_md5_mismatch_fails_once_and_is_not_retried(tmp_path):
    config = small_config(tmp_path, md5="0" * 32)
    done = snakemake("--cores", "1", "--retries", "2", "genome", "--configfile", config, check=False)
    output = done.stdout + done.stderr
    [log] = (tmp_path / "results" / "logs" / "download").glob("*.log")
    assert done.returncode != 0 and "md5 mismatch" in log.read_text()
    assert "Trying to restart job" not in output and output.count("Error in rule download") == 1


def test_stale_temporaries_of_a_killed_writer_are_removed_and_others_kept(tmp_path):
    dest = tmp_path / "dhs600.h5"
    stale = tmp_path / ".dhs600.h5.ab12cd34.tmp.h5"                  # a killed build's partial file
    stale_dir = tmp_path / ".logos.x1y2z3w4.tmp"
    other = tmp_path / ".nuc25k.h5.ab12cd34.tmp.h5"                   # another output's: not ours
    stale.write_bytes(b"x" * 1000)
    stale_dir.mkdir()
    other.write_bytes(b"y")
    with atomic_output(dest, suffix=".h5") as tmp:
        tmp.write_bytes(b"new")
    with atomic_dir(tmp_path / "logos") as tmp:
        (tmp / "a.png").write_bytes(b"png")
    assert dest.read_bytes() == b"new" and not stale.exists() and not stale_dir.exists()
    assert other.exists() and (tmp_path / "logos" / "a.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".nuc25k.h5.ab12cd34.tmp.h5", "dhs600.h5", "logos"]


def test_the_venvs_snakemake_runs_without_activating_the_venv(tmp_path):
    """``.venv/bin/snakemake`` with a PATH that has no venv: the rules still find the packages."""
    config = small_config(tmp_path)
    entry = Path(sys.executable).parent / "snakemake"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    done = subprocess.run([str(entry), "--cores", "1", "peaks", "--configfile", config], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "results" / "peaks" / "ATAC_1.bed.gz").exists()


def test_a_killed_run_is_picked_up_by_seq2reg_run(tmp_path):
    """SIGKILL of Snakemake mid-run leaves a lock and an incomplete job; ``./seq2reg run`` with
    the same arguments unlocks, redoes the incomplete job and finishes."""
    config = small_config(tmp_path)
    args = ["datasets", "--configfile", config]
    env = {**os.environ, "CORES": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.Popen([str(ROOT / "seq2reg"), "run", *args], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    genome = tmp_path / "results" / "genome" / "genome.fa"
    deadline = time.time() + 300
    while not (tmp_path / "results" / "peaks").exists():             # the genome is done, peaks started
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list((ROOT / ".snakemake" / "locks").iterdir())            # the lock a killed run leaves
    done = subprocess.run([str(ROOT / "seq2reg"), "run", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "stale lock" in done.stdout + done.stderr
    assert genome.exists() and (tmp_path / "results" / "datasets" / "atac.h5").exists()
    assert not [p for p in (tmp_path / "results").rglob(".*.tmp*")]
