"""Stage ``prepare_masks``: the blacklist and the multi-mapped-region track as clean BED files.

* ``results/genome/blacklist.bed`` — the ENCODE blacklist (v2 for hg19), on the selected
  chromosomes, names normalised, sorted and merged;
* ``results/genome/unmappable.bed`` — regions where reads map to several places, used by the
  nuc25k window filter. From a BED of unmappable regions (the default for hg19: Basenji's
  ``unmap_macro.bed``, a ready 270 Mbp track that already includes the DAC blacklist), or from a
  mappability bigWig: bases with a score below ``threshold`` (e.g. 1.0 for the CRG/GEM
  "Align36mer" track, where 1 means unique) become unmappable.

Both are read with the peak reader (any BED dialect, gzipped or not, chromosome names mapped,
lines past chromosome ends clipped) and merged with bedtools (through pybedtools).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pybedtools

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import read_chrom_sizes
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.peak_files import read_peaks

log = cli.log.getChild("masks")


def merged_bed(intervals: pd.DataFrame, chrom_sizes: dict[str, int], dest: Path) -> int:
    """Sort (genome order) and merge intervals with bedtools; write them as BED3."""
    with atomic_output(dest) as tmp:
        genome = tmp.with_name(tmp.name + ".genome")      # bedtools sort -g: genome order
        try:
            genome.write_text("".join(f"{c}\t{n}\n" for c, n in chrom_sizes.items()))
            if len(intervals):
                bt = pybedtools.BedTool.from_dataframe(intervals[["chrom", "start", "end"]])
                bt.sort(g=str(genome)).merge().saveas(str(tmp))
            else:
                tmp.write_text("")
        finally:
            genome.unlink(missing_ok=True)
            pybedtools.cleanup()
    return sum(1 for _ in open(dest))


def bigwig_below(path: Path, chrom_sizes: dict[str, int], threshold: float, naming: str) -> pd.DataFrame:
    """Intervals where a bigWig's value is below ``threshold`` (missing values count as below)."""
    import pyBigWig
    from workflow_scripts.fasta import normalise_chrom
    bw = pyBigWig.open(str(path))
    if bw is None or not bw.isBigWig():
        raise InputError(f"{path}: not a bigWig file")
    rows = []
    for raw, length in bw.chroms().items():
        chrom = normalise_chrom(raw, naming)
        if chrom not in chrom_sizes:
            continue
        values = np.nan_to_num(bw.values(raw, 0, min(length, chrom_sizes[chrom]), numpy=True), nan=-1.0)
        low = np.concatenate([[False], values < threshold, [False]])
        edges = np.flatnonzero(np.diff(low.astype(np.int8)))
        rows += [(chrom, int(s), int(e)) for s, e in zip(edges[0::2], edges[1::2])]
    bw.close()
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def prepare_mask(source: Path, chrom_sizes: dict[str, int], dest: Path, *, fmt: str = "bed",
                 threshold: float = 1.0, naming: str = "ucsc") -> int:
    if fmt == "bigwig":
        intervals = bigwig_below(source, chrom_sizes, threshold, naming)
    else:
        intervals = read_peaks(source, chrom_sizes, naming=naming, allow_empty=True,
                               naming_setting="genome: {naming: ...}").peaks
    n = merged_bed(intervals, chrom_sizes, dest)
    log.info("%s -> %s: %d merged regions", source, dest, n)
    return n


def main(args) -> None:
    sizes = read_chrom_sizes(args.chrom_sizes)
    if args.input is None:          # the configuration gives no such mask: an empty one
        merged_bed(pd.DataFrame(columns=["chrom", "start", "end"]), sizes, Path(args.output))
        log.info("no mask configured: %s is empty", args.output)
        return
    prepare_mask(Path(args.input), sizes, Path(args.output), fmt=args.format, threshold=args.threshold,
                 naming=args.naming)


def build_parser():
    p = cli.parser("Prepare a mask (blacklist or unmappable regions) as a sorted, merged BED.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="BED (any peak-file dialect) or bigWig")
    source.add_argument("--none", action="store_true", help="no mask: write an empty BED")
    p.add_argument("--chrom-sizes", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--format", choices=["bed", "bigwig"], default="bed")
    p.add_argument("--threshold", type=float, default=1.0, help="bigWig: values below are unmappable")
    p.add_argument("--naming", default="ucsc", choices=["ucsc", "ensembl", "as_is"])
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
