"""DNA encodings shared by data sets, loaders, models and motif extraction.

Sequences are stored as compact uint8 codes ``A=0, C=1, G=2, T=3, N=4`` (any other letter -> 4;
case-insensitive, so soft-masked genomes work). The complement of code ``c < 4`` is ``3 - c``.
Model inputs are made from codes on the fly (on the GPU when there is one): one-hot with
channels in A, C, G, T order and 0.25 in every channel for N, as Basset did.
"""
from __future__ import annotations

import numpy as np

ALPHABET = "ACGT"
N_CODE = 4

CODE_OF = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate(ALPHABET):
    CODE_OF[ord(_b)] = _i
    CODE_OF[ord(_b.lower())] = _i
LETTER_OF = np.frombuffer(b"ACGTN", dtype=np.uint8)

# Row c of this table is the one-hot column for code c (N -> 0.25 everywhere).
ONE_HOT_ROWS = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0.25, 0.25, 0.25, 0.25]]


def encode(seq: str | bytes | np.ndarray) -> np.ndarray:
    """Letters (str, bytes or a uint8 array of ASCII) -> uint8 codes."""
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    raw = np.frombuffer(seq, dtype=np.uint8) if isinstance(seq, (bytes, bytearray)) else seq
    return CODE_OF[raw]


def decode(codes: np.ndarray) -> str:
    return LETTER_OF[np.asarray(codes)].tobytes().decode()


def reverse_complement(codes):
    """Reverse complement of codes along the last axis (numpy array or torch tensor)."""
    flipped = np.asarray(codes)[..., ::-1] if isinstance(codes, np.ndarray) else codes.flip(-1)
    base = flipped < N_CODE
    return (3 - flipped) * base + flipped * ~base    # (uint8 wrap-around of 3 - 4 is masked)


_ONE_HOT_TABLES: dict = {}


def one_hot(codes, dtype=None):
    """(B, L) uint8 codes (torch) -> (B, 4, L) float one-hot on the codes' device."""
    import torch
    key = (codes.device, dtype or torch.float32)
    if key not in _ONE_HOT_TABLES:      # once per device: a copy to the GPU every step waits for the GPU
        _ONE_HOT_TABLES[key] = torch.tensor(ONE_HOT_ROWS, dtype=key[1], device=codes.device)
    return _ONE_HOT_TABLES[key][codes.long()].transpose(1, 2)


def kmer_counts(codes, k: int):
    """(B, L) codes -> (B, 4**k) counts of every k-mer; windows containing N are not counted."""
    import torch
    b, length = codes.shape
    c = codes.long()
    windows = c.unfold(1, k, 1)                                 # (B, L-k+1, k)
    valid = (windows < N_CODE).all(dim=-1)
    powers = 4 ** torch.arange(k - 1, -1, -1, device=codes.device)
    index = (windows.clamp(max=3) * powers).sum(-1)
    counts = torch.zeros(b, 4 ** k, device=codes.device)
    counts.scatter_add_(1, index, valid.float())
    return counts
