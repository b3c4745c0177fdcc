"""Builder ``dhs600`` (library of the ``dataset`` stage): Basset's merged features + activity table.

Each 600 bp feature becomes one row: its sequence (reverse-complemented for ``-`` strand
features, as ``bedtools getfasta -s`` would) and its activity across the DNase targets. As in
Basset and DSSDA there are no background negatives: every row is a DHS of some cell type.
Splits: by chromosome (default) or Basset/DSSDA's random split with exact counts (see
:class:`~workflow_scripts.dataset_layout.SplitRule`). Layout: :mod:`workflow_scripts.dataset_layout`.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import (SPLITS, SplitRule, SplitWriter, assign_splits,
                                             provenance, require_rows, write_header)
from workflow_scripts.fasta import read_chrom_codes, read_fai
from workflow_scripts.intervals import overlaps_any, read_mask
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.sample_sheets import ACCESSIBILITY, read_sample_sheet
from workflow_scripts.sequence import reverse_complement

log = cli.log.getChild("dhs600")


def read_activity(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Basset activity table -> (target names, (n, T) uint8), parsed without per-row Python."""
    raw = np.fromfile(path, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    if len(newlines) == 0:
        raise InputError(f"{path}: empty activity table")
    header = raw[:newlines[0]].tobytes().decode().split("\t")
    if header[0] != "":
        raise InputError(f"{path}:1: the header's first cell must be empty (Basset _act.txt layout)")
    targets = header[1:]
    width = 2 * len(targets)
    ends = newlines[1:]
    positions = ends[:, None] - width + 1 + 2 * np.arange(len(targets))[None, :]
    values = raw[positions] - ord("0")
    if values.size and values.max() > 1:
        row = int(np.argmax((values > 1).any(axis=1)))
        raise InputError(f"{path}:{row + 2}: activity values must be 0 or 1")
    return targets, values.astype(np.uint8)


def build(spec: dict, inputs: dict, out: Path, workers: int = 1) -> dict[str, int]:
    """Build the data set ``out`` from ``inputs`` (``merged``, ``activity``, ``genome``,
    ``samples``, optional ``blacklist``) with the settings ``spec``."""
    merged_bed, activity, fasta = Path(inputs["merged"]), Path(inputs["activity"]), Path(inputs["genome"])
    samples = Path(inputs["samples"])
    blacklist = Path(inputs["blacklist"]) if inputs.get("blacklist") else None
    split_rule, params = SplitRule.from_config(spec["split"]), spec
    features = pd.read_csv(merged_bed, sep="\t", header=None, usecols=[0, 1, 2, 5],
                           names=["chrom", "start", "end", "strand"],
                           dtype={"chrom": str, "start": np.int64, "end": np.int64, "strand": str})
    targets, labels = read_activity(activity)
    if len(labels) != len(features):
        raise InputError(f"{activity}: {len(labels)} rows but {merged_bed} has {len(features)} features")
    sheet = [s for s in read_sample_sheet(samples) if s.category in ACCESSIBILITY]
    if [s.label for s in sheet] != targets:
        raise InputError(f"{activity}: targets differ from the DNase/ATAC samples of {samples}")
    chrom = features["chrom"].to_numpy(str)
    start, end = features["start"].to_numpy(), features["end"].to_numpy()
    minus = features["strand"].to_numpy(str) == "-"
    split = assign_splits(chrom, start, end, split_rule)
    if blacklist is not None:                   # blacklisted features are left out, counted
        index = {c: i for i, c in enumerate(dict.fromkeys(chrom))}
        listed = overlaps_any(np.array([index[c] for c in chrom]), start, end, read_mask(blacklist, index))
        split[listed] = -1
        log.info("dhs600: %d features overlap the blacklist and are left out", int(listed.sum()))
    packed = np.packbits(labels, axis=1)
    length = int(params["size"])
    fai = read_fai(fasta)
    counts = {}
    with atomic_output(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        write_header(f, "dhs600", targets, [s.category for s in sheet], length, "packbits",
                     provenance(params, {"merged_bed": merged_bed, "activity": activity, "genome": fasta}))
        writers = {s: SplitWriter(f.create_group(s), {
            "chrom": ((), np.dtype(f"S{max(len(c) for c in fai)}")), "start": ((), np.int64),
            "end": ((), np.int64), "seq": ((length,), np.uint8), "labels": ((packed.shape[1],), np.uint8)})
            for s in SPLITS}
        for name in dict.fromkeys(chrom):
            rows = np.flatnonzero(chrom == name)
            codes = read_chrom_codes(fasta, name, fai)
            windows = np.lib.stride_tricks.sliding_window_view(codes, length)
            seq = windows[start[rows]]
            seq[minus[rows]] = reverse_complement(seq[minus[rows]])
            for k, split_name in enumerate(SPLITS):
                pick = split[rows] == k
                writers[split_name].append(chrom=chrom[rows][pick].astype("S"), start=start[rows][pick],
                                           end=end[rows][pick], seq=seq[pick], labels=packed[rows][pick])
        counts = {s: int(f[s]["start"].shape[0]) for s in SPLITS}
        require_rows(counts, out, spec)
    log.info("dhs600: %s features per split", counts)
    return counts
