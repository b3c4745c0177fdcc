"""The Snakemake workflow: lint, the hg19 plan, and the whole demo end to end (asserting numbers).

The end-to-end run makes the demo inputs, downloads them through the download stage, builds the
three data sets, trains the demo's nine models (Basset with basset_w2v, alexnet_10 and dssda_10;
DeepSEA with the linear baselines lr and kmer_lr; the Dilated model), evaluates them, extracts
filter motifs, runs Tomtom against JASPAR 2024, writes the report, and uses each trained model
(predictions, variant effects, saturation mutagenesis; attributions and MoDISco patterns for Basset).

Where the machine allows (root and apt-get, as in CI), the run goes through a real single-node
SLURM cluster — Debian's slurmctld, slurmd and munge, one fake GPU as a gres with a device file,
brought up by tests/slurm/slurm-up.sh and torn down by recorded PIDs — with
snakemake-executor-plugin-slurm and the profile tests/slurm/profile, with downloads kept on the
submit node (``downloads.local``, as on clusters whose compute nodes have no internet); the
training jobs must then have run as SLURM jobs with a GPU assigned. Elsewhere the demo runs
locally and the SLURM checks are skipped with the reason.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import pandas as pd
import pytest

import yaml

from conftest import ROOT, snakemake
from workflow_scripts.sample_sheets import read_sample_sheet

LR_ROC_GAP = 0.15                # demo deepsea1000: DeepSEA's mean ROC AUC above lr's
KMER_ROC_GAP = 0.02              # ... above kmer_lr's (issue 13)
KMER_PR_GAP = 0.1                # ... and its mean PR AUC above kmer_lr's
NUC25K_ROC_AUC = 0.75            # demo nuc25k: dilated's mean ROC AUC at every base (issue 14)


def test_lint_is_clean():
    done = snakemake("--lint")
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr


def test_hg19_plan_downloads_every_real_file_and_trains_on_gpus():
    """`snakemake --profile slurm -n` on hg19: every URL planned, every training job a GPU job."""
    out = snakemake("-n", "-p", "--profile", "slurm", "--configfile", "config/hg19.yaml").stdout
    hg19 = yaml.safe_load((ROOT / "config" / "hg19.yaml").read_text())
    n_models = sum(len(spec.get("models", [])) for spec in hg19["datasets"].values())
    training = re.findall(r"rule train_model:\n(.*?)\n\n", out, re.S)
    assert len(training) == n_models
    for job in training:                            # SuperQ's forest lies in a declared output
        assert re.search(r"output: .*/weights\.pt, .*/extra_state\b", job), job
    for job in training:
        assert re.search(r"resources: .*\bslurm_partition=gpu, gpu=[1-9]", job), job
        assert "--signal=USR1@300" in job
    urls = {s.url for sheet in ("config/hg19/samples_dhs600.tsv", "config/hg19/samples_features.tsv")
            for s in read_sample_sheet(ROOT / sheet)}
    assert len(urls) == 958                                   # 164 Basset + 919 DeepSEA, 125 shared
    planned = set(re.findall(r"--url '?([^' ]+)'?", out))
    assert urls <= planned
    assert "https://hgdownload.soe.ucsc.edu/goldenPath/hg19/bigZips/hg19.fa.gz" in planned
    assert re.search(r"download\s+961\b", out) and re.search(rf"train_model\s+{n_models}\b", out)
    assert "--md5 24b982fd681020b1cf030b18a2f0f586" in out       # the pinned blacklist
    fields = re.findall(r"rule receptive_fields_dataset:\n(.*?)\n\n", out, re.S)  # Gupta's Fig. 8.5.1, on a GPU
    assert len(fields) == 1 and "eval/nuc25k/receptive_fields.png" in fields[0]
    assert re.search(r"resources: .*\bslurm_partition=gpu, gpu=1", fields[0]), fields[0]


def local_downloads_config(directory: Path) -> list[str]:
    """The demo's configuration plus a file that keeps downloads on the submit node (``downloads.local``)."""
    path = directory / "local_downloads.yaml"
    path.write_text("downloads:\n  local: true\n")
    return ["config/demo.yaml", str(path)]


def test_downloads_stay_on_the_submit_node_when_configured(tmp_path):
    """downloads.local: the download jobs run in Snakemake's own process, not as (grouped) SLURM jobs."""
    args = ["-n", "--profile", "slurm", "--config", f"results={tmp_path}/results", f"download_cache={tmp_path}/dl"]
    assert re.search(r"Group job downloads", snakemake(*args).stdout)
    plan = snakemake(*args, "--configfile", *local_downloads_config(tmp_path)).stdout
    assert "Group job downloads" not in plan and "Group job peaks" in plan
    jobs = re.findall(r"\nrule download:\n(.*?)\n\n", plan, re.S)
    assert len(jobs) == 41 and all("tmpdir=/tmp," in job for job in jobs)   # local jobs get a real tmpdir


def slurm_unavailable() -> str | None:
    if os.environ.get("SEQ2REG_SLURM_TESTS") == "off":
        return "SEQ2REG_SLURM_TESTS=off (a machine whose apt-get cannot reach Debian's packages)"
    if sys.platform != "linux":
        return "a SLURM cluster needs Linux"
    if os.geteuid() != 0:
        return "bringing up SLURM needs root (it installs and starts slurmctld, slurmd and munge)"
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        return "bringing up SLURM needs apt-get to install Debian's slurm packages"
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A single-node SLURM cluster for the module's demo run, or None where one cannot run."""
    if slurm_unavailable():
        yield None
        return
    prefix = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "PREFIX": str(prefix), "ACCOUNTING": "none", "FAKE_GPUS": "1"}
    up = subprocess.run(["bash", str(ROOT / "tests" / "slurm" / "slurm-up.sh")], env=env, capture_output=True,
                        text=True, timeout=900)
    try:
        assert up.returncode == 0, f"could not start SLURM:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        yield prefix
    finally:
        subprocess.run(["scancel", "--user", "root"], capture_output=True)
        subprocess.run(["bash", str(prefix / "slurm-down.sh")], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, cluster):
    """The whole demo, run once through Snakemake (as SLURM jobs where possible: the data sets are
    built locally first, tests/slurm/profile says why)."""
    base = tmp_path_factory.mktemp("demo")
    args = ["--cores", os.environ.get("CORES", "2"), "--config", f"results={base}/results", f"download_cache={base}/downloads"]
    if cluster is not None:
        args = ["--configfile", *local_downloads_config(base), *args]
        snakemake("datasets", *args)
        args = ["--profile", "tests/slurm/profile", *args]
    try:
        snakemake(*args)
    finally:
        if cluster is not None:
            subprocess.run(["scancel", "--user", "root"], capture_output=True)
    return base / "results", args


def test_demo_basset_learns_the_dnase_task(demo):
    results, _ = demo
    metrics = pd.read_csv(results / "eval" / "dhs600" / "basset" / "metrics.tsv", sep="\t")
    assert list(metrics.columns) == ["target", "category", "n_pos", "roc_auc", "pr_auc"] and len(metrics) == 12
    assert metrics["roc_auc"].mean() >= 0.85          # 0.943 over seeds 1-3 (0.927-0.936 before strong sites)
    assert metrics["roc_auc"].max() < 1.0                      # the demo is not trivially separable


def test_demo_dilated_learns_the_per_nucleotide_task(demo):
    """Issue 14: the demo's 25 kb task is learnable in CPU minutes (the demo profile of `dilated`:
    stride 1, dilations 1/3/9/27, positives weighted 5x; README, "the demo's 25 kb task")."""
    results, _ = demo
    metrics = pd.read_csv(results / "eval" / "nuc25k" / "dilated" / "metrics.tsv", sep="\t")
    by_category = metrics.groupby("category")["roc_auc"].mean()
    # every base, plain means over 38 targets; benchmarks/demo_robustness.py, seeds 1-3: 0.800-0.823
    assert metrics["roc_auc"].mean() >= NUC25K_ROC_AUC, by_category
    assert by_category["TF"] > by_category["Histone"] + 0.2, by_category   # the planted motifs, not the marks


def test_demo_filters_recover_the_planted_motifs(demo):
    results, _ = demo
    truth = pd.read_csv(ROOT / "resources" / "demo" / "truth.tsv", sep="\t").fillna("")
    planted = set(truth.loc[truth["motif_id"] != "", "motif_id"])
    found = {}
    for dataset, model in (("dhs600", "basset"), ("deepsea1000", "deepsea"), ("nuc25k", "dilated")):
        tt = pd.read_csv(results / "motifs" / dataset / model / "tomtom.tsv", sep="\t")
        assert list(tt.columns) == ["Query_ID", "Target_ID", "Optimal_offset", "p-value", "E-value", "q-value",
                                    "Overlap", "Query_consensus", "Target_consensus", "Orientation"]
        found[model] = set(tt.loc[tt["E-value"] < 0.01, "Target_ID"]) & planted
        summary = pd.read_csv(results / "motifs" / dataset / model / "tomtom_summary.tsv", sep="\t")
        filters = pd.read_csv(results / "motifs" / dataset / model / "filters.tsv", sep="\t")
        assert list(summary["filter"]) == list(filters["filter"]) and {"consensus", "best_name"} <= set(summary)
        hits = summary.loc[summary["significant"].fillna(False).astype(bool), "filter"]
        assert set(hits) == set(tt.loc[tt["E-value"] < 0.01, "Query_ID"])
    # benchmarks/demo_robustness.py (seeds 1-3, 2 threads, 2026-11-24, strong planted sites): Basset
    # or DeepSEA recovered 15 to 19 of 22 (10 to 15 over 10 runs before); the bound sits below with a margin
    from_basset_or_deepsea = found["basset"] | found["deepsea"]
    assert len(planted) == 22 and len(from_basset_or_deepsea) >= 11, sorted(from_basset_or_deepsea)
    report = pd.read_csv(results / "report" / "planted_motifs.tsv", sep="\t")
    assert int(report["recovered"].sum()) == len(from_basset_or_deepsea | found["dilated"])


def test_demo_linear_baselines_score_clearly_below_the_convolutional_model(demo):
    """Issue 13, DanQ's Table S1 and Gupta's Table 7.4.1 in small, on the demo's deepsea1000:
    logistic regression on the one-hot sequence (lr) and on z-scored 1- to 5-mer counts (kmer_lr,
    DanQ's LR) stay below DeepSEA on every seed, and the accuracy table ranks them by loss and
    shows the all-zeros predictor's accuracy for scale."""
    results, _ = demo
    models = ("deepsea", "lr", "kmer_lr")
    metrics = {m: pd.read_csv(results / "eval" / "deepsea1000" / m / "metrics.tsv", sep="\t") for m in models}
    roc = {m: t["roc_auc"].mean() for m, t in metrics.items()}
    pr = {m: t["pr_auc"].mean() for m, t in metrics.items()}
    # benchmarks/demo_learning_check.py, seeds 1-3 (README): the gaps to DeepSEA were at least
    # 0.33 (lr, ROC), 0.037 (kmer_lr, ROC) and 0.185 (kmer_lr, PR)
    assert roc["deepsea"] - roc["lr"] >= LR_ROC_GAP, roc
    assert roc["deepsea"] - roc["kmer_lr"] >= KMER_ROC_GAP and pr["deepsea"] - pr["kmer_lr"] >= KMER_PR_GAP, (roc, pr)
    table = pd.read_csv(results / "eval" / "deepsea1000" / "accuracy_table.tsv", sep="\t").set_index(["predictor", "split"])
    assert set(table.index.get_level_values(0)) == {*models, "all_zeros"}
    test = table.xs("test", level="split")
    assert test.loc["deepsea", "loss"] < test.loc["lr", "loss"]
    assert test.loc["deepsea", "accuracy"] > test.loc["all_zeros", "accuracy"] and test.loc["all_zeros", "f1"] == 0
    summary = yaml.safe_load((results / "eval" / "deepsea1000" / "deepsea" / "summary.json").read_text())
    assert test.loc["deepsea", "loss"] == pytest.approx(summary["test_loss"], abs=1e-5)
    assert table.loc[("deepsea", "train"), "rows"] == 2000            # accuracy_table.train_bases: 2 Mb
    assert (results / "eval" / "deepsea1000" / "curve_overlay.png").stat().st_size > 1000


def test_demo_shows_dssdas_label_study_and_the_word2vec_vectors(demo):
    """Issue 15 on the demo: at 10 % labels (the same rows for both) AlexNet and the ladder network
    learn above chance and stay far below Basset with every label; the report shows the label
    study and the t-SNE map of the 3-mer vectors basset_w2v read."""
    results, _ = demo
    study = pd.read_csv(results / "eval" / "dhs600" / "label_study.tsv", sep="\t").set_index("model")
    assert study.loc[["alexnet_10", "dssda_10"], "label_fraction"].tolist() == [0.1, 0.1]
    assert study.loc[["basset", "basset_w2v"], "reference"].all()
    # benchmarks/demo_label_fractions.py, seeds 1-3 (README, 2026-11-24, dssda_10 at 3 epochs): alexnet_10
    # 0.676-0.688, dssda_10 0.565-0.618 test mean ROC AUC (DSSDA below AlexNet on every seed: not asserted)
    assert study.loc["alexnet_10", "mean_roc_auc"] >= 0.58 and study.loc["dssda_10", "mean_roc_auc"] >= 0.52, study
    assert (study.loc[["alexnet_10", "dssda_10"], "mean_roc_auc"] < study.loc["basset", "mean_roc_auc"] - 0.15).all()
    vectors = pd.read_csv(results / "encodings" / "dhs600" / "word2vec.tsv", sep="\t", comment="#")
    assert len(vectors) == 64
    page = (results / "report" / "index.html").read_text()
    assert "Label study" in page and "label_study.png" in page and "word2vec_tsne.png" in page


def test_demo_outputs_have_their_documented_formats(demo):
    results, _ = demo
    act = (results / "features" / "dhs600" / "activity.tsv").read_text().splitlines()
    assert act[0].startswith("\tC01|DNase|None\t") and re.fullmatch(r"chr\w+:\d+-\d+\([+-]\)(\t[01]){12}", act[1])
    bed = (results / "features" / "dhs600" / "merged.bed").read_text().splitlines()
    assert len(bed) == len(act) - 1 and len(bed[0].split("\t")) == 7
    for name, length, layout in (("dhs600", 600, "packbits"), ("deepsea1000", 1000, "packbits"), ("nuc25k", 25000, "intervals")):
        with h5py.File(results / "datasets" / f"{name}.h5") as f:
            assert f.attrs["seq_length"] == length and f.attrs["label_layout"] == layout
            for split in ("train", "valid", "test"):
                assert {"chrom", "start", "end", "seq"} <= set(f[split]) and f[split]["seq"].shape[1] == length
                assert f[split]["start"].shape[0] > 0, (name, split)
            assert len(f.attrs["targets"]) == len(f.attrs["categories"])
    counts = pd.read_csv(results / "peaks" / "DNase_C01.counts.tsv", sep="\t").set_index("reason")["count"]
    assert counts["dropped_chrom_not_selected"] == 3 and counts["clipped_at_chrom_end"] == 1
    meme = (results / "motifs" / "dhs600" / "basset" / "filters.meme").read_text()
    assert meme.startswith("MEME version 4") and "letter-probability matrix: alength= 4 w= 19 nsites=" in meme
    for dataset in ("dhs600", "deepsea1000", "nuc25k"):
        assert (results / "eval" / dataset / "scatter_roc.png").stat().st_size > 1000
        assert len(pd.read_csv(results / "models" / dataset / {"dhs600": "basset", "deepsea1000": "deepsea",
                                                                 "nuc25k": "dilated"}[dataset] / "train_log.tsv", sep="\t"))
    page = (results / "report" / "index.html").read_text()
    assert "Planted motifs recovered" in page and "scatter_roc.png" in page


def test_demo_uses_its_trained_models(demo):
    """Predictions, variant effects and mutagenesis of every demo model on the demo's regions
    and variants: every edge case of the demo VCF counted, the VCF read back by bcftools, and
    DeepSEA's predictions higher at a TF's own bound sites than at random places."""
    import numpy as np
    import pysam.bcftools
    results, _ = demo
    for dataset, model in (("dhs600", "basset"), ("deepsea1000", "deepsea"), ("nuc25k", "dilated")):
        use = results / "use" / dataset / model
        summary = yaml.safe_load((use / "variants" / "demo_variants.summary.json").read_text())
        assert summary["skipped"] == {"no_alt": 1, "star_allele": 1, "symbolic": 1, "ref_mismatch": 1,
                                      "unknown_chrom": 2}, summary
        assert summary["unknown_chromosomes"] == {"MT": 1, "chr22": 1} and summary["multiallelic_records"] == 1
        assert summary["flagged"]["indel"] == 2 and summary["scored"] == summary["alleles"] - 6
        records = pysam.bcftools.view("-H", str(use / "variants" / "demo_variants.vcf")).strip().splitlines()
        assert len(records) == summary["scored"]
        with h5py.File(use / "mutagenesis" / "demo_regions.h5") as h5:
            assert h5["seq0/effects"].shape[:2] == (200, 4) and "seq1" in h5 and "seq2" not in h5
        assert (use / "mutagenesis" / "demo_regions.pdf").read_bytes()[:4] == b"%PDF"
    table = pd.read_csv(results / "use" / "deepsea1000" / "deepsea" / "predict" / "demo_regions.tsv", sep="\t")
    assert len(table) == 32
    own, background = [], []
    for tf in set(table["name"]) - {"background"}:
        columns = [c for c in table.columns if f"|{tf}|" in c]
        own.append(table.loc[table["name"] == tf, columns].to_numpy().mean())
        background.append(table.loc[table["name"] == "background", columns].to_numpy().mean())
    assert np.mean(own) > 2 * np.mean(background), (own, background)


def test_demo_modisco_patterns_recover_more_planted_motifs_than_filters(demo):
    """Basset's attributions on its top test windows (DeepLIFT/SHAP, additive on every window
    without N) and the MoDISco patterns' Tomtom matches, as the report counts them."""
    results, _ = demo
    with h5py.File(results / "use" / "dhs600" / "basset" / "attribution" / "attributions.h5") as f:
        method, error, codes = f["method"][:], f["additivity_error"][:], f["codes"][:]
    no_n = (codes < 4).all(1)
    assert len(method) >= 100 and (method[no_n] == b"deeplift").all() and (error[no_n] <= 1e-3).all()
    recovery = pd.read_csv(results / "report" / "planted_motifs.tsv", sep="\t").fillna("")
    by_patterns = int((recovery["dhs600/basset MoDISco"] != "").sum())
    by_filters = int((recovery["dhs600/basset"] != "").sum())
    # benchmarks/demo_robustness.py, seeds 1-3 (README): 22 / 20 / 21 of 22 by the patterns, 10 / 7 / 10
    # by Basset's filters (issue 17's target: 20)
    assert by_patterns >= 18 and by_patterns > by_filters, (by_patterns, by_filters)
    assert int(recovery["recovered_by_modisco"].sum()) == by_patterns


def test_demo_stages_rerun_by_name(demo):
    results, args = demo
    assert "Nothing to be done" in snakemake(*args, "-n").stdout
    plan = snakemake(*args, "-n", "--forcerun", "compare_models", "evaluate").stdout
    assert re.search(r"compare_models\s+3\b", plan) and "train_model" not in plan
    plan = snakemake(*args, "-n", "--forcerun", "tomtom", "motifs").stdout
    assert re.search(r"tomtom\s+5\b", plan) and "filter_motifs" not in plan      # basset, alexnet_10, dssda_10, deepsea, dilated


def test_snakemake_packages_the_labelled_results_into_a_report_zip(demo, tmp_path):
    _, args = demo
    local = [a for a in args if a not in ("--profile", "tests/slurm/profile")]
    snakemake(*local, "--report", str(tmp_path / "report.zip"))
    with zipfile.ZipFile(tmp_path / "report.zip") as z:
        names = [Path(n).name for n in z.namelist()]
        page = z.read(next(n for n in z.namelist() if n.endswith("report.html"))).decode()
    for figure in ("scatter_roc.png", "scatter_pr.png", "training_curves.png", "curve_overlay.png"):
        assert names.count(figure) == 3, figure                    # one per data set
    assert names.count("curves.png") == 8                          # one per model
    assert names.count("tomtom_summary.tsv") == 5 and names.count("comparison_summary.tsv") == 3
    assert names.count("label_study.png") == 1 and names.count("word2vec_tsne.png") == 1
    assert all(label in page for label in ("per-target ROC AUC", "ROC and PR curves", "dhs600", "basset", "dilated",
                                           "label study", "3-mer t-SNE"))


def test_demo_training_ran_as_slurm_jobs_with_a_gpu(demo, cluster):
    if cluster is None:
        pytest.skip(f"no SLURM cluster here: {slurm_unavailable()}")
    results, _ = demo
    for dataset, model in (("dhs600", "basset"), ("deepsea1000", "deepsea"), ("nuc25k", "dilated")):
        log = (results / "logs" / "train" / dataset / f"{model}.log").read_text()
        assert "SLURM job -;" not in log, f"{model} did not run as a SLURM job"
        assert "CUDA_VISIBLE_DEVICES=-" not in log, f"{model} got no GPU from SLURM:\n{log[-1500:]}"
