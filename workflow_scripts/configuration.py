"""The run's configuration: schema validation with defaults, and the checks a schema cannot do.

Called by ``rules/common.smk`` when Snakemake plans a run (``snakemake -n`` included), so that a
mistake stops the plan with one message per problem that names the configuration file and the
key, before any job starts:

* every key is checked against ``config/schema.yaml`` (unknown keys are refused, defaults filled);
* the profile must exist; every model a data set lists must be defined, its family registered,
  and its ``args`` / ``train`` settings (in every profile) known to the family's constructor and
  to the training engine;
* data-set settings that cannot work: a 600 bp merge whose overlap is not below the size, test or
  validation chromosomes outside the genome, ``min_signal`` for a sample the sheet lacks, masks a
  data set needs but the configuration does not give;
* files: a local input inside the pipeline's own output directories is refused (a rule could
  overwrite it), and the demo only ever writes below its own ``demo.out_dir``.
"""
from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import is_selected
from workflow_scripts.sample_sheets import Sample, local_path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config" / "schema.yaml"
DEMO_FILES = ("genome.fa.gz", "blacklist.bed.gz", "unmappable.bed", "truth.tsv", "regions.bed", "variants.vcf.gz")


class ConfigError(InputError):
    """A configuration that cannot run; the message names the file(s) and key(s)."""


def _with_defaults(validator_class):
    """A validator that fills in the schema's defaults while it validates."""
    check_properties = validator_class.VALIDATORS["properties"]

    def fill(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, sub["default"])
        yield from check_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": fill})


def _describe(error) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        return f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
    if error.validator == "required":
        return f"{where}: {error.message.replace(' is a required property', '')} is required"
    return f"{where}: {error.message}"


def validate(config: dict, sources: list[str]) -> dict:
    """Check ``config`` against the schema in place (defaults filled); ConfigError on problems."""
    schema = yaml.safe_load(SCHEMA.read_text())
    validator = _with_defaults(Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    problems = sorted({_describe(leaf) for e in errors for leaf in _leaves(e)})
    if problems:
        raise ConfigError(f"configuration ({', '.join(sources)}): " + "; ".join(problems))
    return config


def dataset_spec(name: str, spec: dict) -> dict:
    """One data set's settings checked against the schema, its defaults filled (for scripts that
    build a data set outside a run, such as ``benchmarks/build_datasets.py``)."""
    schema = yaml.safe_load(SCHEMA.read_text())
    item = dict(schema["properties"]["datasets"]["additionalProperties"], definitions=schema["definitions"])
    validator = _with_defaults(Draft202012Validator)(item)
    problems = sorted({_describe(leaf) for e in validator.iter_errors(spec) for leaf in _leaves(e)})
    if problems:
        raise ConfigError(f"data set {name}: " + "; ".join(problems))
    return spec


def _leaves(error):
    """The specific errors under an ``allOf`` / ``if``-``then`` wrapper."""
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


# ---------------------------------------------------------------- models and profiles
def known_profiles(config: dict) -> set[str]:
    own = {p for m in config["models"].values() for p in m.get("profiles", {})}
    return set(config["profiles"]) | own | {"paper"}


def model_settings(config: dict, name: str) -> dict:
    """A model's entry with the active profile applied: the profile's shared ``train`` first,
    then the model's own profile entry (each setting replaces the model's, a dict whole)."""
    base = config["models"][name]
    profile = config["profile"]
    layers = [config["profiles"].get(profile, {}), base.get("profiles", {}).get(profile, {})]
    merged = {k: v for k, v in base.items() if k != "profiles"}
    for section in ("args", "train"):
        merged[section] = dict(base.get(section, {}))
        for layer in layers:
            merged[section].update(layer.get(section, {}))
    return merged


def family_declares(config: dict, name: str, attribute: str):
    """What a model's family declares in the model contract (``motif_layer``,
    ``reconstructs_input``, ``extra_state``: models/base.py)."""
    from models import MODELS
    return getattr(MODELS[config["models"][name]["family"]], attribute)


def encoding_fitted(config: dict, name: str) -> bool:
    """Whether a model's input encoding is fitted on the data before it trains (its family's
    ``input_encoding`` in ``models.encodings.FITTED``: word2vec k-mer vectors)."""
    from models import MODELS
    from models.encodings import FITTED
    return MODELS[config["models"][name]["family"]].input_encoding in FITTED


def constructor_settings(cls) -> set[str] | None:
    """Keyword arguments a model family accepts (None: any, it takes **kwargs)."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params) - {"self", "n_targets", "seq_length"}


def check_models(config: dict, used: set[str]) -> list[str]:
    from models import MODELS
    from workflow_scripts.engine.config import TrainConfig
    problems, train_keys = [], set(TrainConfig.names())
    for name in sorted(used):
        if name not in config["models"]:
            problems.append(f"model {name!r} is not defined (config/models.yaml or your models: section); "
                            f"defined: {', '.join(sorted(config['models']))}")
            continue
        entry = config["models"][name]
        family = MODELS.get(entry["family"])
        if family is None:
            problems.append(f"models.{name}.family: unknown family {entry['family']!r}; "
                            f"registered: {', '.join(sorted(MODELS))}")
            continue
        accepted = constructor_settings(family)
        layers = {"": entry, **{f"profiles.{p}.": s for p, s in entry.get("profiles", {}).items()}}
        for prefix, layer in layers.items():
            bad_args = set(layer.get("args", {})) - accepted if accepted is not None else set()
            if bad_args:
                problems.append(f"models.{name}.{prefix}args: unknown setting(s) {', '.join(sorted(bad_args))} "
                                f"for family {entry['family']}; known: {', '.join(sorted(accepted))}")
            bad_train = set(layer.get("train", {})) - train_keys
            if bad_train:
                problems.append(f"models.{name}.{prefix}train: unknown training setting(s) "
                                f"{', '.join(sorted(bad_train))}; known: {', '.join(sorted(train_keys))}")
            problems += [f"models.{name}.{prefix}train: {bad}" for bad in TrainConfig.value_problems(layer.get("train", {}))]
    for profile, layer in config["profiles"].items():
        bad = set(layer.get("train", {})) - train_keys
        if bad or layer.get("args"):
            problems.append(f"profiles.{profile}: only training settings are shared by a profile "
                            f"(unknown: {', '.join(sorted(bad | set(layer.get('args', {}))))})")
        problems += [f"profiles.{profile}.train: {bad}" for bad in TrainConfig.value_problems(layer.get("train", {}))]
    return problems


# ---------------------------------------------------------------- data sets and files
def check_datasets(config: dict, sheets: dict[str, list[Sample]]) -> list[str]:
    problems = []
    genome = config["genome"]
    for name, spec in config["datasets"].items():
        where = f"datasets.{name}"
        if spec["builder"] == "dhs600" and spec["overlap"] >= spec["size"]:
            problems.append(f"{where}: overlap {spec['overlap']} must be below size {spec['size']} "
                            f"(Basset merges peaks overlapping by at least `overlap` of `size` bp)")
        split = spec["split"]
        chroms = list(split["test_chroms"]) if split["mode"] == "chromosome" else []
        if split["mode"] == "chromosome" and split["valid_region"]:
            chroms.append(split["valid_region"].split(":")[0])
        outside = [c for c in chroms if not is_selected(c, genome["chromosomes"], genome["chromosome_pattern"])]
        if outside:
            problems.append(f"{where}.split: chromosome(s) {', '.join(outside)} are not among the genome's "
                            f"selected chromosomes (genome.chromosomes / genome.chromosome_pattern): the "
                            f"split would be empty")
        if split["mode"] == "random" and not (split["test_count"] and split["valid_count"]):
            problems.append(f"{where}.split: mode random needs test_count and valid_count")
        names = {s.name for s in sheets.get(name, [])}
        unknown = sorted(set(spec.get("min_signal", {})) - names)
        if unknown:
            problems.append(f"{where}.min_signal: no sample named {', '.join(unknown)} in {spec['samples']}")
        if spec.get("exclude_blacklist") and not config["masks"]["blacklist"]:
            problems.append(f"{where}.exclude_blacklist needs masks.blacklist (a BED of regions to leave out)")
        if spec["builder"] == "nuc25k" and not config["masks"]["unmappable"]:
            problems.append(f"{where}: the 25 kb windows are filtered by multi-mapped regions: give "
                            f"masks.unmappable (a BED, or a mappability bigWig with format: bigwig)")
    return problems


def inside(path: Path, directory: str) -> bool:
    try:
        path.resolve().relative_to(Path(directory).resolve())
        return True
    except ValueError:
        return False


def local_inputs(config: dict, sheets: dict[str, list[Sample]]) -> dict[str, Path]:
    """Every local input file the configuration names -> where it is named."""
    named = {"genome.url": config["genome"]["url"]}
    named.update({f"masks.{m}.url": spec["url"] for m, spec in config["masks"].items() if spec})
    for dataset, samples in sheets.items():
        named.update({f"sample {s.name} ({config['datasets'][dataset]['samples']})": s.url for s in samples})
    return {where: path for where, url in named.items() if (path := local_path(url)) is not None}


def demo_outputs(config: dict, demo_samples: list[Sample]) -> list[str]:
    """The files make_demo writes: its own names plus the demo sheets' peak files, all below
    ``demo.out_dir`` (a sheet pointing elsewhere is refused)."""
    out_dir = config["demo"]["out_dir"]
    files = [f"{out_dir}/{name}" for name in DEMO_FILES]
    for s in demo_samples:
        path = local_path(s.url)
        if path is None or not inside(path, out_dir):
            raise ConfigError(f"demo sample {s.name}: {s.url} is outside demo.out_dir ({out_dir}); the demo "
                              f"writes only there")
        files.append(str(path))
    return sorted(set(files))


def check_files(config: dict, sheets: dict[str, list[Sample]], demo_files: list[str]) -> list[str]:
    """No rule may overwrite a user's file: local inputs must lie outside results/ and the cache,
    and inside the demo directory only the demo's own files are made."""
    problems = []
    made = {str(Path(f).resolve()) for f in demo_files}
    for where, path in local_inputs(config, sheets).items():
        for key in ("results", "download_cache"):
            if inside(path, config[key]):
                problems.append(f"{where}: {path} lies inside `{key}` ({config[key]}), where the pipeline "
                                f"writes; move it elsewhere")
        if not path.exists() and str(path.resolve()) not in made:
            problems.append(f"{where}: file {path} does not exist")
    return problems


def used_models(config: dict) -> list[tuple[str, str]]:
    """The (data set, model) pairs that ``use_models`` analyses: those listed, else every one."""
    listed = [tuple(m.split("/")) for m in config["use_models"]["models"]]
    return listed or [(d, m) for d, spec in config["datasets"].items() for m in spec["models"]]


def can_attribute(config: dict, name: str) -> bool:
    """Whether a model's targets come from torch layers (models.base.SeqModel.torch_classifier), as
    attribution needs (workflow_scripts/attribution.py refuses the others)."""
    from models import MODELS
    return MODELS[config["models"][name]["family"]].torch_classifier


def attributed_models(config: dict) -> list[tuple[str, str]]:
    """The (data set, model) pairs that get attributions and MoDISco motifs: those listed in
    ``use_models.attribution.models``, else every analysed model that can have them."""
    listed = [tuple(m.split("/")) for m in config["use_models"]["attribution"]["models"]]
    return listed or [(d, m) for d, m in used_models(config) if can_attribute(config, m)]


def check_use_models(config: dict, demo_files: list[str]) -> list[str]:
    use, problems = config["use_models"], []
    for d, m in (tuple(x.split("/")) for x in use["attribution"]["models"]):
        if m not in config["datasets"].get(d, {}).get("models", []):
            problems.append(f"use_models.attribution.models: {d}/{m} is not a model of a data set here")
        elif not can_attribute(config, m):
            problems.append(f"use_models.attribution.models: {d}/{m}: its targets come from a classifier that is "
                            f"not a torch layer (a forest); attribution is not supported for it")
    for d, m in (tuple(x.split("/")) for x in use["models"]):
        if m not in config["datasets"].get(d, {}).get("models", []):
            problems.append(f"use_models.models: {d}/{m} is not a model of a data set here (datasets.<name>.models)")
    for kind in ("predict", "variants", "mutagenesis"):
        for name, file in use[kind].items():
            if not Path(file).is_file() and file not in demo_files:
                problems.append(f"use_models.{kind}.{name}: {file} does not exist")
    return problems


def check(config: dict, sources: list[str], sheets: dict[str, list[Sample]], demo_files: list[str]) -> None:
    """Everything after the schema; one ConfigError listing every problem."""
    problems = []
    if config["profile"] not in known_profiles(config):
        problems.append(f"profile: {config['profile']!r} is not defined; known: "
                        f"{', '.join(sorted(known_profiles(config)))} (config/models.yaml `profiles`)")
    used = {m for spec in config["datasets"].values() for m in spec["models"]}
    problems += check_models(config, used)
    problems += check_datasets(config, sheets)
    problems += check_files(config, sheets, demo_files)
    problems += check_use_models(config, demo_files)
    if problems:
        raise ConfigError(f"configuration ({', '.join(sources)}):\n  " + "\n  ".join(problems))


def yaml_syntax(path: str | Path) -> None:
    """Refuse a configuration file that is not valid YAML, naming the file, line and column."""
    try:
        yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {getattr(err, 'problem', None) or err}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None


def main(args) -> None:
    for path in args.files:
        yaml_syntax(path)


def build_parser():
    p = cli.parser("Check that configuration files are valid YAML (Snakemake's own message names no line).")
    p.add_argument("files", nargs="+")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
