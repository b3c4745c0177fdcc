"""Stage ``merge_peaks`` (dhs600): Basset's merge of DNase (and ATAC) peaks into 600 bp features.

This reproduces Basset's ``preprocess_features.py`` (Kelley et al. 2016, used by DSSDA section
4.1) exactly, in compiled code:

1. every peak becomes its midpoint ``(start + end) // 2``, extended to ``size`` (600) bp around
   it: ``start = max(0, mid - size // 2)``; a window past the chromosome end is shifted back to
   end at it;
2. per chromosome and strand (``-`` when the file says so, else ``+``), peaks sorted by midpoint
   are swept into groups; a group closes when its running end minus ``overlap`` (200) is at most
   the next peak's start;
3. within a group, the adjacent pair with the largest overlap (the first such pair on ties) is
   merged while that overlap is at least ``overlap``: the new midpoint is
   ``int(0.5 + weighted mean of the two midpoints)`` with weights ``1 + number of active
   targets``, re-extended to ``size``; activities are united. Merged peaks keep their place in
   the group's list, as Basset's do.

Ties in midpoint are ordered by target (sample-sheet order), then by position in the file.
chrY (``drop_chrY``) and auxiliary contigs (anything but ``chr<number>`` and ``chrX``,
``drop_auxiliary``) are dropped, as Basset's ``-y`` and ``-i`` do.

Outputs (Basset's own formats):

* ``merged.bed`` — ``chrom start end . 1 strand targets`` with ``targets`` the comma-separated
  indices of the active targets (``.`` if none), chromosomes in genome order;
* ``activity.tsv`` — Basset's ``_act.txt``: a header whose first cell is empty followed by the
  target names, then per feature ``chrom:start-end(strand)`` and a 0/1 per target.
"""
from __future__ import annotations

import re
from multiprocessing import Pool
from pathlib import Path

import numba as nb
import numpy as np

from workflow_scripts import cli
from workflow_scripts.fasta import read_chrom_sizes
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import sample_files
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.peak_files import load_peaks
from workflow_scripts.sample_sheets import ACCESSIBILITY, read_sample_sheet

log = cli.log.getChild("merge_peaks")


@nb.njit(cache=True)
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@nb.njit(cache=True)
def _extend(mid, size, chrom_len):
    start = max(0, mid - size // 2)
    end = start + size
    if chrom_len > 0 and end > chrom_len:
        end = chrom_len
        start = end - size
    return start, end


@nb.njit(cache=True)
def _merge_group(gs, ge, gact, g, size, overlap, chrom_len):
    """Basset's merge_peaks on one group held in gs/ge/gact[:g]; returns the new group size."""
    while g > 1:
        best = 0
        best_overlap = ge[0] - gs[1]
        for i in range(1, g - 1):
            ov = ge[i] - gs[i + 1]
            if ov > best_overlap:
                best = i
                best_overlap = ov
        if best_overlap < overlap:
            break
        j = best + 1
        mid1 = (gs[best] + ge[best]) // 2
        mid2 = (gs[j] + ge[j]) // 2
        w1 = 1.0
        w2 = 1.0
        for k in range(gact.shape[1]):
            w1 += _popcount(gact[best, k])
            w2 += _popcount(gact[j, k])
        mid = np.int64(0.5 + (mid1 * w1 + mid2 * w2) / (w1 + w2))
        gs[best], ge[best] = _extend(mid, size, chrom_len)
        for k in range(gact.shape[1]):
            gact[best, k] |= gact[j, k]
        for i in range(j, g - 1):
            gs[i] = gs[i + 1]
            ge[i] = ge[i + 1]
            gact[i, :] = gact[i + 1, :]
        g -= 1
    return g


@nb.njit(cache=True)
def merge_sorted_midpoints(mids, targets, n_words, size, overlap, chrom_len):
    """Merge the midpoints of one chromosome and strand (sorted) into features.

    Returns starts, ends and activity bitsets (n, n_words) of the merged features.
    """
    n = len(mids)
    out_s = np.empty(n, np.int64)
    out_e = np.empty(n, np.int64)
    out_a = np.zeros((n, n_words), np.uint64)
    gs = np.empty(n, np.int64)
    ge = np.empty(n, np.int64)
    gact = np.zeros((n, n_words), np.uint64)
    n_out = 0
    g = 0
    open_end = 0
    for i in range(n + 1):
        if i < n:
            s, e = _extend(mids[i], size, chrom_len)
        if g > 0 and (i == n or open_end - overlap <= s):
            g = _merge_group(gs, ge, gact, g, size, overlap, chrom_len)
            for k in range(g):
                out_s[n_out] = gs[k]
                out_e[n_out] = ge[k]
                out_a[n_out, :] = gact[k, :]
                n_out += 1
            g = 0
        if i == n:
            break
        open_end = e if g == 0 else max(open_end, e)
        gs[g] = s
        ge[g] = e
        gact[g, :] = 0
        t = targets[i]
        gact[g, t // 64] = np.uint64(1) << np.uint64(t % 64)
        g += 1
    return out_s[:n_out], out_e[:n_out], out_a[:n_out]


@nb.njit(cache=True)
def _put_int(buf, pos, value):
    if value == 0:
        buf[pos] = 48
        return pos + 1
    digits = 0
    v = value
    while v > 0:
        digits += 1
        v //= 10
    for k in range(digits - 1, -1, -1):
        buf[pos + k] = 48 + value % 10
        value //= 10
    return pos + digits


@nb.njit(cache=True)
def render_lines(chrom, strand, starts, ends, acts, n_targets):
    """Basset's merged.bed and activity-table lines for one chromosome and strand, as bytes."""
    n = len(starts)
    per_bed = len(chrom) + 60 + 8 * n_targets
    per_act = len(chrom) + 50 + 2 * n_targets
    bed = np.empty(n * per_bed, np.uint8)
    act = np.empty(n * per_act, np.uint8)
    pb = 0
    pa = 0
    for i in range(n):
        for c in chrom:
            bed[pb] = c
            act[pa] = c
            pb += 1
            pa += 1
        bed[pb] = 9
        pb = _put_int(bed, pb + 1, starts[i])
        bed[pb] = 9
        pb = _put_int(bed, pb + 1, ends[i])
        for c in (9, 46, 9, 49, 9, strand, 9):  # \t.\t1\t{strand}\t
            bed[pb] = c
            pb += 1
        act[pa] = 58  # ':'
        pa = _put_int(act, pa + 1, starts[i])
        act[pa] = 45  # '-'
        pa = _put_int(act, pa + 1, ends[i])
        act[pa] = 40
        act[pa + 1] = strand
        act[pa + 2] = 41
        pa += 3
        first = True
        for t in range(n_targets):
            on = (acts[i, t // 64] >> np.uint64(t % 64)) & np.uint64(1)
            act[pa] = 9
            act[pa + 1] = 48 + on
            pa += 2
            if on:
                if not first:
                    bed[pb] = 44
                    pb += 1
                pb = _put_int(bed, pb, t)
                first = False
        if first:
            bed[pb] = 46
            pb += 1
        bed[pb] = 10
        act[pa] = 10
        pb += 1
        pa += 1
    return bed[:pb], act[:pa]


def keep_chromosome(chrom: str, drop_chr_y: bool, drop_auxiliary: bool) -> bool:
    if drop_chr_y and chrom == "chrY":
        return False
    return not drop_auxiliary or bool(re.fullmatch(r"chr\d+|chrX", chrom))


def _load(args):
    path, chrom_index = args
    p = load_peaks(path, chrom_index)
    return p["chrom"], (p["start"] + p["end"]) // 2, np.where(p["strand"] == "-", 1, 0).astype(np.int8)


def merge_peak_files(paths: list[str], chrom_sizes: dict[str, int], *, size: int = 600,
                     overlap: int = 200, drop_chr_y: bool = True, drop_auxiliary: bool = True,
                     workers: int = 1):
    """Merge the peak files (one per target, in target order) into features, per chrom/strand.

    Yields (chrom, strand, starts, ends, activity bitsets) in genome order.
    """
    names = list(chrom_sizes)
    index = {c: i for i, c in enumerate(names)}
    jobs = [(p, index) for p in paths]
    if workers > 1:
        with Pool(workers) as pool:
            loaded = pool.map(_load, jobs)
    else:
        loaded = [_load(j) for j in jobs]
    chrom = np.concatenate([c for c, _, _ in loaded])
    mids = np.concatenate([m for _, m, _ in loaded])
    strand = np.concatenate([s for _, _, s in loaded])
    targets = np.concatenate([np.full(len(c), t, np.int32) for t, (c, _, _) in enumerate(loaded)])
    order = np.lexsort((mids, strand, chrom))          # stable: ties keep target/file order
    chrom, mids, strand, targets = chrom[order], mids[order], strand[order], targets[order]
    bounds = np.flatnonzero(np.diff(chrom.astype(np.int64) * 2 + strand)) + 1
    n_words = (len(paths) + 63) // 64
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(chrom)]):
        if lo == hi:
            continue
        name = names[chrom[lo]]
        if not keep_chromosome(name, drop_chr_y, drop_auxiliary):
            log.info("dropping %d peaks on %s", hi - lo, name)
            continue
        s, e, a = merge_sorted_midpoints(mids[lo:hi], targets[lo:hi], n_words, size, overlap,
                                         chrom_sizes[name])
        yield name, "-" if strand[lo] else "+", s, e, a


def write_merged(features, labels: list[str], merged_bed: Path, activity: Path) -> int:
    """Write merged.bed and activity.tsv; both appear only once complete."""
    n = 0
    with atomic_output(merged_bed) as bed_tmp, atomic_output(activity) as act_tmp:
        with open(bed_tmp, "wb") as bed_out, open(act_tmp, "wb") as act_out:
            act_out.write(("\t".join([""] + labels) + "\n").encode())
            for chrom, strand, s, e, a in features:
                bed, act = render_lines(np.frombuffer(chrom.encode(), np.uint8), ord(strand),
                                        s, e, a, len(labels))
                bed_out.write(bed.tobytes())
                act_out.write(act.tobytes())
                n += len(s)
    return n


def main(args) -> None:
    if args.overlap >= args.size:
        raise InputError(f"overlap {args.overlap} must be below size {args.size}: nothing could ever merge")
    samples = [s for s in read_sample_sheet(args.samples) if s.category in ACCESSIBILITY]
    sizes = read_chrom_sizes(args.chrom_sizes)
    paths = [str(p) for p in sample_files(samples, args.peaks, args.samples)]
    features = merge_peak_files(paths, sizes, size=args.size, overlap=args.overlap,
                                drop_chr_y=not args.keep_chr_y,
                                drop_auxiliary=not args.keep_auxiliary, workers=args.workers)
    n = write_merged(features, [s.label for s in samples], Path(args.merged_bed), Path(args.activity))
    log.info("merged %d DNase/ATAC samples into %d features of %d bp", len(samples), n, args.size)


def build_parser():
    p = cli.parser("Merge DNase/ATAC peaks into Basset's 600 bp features and activity table.")
    p.add_argument("--samples", required=True, help="sample sheet (its DNase and ATAC rows are used)")
    p.add_argument("--peaks", nargs="+", required=True, help="their normalised {name}.bed.gz, in sheet order")
    p.add_argument("--chrom-sizes", required=True)
    p.add_argument("--merged-bed", required=True)
    p.add_argument("--activity", required=True)
    p.add_argument("--size", type=int, default=600)
    p.add_argument("--overlap", type=int, default=200)
    p.add_argument("--keep-chr-y", action="store_true")
    p.add_argument("--keep-auxiliary", action="store_true")
    p.add_argument("--workers", type=int, default=1)
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
