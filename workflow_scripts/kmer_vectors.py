"""The fitted k-mer vectors file (``results/encodings/{dataset}/word2vec.tsv``): the table the
``kmer_vectors`` input encoding (models/encodings.py) looks each overlapping k-mer up in.

Format: ``#`` lines first (provenance: how and on what the vectors were fitted), then a header
``kmer  v1 .. vD`` and one row per k-mer: all 4^k k-mers of A C G T, each once, in any order, with
D finite numbers. :func:`read_kmer_vectors` returns them as a (4^k + 1, D) float32 table in
k-mer index order (A C G T = 0 1 2 3, first base most significant: ``kmer_codes``' order), with a
last row of zeros for windows that contain an N. Written atomically by :func:`write_kmer_vectors`.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch

from workflow_scripts.cli import InputError, located
from workflow_scripts.io_utils import atomic_output

BASES = "ACGT"


def kmers(k: int) -> list[str]:
    """Every k-mer in index order (AA..A first, TT..T last)."""
    return ["".join(p) for p in itertools.product(BASES, repeat=k)]


def write_kmer_vectors(path: str | Path, vectors: dict[str, np.ndarray], provenance: list[str]) -> None:
    k = len(next(iter(vectors)))
    dim = len(next(iter(vectors.values())))
    lines = [f"# {p}" for p in provenance] + ["\t".join(["kmer"] + [f"v{i + 1}" for i in range(dim)])]
    lines += ["\t".join([m] + [f"{v:.7g}" for v in vectors[m]]) for m in kmers(k)]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def read_kmer_vectors(path: str | Path) -> torch.Tensor:
    """The (4^k + 1, D) table of a vectors file (last row: zeros, for windows with an N)."""
    rows: dict[str, list[float]] = {}
    header = None
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise InputError(f"{path}: cannot read the k-mer vectors ({err}); rerun the rule that fits them") from None
    for number, line in enumerate(lines, 1):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if header is None:
            if fields[0] != "kmer" or len(fields) < 2:
                raise located(path, number, "expected the header 'kmer<TAB>v1 ...'", line)
            header = fields
            continue
        if len(fields) != len(header) or set(fields[0]) - set(BASES) or fields[0] in rows:
            raise located(path, number, f"expected a new k-mer of ACGT and {len(header) - 1} numbers", line)
        try:
            rows[fields[0]] = [float(v) for v in fields[1:]]
        except ValueError:
            raise located(path, number, "not a number", line) from None
    k = len(next(iter(rows), ""))
    if header is None or not k or sorted(rows) != kmers(k):
        raise InputError(f"{path}: needs one row for each of the 4^k k-mers of one length k "
                         f"(has {len(rows)} rows)")
    table = np.array([rows[m] for m in kmers(k)] + [[0.0] * (len(header) - 1)], dtype=np.float32)
    if not np.isfinite(table).all():
        raise InputError(f"{path}: vectors must be finite numbers")
    return torch.from_numpy(table)
