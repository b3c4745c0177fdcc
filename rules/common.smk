# Shared set-up: config validation, sample sheets, the download registry, model settings.
import json
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)
from workflow_scripts.cli import InputError  # noqa: E402
from workflow_scripts.sample_sheets import check_safe_name, download_key, local_path, read_sample_sheet  # noqa: E402

validate(config, "../config/schema.yaml")

RESULTS = config["results"]
CACHE = config["download_cache"]
LOGS = f"{RESULTS}/logs"
PROFILE = config["profile"]
DATASETS = list(config["datasets"])


def _sheets():
    """Every data set's samples; a name used twice must mean the same file."""
    samples, per_dataset = {}, {}
    for dataset, spec in config["datasets"].items():
        try:
            rows = read_sample_sheet(spec["samples"])
        except InputError as err:
            raise WorkflowError(f"data set {dataset}: {err}") from None
        per_dataset[dataset] = rows
        for s in rows:
            if s.name in samples and samples[s.name].url != s.url:
                raise WorkflowError(f"sample {s.name} has two different URLs: "
                                    f"{samples[s.name].url} and {s.url}")
            samples[s.name] = s
    return samples, per_dataset


SAMPLES, DATASET_SAMPLES = _sheets()


def _downloads():
    """Cache key -> (url, md5) for every file the configuration names (each URL once)."""
    wanted = [(s.url, s.md5) for s in SAMPLES.values()]
    wanted += [(config["genome"]["url"], config["genome"].get("md5"))]
    wanted += [(config["masks"][m]["url"], config["masks"][m].get("md5")) for m in ("blacklist", "unmappable")]
    registry = {}
    for url, md5 in wanted:
        try:
            key = download_key(url)
        except InputError as err:
            raise WorkflowError(str(err)) from None
        if key in registry and registry[key][1] and md5 and registry[key][1] != md5:
            raise WorkflowError(f"{url} is given two different md5 sums")
        registry[key] = (url, md5 or registry.get(key, (url, None))[1])
    return registry


DOWNLOADS = _downloads()


def cached(url):
    return f"{CACHE}/{download_key(url)}"


def local_source(wildcards):
    """A local file or file:// source is an input, so that rules making it (the demo) run first."""
    path = local_path(DOWNLOADS[wildcards.key][0])
    return [str(path)] if path is not None else []


def models_of(dataset):
    return config["datasets"][dataset].get("models", [])


def model_settings(model):
    """A configured model with the active profile's overrides applied: each setting in a
    profile's ``args`` / ``train`` replaces the model's (a dict value replaces it whole)."""
    if model not in config["models"]:
        raise WorkflowError(f"model {model!r} is not defined in config/models.yaml")
    base = config["models"][model]
    override = config.get("profiles", {}).get(PROFILE, {}).get(model, {})
    merged = {**base, **{k: v for k, v in override.items() if k not in ("args", "train")}}
    for section in ("args", "train"):
        merged[section] = {**base.get(section, {}), **override.get(section, {})}
    return merged


for _dataset in DATASETS:
    for _model in models_of(_dataset):
        model_settings(_model)
        check_safe_name(_model, "model name: ")


def as_json(value):
    return json.dumps(value, sort_keys=True)


ALL_MODELS = [(d, m) for d in DATASETS for m in models_of(d)]


# ---------------------------------------------------------------- helpers used by the rules
DEMO = config["demo"]


def demo_inputs():
    """Every file the demo sample sheets and the genome/mask settings point at (made by make_demo)."""
    files = {str(local_path(s.url)) for s in SAMPLES.values()}
    files |= {str(local_path(config["genome"]["url"])), str(local_path(config["masks"]["blacklist"]["url"])),
              str(local_path(config["masks"]["unmappable"]["url"]))}
    return sorted(files - {DEMO.get("truth")})


def dataset_peaks(dataset, category=None):
    return [f"{RESULTS}/peaks/{s.name}.bed.gz" for s in DATASET_SAMPLES[dataset]
            if category is None or s.category == category]


def peaks_dir(wildcards, input):
    return os.path.dirname(input.peaks[0])


def blacklist_option(dataset):
    spec = config["datasets"][dataset]
    return f"--blacklist {RESULTS}/genome/blacklist.bed" if spec.get("exclude_blacklist") else ""


def launcher(wildcards):
    """python, or torchrun across the job's GPUs when a model asks for several (DDP)."""
    gpus = model_settings(wildcards.model).get("gpus", 1)
    if gpus > 1:
        return f"torchrun --standalone --nproc_per_node {gpus} -m workflow_scripts.train"
    return "python -m workflow_scripts.train"


def eval_stride(wildcards):
    return model_settings(wildcards.model).get("train", {}).get("eval_stride", 1)


def tomtom_targets():
    targets = config["motifs"]["tomtom"]["targets"]
    return targets if targets != "jaspar2024" else f"{RESULTS}/motifs/jaspar2024.meme"


def sized(group):
    """Scheduler resources of a rule group from config, growing with the retry attempt."""
    spec = config["resources"][group]
    return {"mem_mb": lambda wc, attempt: spec["mem_mb"] * attempt,
            "runtime": lambda wc, attempt: spec["runtime"] * attempt}
