"""Basset's merge of peaks into 600 bp features: hand-worked cases, and agreement with a
line-by-line pure-Python reading of Basset's preprocess_features.py on random inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workflow_scripts.dhs600 import read_activity
from workflow_scripts.merge_peaks import merge_peak_files, merge_sorted_midpoints, write_merged
from workflow_scripts.peak_files import COLUMNS, write_bed_gz


def merge(mids, targets, chrom_len=100_000, n_targets=4):
    s, e, a = merge_sorted_midpoints(np.array(mids, np.int64), np.array(targets, np.int32),
                                     (n_targets + 63) // 64, 600, 200, chrom_len)
    acts = [sorted(t for t in range(n_targets) if int(a[i, 0]) >> t & 1) for i in range(len(s))]
    return list(zip(s.tolist(), e.tolist(), acts))


# ---------------------------------------------------------------- hand-worked cases
def test_two_peaks_far_apart_stay_apart():
    assert merge([1000, 1500], [0, 1]) == [(700, 1300, [0]), (1200, 1800, [1])]   # overlap 100 < 200


def test_overlap_of_exactly_200_closes_the_group_and_201_merges():
    # windows [700,1300) and [1100,1700) overlap by 200, but Basset's sweep closes a group when
    # running end - 200 <= next start (1100 <= 1100), so they never meet in merge_peaks
    assert merge([1000, 1400], [0, 1]) == [(700, 1300, [0]), (1100, 1700, [1])]
    # one base more: mid int(0.5 + (1000*2 + 1399*2)/4) = int(1200) -> [900,1500)
    assert merge([1000, 1399], [0, 1]) == [(900, 1500, [0, 1])]


def test_chain_of_three_merges_largest_overlap_first():
    # windows A[700,1300) B[800,1400) C[950,1550): A-B overlap 500 > B-C 450, so A+B first:
    # mid int(0.5 + (1000*2 + 1100*2)/4) = 1050 -> [750,1350); then with C (overlap 400):
    # weights 3 (two targets) and 2: int(0.5 + (1050*3 + 1250*2)/5) = 1130 -> [830,1430)
    assert merge([1000, 1100, 1250], [0, 1, 0]) == [(830, 1430, [0, 1])]


def test_group_closes_when_running_end_minus_overlap_reaches_next_start():
    # A [700,1300), B [1050,1650) overlap 250 merge; C starts at 1650-200=1450 -> new group
    out = merge([1000, 1350, 1750], [0, 1, 2])
    assert out == [(875, 1475, [0, 1]), (1450, 2050, [2])]


def test_tie_in_overlap_takes_the_first_pair():
    # A[700,1300) B[1000,1600) C[1300,1900): A-B 300 == B-C 300 -> A+B first (mid 1150 ->
    # [850,1450)); then with C: overlap 150 < 200 -> stop
    assert merge([1000, 1300, 1600], [0, 1, 2]) == [(850, 1450, [0, 1]), (1300, 1900, [2])]


def test_weights_count_active_targets_once():
    # same target twice: the union has one target, so the merged peak weighs 2, not 3
    out = merge([1000, 1000, 1300], [0, 0, 1])
    # first A+A (overlap 600): mid 1000, act {0}; then with B[1000,1600) overlap 300:
    # int(0.5 + (1000*2 + 1300*2)/4) = 1150
    assert out == [(850, 1450, [0, 1])]


def test_chromosome_start_and_end():
    assert merge([100], [0], chrom_len=5000) == [(0, 600, [0])]                # clamped at 0
    assert merge([4900], [0], chrom_len=5000) == [(4400, 5000, [0])]          # shifted back from the end
    # a merge near the end is shifted back too
    assert merge([4700, 4800], [0, 1], chrom_len=5000) == [(4400, 5000, [0, 1])]


# ---------------------------------------------------------------- Basset reference
class Peak:
    def __init__(self, start, end, act):
        self.start, self.end, self.act = start, end, act

    def extend(self, ext_len, chrom_len):
        mid = (self.start + self.end) // 2
        self.start = max(0, mid - ext_len // 2)
        self.end = self.start + ext_len
        if chrom_len and self.end > chrom_len:
            self.end = chrom_len
            self.start = self.end - ext_len

    def merge(self, other, ext_len, chrom_len):
        mids = [(self.start + self.end) // 2, (other.start + other.end) // 2]
        weights = [1 + len(self.act), 1 + len(other.act)]
        mid = int(0.5 + np.average(mids, weights=weights))
        self.start = max(0, mid - ext_len // 2)
        self.end = self.start + ext_len
        if chrom_len and self.end > chrom_len:
            self.end = chrom_len
            self.start = self.end - ext_len
        self.act = self.act | other.act


def basset_merge_group(peaks, size, overlap, chrom_len):
    max_overlap = overlap
    while len(peaks) > 1 and max_overlap >= overlap:
        max_i, max_overlap = 0, peaks[0].end - peaks[1].start
        for i in range(1, len(peaks) - 1):
            if peaks[i].end - peaks[i + 1].start > max_overlap:
                max_i, max_overlap = i, peaks[i].end - peaks[i + 1].start
        if max_overlap >= overlap:
            peaks[max_i].merge(peaks[max_i + 1], size, chrom_len)
            peaks = peaks[:max_i + 1] + peaks[max_i + 2:]
    return peaks


def basset_reference(records, chrom_len, size=600, overlap=200):
    """records: (mid, target) sorted by mid (stable); returns Basset's merged peaks."""
    out, group, open_end = [], [], None
    for mid, t in records:
        p = Peak(mid, mid + 1, {t})
        p.extend(size, chrom_len)
        if group and open_end - overlap <= p.start:
            out += basset_merge_group(group, size, overlap, chrom_len)
            group = []
        open_end = p.end if not group else max(open_end, p.end)
        group.append(p)
    if group:
        out += basset_merge_group(group, size, overlap, chrom_len)
    return [(p.start, p.end, sorted(p.act)) for p in out]


@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_basset_on_random_dense_peaks(seed):
    rng = np.random.default_rng(seed)
    n, n_targets, chrom_len = 3000, 70, 400_000
    mids = np.sort(rng.integers(0, chrom_len, n) // (1 + seed % 3) * (1 + seed % 3))   # some ties
    targets = rng.integers(0, n_targets, n).astype(np.int32)
    order = np.argsort(mids, kind="stable")
    s, e, a = merge_sorted_midpoints(mids[order].astype(np.int64), targets[order], 2, 600, 200, chrom_len)
    ours = [(int(s[i]), int(e[i]), [t for t in range(n_targets) if int(a[i, t // 64]) >> (t % 64) & 1])
            for i in range(len(s))]
    assert ours == basset_reference(list(zip(mids[order].tolist(), targets[order].tolist())), chrom_len)


def test_files_in_basset_formats(tmp_path):
    sizes = {"chr1": 20_000, "chr2": 10_000, "chrY": 5_000, "chr5_random": 5_000}
    beds = {
        "a": [("chr1", 900, 1100, "."), ("chr2", 5000, 5200, "."), ("chrY", 100, 300, "."), ("chr5_random", 1, 9, ".")],
        "b": [("chr1", 1250, 1350, "."), ("chr1", 9000, 9100, "-")],
    }
    paths = []
    for name, rows in beds.items():
        df = pd.DataFrame([(c, s, e, ".", 0, st, 1.0) for c, s, e, st in rows], columns=COLUMNS)
        paths.append(str(tmp_path / f"{name}.bed.gz"))
        write_bed_gz(df, tmp_path / f"{name}.bed.gz")
    n = write_merged(merge_peak_files(paths, sizes), ["A|x", "B|y"], tmp_path / "merged.bed", tmp_path / "act.tsv")
    bed = (tmp_path / "merged.bed").read_text().splitlines()
    # chr1 +: mids 1000 and 1300 -> overlap 300 -> int(0.5 + 1150) -> [850,1450); chr1 -: 9050 alone
    assert bed == ["chr1\t850\t1450\t.\t1\t+\t0,1", "chr1\t8750\t9350\t.\t1\t-\t1", "chr2\t4800\t5400\t.\t1\t+\t0"]
    act = (tmp_path / "act.tsv").read_text().splitlines()
    assert act[0] == "\tA|x\tB|y" and act[1] == "chr1:850-1450(+)\t1\t1" and act[2] == "chr1:8750-9350(-)\t0\t1"
    targets, values = read_activity(tmp_path / "act.tsv")
    assert n == 3 and targets == ["A|x", "B|y"] and values.tolist() == [[1, 1], [0, 1], [1, 0]]
