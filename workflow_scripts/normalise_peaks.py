"""Stage ``normalise_peaks``: one downloaded peak file -> sorted, bgzipped, tabix-indexed BED.

Reads ENCODE narrowPeak (10 columns), broadPeak (9), Roadmap hotspot ``peaks.bed`` and any
plain BED3+ file, gzipped or not; ``track``, ``browser``, ``#`` and empty lines are skipped.

Output ``results/peaks/{name}.bed.gz`` (+ ``.tbi``), sorted in genome order, columns::

    chrom  start  end  name  score  strand  signal

``name`` is ``.``; ``score`` the input's BED score (0 when absent); ``strand`` ``+``, ``-`` or
``.``; ``signal`` the narrowPeak/broadPeak signalValue, else a numeric BED score, else -1.

``results/peaks/{name}.counts.tsv`` lists ``reason<TAB>count``: lines read, peaks kept, and
peaks dropped or changed by reason (chromosome not selected, starting past the chromosome end,
clipped at the chromosome end, malformed lines skipped).

Rules: chromosome names are mapped by the configured style (``1 <-> chr1``, ``MT <-> chrM``);
peaks on chromosomes outside the prepared genome are dropped and counted; peaks running past a
chromosome end are clipped and counted. A malformed line (fewer than 3 columns, non-integer
coordinates, negative start, start > end) stops the job with an error naming the file, the line
number and the line, unless ``on_malformed: skip`` turns it into a counted skip. An empty peak
file is an error unless the sample sheet marks it ``allow_empty``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from workflow_scripts import cli
from workflow_scripts.cli import InputError, located
from workflow_scripts.genome import normalise_chrom, read_chrom_sizes
from workflow_scripts.io_utils import atomic_output, open_text

log = cli.log.getChild("normalise_peaks")
COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal"]


@dataclass
class PeakTable:
    """Peaks of one file in genome order plus the per-reason counts."""
    peaks: pd.DataFrame
    counts: Counter


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_peak_line(cells: list[str]) -> tuple[str, int, int, int, str, float]:
    """(chrom, start, end, score, strand, signal) of one data line; ValueError says what is wrong."""
    if len(cells) < 3:
        raise ValueError(f"expected at least 3 tab-separated columns, found {len(cells)}")
    chrom = cells[0].strip()
    if not chrom:
        raise ValueError("empty chromosome name")
    try:
        start, end = int(cells[1]), int(cells[2])
    except ValueError:
        raise ValueError(f"start and end must be integers, got {cells[1]!r} and {cells[2]!r}") from None
    if start < 0:
        raise ValueError(f"negative start {start}")
    if start > end:
        raise ValueError(f"start {start} is greater than end {end}")
    score = _number(cells[4]) if len(cells) > 4 else None
    strand = cells[5].strip() if len(cells) > 5 and cells[5].strip() in "+-" and cells[5].strip() else "."
    if len(cells) in (9, 10) and _number(cells[6]) is not None:
        signal = float(cells[6])                          # narrowPeak / broadPeak signalValue
    else:
        signal = score if score is not None else -1.0     # hotspot / BED5 score
    return chrom, start, end, int(score) if score is not None and score.is_integer() else 0, strand, signal


def read_peaks(path: str | Path, chrom_sizes: dict[str, int], *, naming: str = "ucsc",
               on_malformed: str = "error", allow_empty: bool = False) -> PeakTable:
    """Read one peak file of any supported dialect into genome-ordered, clipped peaks."""
    counts: Counter = Counter()
    rows = []
    with open_text(path) as fh:
        for number, line in enumerate(fh, start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith(("#", "track", "browser")):
                counts["header_or_comment_lines"] += 1
                continue
            counts["lines_read"] += 1
            try:
                chrom, start, end, score, strand, signal = parse_peak_line(line.rstrip("\r\n").split("\t"))
            except ValueError as err:
                if on_malformed == "skip":
                    counts["skipped_malformed"] += 1
                    continue
                raise located(path, number, f"malformed peak line: {err}", line) from None
            chrom = normalise_chrom(chrom, naming)
            size = chrom_sizes.get(chrom)
            if size is None:
                counts["dropped_chrom_not_selected"] += 1
                continue
            if start >= size:
                counts["dropped_past_chrom_end"] += 1
                continue
            if end > size:
                counts["clipped_at_chrom_end"] += 1
                end = size
            rows.append((chrom, start, end, score, strand, signal))
    if counts["lines_read"] == 0 and not allow_empty:
        raise InputError(f"{path}: peak file has no peaks (mark the sample allow_empty=yes "
                         f"in its sample sheet if that is expected)")
    order = {c: i for i, c in enumerate(chrom_sizes)}
    peaks = pd.DataFrame(rows, columns=["chrom", "start", "end", "score", "strand", "signal"])
    peaks["name"] = "."
    peaks = peaks[COLUMNS]
    rank = peaks["chrom"].map(order).to_numpy()
    idx = np.lexsort((peaks["end"].to_numpy(), peaks["start"].to_numpy(), rank))
    peaks = peaks.iloc[idx].reset_index(drop=True)
    counts["kept"] = len(peaks)
    return PeakTable(peaks, counts)


def load_peaks(path: str | Path, chrom_index: dict[str, int], min_signal: float | None = None) -> dict:
    """Read a normalised peak file (this stage's output) into arrays, in genome order.

    ``chrom`` is the index into ``chrom_index``; peaks whose signal is below ``min_signal`` are
    left out (signal -1, "not available", never passes a threshold).
    """
    table = pd.read_csv(path, sep="\t", header=None, names=COLUMNS, compression="gzip",
                        usecols=["chrom", "start", "end", "strand", "signal"],
                        dtype={"chrom": str, "start": np.int64, "end": np.int64, "strand": str,
                               "signal": np.float64})
    chrom = table["chrom"].map(chrom_index)
    if chrom.isna().any():
        bad = table["chrom"][chrom.isna()].iloc[0]
        raise InputError(f"{path}: chromosome {bad!r} is not in the prepared genome")
    keep = np.ones(len(table), dtype=bool) if min_signal is None else table["signal"].to_numpy() >= min_signal
    return {"chrom": chrom.to_numpy(np.int32)[keep], "start": table["start"].to_numpy()[keep],
            "end": table["end"].to_numpy()[keep], "strand": table["strand"].to_numpy(str)[keep],
            "signal": table["signal"].to_numpy()[keep]}


def write_bed_gz(peaks: pd.DataFrame, dest: Path) -> None:
    """Write peaks as bgzipped BED with a tabix index, both appearing only when complete."""
    with atomic_output(dest, suffix=".gz") as gz:
        plain = gz.with_name(gz.name + ".bed")
        try:
            peaks.to_csv(plain, sep="\t", header=False, index=False, float_format="%.6g")
            pysam.tabix_compress(str(plain), str(gz), force=True)
        finally:
            plain.unlink(missing_ok=True)
        pysam.tabix_index(str(gz), preset="bed", force=True)
        Path(str(gz) + ".tbi").replace(str(dest) + ".tbi")


def write_counts(counts: Counter, dest: Path) -> None:
    order = ["lines_read", "kept", "dropped_chrom_not_selected", "dropped_past_chrom_end",
             "clipped_at_chrom_end", "skipped_malformed", "header_or_comment_lines"]
    with atomic_output(dest) as tmp:
        tmp.write_text("reason\tcount\n" + "".join(f"{k}\t{counts.get(k, 0)}\n" for k in order))


def main(args) -> None:
    sizes = read_chrom_sizes(args.chrom_sizes)
    table = read_peaks(args.input, sizes, naming=args.naming, on_malformed=args.on_malformed,
                       allow_empty=args.allow_empty)
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
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
