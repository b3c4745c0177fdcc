"""Reading the prepared genome (library): chromosome names, sizes and sequence as codes.

The pipeline's genome (``results/genome/genome.fa`` + ``.fai``, written by the stage
``prepare_genome``, :mod:`workflow_scripts.genome`) has 60 bases per line. A chromosome is read
as uint8 codes with :func:`read_chrom_codes`, which maps the FASTA through its .fai index without
building Python strings (fast on a 3 Gbp genome).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.sequence import CODE_OF, encode

LINE_WIDTH = 60


def normalise_chrom(name: str, style: str) -> str:
    """Map chromosome names between naming styles.

    ``ucsc``: ``1 -> chr1``, ``X -> chrX``, ``MT -> chrM``; ``ensembl``: the reverse;
    ``as_is``: unchanged.
    """
    if style == "ucsc":
        if name in ("MT", "chrMT", "M"):
            return "chrM"
        if re.fullmatch(r"[0-9]+|X|Y", name):
            return "chr" + name
        return name
    if style == "ensembl":
        if name == "chrM":
            return "MT"
        return name[3:] if re.fullmatch(r"chr([0-9]+|X|Y)", name) else name
    if style == "as_is":
        return name
    raise InputError(f"unknown chromosome naming style {style!r} (ucsc, ensembl, as_is)")


def is_selected(chrom: str, chromosomes: list[str] | None, pattern: str | None) -> bool:
    if chromosomes is not None:
        return chrom in chromosomes
    return bool(re.fullmatch(pattern or r"chr([0-9]+|X)", chrom))


def read_fai(fasta: str | Path) -> dict[str, tuple[int, int, int, int]]:
    """chrom -> (length, byte offset, bases per line, bytes per line), in file order."""
    fai = Path(str(fasta) + ".fai")
    if not fai.is_file():
        raise InputError(f"{fasta}: no .fai index next to the FASTA")
    index = {}
    for line in fai.read_text().splitlines():
        name, length, offset, bases, width = line.split("\t")[:5]
        index[name] = (int(length), int(offset), int(bases), int(width))
    return index


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    sizes = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        try:
            sizes[cells[0]] = int(cells[1])
        except (IndexError, ValueError):
            raise cli.located(path, number, "expected 'chrom<TAB>length'", line) from None
    return sizes


def read_chrom_letters(fasta: str | Path, chrom: str, fai=None) -> np.ndarray:
    """One chromosome's ASCII letters as a uint8 array, read through the .fai (no newlines)."""
    length, offset, bases, width = (fai or read_fai(fasta))[chrom]
    if length == 0:
        return np.zeros(0, np.uint8)
    n_lines = -(-length // bases)
    raw = np.memmap(fasta, dtype=np.uint8, mode="r", offset=offset,
                    shape=(min(n_lines * width, Path(fasta).stat().st_size - offset),))
    full = (length // bases) * width
    body = raw[:full].reshape(-1, width)[:, :bases].ravel()
    tail = raw[full:full + length % bases]
    return np.concatenate([body, tail]) if len(tail) else np.array(body)


def read_chrom_codes(fasta: str | Path, chrom: str, fai=None) -> np.ndarray:
    """One chromosome as uint8 codes (A=0 C=1 G=2 T=3 N=4)."""
    return CODE_OF[read_chrom_letters(fasta, chrom, fai)]


def write_fasta_record(out, name: str, letters: np.ndarray) -> None:
    out.write(f">{name}\n".encode())
    full = len(letters) // LINE_WIDTH * LINE_WIDTH
    if full:
        lines = np.empty((full // LINE_WIDTH, LINE_WIDTH + 1), dtype=np.uint8)
        lines[:, :LINE_WIDTH] = letters[:full].reshape(-1, LINE_WIDTH)
        lines[:, LINE_WIDTH] = ord("\n")
        out.write(lines.tobytes())
    if len(letters) > full:
        out.write(letters[full:].tobytes() + b"\n")


class GenomeWindows:
    """Fixed-length windows of a FASTA (with a .fai index) as codes, for scoring sequences.

    Chromosome names of the input are matched to the FASTA's as given, else in UCSC or Ensembl
    style (``1``/``chr1``, ``MT``/``chrM``): :meth:`resolve`. Bases beyond a chromosome's ends
    are N (code 4), so a window near an end keeps its length and its centre.
    """

    def __init__(self, fasta: str | Path):
        import pysam
        if not Path(str(fasta) + ".fai").is_file():
            raise InputError(f"{fasta}: no .fai index next to the FASTA (make one: samtools faidx {fasta})")
        self.path = Path(fasta)
        self.fasta = pysam.FastaFile(str(fasta))
        self.sizes = dict(zip(self.fasta.references, self.fasta.lengths))

    def resolve(self, chrom: str) -> str | None:
        """The FASTA's name for ``chrom`` (None: the FASTA has no such chromosome)."""
        for name in (chrom, normalise_chrom(chrom, "ucsc"), normalise_chrom(chrom, "ensembl")):
            if name in self.sizes:
                return name
        return None

    def letters(self, chrom: str, start: int, end: int) -> str:
        """Upper-case bases ``[start, end)`` (0-based), N beyond the chromosome's ends."""
        size = self.sizes[chrom]
        lo, hi = max(0, start), min(size, end)
        inside = self.fasta.fetch(chrom, lo, hi) if hi > lo else ""
        return ("N" * max(0, min(end, 0) - start) + inside + "N" * max(0, end - max(start, size))).upper()

    def codes(self, chrom: str, start: int, length: int) -> np.ndarray:
        return encode(self.letters(chrom, start, start + length))
