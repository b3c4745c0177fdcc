"""Published per-target tables read as they are written (DanQ's supplementary table, real file)."""
from __future__ import annotations

import yaml

from conftest import ROOT
from workflow_scripts.compare import read_published
from workflow_scripts.peak_files import parse_peak_line


def test_published_danq_table_keeps_the_treatment_none():
    spec = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())["evaluate"]["published"]["deepsea1000"][0]
    spec["file"] = str(ROOT / spec["file"])
    tables = read_published(spec)
    assert set(tables) == {"DeepSEA_published", "DanQ_published", "DanQ-JASPAR_published"}
    danq = tables["DanQ_published"]
    assert len(danq) == 919 and "8988T|DNase|None" in set(danq["target"])
    assert not danq["target"].str.contains("nan").any()
    # one target had no positive in DanQ's test region; the table says so in words
    assert list(danq.loc[danq["roc_auc"].isna(), "target"]) == ["K562|BRF1|None"]
    assert danq["roc_auc"].dropna().between(0.5, 1).all()


def test_a_strand_column_is_plus_minus_or_dot():
    for raw, strand in (("+", "+"), ("-", "-"), ("+-", "."), ("", "."), (".", ".")):
        assert parse_peak_line(["chr1", "10", "20", "x", "0", raw])[4] == strand
