# Shared set-up: the checked configuration, sample sheets, downloads, the one table of result
# paths, wildcard constraints and the small helpers the rules use.
import json
import os
import re
import shlex
import sys

from snakemake.exceptions import WorkflowError
from snakemake_interface_executor_plugins.settings import DeploymentMethod

sys.path.insert(0, workflow.basedir)
from workflow_scripts import configuration  # noqa: E402
from workflow_scripts.cli import InputError  # noqa: E402
from workflow_scripts.sample_sheets import ACCESSIBILITY, download_key, local_path, read_sample_sheet  # noqa: E402

SOURCES = ["config/models.yaml"] + ([str(f) for f in workflow.overwrite_configfiles] or ["config/demo.yaml"])


def _checked(step, *args):
    """Run a configuration step; a problem stops the plan with its message (no traceback)."""
    try:
        return step(*args)
    except InputError as err:
        raise WorkflowError(str(err)) from None


_checked(configuration.validate, config, SOURCES)
DATASETS = list(config["datasets"])
DATASET_SAMPLES = {d: _checked(read_sample_sheet, spec["samples"]) for d, spec in config["datasets"].items()}
DEMO = config.get("demo", {"enabled": False})
DEMO_FILES = (_checked(configuration.demo_outputs, config, [s for sheet in DEMO["sample_sheets"]
                                                            for s in _checked(read_sample_sheet, sheet)])
              if DEMO["enabled"] else [])
# The full check imports the model zoo (torch): once, in the Snakemake that plans; the processes
# that run single jobs (cluster jobs, grouped jobs) read the configuration it accepted.
if workflow.is_main_process:
    _checked(configuration.check, config, SOURCES, DATASET_SAMPLES, DEMO_FILES)


def _samples():
    """Every sample of every data set; a name used twice must mean the same file."""
    samples = {}
    for dataset, rows in DATASET_SAMPLES.items():
        for s in rows:
            if s.name in samples and samples[s.name].url != s.url:
                raise WorkflowError(f"sample {s.name} has two different URLs: {samples[s.name].url} "
                                    f"and {s.url} ({config['datasets'][dataset]['samples']})")
            samples[s.name] = s
    return samples


SAMPLES = _samples()
MASKS = {m: spec for m, spec in config["masks"].items() if spec}


def _downloads():
    """Cache key -> (url, md5) for every file the configuration names (each URL once)."""
    wanted = [(s.url, s.md5) for s in SAMPLES.values()]
    wanted += [(config["genome"]["url"], config["genome"]["md5"])]
    wanted += [(spec["url"], spec["md5"]) for spec in MASKS.values()]
    registry = {}
    for url, md5 in wanted:
        key = _checked(download_key, url)
        if key in registry and registry[key][1] and md5 and registry[key][1] != md5:
            raise WorkflowError(f"{url} is given two different md5 sums")
        registry[key] = (url, md5 or registry.get(key, (url, None))[1])
    return registry


DOWNLOADS = _downloads()

# Rules run `python`: the interpreter that runs Snakemake (its virtual environment need not be
# activated: its bin/ goes first on the jobs' PATH), or the rule's own conda environment's.
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    shell.prefix(f"export PATH={shlex.quote(os.path.dirname(sys.executable))}:\"$PATH\"; ")


def model_settings(model):
    return configuration.model_settings(config, model)


def models_of(dataset):
    return config["datasets"][dataset]["models"]


def builder_of(dataset):
    return config["datasets"][dataset]["builder"]


def datasets_built_by(builder):
    return [d for d in DATASETS if builder_of(d) == builder]


ALL_MODELS = [(d, m) for d in DATASETS for m in models_of(d)]
# per-nucleotide data sets with models: their receptive fields are plotted (rules/receptive_fields.smk)
RECEPTIVE_FIELD_DATASETS = [d for d in datasets_built_by("nuc25k") if models_of(d)]
# models whose first-layer filters become motifs (models.base.SeqModel.motif_layer)
MOTIF_MODELS = [(d, m) for d, m in ALL_MODELS if configuration.family_declares(config, m, "motif_layer")]
# autoencoders, whose data sets get SuperQ's failure analysis (models.base.SeqModel.reconstructs_input)
AUTOENCODERS = {d: [m for m in models_of(d) if configuration.family_declares(config, m, "reconstructs_input")]
                for d in DATASETS}
# data sets with a model trained on a share of the labels get DSSDA's label study (workflow_scripts/label_study.py)
LABEL_STUDIES = [d for d in DATASETS if any(model_settings(m)["train"].get("label_fraction", 1.0) < 1
                                            for m in models_of(d))]
MODEL_NAMES = sorted({m for _, m in ALL_MODELS})
USE = config["use_models"]
USED_MODELS = configuration.used_models(config)
ATTRIBUTION = USE["attribution"]
ATTRIBUTED_MODELS = configuration.attributed_models(config)


def alternatives(names):
    """A wildcard constraint matching exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    dataset=alternatives(DATASETS),
    model=alternatives(MODEL_NAMES),
    sample=alternatives(SAMPLES),
    key=alternatives(DOWNLOADS),
    input=alternatives(set(USE["predict"]) | set(USE["variants"]) | set(USE["mutagenesis"])),
    part=r"\d+",


# ---------------------------------------------------------------- the one table of result paths
R = config["results"]
CACHE = config["download_cache"]
LOGS = f"{R}/logs"
BENCHMARKS = f"{R}/benchmarks"
MODEL_DIR = f"{R}/models/{{dataset}}/{{model}}"
EVAL_DIR = f"{R}/eval/{{dataset}}/{{model}}"
COMPARE_DIR = f"{R}/eval/{{dataset}}"
MOTIF_DIR = f"{R}/motifs/{{dataset}}/{{model}}"
USE_DIR = f"{R}/use/{{dataset}}/{{model}}"
PATHS = {
    "download": f"{CACHE}/{{key}}",
    "genome": f"{R}/genome/genome.fa",
    "chrom_sizes": f"{R}/genome/chrom.sizes",
    "blacklist": f"{R}/genome/blacklist.bed",
    "unmappable": f"{R}/genome/unmappable.bed",
    "peaks": f"{R}/peaks/{{sample}}.bed.gz",
    "peak_counts": f"{R}/peaks/{{sample}}.counts.tsv",
    "merged": f"{R}/features/{{dataset}}/merged.bed",
    "activity": f"{R}/features/{{dataset}}/activity.tsv",
    "dataset": f"{R}/datasets/{{dataset}}.h5",
    "target_counts": f"{R}/datasets/{{dataset}}.targets.tsv",
    "target_plot": f"{R}/datasets/{{dataset}}.targets.png",
    "weights": f"{MODEL_DIR}/weights.pt",
    "model_meta": f"{MODEL_DIR}/model.json",
    "extra_state": f"{MODEL_DIR}/extra_state",
    "train_log": f"{MODEL_DIR}/train_log.tsv",
    "kmer_vectors": f"{R}/encodings/{{dataset}}/word2vec.tsv",
    "kmer_tsne": f"{R}/encodings/{{dataset}}/word2vec_tsne.png",
    "metrics": f"{EVAL_DIR}/metrics.tsv",
    "valid_metrics": f"{EVAL_DIR}/metrics_valid.tsv",
    "eval_summary": f"{EVAL_DIR}/summary.txt",
    "eval_summary_json": f"{EVAL_DIR}/summary.json",
    "predictions": f"{EVAL_DIR}/predictions.h5",
    "curves": f"{EVAL_DIR}/curves.png",
    "eval_by_category": f"{EVAL_DIR}/auc_by_category.png",
    "comparison": f"{COMPARE_DIR}/comparison.tsv",
    "reconstruction": f"{COMPARE_DIR}/reconstruction.tsv",
    "accuracy_table": f"{COMPARE_DIR}/accuracy_table.tsv",
    "curve_overlay": f"{COMPARE_DIR}/curve_overlay.png",
    "failure_plot": f"{COMPARE_DIR}/failure_analysis.png",
    "label_study": f"{COMPARE_DIR}/label_study.tsv",
    "label_study_plot": f"{COMPARE_DIR}/label_study.png",
    "comparison_summary": f"{COMPARE_DIR}/comparison_summary.tsv",
    "win_shares": f"{COMPARE_DIR}/win_shares.tsv",
    "scatter_roc": f"{COMPARE_DIR}/scatter_roc.png",
    "scatter_pr": f"{COMPARE_DIR}/scatter_pr.png",
    "compare_by_category": f"{COMPARE_DIR}/auc_by_category.png",
    "training_curves": f"{COMPARE_DIR}/training_curves.png",
    "receptive_fields_png": f"{COMPARE_DIR}/receptive_fields.png",
    "receptive_fields_tsv": f"{COMPARE_DIR}/receptive_fields.tsv",
    "jaspar": f"{R}/motifs/jaspar2024.meme",
    "filters_meme": f"{MOTIF_DIR}/filters.meme",
    "filters": f"{MOTIF_DIR}/filters.tsv",
    "logos": f"{MOTIF_DIR}/logos",
    "logo_sheet": f"{MOTIF_DIR}/logos.png",
    "tomtom": f"{MOTIF_DIR}/tomtom.tsv",
    "tomtom_summary": f"{MOTIF_DIR}/tomtom_summary.tsv",
    "predict": f"{USE_DIR}/predict/{{input}}.tsv",
    "variants_part": f"{USE_DIR}/variants/parts/{{input}}.{{part}}.h5",
    "variants_part_summary": f"{USE_DIR}/variants/parts/{{input}}.{{part}}.json",
    "variants_h5": f"{USE_DIR}/variants/{{input}}.h5",
    "variants_tsv": f"{USE_DIR}/variants/{{input}}.tsv",
    "variants_vcf": f"{USE_DIR}/variants/{{input}}.vcf",
    "variants_summary": f"{USE_DIR}/variants/{{input}}.summary.json",
    "ism_h5": f"{USE_DIR}/mutagenesis/{{input}}.h5",
    "ism_plots": f"{USE_DIR}/mutagenesis/{{input}}.pdf",
    "attributions": f"{USE_DIR}/attribution/attributions.h5",
    "modisco": f"{USE_DIR}/attribution/modisco.h5",
    "modisco_meme": f"{USE_DIR}/attribution/patterns.meme",
    "modisco_logos": f"{USE_DIR}/attribution/patterns.png",
    "modisco_tomtom": f"{USE_DIR}/attribution/tomtom.tsv",
    "modisco_summary": f"{USE_DIR}/attribution/tomtom_summary.tsv",
    "report": f"{R}/report/index.html",
    "planted": f"{R}/report/planted_motifs.tsv",
}


def path(name, **wildcards):
    """A result path with its wildcards filled in."""
    return PATHS[name].format(**wildcards)


def cached(url):
    return path("download", key=download_key(url))


def as_json(value):
    return json.dumps(value, sort_keys=True)


def files_json(wildcards, input):
    """The rule's named inputs as JSON, for scripts that take them by role."""
    return as_json({name: list(files) if not isinstance(files, str) else files for name, files in input.items()})


def sized(group):
    """Scheduler resources of a rule group from config, growing with the retry attempt."""
    spec = config["resources"][group]
    return {"mem_mb": lambda wc, attempt: spec["mem_mb"] * attempt,
            "runtime": lambda wc, attempt: spec["runtime"] * attempt}


# ---------------------------------------------------------------- input functions of the rules
# rules/datasets.smk
def accessibility_peaks(dataset):
    return [path("peaks", sample=s.name) for s in DATASET_SAMPLES[dataset] if s.category in ACCESSIBILITY]


def dataset_inputs(wildcards):
    """The files a data set's builder reads, by role."""
    name = wildcards.dataset
    spec = config["datasets"][name]
    files = {"genome": PATHS["genome"], "samples": spec["samples"]}
    if spec["builder"] == "dhs600":
        files.update(merged=path("merged", dataset=name), activity=path("activity", dataset=name))
    else:
        files.update(peaks=[path("peaks", sample=s.name) for s in DATASET_SAMPLES[name]],
                     sizes=PATHS["chrom_sizes"])
    if spec.get("exclude_blacklist"):
        files["blacklist"] = PATHS["blacklist"]
    if spec["builder"] == "nuc25k":
        files["unmappable"] = PATHS["unmappable"]
    if spec.get("bins_bed"):
        files["bins_bed"] = spec["bins_bed"]
    return files


# rules/download.smk
def local_source(wildcards):
    """A local file or file:// source is an input, so that a rule making it (the demo) runs first."""
    source = local_path(DOWNLOADS[wildcards.key][0])
    return [str(source)] if source is not None else []


# rules/evaluate.smk
def compare_label(figure):
    return {"data set": "{dataset}", "model": "all", "figure": figure}


# rules/genome.smk
def mask_source(name):
    """The downloaded mask, or nothing when the configuration gives none (an empty mask)."""
    return [cached(MASKS[name]["url"])] if name in MASKS else []


# rules/motifs.smk
TOMTOM = config["motifs"]["tomtom"]


def tomtom_targets():
    targets = TOMTOM["targets"]
    return targets if targets != "jaspar2024" else PATHS["jaspar"]


# rules/report.smk
MODEL_FILES = ["train_log", "metrics", "eval_summary", "curves"]
MOTIF_FILES = ["filters", "tomtom", "tomtom_summary", "logos"]
FAILURE_FILES = ["reconstruction", "failure_plot"]
LABEL_STUDY_FILES = ["label_study", "label_study_plot"]
RECEPTIVE_FIELD_FILES = ["receptive_fields_png", "receptive_fields_tsv"]
COMPARE_FILES = ["comparison_summary", "win_shares", "scatter_roc", "scatter_pr", "compare_by_category",
                 "training_curves", "accuracy_table", "curve_overlay"]


def report_manifest():
    with_models = [d for d in DATASETS if models_of(d)]
    return {
        "peak_counts": {s: path("peak_counts", sample=s) for s in SAMPLES},
        "datasets": {d: {"file": path("dataset", dataset=d),
                         "targets": {k: path(k, dataset=d) for k in ("target_counts", "target_plot")},
                         "comparison": ({k: path(k, dataset=d) for k in COMPARE_FILES} if d in with_models else {}),
                         "receptive_fields": ({k: path(k, dataset=d) for k in RECEPTIVE_FIELD_FILES}
                                              if d in RECEPTIVE_FIELD_DATASETS else {}),
                         "failure_analysis": {k: path(k, dataset=d) for k in FAILURE_FILES} if AUTOENCODERS[d] else {},
                         "label_study": {k: path(k, dataset=d) for k in LABEL_STUDY_FILES} if d in LABEL_STUDIES else {},
                         "encodings": ({"kmer_tsne": path("kmer_tsne", dataset=d)} if any(
                             configuration.encoding_fitted(config, m) for m in models_of(d)) else {}),
                         "models": {m: {k: path(k, dataset=d, model=m)
                                        for k in MODEL_FILES + (MOTIF_FILES if (d, m) in MOTIF_MODELS else [])}
                                    for m in models_of(d)}}
                     for d in DATASETS},
        "truth": f"{DEMO['out_dir']}/truth.tsv" if DEMO["enabled"] else None,
        "modisco": {f"{d}/{m}": {k: path(k, dataset=d, model=m) for k in ("modisco_tomtom", "modisco_logos")}
                    for d, m in ATTRIBUTED_MODELS},
    }


def manifest_files(manifest):
    """Every file path in a manifest (nested dicts of paths)."""
    if isinstance(manifest, dict):
        return [f for value in manifest.values() for f in manifest_files(value)]
    return [manifest] if manifest else []


# rules/train.smk
def encoding_file(wildcards):
    """The file a model's fitted input encoding reads (word2vec vectors), or none."""
    fitted = configuration.encoding_fitted(config, wildcards.model)
    return [path("kmer_vectors", dataset=wildcards.dataset)] if fitted else []


def model_args(wildcards):
    """The model's constructor settings, with its fitted encoding's file."""
    fitted = {"encoding_file": f for f in encoding_file(wildcards)}
    return as_json({**model_settings(wildcards.model)["args"], **fitted})


def launcher(wildcards):
    """python, or torchrun across the job's GPUs when a model asks for several (DDP)."""
    gpus = model_settings(wildcards.model)["gpus"]
    if gpus > 1:
        return f"python -m torch.distributed.run --standalone --nproc_per_node {gpus} -m workflow_scripts.train"
    return "python -m workflow_scripts.train"


# rules/use_model.smk
def model_dir(wildcards):
    return os.path.dirname(path("weights", dataset=wildcards.dataset, model=wildcards.model))


def use_targets(kind, names):
    """Every output of one kind of analysis, for every analysed model and input."""
    return [path(kind, dataset=d, model=m, input=i) for d, m in USED_MODELS for i in names]


def sequence_kind(wildcards, input):
    """--fasta or --bed, from the input's name (FASTA: .fa .fasta .fna .fas, optionally gzipped)."""
    return "--fasta" if re.search(r"\.(fa|fasta|fna|fas)(\.b?gz)?$", input.sequences, re.I) else "--bed"
