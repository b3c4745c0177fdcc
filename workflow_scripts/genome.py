"""Stage ``prepare_genome``: any FASTA / gzip / bgzip FASTA / 2bit -> indexed FASTA + sizes.

Output (``results/genome/``):

* ``genome.fa`` + ``genome.fa.fai`` — the selected chromosomes in genome order, 60 bases per
  line, case preserved (soft-masking kept), names normalised (see :func:`normalise_chrom`);
* ``chrom.sizes`` — ``chrom<TAB>length`` per selected chromosome.

Readers elsewhere load a chromosome as uint8 codes with :func:`read_chrom_codes`, which maps the
FASTA through its .fai index without building Python strings (fast on a 3 Gbp genome).
"""
from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pysam

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import atomic_output, md5sum
from workflow_scripts.sequence import CODE_OF

log = cli.log.getChild("genome")
LINE_WIDTH = 60
TWOBIT_MAGIC = 0x1A412743


def normalise_chrom(name: str, style: str) -> str:
    """Map chromosome names between naming styles.

    ``ucsc``: ``1 -> chr1``, ``X -> chrX``, ``MT -> chrM``; ``ensembl``: the reverse;
    ``as_is``: unchanged.
    """
    if style == "ucsc":
        if name in ("MT", "chrMT", "M"):
            return "chrM"
        if re.fullmatch(r"[0-9]+|X|Y", name):
            return "chr" + name
        return name
    if style == "ensembl":
        if name == "chrM":
            return "MT"
        return name[3:] if re.fullmatch(r"chr([0-9]+|X|Y)", name) else name
    if style == "as_is":
        return name
    raise InputError(f"unknown chromosome naming style {style!r} (ucsc, ensembl, as_is)")


def is_selected(chrom: str, chromosomes: list[str] | None, pattern: str | None) -> bool:
    if chromosomes is not None:
        return chrom in chromosomes
    return bool(re.fullmatch(pattern or r"chr([0-9]+|X)", chrom))


def read_fai(fasta: str | Path) -> dict[str, tuple[int, int, int, int]]:
    """chrom -> (length, byte offset, bases per line, bytes per line), in file order."""
    fai = Path(str(fasta) + ".fai")
    if not fai.is_file():
        raise InputError(f"{fasta}: no .fai index next to the FASTA")
    index = {}
    for line in fai.read_text().splitlines():
        name, length, offset, bases, width = line.split("\t")[:5]
        index[name] = (int(length), int(offset), int(bases), int(width))
    return index


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    sizes = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        try:
            sizes[cells[0]] = int(cells[1])
        except (IndexError, ValueError):
            raise cli.located(path, number, "expected 'chrom<TAB>length'", line) from None
    return sizes


def read_chrom_letters(fasta: str | Path, chrom: str, fai=None) -> np.ndarray:
    """One chromosome's ASCII letters as a uint8 array, read through the .fai (no newlines)."""
    length, offset, bases, width = (fai or read_fai(fasta))[chrom]
    if length == 0:
        return np.zeros(0, np.uint8)
    n_lines = -(-length // bases)
    raw = np.memmap(fasta, dtype=np.uint8, mode="r", offset=offset,
                    shape=(min(n_lines * width, Path(fasta).stat().st_size - offset),))
    full = (length // bases) * width
    body = raw[:full].reshape(-1, width)[:, :bases].ravel()
    tail = raw[full:full + length % bases]
    return np.concatenate([body, tail]) if len(tail) else np.array(body)


def read_chrom_codes(fasta: str | Path, chrom: str, fai=None) -> np.ndarray:
    """One chromosome as uint8 codes (A=0 C=1 G=2 T=3 N=4)."""
    return CODE_OF[read_chrom_letters(fasta, chrom, fai)]


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


def write_fasta_record(out, name: str, letters: np.ndarray) -> None:
    out.write(f">{name}\n".encode())
    full = len(letters) // LINE_WIDTH * LINE_WIDTH
    if full:
        lines = np.empty((full // LINE_WIDTH, LINE_WIDTH + 1), dtype=np.uint8)
        lines[:, :LINE_WIDTH] = letters[:full].reshape(-1, LINE_WIDTH)
        lines[:, LINE_WIDTH] = ord("\n")
        out.write(lines.tobytes())
    if len(letters) > full:
        out.write(letters[full:].tobytes() + b"\n")


def plain_fasta(source: Path, workdir: Path) -> Path:
    """Return an uncompressed FASTA for ``source`` (decompressing or decoding into workdir)."""
    with open(source, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        out = workdir / "decompressed.fa"
        gunzip_to(source, out)
        return out
    if head in (struct.pack("<I", TWOBIT_MAGIC), struct.pack(">I", TWOBIT_MAGIC)):
        out = workdir / "decoded.fa"
        twobit_to_fasta(source, out)
        return out
    if not head.startswith(b">"):
        raise InputError(f"{source}: not a FASTA, gzip/bgzip FASTA or .2bit file")
    return source


def prepare_genome(source: Path, out_fasta: Path, chrom_sizes: Path, *,
                   chromosomes: list[str] | None = None, pattern: str | None = None,
                   naming: str = "ucsc") -> dict[str, int]:
    """Write the selected, renamed chromosomes of ``source`` as an indexed FASTA + sizes."""
    workdir = out_fasta.parent / f".{out_fasta.name}.work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        plain = plain_fasta(source, workdir)
        if plain == source:  # index through a link so that no .fai is written beside the input
            plain = workdir / "input.fa"
            plain.symlink_to(source.resolve())
        try:
            pysam.faidx(str(plain))
        except pysam.SamtoolsError as err:
            raise InputError(f"{source}: cannot index FASTA: {err}") from None
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
        if len(set(chosen)) < len(chosen):
            raise InputError(f"{source}: two sequences get the same name after renaming ({naming})")
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
