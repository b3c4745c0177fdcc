"""Sequences a user brings to a trained model (library): FASTA records, BED intervals, data-set rows.

Each reader yields ``((name, chrom, start, end, flag), codes)`` with ``codes`` exactly the model's
input length ``L``:

* FASTA (plain or gzipped): a record longer than ``L`` is cut to its central ``L`` bases (flag
  ``cropped``), a shorter one is centred between Ns (``padded``); chrom/start/end are empty/-1;
* BED (``chrom start end [name]``, 0-based half-open): the window of ``L`` bases centred on the
  interval's middle, start ``(start + end - 1) // 2 - (L - 1) // 2`` (so a one-base interval's
  base sits at index ``(L - 1) // 2``, where a per-nucleotide model is read and a variant sits),
  taken from the pipeline's genome, N
  beyond a chromosome's ends (``near_end``); a chromosome the genome lacks (in any naming style)
  is skipped, counted and logged; a malformed line stops with ``file:line``;
* a split of a data set HDF5 built by the pipeline: its rows in order, named ``split:row``.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np
import pysam

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import GenomeWindows
from workflow_scripts.io_utils import open_text
from workflow_scripts.loaders import SplitReader
from workflow_scripts.sequence import encode

log = logging.getLogger("seq2reg.sequence_inputs")


def fit_length(codes: np.ndarray, length: int) -> tuple[np.ndarray, str]:
    """The central ``length`` codes, or ``codes`` centred between Ns; and the flag."""
    if len(codes) == length:
        return codes, ""
    if len(codes) > length:
        cut = (len(codes) - length) // 2
        return codes[cut:cut + length], "cropped"
    out = np.full(length, 4, np.uint8)
    at = (length - len(codes)) // 2
    out[at:at + len(codes)] = codes
    return out, "padded"


def window_start(start: int, end: int, length: int) -> int:
    """Genome position of the first base of the window centred on ``[start, end)``."""
    return (start + end - 1) // 2 - (length - 1) // 2


def fasta_rows(path: Path, length: int) -> Iterator[tuple[tuple, np.ndarray]]:
    try:
        with pysam.FastxFile(str(path)) as records:
            for record in records:
                codes, flag = fit_length(encode(record.sequence), length)
                yield (record.name, "", -1, -1, flag), codes
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable FASTA ({err})") from None


def bed_rows(path: Path, length: int, genome: GenomeWindows, skipped: Counter) -> Iterator[tuple[tuple, np.ndarray]]:
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cells = line.rstrip("\r\n").split("\t")
            try:
                chrom, start, end = cells[0], int(cells[1]), int(cells[2])
            except (IndexError, ValueError):
                raise cli.located(path, number, "expected 'chrom<TAB>start<TAB>end[<TAB>name]'", line) from None
            if not 0 <= start < end:
                raise cli.located(path, number, f"start {start} and end {end} are not 0 <= start < end", line)
            name = genome.resolve(chrom)
            if name is None:
                skipped["unknown_chrom"] += 1
                log.warning("%s:%d: chromosome %s is not in the genome: skipped", path, number, chrom)
                continue
            at = window_start(start, end, length)
            flag = "near_end" if at < 0 or at + length > genome.sizes[name] else ""
            label = cells[3] if len(cells) > 3 and cells[3] else f"{chrom}:{start}-{end}"
            yield (label, chrom, start, end, flag), genome.codes(name, at, length)


def split_rows(dataset: Path, split: str) -> Iterator[tuple[tuple, np.ndarray]]:
    reader = SplitReader(dataset, split)
    for c in range(reader.n_chunks):
        for i, codes in enumerate(reader.chunk(c)["codes"], start=c * reader.chunk_rows):
            yield (f"{split}:{i}", "", -1, -1, ""), codes


def sequence_rows(length: int, skipped: Counter, *, fasta: Path | None = None, bed: Path | None = None,
                  genome_fasta: Path | None = None, dataset: Path | None = None, split: str = "test"):
    """The rows of whichever input is given (exactly one of ``fasta``, ``bed``, ``dataset``)."""
    if fasta:
        return fasta_rows(fasta, length)
    if bed:
        if genome_fasta is None:
            raise InputError("a BED input needs --genome (the pipeline's results/genome/genome.fa)")
        return bed_rows(bed, length, GenomeWindows(genome_fasta), skipped)
    if dataset:
        return split_rows(dataset, split)
    raise InputError("no input: give a FASTA, a BED or a data set")


def add_arguments(p, *, dataset: bool = False) -> None:
    """The command-line options naming the input (one of FASTA, BED[, data set]) and the genome."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--fasta", type=Path)
    source.add_argument("--bed", type=Path)
    if dataset:
        source.add_argument("--dataset", type=Path, help="a data set HDF5 built by the pipeline")
        p.add_argument("--split", default="test")
    p.add_argument("--genome", type=Path, help="FASTA with .fai for --bed (results/genome/genome.fa)")
