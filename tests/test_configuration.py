"""A user's configuration: it stands alone, every mistake is refused at plan time (``snakemake
-n``) with the file and key, and the pipeline never touches a user's own files.

The user's data here are real: hg38 chr2:1-2,333,275, ENCODE's ATAC-seq peaks and the hg38
blacklist (tests/data/real-hg38-chr2, see SOURCES.md).
"""
from __future__ import annotations

import copy
import gzip
import hashlib
import re
import shutil
import subprocess

import h5py
import pytest
import yaml
from snakemake.utils import update_config

from conftest import DATA, ROOT, fitted_encoding_args, snakemake
from workflow_scripts import configuration
from workflow_scripts.configuration import ConfigError
from workflow_scripts.sample_sheets import read_sample_sheet

REAL = DATA / "real-hg38-chr2"


@pytest.fixture
def user(tmp_path):
    """A user's own files (absolute paths) and a configuration of their own for them."""
    files = tmp_path / "user"
    files.mkdir()
    shutil.copy(REAL / "hg38_chr2_1-2333275.fa.gz", files / "hg38.fa.gz")
    shutil.copy(REAL / "hg38-blacklist.v2.bed.gz", files / "blacklist.bed.gz")
    with gzip.open(REAL / "ENCSR356KRQ_atac_ppr.naive_overlap.filt.hg38.narrowPeak.gz", "rt") as src, \
            gzip.open(files / "atac.narrowPeak.gz", "wt") as dst:
        dst.writelines(line for line in src if line.startswith("chr2\t"))
    (files / "dnase_prom.bed").write_bytes((REAL / "region_chr2_0-2333275.roadmap_dnase_prom.bed").read_bytes())
    (files / "samples.tsv").write_text(
        "name\tcategory\turl\n"
        f"ATAC_ENCSR356KRQ\tATAC\t{files / 'atac.narrowPeak.gz'}\n"
        f"DNase_prom\tDNase\t{files / 'dnase_prom.bed'}\n")
    config = {"results": str(tmp_path / "results"), "download_cache": str(tmp_path / "cache"),
              "genome": {"url": str(files / "hg38.fa.gz"), "chromosomes": ["chr2"]},
              "masks": {"blacklist": {"url": str(files / "blacklist.bed.gz")}},
              "datasets": {"atac": {"builder": "dhs600", "samples": str(files / "samples.tsv"),
                                    "split": {"mode": "random", "test_count": 100, "valid_count": 100},
                                    "models": ["basset"]}}}
    return files, config


def write_config(path, config):
    path.write_text(yaml.safe_dump(config))
    return str(path)


def checked(config: dict) -> dict:
    """What rules/common.smk does with a --configfile: the zoo, then the user's file, checked."""
    merged = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    update_config(merged, copy.deepcopy(config))
    configuration.validate(merged, ["user.yaml"])
    sheets = {d: read_sample_sheet(spec["samples"]) for d, spec in merged["datasets"].items()}
    configuration.check(merged, ["user.yaml"], sheets, [])
    return merged


def digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_a_copied_demo_config_never_touches_the_users_files(tmp_path, user):
    """The demo config copied, pointed at the user's own genome, masks and sheets, demo left on:
    the pipeline runs and the user's files are byte-identical afterwards (they were deleted)."""
    files, _ = user
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    assert config["demo"]["enabled"]
    config.update(results=str(tmp_path / "results"), download_cache=str(tmp_path / "cache"))
    config["genome"] = {"url": str(files / "hg38.fa.gz"), "chromosomes": ["chr2"]}
    config["masks"] = {"blacklist": {"url": str(files / "blacklist.bed.gz")},
                       "unmappable": {"url": str(files / "blacklist.bed.gz")}}
    for spec in config["datasets"].values():
        spec["samples"] = str(files / "samples.tsv")
        spec["split"] = {"mode": "random", "test_count": 100, "valid_count": 100}
    before = digests(files)
    done = snakemake("--cores", "2", "peaks", "genome", "--configfile", write_config(tmp_path / "my.yaml", config))
    assert digests(files) == before
    assert "make_demo" not in done.stdout + done.stderr      # the demo was not made at all
    counts = (tmp_path / "results" / "peaks" / "ATAC_ENCSR356KRQ.counts.tsv").read_text()
    assert "kept\t27\n" in counts and "dropped_past_chrom_end\t2744" in counts   # the genome is 2.3 Mbp of chr2


def test_a_users_config_stands_alone(tmp_path, user):
    """No demo setting leaks in: no blacklist unless given, only the user's data sets."""
    _, config = user
    del config["masks"]
    plan = snakemake("-n", "-p", "--configfile", write_config(tmp_path / "my.yaml", config)).stdout
    assert "make_demo" not in plan and "resources/demo" not in plan
    assert "blacklist.bed" not in plan and "unmappable" not in plan   # no mask given, none used
    assert "dataset=atac" in plan and "deepsea1000" not in plan and "nuc25k" not in plan
    assert plan.count("rule train_model:") == 1


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(peaks={"on_malformd": "skip"}), r"peaks: unknown setting\(s\) 'on_malformd'; known: naming, on_malformed"),
    (lambda c: c["datasets"]["atac"].update(sizes=600), r"datasets.atac: unknown setting\(s\) 'sizes'"),
    (lambda c: c.update(profile="fast"), r"profile: 'fast' is not defined; known: demo, paper, smoke"),
    (lambda c: c["datasets"]["atac"].update(models=["basset", "nosuchmodel"]), r"model 'nosuchmodel' is not defined"),
    (lambda c: c.update(models={"basset": {"family": "basset", "args": {"conv_filter": [8]}}}),
     r"models.basset.args: unknown setting\(s\) conv_filter for family basset"),
    (lambda c: c.update(models={"basset": {"family": "basset", "train": {"learning_rate": 1}}}),
     r"models.basset.train: unknown training setting\(s\) learning_rate"),
    (lambda c: c.update(models={"basset": {"family": "basset", "train": {"precision": "fp16"}}}),
     r"models.basset.train: precision 'fp16': one of bf16, tf32, fp32"),
    (lambda c: c.update(profiles={"demo": {"train": {"precision": "half"}}}), r"profiles.demo.train: precision 'half'"),
    (lambda c: c.update(models={"basset": {"family": "basset", "train": {"monitor": "roc_auc"}}}),
     r"models.basset.train: monitor 'roc_auc': one of valid_loss, valid_roc_auc, valid_pr_auc"),
    (lambda c: c.update(models={"basset": {"family": "basset", "train": {"positive_weight": 0}}}),
     r"models.basset.train: positive_weight 0: a number above 0"),
    (lambda c: c.update(models={"basset": {"family": "basset", "train": {"label_fraction": 0}}}),
     r"models.basset.train: label_fraction 0: a share of the training rows, above 0 and at most 1"),
    (lambda c: c.update(models={"basset": {"family": "basset", "train": {"compile": "fast"}}}),
     r"models.basset.train: compile 'fast': true, false or one of default, reduce-overhead"),
    (lambda c: c["datasets"]["atac"].update(overlap=600), r"datasets.atac: overlap 600 must be below size 600"),
    (lambda c: c["datasets"]["atac"].update(split={"test_chroms": ["chr8"]}),
     r"datasets.atac.split: chromosome\(s\) chr8, chr7 are not among the genome's selected chromosomes"),
    (lambda c: c["datasets"].update(deep={"builder": "deepsea1000", "samples": c["datasets"]["atac"]["samples"],
                                         "min_signal": {"nosuchsample": 5}}),
     r"datasets.deep.min_signal: no sample named nosuchsample"),
    (lambda c: c["datasets"].update(nuc={"builder": "nuc25k", "samples": c["datasets"]["atac"]["samples"]}),
     r"datasets.nuc: the 25 kb windows are filtered by multi-mapped regions: give masks.unmappable"),
    (lambda c: c.update(use_models={"models": ["atac/danq"]}),
     r"use_models.models: atac/danq is not a model of a data set here"),
    (lambda c: c.update(use_models={"variants": {"gwas": "/no/such/gwas.vcf.gz"}}),
     r"use_models.variants.gwas: /no/such/gwas.vcf.gz does not exist"),
    (lambda c: c.update(use_models={"ref_mismatch": "ignore"}), r"use_models.ref_mismatch"),
    (lambda c: c.update(use_models={"attribution": {"models": ["atac/danq"]}}),
     r"use_models.attribution.models: atac/danq is not a model of a data set here"),
    (lambda c: (c["datasets"]["atac"].update(models=["basset", "superq"]),
                c.update(use_models={"attribution": {"models": ["atac/superq"]}})),
     r"use_models.attribution.models: atac/superq: its targets come from a classifier that is not a torch layer"),
    (lambda c: c.pop("genome"), r"\(top level\): 'genome' is required"),
    (lambda c: c["datasets"]["atac"].pop("builder"), r"datasets.atac: 'builder' is required"),
])
def test_mistakes_are_refused_naming_the_key(user, change, message):
    _, config = user
    change(config)
    with pytest.raises(ConfigError, match=message):
        checked(config)


def test_refusals_happen_at_plan_time_through_snakemake(tmp_path, user):
    _, config = user
    config["peaks"] = {"on_malformd": "skip"}
    done = snakemake("-n", "--configfile", write_config(tmp_path / "my.yaml", config), check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "peaks: unknown setting(s) 'on_malformd'" in output and str(tmp_path / "my.yaml") in output
    assert "Traceback" not in output


def test_an_input_inside_the_results_directory_is_refused(tmp_path, user):
    files, config = user
    config["results"] = str(files)
    with pytest.raises(ConfigError, match=r"genome.url: .* lies inside `results`"):
        checked(config)


def test_the_demo_writes_only_below_its_own_directory(tmp_path):
    sheet = tmp_path / "demo.tsv"
    sheet.write_text(f"name\tcategory\turl\nTF_X\tTF\t{tmp_path / 'elsewhere.bed'}\n")
    config = {"demo": {"out_dir": str(tmp_path / "demo")}}
    with pytest.raises(ConfigError, match="outside demo.out_dir"):
        configuration.demo_outputs(config, read_sample_sheet(sheet))


def test_every_model_is_tiny_in_the_smoke_profile_and_the_demo_plans():
    from models import build_model, n_parameters
    zoo = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    assert "smoke" in zoo["profiles"] and zoo["profiles"]["smoke"]["train"]["max_epochs"] == 1
    smoke = {**zoo, "profile": "smoke"}
    for name in zoo["models"]:
        entry = configuration.model_settings(smoke, name)
        assert entry["train"]["max_epochs"] == 1, name
        model = build_model(entry["family"], 3, 1000, **entry["args"], **fitted_encoding_args(entry["family"]))
        assert n_parameters(model) < 100_000, name
    plan = snakemake("-n", "--config", "profile=smoke").stdout
    assert "train_model" in plan


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("results: x\npeaks:\n  naming: [ucsc\n")
    with pytest.raises(ConfigError, match=rf"{bad}:4:1: YAML syntax error"):
        configuration.yaml_syntax(bad)
    done = subprocess.run([str(ROOT / "seq2reg"), "run", "-n", "--configfile", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and f"{bad}:4:1: YAML syntax error" in done.stderr


def test_two_instances_of_one_builder_plan_and_build_side_by_side(tmp_path):
    """A data-set variant is a config entry: dhs600 split by chromosome and at random, both built."""
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    config.update(results=str(tmp_path / "results"), download_cache=str(tmp_path / "cache"))
    base = {k: v for k, v in config["datasets"]["dhs600"].items() if k != "models"}
    config["datasets"] = {
        "dhs600_bychrom": base,
        "dhs600_random": {**base, "split": {"mode": "random", "test_count": 300, "valid_count": 200, "seed": 3}}}
    config["use_models"] = {k: v for k, v in config["use_models"].items() if k not in ("models", "attribution")}  # demo models
    args = ["datasets", "--cores", "2", "--configfile", write_config(tmp_path / "my.yaml", config)]
    plan = snakemake("-n", *args).stdout
    assert re.search(r"merge_peaks\s+2\b", plan) and re.search(r"dataset\s+2\b", plan)
    snakemake(*args)
    sizes = {}
    for name in config["datasets"]:
        assert (tmp_path / "results" / "features" / name / "merged.bed").exists()
        with h5py.File(tmp_path / "results" / "datasets" / f"{name}.h5") as f:
            sizes[name] = {s: f[s]["start"].shape[0] for s in ("train", "valid", "test")}
    assert sizes["dhs600_random"]["test"] == 300 and sizes["dhs600_random"]["valid"] == 200
    assert sizes["dhs600_bychrom"]["test"] != 300 and sum(sizes["dhs600_bychrom"].values()) == sum(
        sizes["dhs600_random"].values())
