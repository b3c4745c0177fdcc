"""Shared fixtures: repository paths and small, real data-set files built by the project's own code."""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from workflow_scripts.dataset_layout import SPLITS, SplitWriter, provenance, write_header  # noqa: E402
from workflow_scripts.sequence import encode  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
MOTIF = "TGACGTCATGCGGGAAAT"      # planted by the toy data set; target 0 follows it


def snakemake(*args, timeout=3600, check=True, cwd=ROOT):
    """Run the real snakemake entry point on the repository's workflow."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(SNAKEMAKE + list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    return done


def write_toy_dataset(path: Path, n: dict[str, int] | None = None, length: int = 200, n_targets: int = 3,
                      seed: int = 0, chunk_rows: int | None = None, per_nucleotide: bool = False) -> Path:
    """A small data set in the project's HDF5 layout: random sequences, target 0 marks the ones
    carrying MOTIF, target 1 its reverse complement's half, target 2 is noise. Per nucleotide
    (the nuc25k layout), a target's label covers the bases of the planted motif instead."""
    rng = np.random.default_rng(seed)
    n = n or {"train": 600, "valid": 150, "test": 150}
    layout = "intervals" if per_nucleotide else "packbits"
    with h5py.File(path, "w") as f:
        write_header(f, "toy", [f"t{i}" for i in range(n_targets)], ["TF"] * n_targets, length, layout,
                     provenance({"toy": True, "n": n, "length": length, "n_targets": n_targets, "seed": seed,
                                 "layout": layout}, {}))
        for split in SPLITS:
            rows = n[split]
            seq = rng.integers(0, 4, size=(rows, length)).astype(np.uint8)
            labels = np.zeros((rows, n_targets), np.uint8)
            has = rng.random(rows) < 0.4
            at = rng.integers(0, length - len(MOTIF), rows)
            for i in np.flatnonzero(has):
                seq[i, at[i]:at[i] + len(MOTIF)] = encode(MOTIF)
            labels[:, 0] = has
            labels[:, 1] = has & (rng.random(rows) < 0.5)
            labels[:, 2] = rng.random(rows) < 0.3
            columns = {"chrom": ((), np.dtype("S5")), "start": ((), np.int64), "end": ((), np.int64),
                       "seq": ((length,), np.uint8)}
            if not per_nucleotide:
                columns["labels"] = (((n_targets + 7) // 8,), np.uint8)
            writer = SplitWriter(f.create_group(split), columns, chunk_rows=chunk_rows)
            extra = {} if per_nucleotide else {"labels": np.packbits(labels, axis=1)}
            writer.append(chrom=np.array([b"chr1"] * rows), start=np.arange(rows) * length,
                          end=np.arange(rows) * length + length, seq=seq, **extra)
            if per_nucleotide:
                row, target = np.nonzero(labels)                # row-major: by window, then target
                pieces = np.stack([target, at[row], at[row] + len(MOTIF)], axis=1).astype(np.int32)
                f[split].create_dataset("intervals", data=pieces.reshape(-1, 3))
                f[split].create_dataset("interval_ptr", data=np.concatenate([[0], np.cumsum(labels.sum(1))]).astype(np.int64))
    return path


@pytest.fixture
def toy_dataset(tmp_path) -> Path:
    return write_toy_dataset(tmp_path / "toy.h5")


@functools.cache
def kmer_vectors_file() -> Path:
    """word2vec 3-mer vectors fitted by the real stage (workflow_scripts/word2vec.py, one epoch) on
    a small toy data set: the fitted file of models whose input encoding is fitted (removed at exit)."""
    from workflow_scripts.kmer_vectors import write_kmer_vectors
    from workflow_scripts.word2vec import fit_vectors
    folder = Path(tempfile.mkdtemp(prefix="seq2reg-word2vec-"))
    atexit.register(shutil.rmtree, folder, True)
    data = write_toy_dataset(folder / "toy.h5", {"train": 40, "valid": 4, "test": 4}, length=600)
    write_kmer_vectors(folder / "word2vec.tsv", *fit_vectors(data, epochs=1))
    return folder / "word2vec.tsv"


def fitted_encoding_args(family: str) -> dict:
    """What a family's constructor needs beyond config/models.yaml: its fitted encoding's file
    (in the pipeline, the rule adds it: rules/common.smk, model_args)."""
    from models import MODELS
    from models.encodings import FITTED
    return {"encoding_file": str(kmer_vectors_file())} if MODELS[family].input_encoding in FITTED else {}
