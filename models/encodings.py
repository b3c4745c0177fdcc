"""Input encodings: how (B, L) uint8 sequence codes (A C G T N = 0 1 2 3 4) become a model's
input, on the codes' device. A model names one in ``input_encoding`` (settings in
``encoding_args``); add one with :func:`encoding`.

* ``onehot`` — (B, 4, L) float, channels A C G T, N = 0.25 in every channel (Basset);
* ``codes`` — (B, L) int64, for models that embed bases themselves;
* ``kmer_counts`` — (B, sum 4^k) float counts of every k-mer for each k in ``ks`` (windows with
  an N are not counted), DanQ's k-mer baseline;
* ``kmer_codes`` — (B, L - k + 1) int64 index of each overlapping k-mer (4^k for a window with
  an N), for k-mer embeddings;
* ``kmer_vectors`` — (B, D, L - k + 1) float: each overlapping k-mer's row of a fitted table
  (zeros for a window with an N), DSSDA's word2vec 3-mers. A *fitted* encoding: its table comes
  from a file made before training (``FITTED``).

A fitted encoding names, in :data:`FITTED`, the reader of its file; a model that uses one is
built with ``encoding_file`` (models/base.py), holds the table as a buffer and passes it to the
encoding as ``table``. The file's path is one of the model's settings, so ``model.json`` carries
it and ``load_trained`` rebuilds the model through it like any other.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from workflow_scripts.kmer_vectors import read_kmer_vectors
from workflow_scripts.sequence import N_CODE, kmer_counts, one_hot

ENCODINGS: dict[str, Callable[..., torch.Tensor]] = {}
POSITIONAL: dict[str, bool] = {}       # False: the encoding has no sequence axis (counts)
FITTED: dict[str, Callable[[str], torch.Tensor]] = {}    # fitted encodings: the reader of their file


def encoding(name: str, positional: bool = True, fitted: Callable[[str], torch.Tensor] | None = None):
    def add(fn):
        ENCODINGS[name] = fn
        POSITIONAL[name] = positional
        if fitted is not None:
            FITTED[name] = fitted
        return fn
    return add


def encode(name: str, codes: torch.Tensor, **settings) -> torch.Tensor:
    if name not in ENCODINGS:
        raise KeyError(f"unknown input encoding {name!r}; known: {', '.join(sorted(ENCODINGS))}")
    return ENCODINGS[name](codes, **settings)


@encoding("onehot")
def _onehot(codes: torch.Tensor) -> torch.Tensor:
    return one_hot(codes)


@encoding("codes")
def _codes(codes: torch.Tensor) -> torch.Tensor:
    return codes.long()


@encoding("kmer_counts", positional=False)
def _kmer_counts(codes: torch.Tensor, ks=(1, 2, 3, 4, 5)) -> torch.Tensor:
    return torch.cat([kmer_counts(codes, k) for k in ks], dim=1)


@encoding("kmer_codes")
def _kmer_codes(codes: torch.Tensor, k: int = 3) -> torch.Tensor:
    c = codes.long()
    windows = c.unfold(1, k, 1)                                     # (B, L-k+1, k)
    powers = 4 ** torch.arange(k - 1, -1, -1, device=codes.device)
    index = (windows.clamp(max=3) * powers).sum(-1)
    return torch.where((windows < N_CODE).all(-1), index, torch.full_like(index, 4 ** k))


@encoding("kmer_vectors", fitted=read_kmer_vectors)
def _kmer_vectors(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    return F.embedding(_kmer_codes(codes, kmer_size(table)), table).transpose(1, 2)


def kmer_size(table: torch.Tensor) -> int:
    """k of a k-mer table (4^k rows and one for windows with an N)."""
    return round(math.log(len(table) - 1, 4))
