"""Reading variants (library): a VCF (plain or bgzipped) or a TSV ``chrom pos ref alt``, streamed.

VCF: the first five columns (CHROM, POS, ID, REF, ALT); POS is 1-based and an indel's alleles
include the anchor base before the event, as the VCF specification writes them. TSV: tab-separated
with a header naming at least ``chrom pos ref alt`` in any case and order (an ``id`` column is used
when present, other columns are ignored: Kircher et al.'s MPRA table reads as it is), or without
a header exactly those four columns; ``-`` is an empty allele (a deletion's ALT, an insertion's
REF) and POS is the 1-based position of the first REF base.

Every ALT of a multi-allelic record is a variant of its own. Alleles that cannot be scored are
skipped and counted by reason (:data:`SKIP_REASONS`), never silently: ALT ``.`` (no alternative),
ALT equal to REF,
``*`` (an allele of an overlapping deletion), symbolic (``<DEL>``, breakends) and alleles longer
than ``max_indel`` + 1 bases. A malformed line (not enough columns, a POS that is not a positive
number, letters other than ACGTN) stops the run with ``file:line``; with ``on_malformed="skip"``
it is counted (``malformed``) and the first 20 are listed with ``file:line``.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import open_text

SKIP_REASONS = {
    "no_alt": "ALT is '.' (no alternative allele)",
    "no_change": "ALT equals REF",
    "star_allele": "ALT is '*' (the allele of an overlapping deletion)",
    "symbolic": "symbolic ALT (<DEL>, <INS>, breakends)",
    "indel_too_long": "an allele longer than max_indel + 1 bases (a VCF indel's anchor base + max_indel)",
    "unknown_chrom": "chromosome not in the genome (as given, or in UCSC/Ensembl style)",
    "outside_chrom": "REF runs past the chromosome's end",
    "ref_mismatch": "REF differs from the genome (policy: skip)",
    "malformed": "a malformed line (on_malformed: skip; the first 20 are listed)",
}
BASES = re.compile(r"[ACGTNacgtn]*")


@dataclass(frozen=True)
class Variant:
    chrom: str          # as written in the input
    pos: int            # 1-based position of REF's first base
    id: str
    ref: str            # upper case; "" for an empty allele
    alt: str
    line: int           # line number in the input


def is_vcf(path: str | Path) -> bool:
    name = str(path).lower()
    if re.search(r"\.vcf(\.b?gz)?$", name):
        return True
    with open_text(path) as handle:
        first = handle.readline()
    return first.startswith("##fileformat=VCF") or first.startswith("#CHROM")


class VariantReader:
    """Variants of one file in input order, in lists of at most ``chunk_size``; ``skipped`` and
    ``counts`` (records, alleles, multiallelic) fill as the file is read. ``first`` and ``stop``
    restrict the read to data records ``[first, stop)`` (0-based), for scattered jobs; a malformed
    record counts as one allele."""

    def __init__(self, path: str | Path, *, max_indel: int, chunk_size: int = 10_000,
                 first: int = 0, stop: int | None = None, on_malformed: str = "error"):
        self.path, self.max_indel, self.chunk_size = Path(path), max_indel, chunk_size
        if on_malformed not in ("error", "skip"):
            raise InputError(f"on_malformed: {on_malformed!r} is not error or skip")
        self.on_malformed, self.malformed_examples = on_malformed, []
        if not self.path.is_file():
            raise InputError(f"{path}: no such file (a VCF or a TSV chrom pos ref alt)")
        self.first, self.stop = first, stop
        self.vcf = is_vcf(path)
        self.skipped: Counter = Counter()
        self.counts: Counter = Counter()

    def __iter__(self) -> Iterator[list[Variant]]:
        chunk: list[Variant] = []
        for variant in self._variants():
            chunk.append(variant)
            if len(chunk) == self.chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _records(self) -> Iterator[tuple[int, str, list[str]]]:
        """(line number, line, cells) of the data records in range."""
        index = -1
        columns = None
        with open_text(self.path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or line.startswith("##"):
                    continue
                cells = line.rstrip("\r\n").split("\t")
                if self.vcf and line.startswith("#"):
                    continue
                if not self.vcf and columns is None:
                    columns = self._tsv_columns(cells, number, line)
                    if columns["header"]:
                        continue
                index += 1
                if index < self.first:
                    continue
                if self.stop is not None and index >= self.stop:
                    return
                if self.vcf:
                    yield number, line, cells
                    continue
                yield number, line, [("." if i is None else cells[i] if i < len(cells) else None)
                                     for i in columns["order"]]

    def _tsv_columns(self, cells: list[str], number: int, line: str) -> dict:
        names = [c.strip().lower().lstrip("#") for c in cells]
        if {"chrom", "pos", "ref", "alt"} <= set(names):
            pick = {n: names.index(n) for n in ("chrom", "pos", "ref", "alt")}
            ident = names.index("id") if "id" in names else None
            return {"header": True, "order": [pick["chrom"], pick["pos"], ident, pick["ref"], pick["alt"]]}
        if len(cells) < 4:
            raise cli.located(self.path, number, "expected a header naming chrom, pos, ref and alt, or "
                              "four tab-separated columns: chrom pos ref alt", line)
        return {"header": False, "order": [0, 1, None, 2, 3]}

    def _variants(self) -> Iterator[Variant]:
        for number, line, cells in self._records():
            self.counts["records"] += 1
            try:
                yield from self._record(number, line, cells)
            except InputError as err:
                if self.on_malformed == "error":
                    raise
                self.skipped["malformed"] += 1
                self.counts["alleles"] += 1
                if len(self.malformed_examples) < 20:
                    self.malformed_examples.append(str(err).split("\n")[0])

    def _record(self, number: int, line: str, cells: list) -> Iterator[Variant]:
        if len(cells) < 5 or None in cells[:5]:
            raise cli.located(self.path, number, "expected at least 5 tab-separated columns (CHROM POS ID REF "
                              "ALT)" if self.vcf else "expected a chrom, pos, ref and alt column", line)
        chrom, pos, ident, ref, alts = (c.strip() for c in cells[:5])
        if not re.fullmatch(r"[0-9]+", pos) or int(pos) < 1:
            raise cli.located(self.path, number, f"POS {pos!r} is not a positive whole number", line)
        ref = self._allele(ref, number, line, "REF")
        alts = [(alt, self._skip_reason(alt)) for alt in alts.split(",")]
        alts = [(self._allele(alt, number, line, "ALT") if reason is None else alt, reason) for alt, reason in alts]
        if len(alts) > 1:
            self.counts["multiallelic"] += 1
        ident = re.sub(r"[\s;]", "_", ident)                              # a VCF ID has no blanks or ';'
        for alt, reason in alts:                       # (validated first: a bad record yields nothing)
            self.counts["alleles"] += 1
            if reason is None and alt == ref:
                reason = "no_change"
            elif reason is None and max(len(ref), len(alt)) > self.max_indel + 1:
                reason = "indel_too_long"
            if reason:
                self.skipped[reason] += 1
                continue
            yield Variant(chrom, int(pos), ident if ident not in ("", ".") else
                          f"{chrom}:{pos}:{ref or '-'}:{alt or '-'}", ref, alt, number)

    @staticmethod
    def _skip_reason(alt: str) -> str | None:
        if alt == ".":
            return "no_alt"
        if alt == "*":
            return "star_allele"
        if alt.startswith("<") or "[" in alt or "]" in alt:
            return "symbolic"
        return None

    def _allele(self, allele: str, number: int, line: str, what: str) -> str:
        if allele == "-" and not self.vcf:
            return ""
        if not allele or not BASES.fullmatch(allele):
            raise cli.located(self.path, number, f"{what} {allele!r} is not made of A, C, G, T and N", line)
        return allele.upper()

    def count_records(self) -> int:
        """Data records in the whole file (one streaming pass)."""
        first, stop, self.first, self.stop = self.first, self.stop, 0, None
        try:
            return sum(1 for _ in self._records())
        finally:
            self.first, self.stop = first, stop
