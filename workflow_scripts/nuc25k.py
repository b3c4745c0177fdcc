"""Builder ``nuc25k`` (library of the ``dataset`` stage): Gupta's 25,000 bp windows, per-nucleotide labels.

Definition (Gupta 2017, thesis section 8.1): non-overlapping ``window`` (25,000) bp windows tile
each selected chromosome from position 0 (a last, incomplete window is dropped); a window is kept
when at most ``max_n_fraction`` (10 %) of its bases are N and at most ``max_unmappable_fraction``
(10 %) lie in the multi-mapped-region track. Gupta kept 93,880 windows of hg19.

Labels are y in {0,1}^(window x targets). Dense, that is ~2.9 MB per window at 919 targets
(~270 GB for hg19), so the file stores each target's merged peaks clipped to the window
(``intervals`` + ``interval_ptr``, see :mod:`workflow_scripts.dataset_layout`) and the loader
makes dense label tensors on the fly, on the GPU where there is one.
"""
from __future__ import annotations

from multiprocessing import Pool
from pathlib import Path

import h5py
import numpy as np

from workflow_scripts import cli
from workflow_scripts.dataset_layout import (SPLITS, SplitRule, SplitWriter, assign_splits,
                                             provenance, require_rows, sample_files, write_header)
from workflow_scripts.fasta import read_chrom_codes, read_chrom_sizes, read_fai
from workflow_scripts.intervals import merge_sorted, read_mask, split_by_tiles, tile_coverage, tile_offsets
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.peak_files import load_peaks
from workflow_scripts.sample_sheets import read_sample_sheet
from workflow_scripts.sequence import N_CODE

log = cli.log.getChild("nuc25k")


def window_n_fraction(codes: np.ndarray, window: int) -> np.ndarray:
    """Fraction of N per window tiling the chromosome (the last, incomplete one gets inf)."""
    n = len(codes) // window
    frac = (codes[:n * window].reshape(n, window) == N_CODE).mean(axis=1)
    return np.append(frac, np.inf) if len(codes) % window else frac


def window_pieces(peaks: dict, window: int, row_of_window: np.ndarray, offsets: np.ndarray):
    """(row, start, end) of one target's merged peaks cut at window edges, kept windows only."""
    chrom, start, end = merge_sorted(peaks["chrom"], peaks["start"], peaks["end"])
    piece_chrom, tile, s, e = split_by_tiles(chrom, start, end, window)
    row = row_of_window[offsets[piece_chrom] + tile]
    keep = row >= 0
    base = tile[keep] * window
    return row[keep], (s[keep] - base).astype(np.int32), (e[keep] - base).astype(np.int32)


def _target_pieces(job):
    path, chrom_index, window, row_of_window, offsets = job
    return window_pieces(load_peaks(path, chrom_index), window, row_of_window, offsets)


def build(spec: dict, inputs: dict, out: Path, workers: int = 1) -> dict:
    """Build the data set ``out`` from ``inputs`` (``samples``, ``peaks`` in sheet order,
    ``genome``, ``sizes``, ``unmappable``) with the settings ``spec``."""
    samples, fasta, unmappable = Path(inputs["samples"]), Path(inputs["genome"]), Path(inputs["unmappable"])
    sheet = read_sample_sheet(samples)
    peak_files = sample_files(sheet, inputs["peaks"], samples)
    split_rule, params = SplitRule.from_config(spec["split"]), spec
    sizes = read_chrom_sizes(inputs["sizes"])
    names = list(sizes)
    chrom_index = {c: i for i, c in enumerate(names)}
    window = int(params["window"])
    lengths = np.array(list(sizes.values()), dtype=np.int64)
    offsets = tile_offsets(list(lengths), window)       # every window, the incomplete last one too
    fai = read_fai(fasta)

    n_frac = np.concatenate([window_n_fraction(read_chrom_codes(fasta, c, fai), window) for c in names])
    unmappable_frac = np.zeros(offsets[-1])
    tiles, covered = tile_coverage(*read_mask(unmappable, chrom_index), window, offsets)
    unmappable_frac[tiles] = covered / window
    keep = (n_frac <= params["max_n_fraction"]) & (unmappable_frac <= params["max_unmappable_fraction"])
    counts = {"windows": int(offsets[-1] - np.count_nonzero(lengths % window)),
              "dropped_n": int((n_frac > params["max_n_fraction"]).sum() - np.count_nonzero(lengths % window)),
              "dropped_unmappable": int((keep == 0).sum() - (n_frac > params["max_n_fraction"]).sum()),
              "kept": int(keep.sum())}

    kept = np.flatnonzero(keep)
    row_of_window = np.full(offsets[-1], -1, np.int64)
    row_of_window[kept] = np.arange(len(kept))
    chrom = np.searchsorted(offsets, kept, side="right") - 1
    start = (kept - offsets[chrom]) * window
    chrom_names = np.array(names)[chrom]
    split = assign_splits(chrom_names, start, start + window, split_rule)

    jobs = [(str(path), chrom_index, window, row_of_window, offsets) for path in peak_files]
    if workers > 1:
        with Pool(workers) as pool:
            pieces = pool.map(_target_pieces, jobs, chunksize=4)
    else:
        pieces = [_target_pieces(j) for j in jobs]
    row = np.concatenate([p[0] for p in pieces])
    target = np.concatenate([np.full(len(p[0]), t, np.int32) for t, p in enumerate(pieces)])
    piece_start = np.concatenate([p[1] for p in pieces])
    piece_end = np.concatenate([p[2] for p in pieces])
    order = np.lexsort((piece_start, target, row))
    row, intervals = row[order], np.stack([target[order], piece_start[order], piece_end[order]], axis=1)

    with atomic_output(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        write_header(f, "nuc25k", [s.label for s in sheet], [s.category for s in sheet], window,
                     "intervals", provenance(params, {"genome": fasta, "unmappable": unmappable, **{
                         s.name: path for s, path in zip(sheet, peak_files)}}))
        f.attrs["build_counts"] = str(counts)
        for k, split_name in enumerate(SPLITS):
            rows = np.flatnonzero(split == k)
            g = f.create_group(split_name)
            writer = SplitWriter(g, {"chrom": ((), np.dtype(f"S{max(map(len, names))}")),
                                     "start": ((), np.int64), "end": ((), np.int64),
                                     "seq": ((window,), np.uint8)})
            for c in np.unique(chrom[rows]):
                sub = rows[chrom[rows] == c]
                codes = read_chrom_codes(fasta, names[c], fai)
                seq = codes[: (len(codes) // window) * window].reshape(-1, window)[start[sub] // window]
                writer.append(chrom=chrom_names[sub].astype("S"), start=start[sub],
                              end=start[sub] + window, seq=seq)
            mine = np.isin(row, rows)                      # intervals of this split's windows
            per_row = np.bincount(np.searchsorted(rows, row[mine]), minlength=len(rows))
            pieces = intervals[mine]
            g.create_dataset("intervals", data=pieces, chunks=(min(len(pieces), 1 << 16), 3) if len(pieces) else None)
            g.create_dataset("interval_ptr", data=np.concatenate([[0], np.cumsum(per_row)]))
        counts.update({s: int(f[s]["start"].shape[0]) for s in SPLITS})
        require_rows(counts, out, spec)
    log.info("nuc25k: %s", counts)
    return counts
