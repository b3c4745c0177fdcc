"""MEME minimal motif format (version 4): reading, writing, and JASPAR from pyjaspar (library).

A motif here is ``Motif(id, name, freqs (w, 4) in A C G T order, nsites)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workflow_scripts.cli import InputError, located
from workflow_scripts.io_utils import atomic_output


@dataclass
class Motif:
    id: str
    name: str
    freqs: np.ndarray
    nsites: float = 20.0


def read_meme(path: str | Path) -> tuple[list[Motif], np.ndarray]:
    """Motifs and background (A, C, G, T) of a MEME minimal-format file."""
    lines = Path(path).read_text().splitlines()
    background = np.full(4, 0.25)
    motifs: list[Motif] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("Background letter frequencies"):
            values = " ".join(lines[i + 1:i + 3]).split()
            letters = dict(zip(values[0::2], values[1::2]))
            try:
                background = np.array([float(letters[b]) for b in "ACGT"])
            except (KeyError, ValueError):
                raise located(path, i + 2, "background frequencies must give A, C, G and T", lines[i + 1]) from None
        elif line.startswith("MOTIF"):
            parts = line.split()
            if len(parts) < 2:
                raise located(path, i + 1, "MOTIF line without an identifier", line)
            mid, name = parts[1], parts[2] if len(parts) > 2 else parts[1]
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("letter-probability matrix"):
                if lines[j].strip().startswith("MOTIF"):
                    raise located(path, j + 1, f"motif {mid} has no letter-probability matrix", lines[j])
                j += 1
            if j == len(lines):
                raise located(path, i + 1, f"motif {mid} has no letter-probability matrix", line)
            header = lines[j]
            width = re.search(r"w=\s*(\d+)", header)
            nsites = re.search(r"nsites=\s*([0-9.eE+-]+)", header)
            if not width:
                raise located(path, j + 1, "letter-probability matrix without w=", header)
            w = int(width.group(1))
            rows = []
            for k in range(j + 1, j + 1 + w):
                try:
                    row = [float(x) for x in lines[k].split()]
                except (IndexError, ValueError):
                    raise located(path, k + 1, f"motif {mid}: expected {w} rows of 4 numbers",
                                  lines[k] if k < len(lines) else "") from None
                if len(row) != 4:
                    raise located(path, k + 1, f"motif {mid}: expected 4 numbers per row", lines[k])
                rows.append(row)
            motifs.append(Motif(mid, name, np.array(rows), float(nsites.group(1)) if nsites else 20.0))
            i = j + w
        i += 1
    if not motifs:
        raise InputError(f"{path}: no motifs found (MEME minimal format expected)")
    return motifs, background


def write_meme(path: str | Path, motifs: list[Motif], background=None) -> None:
    background = np.full(4, 0.25) if background is None else np.asarray(background)
    out = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
           "Background letter frequencies",
           " ".join(f"{b} {p:.4f}" for b, p in zip("ACGT", background)), ""]
    for m in motifs:
        out += [f"MOTIF {m.id} {m.name}",
                f"letter-probability matrix: alength= 4 w= {len(m.freqs)} nsites= {m.nsites:g} E= 0"]
        out += [" ".join(f"{p:.6f}" for p in row) for row in m.freqs]
        out.append("")
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(out) + "\n")


def jaspar_motifs(release: str = "JASPAR2024", collection: str = "CORE",
                  tax_group: str = "vertebrates") -> list[Motif]:
    """The latest version of each matrix of a JASPAR collection, read offline from pyjaspar."""
    from pyjaspar import jaspardb
    db = jaspardb(release=release)
    motifs = []
    for m in db.fetch_motifs(collection=collection, tax_group=[tax_group], all_versions=False):
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=float).T
        nsites = counts[0].sum()
        motifs.append(Motif(m.matrix_id, m.name, counts / counts.sum(axis=1, keepdims=True), nsites))
    return motifs


def consensus(freqs: np.ndarray) -> str:
    """Most frequent letter per column, as MEME prints it: MEME keeps the running maximum as a
    float and compares each letter's double with it, so on a tie the later letter wins
    whenever rounding to float moved the maximum down."""
    best = np.zeros(len(freqs), dtype=np.int64)
    top = freqs[:, 0].astype(np.float32)
    for j in range(1, 4):
        better = freqs[:, j] > top.astype(np.float64)
        best[better] = j
        top = np.where(better, freqs[:, j].astype(np.float32), top)
    return "".join("ACGT"[i] for i in best)


def information_content(freqs: np.ndarray, background=None) -> np.ndarray:
    """Bits per column relative to the background."""
    bg = np.full(4, 0.25) if background is None else np.asarray(background)
    p = np.clip(freqs, 1e-12, 1)
    return (p * np.log2(p / bg)).sum(axis=1)
