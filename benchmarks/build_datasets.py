"""Benchmark: build the three data sets from a genome-scale synthetic input.

At scale 1 the input is what hg19 gives: a 3.1 Gbp genome in 24 chromosomes (hg19's lengths),
919 features for deepsea1000 / nuc25k (125 DNase files of ~100,000 peaks, 690 TF files of
~20,000, 104 histone files of ~50,000 broad peaks) and 164 DNase files of ~100,000 peaks for
dhs600 (the 125 plus 39 more). DNase and TF peaks sit around a shared pool of 2 million sites, as
they co-localise in real data (Basset merged 2.07 million DHSs from its 164 samples; DeepSEA has
about 2.6 million TF-bound bins); histone marks are placed at random; an unmappable-region track
covers ~6 % of the genome in 30-150 kb blocks. A scale below 1 shrinks the genome and the peak
counts, not the number of files.

Each build runs in its own process, as the pipeline runs it; the script prints wall time, peak
memory (the builder and its worker processes) and output size, and the floor: reading the genome
once and writing the same number of bytes once.

    python benchmarks/build_datasets.py --scale 1 --out /tmp/bench --workers 2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workflow_scripts.configuration import dataset_spec  # noqa: E402
from workflow_scripts.fasta import read_chrom_codes, read_fai, write_fasta_record  # noqa: E402
from workflow_scripts.io_utils import md5sum  # noqa: E402
from workflow_scripts.peak_files import COLUMNS, write_bed_gz  # noqa: E402

HG19 = [249_250_621, 243_199_373, 198_022_430, 191_154_276, 180_915_260, 171_115_067, 159_138_663,
        146_364_022, 141_213_431, 135_534_747, 135_006_516, 133_851_895, 115_169_878, 107_349_540,
        102_531_392, 90_354_753, 81_195_210, 78_077_248, 59_128_983, 63_025_520, 48_129_895, 51_304_566,
        155_270_560, 59_373_566]
NAMES = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
FEATURES = [("DNase", 125, 100_000, (150, 350)), ("TF", 690, 20_000, (200, 500)), ("Histone", 104, 50_000, (500, 5_000))]


def make_genome(out: Path, scale: float, rng) -> dict[str, int]:
    sizes = {n: max(30_000, int(l * scale)) for n, l in zip(NAMES, HG19)}
    letters = np.frombuffer(b"ACGT", np.uint8)
    fasta = out / "genome" / "genome.fa"
    fasta.parent.mkdir(parents=True, exist_ok=True)
    with open(fasta, "wb") as fh:
        for name, n in sizes.items():
            seq = letters[rng.integers(0, 4, n, dtype=np.uint8)]
            seq[: min(n // 100, 10_000)] = ord("N")                   # telomere gaps
            write_fasta_record(fh, name, seq)
    pysam.faidx(str(fasta))
    Path(str(fasta) + ".md5").write_text(f"{md5sum(fasta)}  genome.fa\n")
    (out / "genome" / "chrom.sizes").write_text("".join(f"{c}\t{n}\n" for c, n in sizes.items()))
    return sizes


def random_peaks(sizes, n, width, rng) -> pd.DataFrame:
    names = np.array(list(sizes))
    lengths = np.array(list(sizes.values()), dtype=np.int64)
    chrom = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    w = rng.integers(width[0], width[1], n)
    start = (rng.random(n) * (lengths[chrom] - w)).astype(np.int64)
    order = np.lexsort((start, chrom))
    return pd.DataFrame({"chrom": names[chrom][order], "start": start[order], "end": (start + w)[order],
                         "name": ".", "score": 0, "strand": ".", "signal": np.round(rng.gamma(3, 5, n), 3)})[COLUMNS]


def site_peaks(pool: pd.DataFrame, n: int, width, rng) -> pd.DataFrame:
    """n peaks around distinct sites of a shared pool (DNase and TF peaks co-localise in real data)."""
    pick = np.sort(rng.choice(len(pool), size=min(n, len(pool)), replace=False))
    w = rng.integers(width[0], width[1], len(pick))
    start = np.maximum(0, pool["centre"].to_numpy()[pick] + rng.integers(-50, 51, len(pick)) - w // 2)
    order = np.lexsort((start, pool["rank"].to_numpy()[pick]))        # genome order, as tabix wants
    return pd.DataFrame({"chrom": pool["chrom"].to_numpy()[pick][order], "start": start[order],
                         "end": (start + w)[order], "name": ".", "score": 0, "strand": ".",
                         "signal": np.round(rng.gamma(3, 5, len(pick)), 3)})[COLUMNS]


def make_peaks(out: Path, sizes, scale: float, rng) -> None:
    peaks = out / "peaks"
    peaks.mkdir(parents=True, exist_ok=True)
    # ~2 million regulatory sites at scale 1 (Basset merged 2.07 million DHSs from 164 samples)
    sites = random_peaks(sizes, int(2_000_000 * scale), (1, 2), rng)
    pool = pd.DataFrame({"chrom": sites["chrom"], "rank": sites["chrom"].map({c: i for i, c in enumerate(sizes)}),
                         "centre": np.clip(sites["start"], 1_000, None)})
    features, dnase = [], []
    for category, files, per_file, width in FEATURES:
        for i in range(files):
            name = f"{category}_{i:03d}"
            n = max(10, int(per_file * scale))
            table = random_peaks(sizes, n, width, rng) if category == "Histone" else site_peaks(pool, n, width, rng)
            write_bed_gz(table, peaks / f"{name}.bed.gz")
            features.append((name, category))
            if category == "DNase":
                dnase.append(name)
    for i in range(39):                                               # Roadmap's extra DNase samples
        name = f"DNase_roadmap_{i:02d}"
        write_bed_gz(site_peaks(pool, max(10, int(100_000 * scale)), (150, 350), rng), peaks / f"{name}.bed.gz")
        dnase.append(name)
    sheet = "name\tcategory\turl\n"
    (out / "features.tsv").write_text(sheet + "".join(f"{n}\t{c}\thttp://x/{n}\n" for n, c in features))
    (out / "dnase164.tsv").write_text(sheet + "".join(f"{n}\tDNase\thttp://x/{n}\n" for n in dnase))
    mask = random_peaks(sizes, max(10, int(2_000 * scale)), (30_000, 150_000), rng)   # ~6 %, in blocks
    mask[["chrom", "start", "end"]].to_csv(out / "unmappable.bed", sep="\t", header=False, index=False)


def run_dataset(name: str, spec: dict, inputs: dict, output: Path, workers: int) -> dict:
    """Build one data set through the pipeline's own stage (``workflow_scripts.build_dataset``)."""
    return run_module("build_dataset", ["--name", name, "--spec", json.dumps(dataset_spec(name, spec)),
                                        "--inputs", json.dumps(inputs), "--output", str(output),
                                        "--workers", str(workers)])


def run_module(name: str, args: list[str]) -> dict:
    """Run one stage module in a fresh process; wall time and peak memory of it and its workers."""
    code = ("import importlib, json, resource, sys, time\n"
            "from workflow_scripts import cli\n"
            "module = importlib.import_module(sys.argv[1]); t = time.time()\n"
            "cli.run(module.main, module.build_parser(), sys.argv[2:])\n"
            "print('BENCH', json.dumps({'seconds': time.time() - t,"
            " 'self_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
            " 'children_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))")
    done = subprocess.run([sys.executable, "-c", code, f"workflow_scripts.{name}", *args], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    line = next(l for l in done.stdout.splitlines() if l.startswith("BENCH"))
    return json.loads(line.split(" ", 1)[1])


def floor_seconds(fasta: Path, out_bytes: int, scratch: Path) -> float:
    """Reading the genome once plus writing out_bytes once (the physical floor)."""
    t = time.time()
    fai = read_fai(fasta)
    for chrom in fai:
        read_chrom_codes(fasta, chrom, fai)
    block = np.zeros(1 << 26, np.uint8)
    with open(scratch, "wb") as fh:
        for _ in range(max(1, out_bytes // len(block))):
            fh.write(block)
        fh.flush()
        os.fsync(fh.fileno())
    scratch.unlink()
    return time.time() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--out", default="benchmarks/out")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reuse", action="store_true", help="keep an input made earlier at this scale")
    args = p.parse_args()
    out = Path(args.out)
    rng = np.random.default_rng(args.seed)
    t = time.time()
    if not (args.reuse and (out / "features.tsv").exists()):
        sizes = make_genome(out, args.scale, rng)
        make_peaks(out, sizes, args.scale, rng)
    setup = time.time() - t
    fasta, sizes_path = out / "genome" / "genome.fa", out / "genome" / "chrom.sizes"
    valid_region = f"chr7:{int(30_508_751 * args.scale)}-{int(35_296_850 * args.scale)}"   # DeepSEA's, scaled
    split = {"mode": "chromosome", "test_chroms": ["chr8", "chr9"], "valid_region": valid_region, "valid_count": 4000}
    by_name = {f.name.removesuffix(".bed.gz"): str(f) for f in (out / "peaks").glob("*.bed.gz")}
    features = [l.split("\t")[0] for l in (out / "features.tsv").read_text().splitlines()[1:]]
    dnase = [l.split("\t")[0] for l in (out / "dnase164.tsv").read_text().splitlines()[1:]]
    common = {"genome": str(fasta), "sizes": str(sizes_path)}
    results = {}
    results["dhs600 (merge)"] = run_module("merge_peaks", [
        "--samples", str(out / "dnase164.tsv"), "--peaks", *[by_name[n] for n in dnase],
        "--chrom-sizes", str(sizes_path), "--merged-bed", str(out / "dhs600" / "merged.bed"),
        "--activity", str(out / "dhs600" / "activity.tsv"), "--workers", str(args.workers)])
    results["dhs600 (h5)"] = run_dataset(
        "dhs600", {"builder": "dhs600", "samples": str(out / "dnase164.tsv"),
                   "split": {"mode": "random", "test_count": int(71886 * args.scale),
                             "valid_count": int(70000 * args.scale)}},
        {**common, "samples": str(out / "dnase164.tsv"), "merged": str(out / "dhs600" / "merged.bed"),
         "activity": str(out / "dhs600" / "activity.tsv")}, out / "dhs600.h5", args.workers)
    feature_inputs = {**common, "samples": str(out / "features.tsv"), "peaks": [by_name[n] for n in features]}
    results["deepsea1000"] = run_dataset(
        "deepsea1000", {"builder": "deepsea1000", "samples": str(out / "features.tsv"), "split": split},
        feature_inputs, out / "deepsea1000.h5", args.workers)
    results["nuc25k"] = run_dataset(
        "nuc25k", {"builder": "nuc25k", "samples": str(out / "features.tsv"), "split": split},
        {**feature_inputs, "unmappable": str(out / "unmappable.bed")}, out / "nuc25k.h5", args.workers)
    outputs = {"dhs600 (merge)": [out / "dhs600" / "merged.bed", out / "dhs600" / "activity.tsv"],
               "dhs600 (h5)": [out / "dhs600.h5"], "deepsea1000": [out / "deepsea1000.h5"], "nuc25k": [out / "nuc25k.h5"]}
    genome_gb = fasta.stat().st_size / 1e9
    print(f"scale {args.scale}: genome {genome_gb:.2f} GB, 919 + 39 peak files; input made in {setup:.0f} s\n")
    print(f"{'build':16s} {'seconds':>8s} {'peak MB':>9s} {'output MB':>10s} {'floor s':>8s}")
    report = {}
    for name, r in results.items():
        size = sum(f.stat().st_size for f in outputs[name])
        floor = floor_seconds(fasta, size, out / "floor.tmp") if name != "dhs600 (merge)" else float("nan")
        peak = max(r["self_mb"], r["children_mb"])
        print(f"{name:16s} {r['seconds']:8.1f} {peak:9.0f} {size / 1e6:10.1f} {floor:8.1f}")
        report[name] = {**r, "peak_mb": peak, "output_mb": size / 1e6, "floor_s": floor}
    (out / "results.json").write_text(json.dumps({"scale": args.scale, "builds": report}, indent=2))


if __name__ == "__main__":
    main()
