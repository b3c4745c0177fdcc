"""Peak-file readers and normalisation: dialects, chromosome names, counted drops, and the
malformed-input suite (each case asserts the message, which names the file, line and line text)."""
from __future__ import annotations

import bz2
import gzip
import re
import subprocess
import sys

import pysam
import pytest

from conftest import DATA, ROOT
from workflow_scripts.cli import InputError
from workflow_scripts.normalise_peaks import write_counts
from workflow_scripts.peak_files import load_peaks, read_peaks, write_bed_gz

SIZES = {"chr1": 10_000, "chr2": 5_000, "chrX": 3_000, "chrM": 16_569}
REAL = DATA / "real-hg38-chr2"


def write(tmp_path, text, name="p.bed", gz=False):
    path = tmp_path / name
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


MALFORMED = [
    ("chr1\t100\n", "expected at least 3 tab-separated columns, found 2"),
    ("chr1\n", "expected at least 3 tab-separated columns, found 1"),
    ("chr1\tabc\t200\n", "start and end must be integers, got 'abc' and '200'"),
    ("chr1\t100\txyz\n", "start and end must be integers, got '100' and 'xyz'"),
    ("chr1\t1.5\t200\n", "start and end must be integers, got '1.5' and '200'"),
    ("chr1\t100\t2e3\n", "start and end must be integers, got '100' and '2e3'"),
    ("chr1\t-5\t200\n", "negative start -5"),
    ("chr1\t300\t200\n", "start 300 is greater than end 200"),
    ("\t100\t200\n", "empty chromosome name"),
    ("chr1 100 200\n", "expected at least 3 tab-separated columns, found 1"),
    ("chr1\t\t200\n", "start and end must be integers, got '' and '200'"),
    ("chr1\t100\t\n", "start and end must be integers, got '100' and ''"),
    ("chr1\t0x10\t200\n", "start and end must be integers, got '0x10' and '200'"),
    ("chr1\t100\t200\t.\t0\t.\t5\t1\t1\t10\nchr1\t10\t5\t.\t0\t.\t5\t1\t1\t10\n", "start 10 is greater than end 5"),
    ("chr1\t1,000\t2,000\n", "start and end must be integers, got '1,000' and '2,000'"),
    ("chr1\t100\t200\nchr2\t-1\t-1\n", "negative start -1"),
]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("text,message", MALFORMED)
def test_malformed_lines_stop_with_file_line_and_text(tmp_path, text, message, gz):
    path = write(tmp_path, "track name=x\n" + text, gz=gz)
    bad_line = len(text.splitlines()) + 1                      # the track line is line 1
    with pytest.raises(InputError) as err:
        read_peaks(path, SIZES)
    msg = str(err.value)
    assert f"{path}:{bad_line}: malformed peak line: {message}" in msg
    assert repr(text.splitlines()[-1]) in msg


def test_malformed_lines_can_be_skipped_and_counted(tmp_path):
    path = write(tmp_path, "chr1\t10\t20\nchr1\tx\t20\nchr1\t30\t5\nchr1\t40\t50\n")
    table = read_peaks(path, SIZES, on_malformed="skip")
    assert table.counts["skipped_malformed"] == 2 and table.counts["kept"] == 2


def test_empty_file_is_an_error_unless_allowed(tmp_path):
    path = write(tmp_path, "# nothing\ntrack x\n")
    with pytest.raises(InputError, match=r"p.bed: peak file has no peaks \(mark the sample allow_empty"):
        read_peaks(path, SIZES)
    assert read_peaks(path, SIZES, allow_empty=True).counts["kept"] == 0


def test_dialects_signal_and_strand(tmp_path):
    narrow = "chr1\t100\t300\tp1\t500\t.\t12.5\t4.1\t3.2\t90\n"
    broad = "chr1\t400\t900\td1\t800\t-\t7.25\t2.0\t-1\n"
    hotspot = "chr2\t10\t160\t.\t0.0873\n"
    bed3 = "chrX\t5\t15\n"
    text = "browser position chr1:1-100\ntrack type=narrowPeak\n#comment\n\n" + narrow + broad + hotspot + bed3
    peaks = read_peaks(write(tmp_path, text, gz=True), SIZES).peaks
    assert peaks["chrom"].tolist() == ["chr1", "chr1", "chr2", "chrX"]           # genome order
    assert peaks["signal"].tolist() == [12.5, 7.25, 0.0873, -1.0]
    assert peaks["strand"].tolist() == [".", "-", ".", "."] and peaks["score"].tolist() == [500, 800, 0, 0]


def test_chromosome_names_unselected_and_clipped_peaks_are_counted(tmp_path):
    text = "1\t10\t20\nMT\t5\t50\nX\t2990\t3100\nchrY\t1\t5\nchrUn_gl000220\t1\t5\n2\t6000\t6100\n"
    table = read_peaks(write(tmp_path, text), SIZES, naming="ucsc")
    assert table.peaks["chrom"].tolist() == ["chr1", "chrX", "chrM"]
    assert table.peaks["end"].tolist()[1] == 3000
    c = table.counts
    assert (c["dropped_chrom_not_selected"], c["clipped_at_chrom_end"], c["dropped_past_chrom_end"]) == (2, 1, 1)


def test_real_encode_atac_narrowpeak_on_a_real_chr2_piece(tmp_path):
    """33,061 genome-wide ENCODE ATAC peaks against the 2.33 Mbp chr2 piece the tests carry."""
    table = read_peaks(REAL / "ENCSR356KRQ_atac_ppr.naive_overlap.filt.hg38.narrowPeak.gz", {"chr2": 2_333_275})
    assert table.counts["lines_read"] == 33_061
    inside = [l for l in (REAL / "region_chr2_0-2333275.atac.narrowPeak").read_text().splitlines()]
    assert table.counts["kept"] - table.counts["clipped_at_chrom_end"] == len(inside) == 27
    assert table.counts["kept"] + table.counts["dropped_chrom_not_selected"] + table.counts["dropped_past_chrom_end"] == 33_061
    assert (table.peaks["signal"] > 0).all()
    out = tmp_path / "atac.bed.gz"
    write_bed_gz(table.peaks, out)
    hits = list(pysam.TabixFile(str(out)).fetch("chr2", 0, 2_333_275))
    assert len(hits) == table.counts["kept"]


def test_real_roadmap_regions_and_blacklist(tmp_path):
    roadmap = read_peaks(REAL / "region_chr2_0-2333275.roadmap_dnase_prom.bed", {"chr2": 2_333_275})
    assert roadmap.counts["kept"] == 84
    blacklist = read_peaks(REAL / "hg38-blacklist.v2.bed.gz", {"chr2": 2_333_275})
    assert blacklist.peaks[["start", "end"]].values.tolist() == [[1221700, 1223900], [1594700, 1605200]]


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    bad = write(tmp_path, "chr1\t100\t50\n")
    sizes = write(tmp_path, "chr1\t1000\n", name="chrom.sizes")
    run = subprocess.run([sys.executable, "-m", "workflow_scripts.normalise_peaks", "--input", str(bad),
                          "--chrom-sizes", str(sizes), "--output", str(tmp_path / "o.bed.gz"),
                          "--counts", str(tmp_path / "o.tsv")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2
    assert f"error: {bad}:1: malformed peak line: start 100 is greater than end 50" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "o.bed.gz").exists()


# --- byte-order marks, broken gzip files, non-finite signals, files keeping no peak, --source ---

NARROW = "chr1\t{s}\t{e}\t.\t0\t.\t{signal}\t1\t1\t5\n"
SOURCE = "sample DNase_C01 from config/demo/samples_dhs600.tsv:4 (url http://x.org/c01.narrowPeak.gz)"


def many_lines(n=5000):
    return "".join(NARROW.format(s=i, e=i + 10, signal=f"{i}.5") for i in range(0, n))


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("first", ["chr1\t10\t20\n", "track name=x\nchr1\t10\t20\n", "# c\nchr1\t10\t20\n"])
def test_a_byte_order_mark_does_not_eat_the_first_peak(tmp_path, first, gz):
    path = write(tmp_path, "\ufeff" + first + "chr2\t5\t9\n", gz=gz)
    table = read_peaks(path, SIZES)
    assert table.peaks["chrom"].tolist() == ["chr1", "chr2"] and table.peaks["start"].tolist() == [10, 5]
    assert table.counts["dropped_chrom_not_selected"] == 0 and table.counts["kept"] == 2


def corrupt_gzips(tmp_path):
    """Broken gzip files as a download can leave them: name -> (path, expected message)."""
    data = gzip.compress(many_lines().encode())
    cases = {
        "truncated": (data[:len(data) // 2], "truncated gzip file"),
        "truncated_tail": (data[:-4], "truncated gzip file"),
        "magic_only": (data[:2], "truncated gzip file"),
        "bad_crc": (data[:-8] + b"\0\0\0\0" + data[-4:], "corrupt gzip file (CRC check failed"),
        "bad_method": (b"\x1f\x8b" + bytes(range(256)) * 4, "corrupt gzip file (Unknown compression method)"),
        "garbage_inside": (data[:200] + bytes(range(256)) * 8 + data[2300:], "corrupt gzip file (Error -3"),
        "trailing_garbage": (data + b"<html>oops</html>", "corrupt gzip file (Not a gzipped file"),
    }
    out = {}
    for name, (blob, message) in cases.items():
        path = tmp_path / f"{name}.bed.gz"
        path.write_bytes(blob)
        out[name] = (path, message)
    return out


@pytest.mark.parametrize("case", ["truncated", "truncated_tail", "magic_only", "bad_crc", "bad_method",
                                  "garbage_inside", "trailing_garbage"])
def test_truncated_or_corrupt_gzip_is_an_input_error_naming_the_file(tmp_path, case):
    path, message = corrupt_gzips(tmp_path)[case]
    with pytest.raises(InputError) as err:
        read_peaks(path, SIZES)
    msg = str(err.value)
    assert re.match(re.escape(str(path)) + r":\d+: " + re.escape(message), msg), msg
    assert "delete it and download it again" in msg and "\n" not in msg


def test_plain_text_named_gz_is_read_and_other_compressions_are_refused(tmp_path):
    plain = write(tmp_path, "chr1\t10\t20\n", name="plain.bed.gz")
    assert read_peaks(plain, SIZES).counts["kept"] == 1
    bz = tmp_path / "x.bed.gz"
    bz.write_bytes(bz2.compress(b"chr1\t10\t20\n"))
    with pytest.raises(InputError, match=re.escape(f"{bz}: the file is bzip2-compressed; only plain or gzip")):
        read_peaks(bz, SIZES)
    with pytest.raises(InputError, match=re.escape(f"{tmp_path / 'nope.bed'}: peak file not found")):
        read_peaks(tmp_path / "nope.bed", SIZES)


def test_binary_data_is_named_as_such(tmp_path):
    path = tmp_path / "x.bed.gz"
    path.write_bytes(b"\x00\x01\xff\xfe" * 50 + b"\n")
    with pytest.raises(InputError, match=r"x.bed.gz:1: malformed peak line: .*the file holds binary data"):
        read_peaks(path, SIZES)


def test_non_finite_signal_is_written_as_minus_one_counted_and_read_back(tmp_path):
    values = ["nan", "NaN", "inf", "-inf", "Infinity", "3.5"]
    text = "".join(NARROW.format(s=100 * i, e=100 * i + 50, signal=v) for i, v in enumerate(values))
    text += "chr2\t10\t20\t.\tnan\n"                                   # BED5 score nan, no signalValue
    table = read_peaks(write(tmp_path, text), SIZES)
    assert table.peaks["signal"].tolist() == [-1.0] * 5 + [3.5, -1.0]
    assert table.counts["signal_not_finite"] == 6 and table.counts["kept"] == 7
    out = tmp_path / "o.bed.gz"
    write_bed_gz(table.peaks, out)
    assert [line.split("\t")[6] for line in gzip.open(out, "rt").read().splitlines()] == ["-1"] * 5 + ["3.5", "-1"]
    index = {c: i for i, c in enumerate(SIZES)}
    assert load_peaks(out, index)["signal"].tolist() == [-1.0] * 5 + [3.5, -1.0]
    assert load_peaks(out, index, min_signal=0)["start"].tolist() == [500]
    counts = tmp_path / "o.tsv"
    write_counts(table.counts, counts)
    assert "signal_not_finite\t6\n" in counts.read_text()


def test_load_peaks_reads_an_empty_signal_column_as_minus_one(tmp_path):
    """Older outputs wrote nan as an empty 7th column."""
    plain = tmp_path / "old.bed"
    plain.write_text("chr1\t10\t20\t.\t0\t.\t\nchr1\t30\t40\t.\t0\t.\t2.5\n")
    pysam.tabix_compress(str(plain), str(tmp_path / "old.bed.gz"))
    assert load_peaks(tmp_path / "old.bed.gz", {"chr1": 0})["signal"].tolist() == [-1.0, 2.5]


@pytest.mark.parametrize("allow_empty", [False, True])
def test_a_file_keeping_no_peak_is_an_error_naming_the_dropped_chromosomes(tmp_path, allow_empty):
    text = "1\t10\t20\n" * 4 + "2\t10\t20\n" * 3 + "X\t1\t2\n" + "".join(f"GL{i}\t1\t2\n" for i in range(5))
    path = write(tmp_path, "track x\n" + text)
    with pytest.raises(InputError) as err:
        read_peaks(path, SIZES, naming="as_is", allow_empty=allow_empty)
    msg = str(err.value)
    assert msg == (f"{path}: none of its 13 peak lines was kept: 13 on chromosomes not in the genome "
                   f"(most frequent: '1' 4, '2' 3, 'X' 1, 'GL0' 1, 'GL1' 1 and 3 more names); the genome "
                   f"has 4 chromosome(s): chr1, chr2, chrX, chrM. Check the chromosome naming "
                   f"(`peaks: {{naming: ...}}`: ucsc, ensembl or as_is; now as_is) and that the file is "
                   f"for the genome's assembly")


def test_no_peak_kept_shows_mapped_names_past_ends_and_skipped_lines(tmp_path):
    ensembl_genome = {"1": 1000, "2": 500}
    path = write(tmp_path, "1\t10\t20\n2\t600\t700\nbad line\n")
    with pytest.raises(InputError) as err:
        read_peaks(path, ensembl_genome, naming="ucsc", on_malformed="skip")
    msg = str(err.value)
    assert "none of its 3 peak lines was kept: 2 on chromosomes not in the genome (most frequent: " \
           "'1' (as 'chr1') 1, '2' (as 'chr2') 1); 1 malformed and skipped; the genome has 2 chromosome(s): 1, 2" in msg
    path = write(tmp_path, "chr2\t6000\t6100\n", name="past.bed")
    with pytest.raises(InputError, match=r"past.bed: none of its 1 peak lines was kept: 1 starting past"):
        read_peaks(path, SIZES)


def test_every_error_names_the_file_read_and_the_source(tmp_path):
    bad = {
        "malformed": write(tmp_path, "chr1\t10\t20\nchr1\t30\t5\n", name="m.bed"),
        "empty": write(tmp_path, "# nothing\n", name="e.bed"),
        "no peak kept": write(tmp_path, "1\t10\t20\n", name="k.bed"),
        "missing": tmp_path / "missing.bed",
        **{name: path for name, (path, _) in corrupt_gzips(tmp_path).items()},
    }
    for what, path in bad.items():
        with pytest.raises(InputError) as err:
            read_peaks(path, SIZES, naming="as_is", source=SOURCE)
        msg = str(err.value)
        assert msg.startswith(f"{path}") and msg.endswith(f"\n  source: {SOURCE}"), (what, msg)
    with pytest.raises(InputError) as err:
        read_peaks(bad["malformed"], SIZES, source=SOURCE)
    assert str(err.value) == (f"{bad['malformed']}:2: malformed peak line: start 30 is greater than end 5\n"
                              f"  line: 'chr1\\t30\\t5'\n  source: {SOURCE}")


def run_cli(tmp_path, peaks, *extra):
    sizes = write(tmp_path, "chr1\t1000\n", name="chrom.sizes")
    return subprocess.run([sys.executable, "-m", "workflow_scripts.normalise_peaks", "--input", str(peaks),
                           "--chrom-sizes", str(sizes), "--output", str(tmp_path / "o.bed.gz"),
                           "--counts", str(tmp_path / "o.tsv"), *extra], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("case", ["truncated", "bad_crc", "garbage_inside", "no_peak_kept"])
def test_cli_reports_broken_files_and_the_source_without_a_traceback(tmp_path, case):
    if case == "no_peak_kept":
        path, message = write(tmp_path, "1\t10\t20\n"), "none of its 1 peak lines was kept"
    else:
        path, message = corrupt_gzips(tmp_path)[case]
    run = run_cli(tmp_path, path, "--naming", "as_is", "--source", SOURCE)
    assert run.returncode == 2, run.stderr
    assert re.search(r"error: " + re.escape(str(path)) + r"(:\d+)?: " + re.escape(message), run.stderr)
    assert f"\n  source: {SOURCE}\n" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "o.bed.gz").exists()
