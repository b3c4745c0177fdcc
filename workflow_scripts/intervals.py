"""Vectorised interval arithmetic on genome-ordered BED intervals (no per-peak Python loops).

Intervals are given as parallel arrays ``chrom`` (index into the genome's chromosome order),
``start`` and ``end`` (0-based, half-open), sorted by (chrom, start). Bins and windows tile each
chromosome from position 0; ``offsets[c]`` is the global index of chromosome c's first bin.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def merge_sorted(chrom: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Merge overlapping or book-ended intervals (as ``bedtools merge``) of sorted input."""
    if len(start) == 0:
        return chrom[:0], start[:0], end[:0]
    key = chrom.astype(np.int64) << 32          # keeps chromosomes apart in one sweep
    s, e = key + start, key + end
    reach = np.maximum.accumulate(e)
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] > reach[:-1]
    idx = np.flatnonzero(first)
    merged_end = np.maximum.reduceat(e, idx) - key[idx]
    return chrom[idx], start[idx], merged_end.astype(end.dtype)


def tile_offsets(chrom_sizes: list[int], size: int, complete_only: bool = False) -> np.ndarray:
    """Global index of each chromosome's first bin (+ the total at the end)."""
    lengths = np.asarray(chrom_sizes, dtype=np.int64)
    per = lengths // size if complete_only else -(-lengths // size)
    return np.concatenate([[0], np.cumsum(per)])


def split_by_tiles(chrom, start, end, size: int):
    """Cut each interval at tile boundaries.

    Returns (chrom, tile index within the chromosome, piece start, piece end), pieces in input
    order, so for disjoint sorted input the tiles are non-decreasing within each chromosome.
    """
    first = start // size
    counts = ((end - 1) // size - first + 1).astype(np.int64)
    owner = np.repeat(np.arange(len(start)), counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    tile = first[owner] + step
    tile_start = tile * size
    return (chrom[owner], tile, np.maximum(start[owner], tile_start),
            np.minimum(end[owner], tile_start + size))


def tile_coverage(chrom, start, end, size: int, offsets: np.ndarray):
    """Bases covered per tile by disjoint sorted intervals: (global tile index, covered bases)."""
    piece_chrom, tile, s, e = split_by_tiles(chrom, start, end, size)
    tile = offsets[piece_chrom] + tile
    if len(tile) == 0:
        return tile, tile
    new = np.ones(len(tile), dtype=bool)
    new[1:] = tile[1:] != tile[:-1]
    idx = np.flatnonzero(new)
    return tile[idx], np.add.reduceat(e - s, idx)


def overlaps_any(chrom, start, end, mask) -> np.ndarray:
    """Which intervals overlap a merged, sorted mask given as (chrom, start, end) arrays."""
    m_chrom, m_start, m_end = mask
    if len(m_start) == 0:
        return np.zeros(len(start), dtype=bool)
    m_key = (m_chrom.astype(np.int64) << 32) + m_start
    i = np.searchsorted(m_key, (chrom.astype(np.int64) << 32) + end, side="left") - 1
    ok = i >= 0
    j = np.where(ok, i, 0)
    return ok & (m_chrom[j] == chrom) & (m_end[j] > start)


def read_mask(path: str | Path, chrom_index: dict[str, int]):
    """A BED mask (e.g. results/genome/*.bed) as merged (chrom index, start, end) arrays;
    chromosomes outside ``chrom_index`` are ignored."""
    bed = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], comment="#",
                      names=["chrom", "start", "end"], dtype={"chrom": str, "start": np.int64, "end": np.int64})
    chrom = bed["chrom"].map(chrom_index)
    keep = chrom.notna().to_numpy()
    c = chrom.to_numpy()[keep].astype(np.int32)
    s, e = bed["start"].to_numpy()[keep], bed["end"].to_numpy()[keep]
    order = np.lexsort((s, c))
    return merge_sorted(c[order], s[order], e[order])
