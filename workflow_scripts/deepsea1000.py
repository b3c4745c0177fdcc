"""Builder ``deepsea1000`` (library of the ``dataset`` stage): DeepSEA's 200 bp bins with 1000 bp inputs.

Definition (DeepSEA, Zhou & Troyanskaya 2015; DanQ "Features and data"):

* the genome is tiled into 200 bp bins from position 0;
* a target is 1 for a bin when more than half of the bin (> 100 bp) lies inside that target's
  peaks, the peaks of one target being merged first (optionally only peaks whose signalValue
  reaches a per-target threshold);
* bins with at least one positive among the configured categories (default ``TF``, as DeepSEA)
  are kept, or exactly the bins of a user-given BED (to rebuild a published bin set);
* the input is the 1000 bp centred on the bin (400 bp flanks); bins whose window leaves the
  chromosome are dropped and counted;
* splits: see :class:`~workflow_scripts.dataset_layout.SplitRule` (test chr8 + chr9,
  validation the chr7:30,508,751-35,296,850 bins).

Reverse complements are not stored: the loader makes them on the fly.
"""
from __future__ import annotations

from multiprocessing import Pool
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import (SPLITS, SplitRule, SplitWriter, assign_splits,
                                             provenance, require_rows, sample_files, write_header)
from workflow_scripts.fasta import read_chrom_codes, read_chrom_sizes, read_fai
from workflow_scripts.intervals import merge_sorted, overlaps_any, read_mask, tile_coverage, tile_offsets
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.peak_files import load_peaks
from workflow_scripts.sample_sheets import read_sample_sheet

log = cli.log.getChild("deepsea1000")


def positive_bins(peaks: dict, bin_size: int, offsets: np.ndarray) -> np.ndarray:
    """Global indices of the bins more than half covered by one target's (merged) peaks."""
    chrom, start, end = merge_sorted(peaks["chrom"], peaks["start"], peaks["end"])
    tiles, covered = tile_coverage(chrom, start, end, bin_size, offsets)
    return tiles[covered * 2 > bin_size]


def _target_bins(job):
    path, chrom_index, min_signal, bin_size, offsets = job
    return positive_bins(load_peaks(path, chrom_index, min_signal), bin_size, offsets).astype(np.int64)


def bins_from_bed(path: Path, chrom_index: dict[str, int], bin_size: int, offsets: np.ndarray) -> np.ndarray:
    """Global bin indices of a user BED of bin positions (each line one 200 bp bin)."""
    bed = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], comment="#",
                      names=["chrom", "start", "end"], dtype={"chrom": str})
    chrom = bed["chrom"].map(chrom_index)
    bad = chrom.isna() | (bed["start"] % bin_size != 0) | (bed["end"] - bed["start"] != bin_size)
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise InputError(f"{path}:{i + 1}: not a {bin_size} bp bin aligned to the {bin_size} bp "
                         f"grid on a selected chromosome: {bed.iloc[i].tolist()}")
    return np.unique(offsets[chrom.to_numpy(np.int64)] + bed["start"].to_numpy() // bin_size)


def build(spec: dict, inputs: dict, out: Path, workers: int = 1) -> dict:
    """Build the data set ``out`` from ``inputs`` (``samples``, ``peaks`` in sheet order,
    ``genome``, ``sizes``, optional ``blacklist`` and ``bins_bed``) with the settings ``spec``."""
    samples, fasta = Path(inputs["samples"]), Path(inputs["genome"])
    blacklist = Path(inputs["blacklist"]) if inputs.get("blacklist") else None
    sheet = read_sample_sheet(samples)
    peak_files = sample_files(sheet, inputs["peaks"], samples)
    split_rule, params = SplitRule.from_config(spec["split"]), spec
    sizes = read_chrom_sizes(inputs["sizes"])
    names = list(sizes)
    chrom_index = {c: i for i, c in enumerate(names)}
    bin_size, length = int(params["bin_size"]), int(params["seq_length"])
    flank = (length - bin_size) // 2
    offsets = tile_offsets(list(sizes.values()), bin_size)
    thresholds = params.get("min_signal") or {}
    jobs = [(str(path), chrom_index, thresholds.get(s.name), bin_size, offsets) for s, path in zip(sheet, peak_files)]
    if workers > 1:
        with Pool(workers) as pool:
            positives = pool.map(_target_bins, jobs, chunksize=4)
    else:
        positives = [_target_bins(j) for j in jobs]
    if inputs.get("bins_bed"):
        selected = bins_from_bed(Path(inputs["bins_bed"]), chrom_index, bin_size, offsets)
    else:
        wanted = set(params.get("select_categories", ["TF"]))
        chosen = [p for p, s in zip(positives, sheet) if s.category in wanted]
        if not chosen:
            raise InputError(f"{samples}: no sample of categories {sorted(wanted)} to select bins")
        selected = np.unique(np.concatenate(chosen))
    chrom = (np.searchsorted(offsets, selected, side="right") - 1).astype(np.int64)
    local = selected - offsets[chrom]
    win_start = local * bin_size - flank
    lengths = np.array(list(sizes.values()), dtype=np.int64)
    inside = (win_start >= 0) & (win_start + length <= lengths[chrom])
    counts = {"bins_selected": int(len(selected)), "dropped_window_off_chromosome": int((~inside).sum())}
    if blacklist is not None:                   # bins whose window touches the blacklist, counted
        listed = overlaps_any(chrom, win_start, win_start + length, read_mask(blacklist, chrom_index))
        counts["dropped_blacklist"] = int((listed & inside).sum())
        inside &= ~listed
    selected, chrom, local, win_start = selected[inside], chrom[inside], local[inside], win_start[inside]

    packed = np.zeros((len(selected), (len(sheet) + 7) // 8), dtype=np.uint8)
    for t, pos in enumerate(positives):
        rows = np.searchsorted(selected, pos)
        hit = rows < len(selected)
        hit[hit] = selected[rows[hit]] == pos[hit]
        packed[rows[hit], t // 8] |= np.uint8(128 >> (t % 8))

    chrom_names = np.array(names)[chrom]
    start = local * bin_size
    end = np.minimum(start + bin_size, lengths[chrom])
    split = assign_splits(chrom_names, start, end, split_rule)
    counts["left_out_near_validation"] = int((split == -1).sum())
    fai = read_fai(fasta)
    with atomic_output(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        write_header(f, "deepsea1000", [s.label for s in sheet], [s.category for s in sheet], length,
                     "packbits", provenance(params, {"genome": fasta, **{
                         s.name: path for s, path in zip(sheet, peak_files)}}))
        f.attrs["build_counts"] = str(counts)
        writers = {s: SplitWriter(f.create_group(s), {
            "chrom": ((), np.dtype(f"S{max(map(len, names))}")), "start": ((), np.int64),
            "end": ((), np.int64), "seq": ((length,), np.uint8), "labels": ((packed.shape[1],), np.uint8)})
            for s in SPLITS}
        for c in np.unique(chrom):
            rows = np.flatnonzero(chrom == c)
            codes = read_chrom_codes(fasta, names[c], fai)
            seq = np.lib.stride_tricks.sliding_window_view(codes, length)[win_start[rows]]
            for k, split_name in enumerate(SPLITS):
                pick = rows[split[rows] == k]
                writers[split_name].append(chrom=chrom_names[pick].astype("S"), start=start[pick],
                                           end=end[pick], seq=seq[split[rows] == k], labels=packed[pick])
        counts.update({s: int(f[s]["start"].shape[0]) for s in SPLITS})
        require_rows(counts, out, spec)
    log.info("deepsea1000: %s", counts)
    return counts
