"""Reading peak files (library): every supported dialect in, clean genome-ordered peaks out.

Reads ENCODE narrowPeak (10 columns), broadPeak (9), Roadmap hotspot ``peaks.bed`` and any
plain BED3+ file, gzipped or not (decided by content, not by name); ``track``, ``browser``,
``#`` and empty lines are skipped, and a UTF-8 byte-order mark at the start of the file is
ignored. :func:`read_peaks` is what the stage ``normalise_peaks`` (and the masks) run on
downloaded files; :func:`write_bed_gz` writes that stage's output format and :func:`load_peaks`
reads it back into arrays.

Rules: chromosome names are mapped by the configured style (``1 <-> chr1``, ``MT <-> chrM``);
peaks on chromosomes outside the prepared genome are dropped and counted; peaks running past a
chromosome end are clipped and counted; a signal that is not a finite number is -1 ("no
signal"), counted. A malformed line (fewer than 3 columns, non-integer coordinates, negative
start, start > end) is an error naming the file, the line number and the line, unless
``on_malformed: skip`` turns it into a counted skip. An empty peak file (no data lines) is an
error unless the sample is ``allow_empty``. A file with data lines none of which is kept (e.g.
every chromosome is ``1``, ``2`` while the genome has ``chr1``, or another assembly) is an error
even for an ``allow_empty`` sample: almost surely a naming or assembly mistake; the message lists
the most frequent dropped chromosome names next to the genome's. A missing, truncated or corrupt
gzip file, or a file compressed some other way (bzip2, xz, zip, zstd), is an error too. Every
error names the file read (and line) and, when given, the ``source`` (what the user wrote).
"""
from __future__ import annotations

import gzip
import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from workflow_scripts.cli import InputError, located
from workflow_scripts.fasta import normalise_chrom
from workflow_scripts.io_utils import atomic_output, open_text

COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal"]
BOM = "\ufeff"
OTHER_ARCHIVES = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip",
                  b"\x28\xb5\x2f\xfd": "zstd"}


@dataclass
class PeakTable:
    """Peaks of one file in genome order plus the per-reason counts."""
    peaks: pd.DataFrame
    counts: Counter
    dropped_chroms: Counter = field(default_factory=Counter)   # (name in file, name mapped) -> n


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
    strand = cells[5].strip() if len(cells) > 5 and cells[5].strip() in ("+", "-") else "."
    if len(cells) in (9, 10) and _number(cells[6]) is not None:
        signal = float(cells[6])                          # narrowPeak / broadPeak signalValue
    else:
        signal = score if score is not None else -1.0     # hotspot / BED5 score
    return chrom, start, end, int(score) if score is not None and score.is_integer() else 0, strand, signal


def _with_source(err: InputError, source: str | None) -> InputError:
    """``err`` with a line naming what the user wrote (sample, sheet line, URL), if given."""
    return InputError(f"{err}\n  source: {source}") if source else err


def _check_readable(path: str | Path) -> None:
    """Refuse a missing file and archives that are not gzip (only plain and gzip/bgzip are read)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise InputError(f"{path}: peak file not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read the peak file: {err.strerror or err}") from None
    for magic, kind in OTHER_ARCHIVES.items():
        if head.startswith(magic):
            raise InputError(f"{path}: the file is {kind}-compressed; only plain or gzip/bgzip peak "
                             f"files are read: decompress it (or recompress it with gzip)")


def _numbered_lines(path: str | Path):
    """(line number, line) of a plain or gzip file; a broken gzip stream becomes an InputError."""
    number = 0
    try:
        with open_text(path) as fh:
            for number, line in enumerate(fh, start=1):
                yield number, line
    except EOFError:
        raise located(path, number + 1, "truncated gzip file: it ends in the middle of its compressed "
                      "data (an incomplete download?); delete it and download it again") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise located(path, number + 1, f"corrupt gzip file ({err}); delete it and download it "
                      f"again") from None


def _no_peak_kept(path, counts: Counter, dropped: Counter, chrom_sizes: dict[str, int], naming: str,
                  naming_setting: str) -> InputError:
    """The error for a file whose data lines all fell outside the genome (or were skipped)."""
    parts = []
    if counts["dropped_chrom_not_selected"]:
        top = ", ".join(f"{raw!r}" + (f" (as {mapped!r})" if mapped != raw else "") + f" {n}"
                        for (raw, mapped), n in dropped.most_common(5))
        more = f" and {len(dropped) - 5} more names" if len(dropped) > 5 else ""
        parts.append(f"{counts['dropped_chrom_not_selected']} on chromosomes not in the genome "
                     f"(most frequent: {top}{more})")
    if counts["dropped_past_chrom_end"]:
        parts.append(f"{counts['dropped_past_chrom_end']} starting past their chromosome's end")
    if counts["skipped_malformed"]:
        parts.append(f"{counts['skipped_malformed']} malformed and skipped")
    genome = ", ".join(list(chrom_sizes)[:5]) + (", ..." if len(chrom_sizes) > 5 else "")
    return InputError(
        f"{path}: none of its {counts['lines_read']} peak lines was kept: {'; '.join(parts)}; "
        f"the genome has {len(chrom_sizes)} chromosome(s): {genome}. Check the chromosome naming "
        f"(`{naming_setting}`: ucsc, ensembl or as_is; now {naming}) and that the file is for "
        f"the genome's assembly")


def read_peaks(path: str | Path, chrom_sizes: dict[str, int], *, naming: str = "ucsc",
               on_malformed: str = "error", allow_empty: bool = False, source: str | None = None,
               naming_setting: str = "peaks: {naming: ...}") -> PeakTable:
    """Read one peak file of any supported dialect into genome-ordered, clipped peaks.

    Bad input raises :class:`InputError` naming ``path`` (and line) and, when given, ``source``
    (what the user wrote: sample, sheet line, URL). A file without data lines is an error unless
    ``allow_empty``; a file with data lines none of which is kept is an error even then (almost
    surely a naming or assembly mistake); ``naming_setting`` is the setting the message points to.
    """
    try:
        return _read_peaks(path, chrom_sizes, naming, on_malformed, allow_empty, naming_setting)
    except InputError as err:
        raise _with_source(err, source) from None


def _read_peaks(path, chrom_sizes, naming, on_malformed, allow_empty, naming_setting) -> PeakTable:
    counts: Counter = Counter()
    dropped: Counter = Counter()
    rows = []
    _check_readable(path)
    for number, line in _numbered_lines(path):
        if number == 1 and line.startswith(BOM):
            line = line[len(BOM):]
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "track", "browser")):
            counts["header_or_comment_lines"] += 1
            continue
        counts["lines_read"] += 1
        try:
            raw, start, end, score, strand, signal = parse_peak_line(line.rstrip("\r\n").split("\t"))
        except ValueError as err:
            if on_malformed == "skip":
                counts["skipped_malformed"] += 1
                continue
            hint = ("" if "\x00" not in line and "\ufffd" not in line else
                    " (the file holds binary data, not text: is it a peak file? check the URL, "
                    "delete the file and download it again)")
            raise located(path, number, f"malformed peak line: {err}{hint}", line) from None
        chrom = normalise_chrom(raw, naming)
        size = chrom_sizes.get(chrom)
        if size is None:
            counts["dropped_chrom_not_selected"] += 1
            dropped[raw, chrom] += 1
            continue
        if start >= size:
            counts["dropped_past_chrom_end"] += 1
            continue
        if end > size:
            counts["clipped_at_chrom_end"] += 1
            end = size
        if not math.isfinite(signal):
            counts["signal_not_finite"] += 1
            signal = -1.0
        rows.append((chrom, start, end, score, strand, signal))
    if counts["lines_read"] == 0 and not allow_empty:
        raise InputError(f"{path}: peak file has no peaks (mark the sample allow_empty=yes "
                         f"in its sample sheet if that is expected)")
    if counts["lines_read"] > 0 and not rows:
        raise _no_peak_kept(path, counts, dropped, chrom_sizes, naming, naming_setting)
    order = {c: i for i, c in enumerate(chrom_sizes)}
    peaks = pd.DataFrame(rows, columns=["chrom", "start", "end", "score", "strand", "signal"])
    peaks["name"] = "."
    peaks = peaks[COLUMNS]
    rank = peaks["chrom"].map(order).to_numpy()
    idx = np.lexsort((peaks["end"].to_numpy(), peaks["start"].to_numpy(), rank))
    peaks = peaks.iloc[idx].reset_index(drop=True)
    counts["kept"] = len(peaks)
    return PeakTable(peaks, counts, dropped)


def load_peaks(path: str | Path, chrom_index: dict[str, int], min_signal: float | None = None) -> dict:
    """Read a normalised peak file (this stage's output) into arrays, in genome order.

    ``chrom`` is the index into ``chrom_index``; peaks whose signal is below ``min_signal`` are
    left out (signal -1, "not available", never passes a threshold). An empty or non-finite
    signal (written by older versions of this stage for ``nan``) is read as -1.
    """
    table = pd.read_csv(path, sep="\t", header=None, names=COLUMNS, compression="gzip",
                        usecols=["chrom", "start", "end", "strand", "signal"],
                        dtype={"chrom": str, "start": np.int64, "end": np.int64, "strand": str,
                               "signal": np.float64})
    signal = table["signal"].to_numpy()
    table["signal"] = np.where(np.isfinite(signal), signal, -1.0)
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
