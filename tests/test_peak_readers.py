"""Peak-file readers and normalisation: dialects, chromosome names, counted drops, and the
malformed-input suite (each case asserts the message, which names the file, line and line text)."""
from __future__ import annotations

import gzip
import subprocess
import sys

import pysam
import pytest

from conftest import DATA, ROOT
from workflow_scripts.cli import InputError
from workflow_scripts.normalise_peaks import read_peaks, write_bed_gz

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
