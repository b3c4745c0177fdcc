"""Benchmark: DSSDA's label study on the demo — the ladder network against its supervised
counterpart when only a fraction of the training rows keep their labels (issue 15).

DSSDA (Shams, Platania et al. 2018, Table 2) reports that at 10 % and 25 % labels the ladder
network stays close to fully supervised ConvNets. This script runs the pipeline itself
(``snakemake``) on the demo's dhs600 data set for each seed, training the configured instances
(default: ``alexnet_10`` and ``dssda_10``, the same labelled rows for a seed; their demo sizes in
config/models.yaml) and evaluating them, reusing one build of the demo data sets:

    python benchmarks/demo_label_fractions.py --seeds 1 2 3 --out /tmp/label_fractions

It prints one row per seed and model (plain mean ROC and PR AUC over the demo's 12 DNase
targets on the test split, ROC AUC on the validation split; the epoch whose weights were kept) and,
per seed and label fraction, DSSDA's mean test ROC AUC minus AlexNet's, and writes ``results.tsv``
under ``--out``. Not run in CI; the demo itself trains ``alexnet_10`` and ``dssda_10`` with its
own seed, and tests/test_workflow.py asserts what held here on every seed (README, "Evaluation").
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_robustness import ROOT, prepared_run, snakemake  # noqa: E402
from workflow_scripts.compare import kept_epoch  # noqa: E402
from workflow_scripts.io_utils import read_meta  # noqa: E402


def one_seed(out: Path, base: Path, seed: int, models: list[str], threads: int) -> list[dict]:
    # added to the demo's own dhs600 models (the demo's use_models name them); only these are run
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())["datasets"]["dhs600"]["models"]
    results, extra = prepared_run(out, base, f"seed{seed}",
                                  f"threads: {{data: {threads}, train: {threads}, evaluate: {threads}}}\n"
                                  f"profiles: {{demo: {{train: {{seed: {seed}}}}}}}\n"
                                  f"datasets: {{dhs600: {{models: [{', '.join(dict.fromkeys(demo + models))}]}}}}\n")
    evals = {m: results / "eval" / "dhs600" / m for m in models}
    snakemake(results, out / "cache", extra, threads, [str(e / "metrics.tsv") for e in evals.values()])
    rows = []
    for model, e in evals.items():
        summary = json.loads((e / "summary.json").read_text())
        valid = pd.read_csv(e / "metrics_valid.tsv", sep="\t")
        trained = results / "models" / "dhs600" / model
        log = pd.read_csv(trained / "train_log.tsv", sep="\t")
        meta = read_meta(trained / "model.json")
        rows.append({"seed": seed, "model": model, "label_fraction": meta["train"]["label_fraction"],
                     "test_mean_roc_auc": round(summary["mean_roc_auc"], 4),
                     "test_mean_pr_auc": round(summary["mean_pr_auc"], 4),
                     "valid_mean_roc_auc": round(float(valid["roc_auc"].mean()), 4),
                     "best_epoch": kept_epoch(log, meta["train"]["monitor"]), "epochs": len(log)})
    return rows


def gains(table: pd.DataFrame) -> pd.DataFrame:
    """Per seed and label fraction: DSSDA's mean test ROC AUC minus AlexNet's."""
    family = table["model"].str.extract(r"^(alexnet|dssda)")[0]
    wide = table.assign(family=family).pivot_table(index=["seed", "label_fraction"], columns="family",
                                                   values="test_mean_roc_auc")
    return (wide["dssda"] - wide["alexnet"]).rename("dssda_minus_alexnet").reset_index()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--models", nargs="+", default=["alexnet_10", "dssda_10"],
                   help="dhs600 instances of config/models.yaml (alexnet*, dssda*)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benchmarks/out/demo_label_fractions")
    args = p.parse_args()
    out = Path(args.out).resolve()
    base = out / "base"
    out.mkdir(parents=True, exist_ok=True)
    (out / "base.yaml").write_text("{}\n")
    snakemake(base, out / "cache", out / "base.yaml", args.threads, ["datasets"])
    rows = []
    for seed in args.seeds:
        rows += one_seed(out, base, seed, args.models, args.threads)
        pd.DataFrame(rows).to_csv(out / "results.tsv", sep="\t", index=False)
        print(pd.DataFrame(rows).tail(len(args.models)).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print(gains(table).to_string(index=False))


if __name__ == "__main__":
    main()
