"""Stage ``prepare_genome``: any FASTA / gzip / bgzip FASTA / 2bit -> indexed FASTA + sizes.

Output (``results/genome/``):

* ``genome.fa`` + ``genome.fa.fai`` — the selected chromosomes in genome order, 60 bases per
  line, case preserved (soft-masking kept), names normalised (see :func:`workflow_scripts.fasta.normalise_chrom`);
* ``chrom.sizes`` — ``chrom<TAB>length`` per selected chromosome.

Refused as bad input (:class:`cli.InputError` naming the file, the record and where it is):

* two records with the same name — htslib would keep one and drop the other with only a warning;
  also two *selected* records whose names become the same after renaming (e.g. ``1`` and ``chr1``);
* a record without sequence (a header followed by another header or the end of the file), or a
  header without a name — selected or not: it is malformed input (a truncated download or a bad
  concatenation, typically), and htslib would drop it silently;
* a ragged record (a line inside it longer or shorter than its others), with htslib's own reason.

Line numbers count lines of the (decompressed) FASTA text; a .2bit source gets record numbers.
Reading the prepared genome elsewhere: :mod:`workflow_scripts.fasta`.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pysam

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import (is_selected, normalise_chrom, read_chrom_letters, read_fai,
                                    write_fasta_record)
from workflow_scripts.io_utils import atomic_output, md5sum

log = cli.log.getChild("genome")
TWOBIT_MAGIC = 0x1A412743
DECODED_2BIT = "decoded.fa"
TWOBIT_HEADS = (struct.pack("<I", TWOBIT_MAGIC), struct.pack(">I", TWOBIT_MAGIC))
NONSPACE = re.compile(rb"\S")


def gunzip_to(src: Path, dest: Path, block: int = 1 << 24) -> None:
    """Decompress gzip or bgzip (multi-member gzip) in large blocks; refuse truncated input."""
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        d, pending = zlib.decompressobj(zlib.MAX_WBITS | 16), False
        while chunk := fin.read(block):
            while chunk:
                fout.write(d.decompress(chunk))
                pending = not d.eof
                if d.eof:  # next gzip member (bgzip files are many members)
                    chunk, d = d.unused_data, zlib.decompressobj(zlib.MAX_WBITS | 16)
                else:
                    chunk = b""
        if pending:
            raise InputError(f"{src}: truncated gzip stream")


def twobit_to_fasta(src: Path, dest: Path) -> None:
    """Decode a UCSC .2bit file (versions 0 and 1, either byte order) into a FASTA file."""
    data = np.memmap(src, dtype=np.uint8, mode="r")
    head = bytes(data[:16])
    for endian in "<>":
        magic, version, count, _ = struct.unpack(endian + "IIII", head)
        if magic == TWOBIT_MAGIC:
            break
    else:
        raise InputError(f"{src}: not a .2bit file (bad signature)")
    if version not in (0, 1):
        raise InputError(f"{src}: unsupported .2bit version {version}")
    off_fmt, off_size = ("Q", 8) if version == 1 else ("I", 4)
    u32 = np.dtype(endian + "u4")
    pos, records = 16, []
    for _ in range(count):
        n = int(data[pos])
        name = bytes(data[pos + 1:pos + 1 + n]).decode()
        (offset,) = struct.unpack(endian + off_fmt, bytes(data[pos + 1 + n:pos + 1 + n + off_size]))
        records.append((name, offset))
        pos += 1 + n + off_size
    letters = np.frombuffer(b"TCAG", dtype=np.uint8)
    with open(dest, "wb") as out:
        for name, p in records:
            def u32s(k):
                nonlocal p
                arr = np.frombuffer(bytes(data[p:p + 4 * k]), dtype=u32).astype(np.int64)
                p += 4 * k
                return arr
            (size,) = u32s(1)
            (n_blocks,) = u32s(1)
            n_starts, n_sizes = u32s(n_blocks), u32s(n_blocks)
            (m_blocks,) = u32s(1)
            m_starts, m_sizes = u32s(m_blocks), u32s(m_blocks)
            p += 4  # reserved
            packed = np.asarray(data[p:p + (size + 3) // 4])
            bits = np.stack([(packed >> s) & 3 for s in (6, 4, 2, 0)], axis=1).ravel()[:size]
            seq = letters[bits]
            for s, k in zip(n_starts, n_sizes):
                seq[s:s + k] = ord("N")
            for s, k in zip(m_starts, m_sizes):
                seq[s:s + k] += 32  # lower case
            write_fasta_record(out, name, seq)


def plain_fasta(source: Path, workdir: Path) -> Path:
    """Return an uncompressed FASTA for ``source`` (decompressing or decoding into workdir)."""
    with open(source, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        out = workdir / "decompressed.fa"
        gunzip_to(source, out)
        return out
    if head in TWOBIT_HEADS:
        out = workdir / DECODED_2BIT
        twobit_to_fasta(source, out)
        return out
    if not head.startswith(b">"):
        raise InputError(f"{source}: not a FASTA, gzip/bgzip FASTA or .2bit file")
    return source


def scan_headers(fasta: Path, block: int = 1 << 24) -> list[list]:
    """``[name, byte offset of '>', has sequence]`` per record, in file order.

    The .fai that htslib writes has already lost duplicated and empty records, so look at the
    text: one streaming pass in large blocks that jumps from '>' to '>' (about a second a GB).
    """
    records, buf, base = [], b"\n", -1   # buf[k] is file byte base + k; a '\n' stands before byte 0
    with open(fasta, "rb") as fh:
        while True:
            chunk = fh.read(block)
            buf, i, carry = buf + chunk, 0, None
            while True:
                h = buf.find(b">", i)  # a one-byte search is far faster than one for b"\n>"
                while h >= 0 and (h == 0 or buf[h - 1] != 10):  # not at a line start
                    h = buf.find(b">", h + 1)
                stop = len(buf) if h < 0 else h
                if records and not records[-1][2] and NONSPACE.search(buf, i, stop):
                    records[-1][2] = True
                if h < 0:
                    break
                end = buf.find(b"\n", h)
                if end < 0 and chunk:  # the header line goes on in the next block
                    carry = h - 1
                    break
                end = len(buf) if end < 0 else end
                name = buf[h + 1:end].split(maxsplit=1)
                records.append([name[0].decode(errors="replace") if name else "", base + h, False])
                i = end
            if not chunk:
                return records
            carry = len(buf) - 1 if carry is None else carry   # keep a '\n' that a '>' may follow
            buf, base = buf[carry:], base + carry


def line_numbers(fasta: Path, offsets, block: int = 1 << 24) -> dict[int, int]:
    """1-based line number of each byte offset; counts newlines only up to the last one asked."""
    result, line, pos = {}, 1, 0
    with open(fasta, "rb") as fh:
        for offset in sorted(set(offsets)):
            while pos < offset and (chunk := fh.read(min(block, offset - pos))):
                line, pos = line + chunk.count(b"\n"), pos + len(chunk)
            result[offset] = line
    return result


def where(fasta: Path, records: list[list], picks: list[int], text: bool) -> str:
    """'header at line 7' / 'headers at lines 1 and 7' (FASTA text) or 'record 3' (.2bit)."""
    if not text:
        return ("record " if len(picks) == 1 else "records ") + " and ".join(str(k + 1) for k in picks)
    lines = line_numbers(fasta, [records[k][1] for k in picks])
    numbers = " and ".join(str(lines[records[k][1]]) for k in picks)
    return ("header at line " if len(picks) == 1 else "headers at lines ") + numbers


def check_records(source: Path, fasta: Path, records: list[list], text: bool) -> None:
    """Refuse duplicated names, nameless headers and records without sequence (see module doc)."""
    first = {}
    for k, (name, _, _) in enumerate(records):
        if name in first:
            raise InputError(f"{source}: two records are named {name!r} "
                             f"({where(fasta, records, [first[name], k], text)}); "
                             "rename or remove one of them")
        first[name] = k
        if not name:
            raise InputError(f"{source}: a header has no sequence name "
                             f"({where(fasta, records, [k], text)}); name the record or remove it")
    empty = [k for k, (_, _, has_sequence) in enumerate(records) if not has_sequence]
    if empty:
        more = f", nor do {len(empty) - 1} more after it" if len(empty) > 1 else ""
        raise InputError(f"{source}: record {records[empty[0]][0]!r} "
                         f"({where(fasta, records, empty[:1], text)}) has no sequence{more}; "
                         "remove the header or restore its sequence")


@contextlib.contextmanager
def stderr_to(path: Path):
    """Send file descriptor 2 to ``path``: htslib prints its reasons there, not into the error."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as fh:
            os.dup2(fh.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def index_fasta(source: Path, fasta: Path, records: list[list], text: bool) -> None:
    """samtools faidx ``fasta``; on failure name the record and quote htslib's reason."""
    messages = fasta.parent / "faidx.stderr"
    try:
        with stderr_to(messages):
            pysam.faidx(str(fasta))
    except pysam.SamtoolsError as err:
        reason = faidx_reason(fasta, records, messages, err, text)
        raise InputError(f"{source}: cannot index FASTA: {reason}") from None
    if said := messages.read_text(errors="replace").strip():
        log.warning("samtools faidx %s: %s", source, said.replace("\n", "; "))


def faidx_reason(fasta: Path, records: list[list], messages: Path, err: Exception, text: bool) -> str:
    """htslib's own lines ('Different line length in sequence ...'), led by the record they are in."""
    said = [re.sub(r"^\[\w::\w+\] ", "", line) for line in messages.read_text(errors="replace").splitlines()]
    reason = "; ".join(line for line in said if line) or " ".join(str(err).split())
    at = re.search(r"at line (\d+)", reason)
    if not (at and text):
        return reason
    headers = line_numbers(fasta, [offset for _, offset, _ in records])
    k = max((k for k, (_, offset, _) in enumerate(records) if headers[offset] <= int(at[1])), default=None)
    if k is None:  # before the first header
        return reason
    return (f"record {records[k][0]!r} (header at line {headers[records[k][1]]}): {reason}; every line of a "
            "record but its last must have the same length: re-wrap it (e.g. seqkit seq -w 60)")


def renaming_clash(source: Path, keep: list[str], names: dict[str, str], naming: str) -> None:
    """Refuse two selected records whose names become the same after renaming."""
    seen = {}
    for raw in keep:
        if names[raw] in seen:
            raise InputError(f"{source}: records {seen[names[raw]]!r} and {raw!r} both become "
                             f"{names[raw]!r} after renaming ({naming}); remove one of them")
        seen[names[raw]] = raw


def prepare_genome(source: Path, out_fasta: Path, chrom_sizes: Path, *,
                   chromosomes: list[str] | None = None, pattern: str | None = None,
                   naming: str = "ucsc") -> dict[str, int]:
    """Write the selected, renamed chromosomes of ``source`` as an indexed FASTA + sizes.

    Malformed input is refused before anything is written (see the module docstring).
    """
    workdir = out_fasta.parent / f".{out_fasta.name}.work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        plain = plain_fasta(source, workdir)
        if plain == source:  # index through a link so that no .fai is written beside the input
            plain = workdir / "input.fa"
            plain.symlink_to(source.resolve())
        text = plain.name != DECODED_2BIT  # line numbers mean nothing in a decoded .2bit
        records = scan_headers(plain)
        check_records(source, plain, records, text)
        index_fasta(source, plain, records, text)
        fai = read_fai(plain)
        names = {raw: normalise_chrom(raw, naming) for raw in fai}
        keep = [raw for raw, name in names.items() if is_selected(name, chromosomes, pattern)]
        dropped = [raw for raw in fai if raw not in keep]
        chosen = [names[raw] for raw in keep]
        missing = [c for c in (chromosomes or []) if c not in chosen]
        if missing:
            raise InputError(f"{source}: selected chromosome(s) not in the genome: {', '.join(missing)}")
        if not keep:
            raise InputError(f"{source}: no chromosome matches the selection")
        renaming_clash(source, keep, names, naming)
        sizes = {}
        with atomic_output(out_fasta) as tmp:
            with open(tmp, "wb") as out:
                for raw in keep:
                    letters = read_chrom_letters(plain, raw, fai)
                    write_fasta_record(out, names[raw], letters)
                    sizes[names[raw]] = len(letters)
            pysam.faidx(str(tmp))
            Path(str(tmp) + ".fai").replace(str(out_fasta) + ".fai")
            # its checksum, so that data sets can record what they were built from cheaply
            Path(str(out_fasta) + ".md5").write_text(f"{md5sum(tmp)}  {out_fasta.name}\n")
        with atomic_output(chrom_sizes) as tmp:
            tmp.write_text("".join(f"{c}\t{n}\n" for c, n in sizes.items()))
        log.info("kept %d chromosomes (%d bp); dropped %d: %s", len(sizes), sum(sizes.values()),
                 len(dropped), ", ".join(dropped[:20]) + (" ..." if len(dropped) > 20 else ""))
        return sizes
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(args) -> None:
    prepare_genome(Path(args.source), Path(args.fasta), Path(args.sizes),
                   chromosomes=args.chromosomes, pattern=args.pattern, naming=args.naming)


def build_parser():
    p = cli.parser("Prepare the genome: indexed FASTA of the selected chromosomes + sizes.")
    p.add_argument("--source", required=True, help="FASTA, gzip/bgzip FASTA or .2bit")
    p.add_argument("--fasta", required=True, help="output FASTA (index written next to it)")
    p.add_argument("--sizes", required=True, help="output chrom.sizes")
    p.add_argument("--chromosomes", nargs="*", help="chromosomes to keep (after renaming)")
    p.add_argument("--pattern", help="regular expression of chromosomes to keep")
    p.add_argument("--naming", default="ucsc", choices=["ucsc", "ensembl", "as_is"])
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
