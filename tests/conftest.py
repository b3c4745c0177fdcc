"""Shared fixtures: repository paths and small, real data-set files built by the project's own code."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from workflow_scripts.dataset_layout import SPLITS, SplitWriter, write_header  # noqa: E402
from workflow_scripts.sequence import encode  # noqa: E402

MOTIF = "TGACGTCATGCGGGAAAT"      # planted by the toy data set; target 0 follows it


def write_toy_dataset(path: Path, n: dict[str, int] | None = None, length: int = 200, n_targets: int = 3,
                      seed: int = 0, chunk_rows: int | None = None) -> Path:
    """A small per-sequence data set in the project's HDF5 layout: random sequences, target 0
    marks the ones carrying MOTIF, target 1 its reverse complement's half, target 2 is noise."""
    rng = np.random.default_rng(seed)
    n = n or {"train": 600, "valid": 150, "test": 150}
    with h5py.File(path, "w") as f:
        write_header(f, "toy", [f"t{i}" for i in range(n_targets)], ["TF"] * n_targets, length,
                     "packbits", {"params_hash": "toy", "inputs": {}, "params": {}, "code_version": "test"})
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
            writer = SplitWriter(f.create_group(split), {
                "chrom": ((), np.dtype("S5")), "start": ((), np.int64), "end": ((), np.int64),
                "seq": ((length,), np.uint8), "labels": (((n_targets + 7) // 8,), np.uint8)},
                chunk_rows=chunk_rows)
            writer.append(chrom=np.array([b"chr1"] * rows), start=np.arange(rows) * 1000,
                          end=np.arange(rows) * 1000 + length, seq=seq, labels=np.packbits(labels, axis=1))
    return path


@pytest.fixture
def toy_dataset(tmp_path) -> Path:
    return write_toy_dataset(tmp_path / "toy.h5")
