"""Benchmark: how stable the demo's learned result is across seeds and thread counts.

The demo's end-to-end test asserts that Basset's and the nuc25k demo Dilated's mean ROC AUCs, the
number of planted JASPAR motifs recovered by Basset's or DeepSEA's filters and the number
recovered by Basset's MoDISco patterns clear a threshold. Training results depend on the seed and
on the machine (the thread count changes the order of floating-point sums), so the thresholds
must sit well below the whole distribution. This script runs the pipeline itself (``snakemake``)
on the demo for each seed x thread count, reusing one build of the demo data sets, retrains
Basset, DeepSEA and Dilated, evaluates Basset and Dilated, extracts Basset's and DeepSEA's filter
motifs, runs Basset's attribution and MoDISco as the demo configures them, and Tomtom:

    python benchmarks/demo_robustness.py --seeds 1 2 3 4 5 --threads 2 8 --out /tmp/robust

It prints one row per run (Basset's and Dilated's mean ROC AUC, planted motifs recovered by
Basset's filters, DeepSEA's, either's and Basset's MoDISco patterns, of 22) and the minimum, and
writes ``results.tsv`` under ``--out``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workflow_scripts.report import recovery_by_filters_and_patterns  # noqa: E402

MODELS = {"basset": "dhs600", "deepsea": "deepsea1000"}          # filter motifs
AUCS = {"basset": "dhs600", "dilated": "nuc25k"}                  # mean test ROC AUC
SHARED = ("genome", "peaks", "features", "datasets")      # built once, copied into every run


def snakemake(results: Path, cache: Path, extra: Path, cores: int, targets: list[str]) -> None:
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), *targets,
           "--configfile", "config/demo.yaml", str(extra),
           "--config", f"results={results}", f"download_cache={cache}"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])


def prepared_run(out: Path, base: Path, name: str, settings: str) -> tuple[Path, Path]:
    """A run's results directory holding the base run's data sets, and its extra configuration file."""
    results = out / name
    for part in SHARED:
        if not (results / part).exists():
            shutil.copytree(base / part, results / part, copy_function=shutil.copy2)
    extra = out / f"{name}.yaml"
    extra.write_text(settings)
    return results, extra


def one_run(out: Path, base: Path, seed: int, threads: int, evalue: float) -> dict:
    results, extra = prepared_run(out, base, f"seed{seed}_threads{threads}",
                                  f"threads: {{data: {threads}, train: {threads}, evaluate: {threads}}}\n"
                                  f"profiles: {{demo: {{train: {{seed: {seed}}}}}}}\n")
    filters = {m: results / "motifs" / d / m / "tomtom.tsv" for m, d in MODELS.items()}
    patterns = {"basset": results / "use" / "dhs600" / "basset" / "attribution" / "tomtom.tsv"}
    metrics = {m: results / "eval" / d / m / "metrics.tsv" for m, d in AUCS.items()}
    targets = [str(path) for group in (filters, patterns, metrics) for path in group.values()]
    snakemake(results, out / "cache", extra, threads, targets)
    truth = ROOT / "resources" / "demo" / "truth.tsv"
    table = recovery_by_filters_and_patterns(truth, filters, patterns, evalue)
    aucs = {f"{m}_mean_roc_auc": round(float(pd.read_csv(path, sep="\t")["roc_auc"].mean()), 4)
            for m, path in metrics.items()}
    return {"seed": seed, "threads": threads, **aucs,
            "planted_basset": int((table["basset"] != "").sum()),
            "planted_deepsea": int((table["deepsea"] != "").sum()),
            "planted_either": int(table["recovered"].sum()),
            "planted_basset_modisco": int((table["basset MoDISco"] != "").sum()), "planted": len(table)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--threads", type=int, nargs="+", default=[2, 8])
    p.add_argument("--out", default="benchmarks/out/demo_robustness")
    p.add_argument("--evalue", type=float, default=0.01)
    args = p.parse_args()
    out = Path(args.out).resolve()
    base = out / "base"
    out.mkdir(parents=True, exist_ok=True)
    (out / "base.yaml").write_text("{}\n")
    snakemake(base, out / "cache", out / "base.yaml", 2, ["datasets"])
    rows = []
    for threads in args.threads:
        for seed in args.seeds:
            rows.append(one_run(out, base, seed, threads, args.evalue))
            print("\t".join(map(str, rows[-1].values())), flush=True)
            pd.DataFrame(rows).to_csv(out / "results.tsv", sep="\t", index=False)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    columns = [f"{m}_mean_roc_auc" for m in AUCS] + ["planted_basset", "planted_deepsea", "planted_either",
                                                     "planted_basset_modisco"]
    print("minimum:", table[columns].min().to_dict())


if __name__ == "__main__":
    main()
