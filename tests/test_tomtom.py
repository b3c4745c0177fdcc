"""Tomtom with Pearson scores against MEME Suite 5.5.8's own output, and the MEME format."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import DATA
from workflow_scripts.motif_files import Motif, consensus, read_meme, write_meme
from workflow_scripts.tomtom import COLUMNS, build_parser, main, tomtom_euclidean, tomtom_pearson

MOTIFS = DATA / "motifs"


@pytest.fixture(scope="module")
def danq_vs_jaspar():
    queries, background = read_meme(MOTIFS / "DanQ_filters.meme")
    targets, _ = read_meme(MOTIFS / "JASPAR2024_CORE_vertebrates_nr.meme")
    ours = tomtom_pearson(queries, targets, background, min_overlap=5)
    ref = pd.read_csv(MOTIFS / "meme558_tomtom_DanQ_pearson_danqsettings.tsv.gz", sep="\t", comment="#")
    return ours, ref


def test_every_pair_agrees_with_meme(danq_vs_jaspar):
    ours, ref = danq_vs_jaspar
    assert list(ours.columns) == COLUMNS and len(ours) == len(ref) == 320 * 879
    both = ref.merge(ours, on=["Query_ID", "Target_ID"], suffixes=("_meme", "_ours"))
    assert len(both) == len(ref)
    lp = np.log10(both[["p-value_meme", "p-value_ours"]].clip(lower=1e-300))
    assert np.corrcoef(lp.iloc[:, 0], lp.iloc[:, 1])[0, 1] >= 0.99
    for column in ("Optimal_offset", "Overlap", "Orientation", "Target_consensus", "Query_consensus"):
        assert (both[f"{column}_meme"] == both[f"{column}_ours"]).mean() > 0.99, column


def test_significant_filters_and_best_matches_agree_with_meme(danq_vs_jaspar):
    ours, ref = danq_vs_jaspar
    sig_meme = set(ref.loc[ref["E-value"] < 0.01, "Query_ID"])
    sig_ours = set(ours.loc[ours["E-value"] < 0.01, "Query_ID"])
    assert len(sig_meme) == 160                                 # DanQ reported 166 against older databases
    assert len(sig_meme & sig_ours) / len(sig_meme | sig_ours) >= 0.95
    best_meme = ref.sort_values("p-value", kind="stable").drop_duplicates("Query_ID").set_index("Query_ID")["Target_ID"]
    best_ours = ours.sort_values("p-value", kind="stable").drop_duplicates("Query_ID").set_index("Query_ID")["Target_ID"]
    agree = np.mean([best_meme[q] == best_ours[q] for q in sig_meme])
    assert agree >= 0.9


def test_evalues_and_qvalues(danq_vs_jaspar):
    ours, _ = danq_vs_jaspar
    q = ours[ours["Query_ID"] == "M1"]
    assert np.allclose(q["E-value"], q["p-value"] * 879)
    assert (q["q-value"] >= q["p-value"]).all() and q["q-value"].is_monotonic_increasing


def test_identical_motif_is_the_best_match_on_both_strands():
    targets, _ = read_meme(MOTIFS / "JASPAR2024_CORE_vertebrates_nr.meme")
    ctcf = next(t for t in targets if t.id == "MA0139.2")
    rc = Motif("rc", "rc", ctcf.freqs[::-1, ::-1].copy(), ctcf.nsites)
    out = tomtom_pearson([Motif("q", "q", ctcf.freqs, ctcf.nsites), rc], targets, np.full(4, 0.25))
    best = out.sort_values("p-value", kind="stable").drop_duplicates("Query_ID").set_index("Query_ID")
    assert best.loc["q", "Target_ID"] == "MA0139.2" and best.loc["q", "Orientation"] == "+"
    assert best.loc["rc", "Target_ID"] == "MA0139.2" and best.loc["rc", "Orientation"] == "-"
    assert best.loc["q", "E-value"] < 1e-10 and best.loc["q", "Overlap"] == len(ctcf.freqs)


def test_euclidean_option_runs_memelite():
    queries, _ = read_meme(MOTIFS / "DanQ_filters.meme")
    targets, _ = read_meme(MOTIFS / "JASPAR2024_CORE_vertebrates_nr.meme")
    out = tomtom_euclidean(queries[:5], targets)
    assert list(out.columns) == COLUMNS and len(out) == 5 * 879 and out["p-value"].between(0, 1).all()


def test_meme_round_trip_and_errors(tmp_path):
    m = Motif("filter3", "ACGT", np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]]), 42)
    write_meme(tmp_path / "m.meme", [m], np.array([0.3, 0.2, 0.2, 0.3]))
    (back,), bg = read_meme(tmp_path / "m.meme")
    assert back.id == "filter3" and back.nsites == 42 and np.allclose(back.freqs, m.freqs)
    assert np.allclose(bg, [0.3, 0.2, 0.2, 0.3]) and consensus(back.freqs) == "AT"
    (tmp_path / "bad.meme").write_text("MEME version 4\n\nMOTIF x\nletter-probability matrix: alength= 4 w= 2\n0.5 0.5 0 0\n0.1\n")
    with pytest.raises(Exception, match=r"bad.meme:6: motif x: expected 4 numbers per row"):
        read_meme(tmp_path / "bad.meme")


def test_summary_joins_the_filter_table(tmp_path):
    """tomtom_summary.tsv: one row per filter of filters.tsv, kept ones with their best match."""
    targets, _ = read_meme(MOTIFS / "JASPAR2024_CORE_vertebrates_nr.meme")
    ctcf = next(t for t in targets if t.id == "MA0139.2")
    write_meme(tmp_path / "filters.meme", [Motif("filter1", "ctcf", ctcf.freqs, 50)], np.full(4, 0.25))
    pd.DataFrame({"filter": ["filter0", "filter1"], "sites": [3, 50], "consensus": ["", consensus(ctcf.freqs)],
                  "status": ["too_few_sites", "kept"]}).to_csv(tmp_path / "filters.tsv", sep="\t", index=False)
    main(build_parser().parse_args([
        "--query", str(tmp_path / "filters.meme"), "--targets", str(MOTIFS / "JASPAR2024_CORE_vertebrates_nr.meme"),
        "--output", str(tmp_path / "tomtom.tsv"), "--summary", str(tmp_path / "summary.tsv"),
        "--filters", str(tmp_path / "filters.tsv")]))
    s = pd.read_csv(tmp_path / "summary.tsv", sep="\t").set_index("filter")
    assert list(s.index) == ["filter0", "filter1"] and s.loc["filter0", "status"] == "too_few_sites"
    assert pd.isna(s.loc["filter0", "best_target"]) and pd.isna(s.loc["filter0", "significant"])
    assert s.loc["filter1", "best_target"] == "MA0139.2" and s.loc["filter1", "best_name"] == "CTCF"
    assert bool(s.loc["filter1", "significant"]) and s.loc["filter1", "n_significant"] >= 1
