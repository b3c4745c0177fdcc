"""Genome preparation from FASTA, gzip FASTA, bgzip FASTA and .2bit; selection and naming."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pysam
import pytest

from conftest import DATA
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import normalise_chrom, read_chrom_codes, read_chrom_sizes
from workflow_scripts.genome import prepare_genome, scan_headers
from workflow_scripts.sequence import decode

RECORDS = {"1": "ACGTNNNNacgtAC" * 9 + "G", "2": "TTTTGGGGCCCCAAAA" * 5, "MT": "ACGT" * 4,
           "chrUn_x": "AAAA", "Y": "C" * 70}


def fasta_text(records, width=13):
    return "".join(f">{n} description\n" + "".join(s[i:i + width] + "\n" for i in range(0, len(s), width))
                   for n, s in records.items())


def write_twobit(path, records):
    """A .2bit file written from UCSC's published format description (test oracle)."""
    code = {"T": 0, "C": 1, "A": 2, "G": 3}
    pairs = list(records.items()) if isinstance(records, dict) else list(records)   # pairs: names may repeat
    names = [n for n, _ in pairs]
    header = struct.pack("<IIII", 0x1A412743, 0, len(names), 0)
    index_size = sum(1 + len(n) + 4 for n in names)
    blobs, offset = [], 16 + index_size
    index = b""
    for n, s in pairs:
        n_blocks = [(m.start(), m.end() - m.start()) for m in __import__("re").finditer("N+", s.upper())]
        m_blocks = [(m.start(), m.end() - m.start()) for m in __import__("re").finditer("[a-z]+", s)]
        packed = bytearray()
        upper = s.upper().replace("N", "T")
        for i in range(0, len(upper), 4):
            chunk = upper[i:i + 4].ljust(4, "T")
            packed.append(sum(code[c] << (6 - 2 * k) for k, c in enumerate(chunk)))
        blob = struct.pack("<II", len(s), len(n_blocks))
        blob += b"".join(struct.pack("<I", a) for a, _ in n_blocks) + b"".join(struct.pack("<I", b) for _, b in n_blocks)
        blob += struct.pack("<I", len(m_blocks))
        blob += b"".join(struct.pack("<I", a) for a, _ in m_blocks) + b"".join(struct.pack("<I", b) for _, b in m_blocks)
        blob += struct.pack("<I", 0) + bytes(packed)
        index += bytes([len(n)]) + n.encode() + struct.pack("<I", offset)
        offset += len(blob)
        blobs.append(blob)
    path.write_bytes(header + index + b"".join(blobs))


def written_as(kind, tmp_path, text):
    """``text`` (FASTA) written as a plain, gzip or bgzip file."""
    plain = tmp_path / "g.fa"
    plain.write_text(text)
    if kind == "gzip":
        gz = tmp_path / "g.fa.gz"
        gz.write_bytes(gzip.compress(plain.read_bytes()))
        return gz
    if kind == "bgzip":
        pysam.tabix_compress(str(plain), str(tmp_path / "g.fa.bgz"), force=True)
        return tmp_path / "g.fa.bgz"
    return plain


@pytest.fixture(params=["plain", "gzip", "bgzip", "2bit"])
def source(request, tmp_path):
    kind = request.param
    if kind == "2bit":
        path = tmp_path / "g.2bit"
        write_twobit(path, RECORDS)
        return path
    return written_as(kind, tmp_path, fasta_text(RECORDS))


def test_every_input_format_gives_the_same_genome(source, tmp_path):
    out = tmp_path / "out" / "genome.fa"
    sizes = prepare_genome(source, out, tmp_path / "out" / "chrom.sizes", chromosomes=["chr1", "chr2", "chrM"])
    assert sizes == {"chr1": 127, "chr2": 80, "chrM": 16}
    assert read_chrom_sizes(tmp_path / "out" / "chrom.sizes") == sizes
    assert decode(read_chrom_codes(out, "chr1")) == RECORDS["1"].upper()
    assert str(pysam.FastaFile(str(out)).fetch("chr1", 4, 12)) == RECORDS["1"][4:12]   # case kept
    assert (tmp_path / "out" / "genome.fa.md5").read_text().split()[1] == "genome.fa"
    assert not list(source.parent.glob("*.fai"))                                   # input untouched


def test_default_pattern_drops_y_m_and_auxiliary(tmp_path):
    plain = tmp_path / "g.fa"
    plain.write_text(fasta_text(RECORDS))
    sizes = prepare_genome(plain, tmp_path / "genome.fa", tmp_path / "chrom.sizes")
    assert list(sizes) == ["chr1", "chr2"]


def test_missing_selected_chromosome_and_bad_input(tmp_path):
    plain = tmp_path / "g.fa"
    plain.write_text(fasta_text(RECORDS))
    with pytest.raises(InputError, match="selected chromosome\\(s\\) not in the genome: chr9"):
        prepare_genome(plain, tmp_path / "o.fa", tmp_path / "s", chromosomes=["chr1", "chr9"])
    (tmp_path / "bad.txt").write_text("hello\n")
    with pytest.raises(InputError, match="not a FASTA, gzip/bgzip FASTA or .2bit"):
        prepare_genome(tmp_path / "bad.txt", tmp_path / "o2.fa", tmp_path / "s2")
    trunc = tmp_path / "t.fa.gz"
    trunc.write_bytes(gzip.compress(plain.read_bytes())[:-20])
    with pytest.raises(InputError, match="truncated gzip stream"):
        prepare_genome(trunc, tmp_path / "o3.fa", tmp_path / "s3")
    assert not (tmp_path / "o.fa").exists() and not (tmp_path / "o3.fa").exists()


def test_naming_styles():
    assert [normalise_chrom(c, "ucsc") for c in ("1", "X", "MT", "chr2", "GL000220.1")] == \
        ["chr1", "chrX", "chrM", "chr2", "GL000220.1"]
    assert [normalise_chrom(c, "ensembl") for c in ("chr1", "chrM", "1")] == ["1", "MT", "1"]


def test_real_bgzipped_hg38_piece(tmp_path):
    out = tmp_path / "genome.fa"
    sizes = prepare_genome(DATA / "real-hg38-chr2" / "hg38_chr2_1-2333275.fa.gz", out, tmp_path / "s",
                           chromosomes=["chr2"])
    assert sizes == {"chr2": 2_333_275}
    codes = read_chrom_codes(out, "chr2")
    assert (codes == 4).sum() == 10_000
    ref = pysam.FastaFile(str(DATA / "real-hg38-chr2" / "hg38_chr2_1-2333275.fa.gz"))
    assert decode(codes[1_000_000:1_000_100]) == ref.fetch("chr2", 1_000_000, 1_000_100).upper()
    gc = np.isin(codes[codes < 4], [1, 2]).mean()
    assert 0.40 < gc < 0.50                                        # SOURCES.md: 44.9 % GC


def refused(source, tmp_path, match, **selection):
    """prepare_genome refuses ``source`` with a message matching ``match`` and writes nothing."""
    out = tmp_path / "out"
    with pytest.raises(InputError, match=match) as err:
        prepare_genome(source, out / "genome.fa", out / "chrom.sizes", **selection)
    assert str(err.value).startswith(f"{source}: ") and "\n" not in str(err.value)
    assert not out.exists() or not list(out.iterdir())
    return str(err.value)


@pytest.mark.parametrize("kind", ["plain", "gzip", "bgzip"])
def test_duplicate_record_names_are_refused(kind, tmp_path):
    # htslib keeps the first '2' and drops the second with only a warning
    text = fasta_text({"1": RECORDS["1"], "2": RECORDS["2"]}) + fasta_text({"2": "ACGT" * 5})
    refused(written_as(kind, tmp_path, text), tmp_path, r"two records are named '2' \(headers at lines 12 and 20\); "
            "rename or remove one of them", chromosomes=["chr1", "chr2"])


def test_duplicate_names_in_2bit_and_after_renaming(tmp_path):
    write_twobit(tmp_path / "g.2bit", [("1", "ACGT"), ("MT", "AC"), ("1", "GGGG")])
    refused(tmp_path / "g.2bit", tmp_path, r"two records are named '1' \(records 1 and 3\)")
    plain = written_as("plain", tmp_path, fasta_text({"1": "ACGT", "chr1": "GGGG", "2": "TT"}))
    refused(plain, tmp_path, r"records '1' and 'chr1' both become 'chr1' after renaming \(ucsc\)", pattern="chr.*")
    assert prepare_genome(plain, tmp_path / "ok.fa", tmp_path / "ok.sizes", naming="as_is",
                          pattern=".*") == {"1": 4, "chr1": 4, "2": 2}


@pytest.mark.parametrize("kind", ["plain", "gzip", "bgzip"])
@pytest.mark.parametrize("where", ["middle", "end"])
def test_record_without_sequence_is_refused(kind, where, tmp_path):
    # in the middle htslib drops it silently; at the end its index build fails with 'File truncated'
    records = {"1": RECORDS["1"], "2": RECORDS["2"]}
    text = fasta_text(records) + ">3 empty\n" if where == "end" else \
        fasta_text({"1": RECORDS["1"]}) + ">3 empty\n\n" + fasta_text({"2": RECORDS["2"]})
    line = 12 if where == "middle" else 20
    message = fr"record '3' \(header at line {line}\) has no sequence; remove the header or restore its sequence"
    refused(written_as(kind, tmp_path, text), tmp_path, message, chromosomes=["chr1", "chr2", "chr3"])
    # not selected, it is still malformed input (a truncated download, a bad concatenation)
    refused(written_as(kind, tmp_path, text), tmp_path, message, chromosomes=["chr1"])


def test_empty_record_in_2bit(tmp_path):
    write_twobit(tmp_path / "g.2bit", {"1": "ACGT", "2": "", "3": ""})
    refused(tmp_path / "g.2bit", tmp_path, r"record '2' \(record 2\) has no sequence, nor do 1 more after it")


@pytest.mark.parametrize("kind", ["plain", "gzip", "bgzip"])
def test_ragged_record_is_refused_with_samtools_reason(kind, tmp_path):
    text = fasta_text({"1": RECORDS["1"]}) + ">2\nACGTACGT\nACGTACGTAC\nACG\n"
    refused(written_as(kind, tmp_path, text), tmp_path,
            r"cannot index FASTA: record '2' \(header at line 12\): Different line length in sequence '2' "
            r"at line 14; every line of a record but its last must have the same length", chromosomes=["chr1"])
    short = fasta_text({"1": RECORDS["1"]}) + ">2\nACGTACGT\nACG\nACGTACGT\n"
    refused(written_as(kind, tmp_path, short), tmp_path,
            r"cannot index FASTA: record '2' \(header at line 12\): Format error, unexpected \"A\" at line 15")


def test_header_scan_does_not_depend_on_block_boundaries(tmp_path):
    text = ">a x>y\r\nAC\r\nGT\r\n>e\n\n \n>b\nAA>A\n\n>c\nA\n>z"   # '>' not at a line start is no header
    (tmp_path / "g.fa").write_text(text)
    expected = [["a", 0, True], ["e", 16, False], ["b", 22, True], ["c", 31, True], ["z", 36, False]]
    assert [text[offset:offset + 2] for _, offset, _ in expected] == [">a", ">e", ">b", ">c", ">z"]
    for block in range(1, len(text) + 2):
        assert scan_headers(tmp_path / "g.fa", block=block) == expected, block
