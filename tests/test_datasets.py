"""The three data-set builders: DeepSEA's bin rule (hand-worked and against bedtools), Gupta's
25 kb windows and per-nucleotide labels, the splits, the blacklist option, the HDF5 layout."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pybedtools
import pytest

from workflow_scripts import deepsea1000, dhs600, nuc25k
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import SplitRule, assign_splits, read_header, stale_reasons, unpack_labels
from workflow_scripts.genome import prepare_genome
from workflow_scripts.loaders import BatchStream, SplitReader, dense_labels, make_loader
from workflow_scripts.merge_peaks import merge_peak_files, write_merged
from workflow_scripts.peak_files import COLUMNS, write_bed_gz
from workflow_scripts.sequence import decode


def make_genome(tmp_path, sizes: dict[str, int], seed=0, n_runs=()):
    rng = np.random.default_rng(seed)
    fa = tmp_path / "src.fa"
    seqs = {}
    with open(fa, "w") as fh:
        for c, n in sizes.items():
            s = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, n)].copy()
            for chrom, a, b in n_runs:
                if chrom == c:
                    s[a:b] = ord("N")
            seqs[c] = s.tobytes().decode()
            fh.write(f">{c}\n{seqs[c]}\n")
    out = tmp_path / "genome" / "genome.fa"
    prepare_genome(fa, out, tmp_path / "genome" / "chrom.sizes", chromosomes=list(sizes))
    return out, tmp_path / "genome" / "chrom.sizes", seqs


def write_peaks(tmp_path, name, rows):
    df = pd.DataFrame([(c, s, e, ".", 0, ".", sig) for c, s, e, sig in rows], columns=COLUMNS)
    path = tmp_path / "peaks" / f"{name}.bed.gz"
    path.parent.mkdir(exist_ok=True)
    write_bed_gz(df, path)
    return path


def write_sheet(tmp_path, rows):
    p = tmp_path / "samples.tsv"
    p.write_text("name\tcategory\turl\n" + "".join(f"{n}\t{c}\thttp://x/{n}\n" for n, c in rows))
    return p


def peak_inputs(tmp_path, sheet, fasta, sizes):
    from workflow_scripts.sample_sheets import read_sample_sheet
    return {"samples": str(sheet), "genome": str(fasta), "sizes": str(sizes),
            "peaks": [str(tmp_path / "peaks" / f"{s.name}.bed.gz") for s in read_sample_sheet(sheet)]}


def split_spec(rule: SplitRule) -> dict:
    return {"mode": rule.mode, "test_chroms": list(rule.test_chroms), "valid_region": rule.valid_region,
            "valid_count": rule.valid_count, "test_count": rule.test_count, "seed": rule.seed}


def build_deepsea(tmp_path, sheet, fasta, sizes, out, rule, **spec):
    spec = {"builder": "deepsea1000", "bin_size": 200, "seq_length": 1000, "select_categories": ["TF"],
            "split": split_spec(rule), **spec}
    return deepsea1000.build(spec, peak_inputs(tmp_path, sheet, fasta, sizes), out)


def read_split(path, split):
    with h5py.File(path, "r") as f:
        g = f[split]
        out = {k: g[k][:] for k in g}
        out["targets"] = [str(t) for t in f.attrs["targets"]]
    return out


# ---------------------------------------------------------------- deepsea1000
def test_bin_rule_hand_worked(tmp_path):
    fasta, sizes, seqs = make_genome(tmp_path, {"chr1": 5000, "chr7": 3000, "chr8": 3000})
    # tfA: [1000,1101) covers 101 bp of bin 5 ([1000,1200)) -> positive; [1300,1400) 100 bp of
    #      bin 6 -> not (needs > 100); two pieces [1620,1650) + [1650,1730) merge to 110 bp of bin 8
    # tfB: [200,400) is bin 1 + bin 1: window [-200, 800) leaves the chromosome -> dropped
    # dnase: [1000,1200) positive in bin 5 but DNase does not select bins
    write_peaks(tmp_path, "tfA", [("chr1", 1000, 1101, 5.0), ("chr1", 1300, 1400, 1.0),
                                  ("chr1", 1620, 1650, 1.0), ("chr1", 1650, 1730, 1.0), ("chr7", 1000, 1200, 5.0),
                                  ("chr8", 2000, 2200, 5.0)])
    write_peaks(tmp_path, "tfB", [("chr1", 200, 400, 1.0), ("chr1", 1050, 1190, 1.0)])
    write_peaks(tmp_path, "dnase", [("chr1", 1000, 1200, 1.0), ("chr1", 3000, 3200, 1.0)])
    sheet = write_sheet(tmp_path, [("tfA", "TF"), ("tfB", "TF"), ("dnase", "DNase")])
    out = tmp_path / "ds.h5"
    rule = SplitRule(test_chroms=("chr8",), valid_region="chr7:1-3000")
    counts = build_deepsea(tmp_path, sheet, fasta, sizes, out, rule)
    train, test = read_split(out, "train"), read_split(out, "test")
    assert train["start"].tolist() == [1000, 1600] and test["start"].tolist() == [2000]
    assert read_split(out, "valid")["start"].tolist() == [1000]
    assert counts["dropped_window_off_chromosome"] == 1
    assert unpack_labels(train["labels"], 3).tolist() == [[1, 1, 1], [1, 0, 0]]
    assert decode(train["seq"][0]) == seqs["chr1"][600:1600]           # 400 bp flanks
    # a signalValue threshold removes tfA's weak peaks: bin 8 is then unlabelled and not selected
    build_deepsea(tmp_path, sheet, fasta, sizes, out, rule, min_signal={"tfA": 2.0})
    assert read_split(out, "train")["start"].tolist() == [1000]


def test_a_split_without_rows_is_refused_at_build_time(tmp_path):
    fasta, sizes, _ = make_genome(tmp_path, {"chr1": 5000, "chr8": 3000})
    write_peaks(tmp_path, "tfA", [("chr1", 1000, 1200, 1.0), ("chr8", 2000, 2200, 1.0)])
    sheet = write_sheet(tmp_path, [("tfA", "TF")])
    out = tmp_path / "ds.h5"
    with pytest.raises(InputError, match=r"the valid split\(s\) would have no rows .*valid_region chr7:"):
        build_deepsea(tmp_path, sheet, fasta, sizes, out, SplitRule(test_chroms=("chr8",)))
    assert not out.exists() and not list(tmp_path.glob(".ds.h5*"))


def test_bin_labels_agree_with_bedtools(tmp_path):
    rng = np.random.default_rng(3)
    fasta, sizes, _ = make_genome(tmp_path, {"chr1": 60_000, "chr2": 40_000})
    rows = {}
    for t in range(4):
        starts = np.sort(rng.integers(400, 39_000, 120))
        rows[f"t{t}"] = [("chr1" if i % 3 else "chr2", int(s), int(s + rng.integers(20, 700)), 1.0)
                         for i, s in enumerate(starts)]
        rows[f"t{t}"].sort(key=lambda r: (r[0], r[1]))
        write_peaks(tmp_path, f"t{t}", rows[f"t{t}"])
    sheet = write_sheet(tmp_path, [(f"t{t}", "TF") for t in range(4)])
    out = tmp_path / "ds.h5"
    build_deepsea(tmp_path, sheet, fasta, sizes, out, SplitRule(test_chroms=("chr2",), valid_region="chr1:1-10000"))
    got = {s: read_split(out, s) for s in ("train", "valid", "test")}
    got = {k: np.concatenate([g[k] for g in got.values()]) for k in ("chrom", "start", "labels")}
    ours = {(c.decode(), int(s)): tuple(l) for c, s, l in zip(got["chrom"], got["start"], unpack_labels(got["labels"], 4))}
    # bedtools: merge each target's peaks, intersect with 200 bp windows, > 100 bp covered
    windows = pybedtools.BedTool().window_maker(g=str(sizes), w=200)
    expected: dict = {}
    for t in range(4):
        merged = pybedtools.BedTool([r[:3] for r in rows[f"t{t}"]]).sort().merge()
        for iv in windows.intersect(merged, wo=True):
            if int(iv[-1]) > 0:
                key = (iv[0], int(iv[1]))
                expected.setdefault(key, [0] * 8)
                expected[key][t] += int(iv[-1])
    want = {k: tuple(int(c > 100) for c in v[:4]) for k, v in expected.items()
            if any(c > 100 for c in v[:4]) and k[1] >= 400 and k[1] + 600 <= {"chr1": 60_000, "chr2": 40_000}[k[0]]}
    assert ours == want


def test_split_rules():
    chrom = np.array(["chr1", "chr7", "chr7", "chr7", "chr8", "chr9", "chr7"])
    start = np.array([0, 30_508_750, 35_296_650, 40_000_000, 5, 5, 30_508_000])
    split = assign_splits(chrom, start, start + 200, SplitRule())
    assert split.tolist() == [0, 1, 1, 0, 2, 2, 0]                # region is 1-based inclusive
    split = assign_splits(chrom, start, start + 200, SplitRule(valid_count=1, seed=3))
    assert sorted(split.tolist()) == [-1, 0, 0, 0, 1, 2, 2]      # the rest of the region is left out
    r = assign_splits(np.array(["chr1"] * 1000), np.arange(1000), np.arange(1000) + 1,
                      SplitRule(mode="random", test_count=71, valid_count=70, seed=1))
    assert (r == 2).sum() == 71 and (r == 1).sum() == 70
    r2 = assign_splits(np.array(["chr1"] * 1000), np.arange(1000), np.arange(1000) + 1,
                       SplitRule(mode="random", test_count=71, valid_count=70, seed=1))
    assert (r == r2).all()


# ---------------------------------------------------------------- nuc25k
def test_windows_filters_and_per_nucleotide_labels(tmp_path):
    w = 1000
    fasta, sizes, seqs = make_genome(tmp_path, {"chr1": 5500, "chr7": 1000, "chr8": 2000},
                                     n_runs=[("chr1", 1000, 1101)])          # window 1: 10.1 % N
    write_peaks(tmp_path, "a", [("chr1", 50, 150, 1.0), ("chr1", 100, 300, 1.0), ("chr1", 2900, 3100, 1.0),
                                ("chr8", 10, 20, 1.0)])
    write_peaks(tmp_path, "b", [("chr1", 3990, 4010, 1.0)])
    sheet = write_sheet(tmp_path, [("a", "TF"), ("b", "Histone")])
    mask = tmp_path / "unmappable.bed"
    mask.write_text("chr1\t2000\t2050\nchr1\t2050\t2101\nchr1\t3000\t3100\n")   # window 2: 10.1 %
    out = tmp_path / "nuc.h5"
    spec = {"builder": "nuc25k", "window": w, "max_n_fraction": 0.1, "max_unmappable_fraction": 0.1,
            "split": split_spec(SplitRule(test_chroms=("chr8",), valid_region="chr7:1-1000"))}
    counts = nuc25k.build(spec, {**peak_inputs(tmp_path, sheet, fasta, sizes), "unmappable": str(mask)}, out)
    assert counts == {**counts, "windows": 8, "dropped_n": 1, "dropped_unmappable": 1, "kept": 6, "valid": 1}
    train = read_split(out, "train")
    assert train["start"].tolist() == [0, 3000, 4000]           # 5000-5500 is incomplete
    assert decode(train["seq"][1]) == seqs["chr1"][3000:4000]
    # intervals: a's merged [50,300) in window 0; [3000,3100) in window 3 (clipped at 2900);
    # b's [3990,4010) split over windows 3 and 4
    assert train["interval_ptr"].tolist() == [0, 1, 3, 4]
    assert train["intervals"].tolist() == [[0, 50, 300], [0, 0, 100], [1, 990, 1000], [1, 0, 10]]
    reader = SplitReader(out, "train")
    batch = next(iter(make_loader(BatchStream(reader, 3, shuffle=False), 0, False)))
    dense = dense_labels(batch["intervals"], 3, 2, w).numpy()
    assert dense.shape == (3, 2, w)
    assert dense[0, 0].nonzero()[0].tolist() == list(range(50, 300)) and dense[0, 1].sum() == 0
    assert dense[1, 0].nonzero()[0].tolist() == list(range(0, 100))
    assert dense[1, 1].nonzero()[0].tolist() == list(range(990, 1000)) and dense[2, 1].sum() == 10
    assert read_split(out, "test")["intervals"].tolist() == [[0, 10, 20]]
    # worker processes hand over blocks of batches; cut up again, each batch has its own intervals
    direct = [b["intervals"].tolist() for b in BatchStream(reader, 1, shuffle=False)]
    assert direct == [[[0, 0, 50, 300]], [[0, 0, 0, 100], [0, 1, 990, 1000]], [[0, 1, 0, 10]]]
    assert [b["intervals"].tolist() for b in make_loader(BatchStream(reader, 1, shuffle=False), 2, False)] == direct


# ---------------------------------------------------------------- dhs600
def test_dhs600_file_from_merged_features(tmp_path):
    fasta, sizes, seqs = make_genome(tmp_path, {"chr1": 8000, "chr7": 2000, "chr9": 3000})
    write_peaks(tmp_path, "c1", [("chr1", 900, 1100, 1.0), ("chr7", 700, 800, 1.0), ("chr9", 1000, 1200, 1.0)])
    write_peaks(tmp_path, "c2", [("chr1", 1250, 1350, 1.0), ("chr1", 5000, 5100, 1.0)])
    sheet = write_sheet(tmp_path, [("c1", "DNase"), ("c2", "DNase")])
    paths = [str(tmp_path / "peaks" / f"{n}.bed.gz") for n in ("c1", "c2")]
    sizes_map = {"chr1": 8000, "chr7": 2000, "chr9": 3000}
    write_merged(merge_peak_files(paths, sizes_map), ["c1", "c2"], tmp_path / "merged.bed", tmp_path / "act.tsv")
    out = tmp_path / "dhs600.h5"
    spec = {"builder": "dhs600", "size": 600,
            "split": split_spec(SplitRule(test_chroms=("chr9",), valid_region="chr7:1-2000"))}
    inputs = {"merged": str(tmp_path / "merged.bed"), "activity": str(tmp_path / "act.tsv"), "genome": str(fasta),
              "samples": str(sheet)}
    dhs600.build(spec, inputs, out)
    header = read_header(out)
    assert header["targets"] == ["c1", "c2"] and header["sizes"] == {"train": 2, "valid": 1, "test": 1}
    train = read_split(out, "train")
    assert train["start"].tolist() == [850, 4750]
    assert unpack_labels(train["labels"], 2).tolist() == [[1, 1], [0, 1]]
    assert decode(train["seq"][0]) == seqs["chr1"][850:1450]
    # the blacklist option leaves out features that touch it
    bl = tmp_path / "blacklist.bed"
    bl.write_text("chr1\t5300\t5400\n")
    dhs600.build({**spec, "exclude_blacklist": True}, {**inputs, "blacklist": str(bl)}, out)
    assert read_split(out, "train")["start"].tolist() == [850]
    spec = {**spec, "exclude_blacklist": True}
    files = {"merged_bed": tmp_path / "merged.bed", "activity": tmp_path / "act.tsv", "genome": fasta}
    assert stale_reasons(out, spec, files) == []
    assert stale_reasons(out, {**spec, "size": 500}, files) == ["parameters changed"]
    with open(tmp_path / "act.tsv", "a") as fh:
        fh.write("\n")
    assert stale_reasons(out, spec, files) == ["input activity changed"]
