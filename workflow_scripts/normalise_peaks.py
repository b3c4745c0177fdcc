"""Stage ``normalise_peaks``: one downloaded peak file -> sorted, bgzipped, tabix-indexed BED.

The reading rules (dialects, chromosome naming, what is dropped, clipped, counted or refused)
are those of :mod:`workflow_scripts.peak_files`.

Output ``results/peaks/{name}.bed.gz`` (+ ``.tbi``), sorted in genome order, columns::

    chrom  start  end  name  score  strand  signal

``name`` is ``.``; ``score`` the input's BED score (0 when absent); ``strand`` ``+``, ``-`` or
``.``; ``signal`` the narrowPeak/broadPeak signalValue, else a numeric BED score, else -1
("no signal"; a signal that is not a finite number is written as -1 too, and counted).

``results/peaks/{name}.counts.tsv`` lists ``reason<TAB>count``: lines read, peaks kept, and
peaks dropped or changed by reason (chromosome not selected, starting past the chromosome end,
clipped at the chromosome end, signal not finite and written as -1, malformed lines skipped).

Every error names the file read (and line); ``--source`` (e.g. ``sample DNase_C01 from
config/demo/samples_dhs600.tsv:4 (url ...)``) adds what the user wrote, since the file read is
usually the download cache's copy.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path


from workflow_scripts import cli
from workflow_scripts.fasta import read_chrom_sizes
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.peak_files import read_peaks, write_bed_gz

log = cli.log.getChild("normalise_peaks")


def write_counts(counts: Counter, dest: Path) -> None:
    order = ["lines_read", "kept", "dropped_chrom_not_selected", "dropped_past_chrom_end",
             "clipped_at_chrom_end", "signal_not_finite", "skipped_malformed", "header_or_comment_lines"]
    with atomic_output(dest) as tmp:
        tmp.write_text("reason\tcount\n" + "".join(f"{k}\t{counts.get(k, 0)}\n" for k in order))


def main(args) -> None:
    sizes = read_chrom_sizes(args.chrom_sizes)
    table = read_peaks(args.input, sizes, naming=args.naming, on_malformed=args.on_malformed,
                       allow_empty=args.allow_empty, source=args.source)
    write_bed_gz(table.peaks, Path(args.output))
    write_counts(table.counts, Path(args.counts))
    log.info("%s: %s", args.input, dict(table.counts))


def build_parser():
    p = cli.parser("Normalise one peak file into a sorted, bgzipped, tabix-indexed BED.")
    p.add_argument("--input", required=True)
    p.add_argument("--chrom-sizes", required=True)
    p.add_argument("--output", required=True, help="…/{name}.bed.gz")
    p.add_argument("--counts", required=True, help="…/{name}.counts.tsv")
    p.add_argument("--naming", default="ucsc", choices=["ucsc", "ensembl", "as_is"])
    p.add_argument("--on-malformed", default="error", choices=["error", "skip"])
    p.add_argument("--allow-empty", action="store_true")
    p.add_argument("--source", metavar="TEXT",
                   help="what the user wrote, named in every error next to the file read, e.g. "
                        "'sample DNase_C01 from config/demo/samples_dhs600.tsv:4 (url ...)'")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
