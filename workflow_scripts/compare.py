"""Stage ``compare``: all trained models of one data set side by side (and with published AUCs).

Outputs (``results/eval/{dataset}/``):

* ``comparison.tsv`` — one row per target: ``target``, ``category``, ``train_frequency``, ``n_pos`` and
  ``{model}_roc_auc`` / ``{model}_pr_auc`` per model, published columns included (targets are
  matched by name, the k-th occurrence of a duplicated name with the k-th);
* ``comparison_summary.tsv`` — per model: mean ROC / PR AUC overall and by category (as Gupta's
  Table 7.4.1), mean +- sd over targets (DSSDA's Table 2), and means weighted by each target's
  frequency in the training split (``targets.tsv`` of explore_dataset; the capstone's Tables 2-3);
  with validation metrics, the plain mean and sd of ROC AUC on the validation split
  (``valid_mean_roc_auc``, ``valid_sd_roc_auc``: DSSDA reports there); from each model.json, the
  model's ``family`` and ``label_fraction`` (the share of training rows with labels, DSSDA's label
  study); from the training logs, the epoch whose weights were kept (``best_epoch``: "epochs to
  converge"; by ``train.monitor``) and the median training throughput (``samples_per_s``); then the published summary rows (a published spec with
  ``summary: true``: a TSV of ``model split n_targets`` and any of ``mean_roc_auc sd_roc_auc`` and
  ``{category}_roc_auc``/``_pr_auc`` (Gupta's Tables C.2.1-2), split ``valid`` filling the
  ``valid_`` columns); our validation means by category fill the same columns;
* ``win_shares.tsv`` — for each ordered pair of models, the share of targets where A's AUC
  beats B's (DanQ: 94.1 % ROC and 97.6 % PR over DeepSEA);
* plots: ``scatter_roc.png`` / ``scatter_pr.png`` (model against model, diagonal and win share),
  ``auc_by_category.png`` (per-class distributions per model), ``training_curves.png``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import atomic_output, read_meta
from workflow_scripts.plots import plot_by_category, plt, save_figure
from workflow_scripts.summaries import CATEGORIES, summarise

log = cli.log.getChild("compare")


def occurrence_key(names: pd.Series) -> pd.Series:
    """``name#k`` for the k-th occurrence of a name (DeepSEA's 919 names repeat a few)."""
    return names + "#" + names.groupby(names).cumcount().astype(str)


def read_published(spec: dict) -> dict[str, pd.DataFrame]:
    """Published per-target AUC tables: {model name: DataFrame(target, roc_auc, pr_auc)}.

    ``spec``: ``file``, ``label_columns`` (joined with ``|`` to make the target name) or
    ``label_column``, and ``models``: {name: [roc column, pr column]}.
    """
    path = Path(spec["file"])
    if not path.is_file():
        raise InputError(f"{path}: published AUC table not found")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)   # "None" is a treatment, not NaN
    if "label_columns" in spec:
        labels = table[spec["label_columns"]].astype(str).agg("|".join, axis=1)
    else:
        labels = table[spec["label_column"]]
    out = {}
    for name, (roc, pr) in spec["models"].items():
        out[name] = pd.DataFrame({"target": labels, "roc_auc": pd.to_numeric(table[roc], errors="coerce"),
                                  "pr_auc": pd.to_numeric(table[pr], errors="coerce")})
    return out


def join_tables(tables: dict[str, pd.DataFrame], counts: pd.DataFrame) -> pd.DataFrame:
    """One row per target of the data set (``counts``: its targets.tsv), AUC columns per model."""
    base = counts[["target", "category", "train_frequency"]].assign(key=occurrence_key(counts["target"]))
    for name, t in tables.items():
        t = t.assign(key=occurrence_key(t["target"]))
        cols = t[["key", "roc_auc", "pr_auc"]].rename(columns={"roc_auc": f"{name}_roc_auc",
                                                               "pr_auc": f"{name}_pr_auc"})
        if "n_pos" not in base:
            base = base.merge(t[["key", "n_pos"]], on="key", how="left")
        base = base.merge(cols, on="key", how="left")
    return base.drop(columns="key")


def win_shares(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    rows = []
    for a, b in itertools.permutations(models, 2):
        for metric in ("roc_auc", "pr_auc"):
            x, y = table[f"{a}_{metric}"], table[f"{b}_{metric}"]
            both = x.notna() & y.notna()
            if both.any():
                rows.append({"model_a": a, "model_b": b, "metric": metric, "n_targets": int(both.sum()),
                             "share_a_better": float((x[both] > y[both]).mean())})
    return pd.DataFrame(rows, columns=["model_a", "model_b", "metric", "n_targets", "share_a_better"])


def summary_columns(s: dict, prefix: str = "") -> dict:
    """A summary (summaries.summarise) as the comparison's columns, each name after ``prefix``."""
    row = {k: s[k] for k in ("mean_roc_auc", "sd_roc_auc", "mean_pr_auc", "weighted_roc_auc", "weighted_pr_auc")}
    for cat in CATEGORIES:
        c = s["by_category"].get(cat, {})
        row[f"{cat}_roc_auc"], row[f"{cat}_pr_auc"] = c.get("mean_roc_auc", np.nan), c.get("mean_pr_auc", np.nan)
    return {prefix + k: v for k, v in row.items()}


def summary_table(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    rows = []
    for m in models:
        t = table[["target", "category", "n_pos", "train_frequency"]].assign(roc_auc=table[f"{m}_roc_auc"],
                                                                             pr_auc=table[f"{m}_pr_auc"])
        s = summarise(t, 0, 0, weight="train_frequency")
        rows.append({"model": m, "n_targets": s["n_scored"], **summary_columns(s)})
    return pd.DataFrame(rows)


def plot_scatter(table: pd.DataFrame, models: list[str], metric: str, path: Path, title: str) -> None:
    """Every pair of models, target by target; a lone model against its targets' positive counts
    (a model is never compared with itself)."""
    if len(models) == 1:
        plot_against_positives(table, models[0], metric, path, title)
        return
    pairs = list(itertools.combinations(models, 2))
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.2 * rows), squeeze=False)
    colours = {c: f"C{i}" for i, c in enumerate(CATEGORIES)}
    for ax, (a, b) in zip(axes.ravel(), pairs):
        x, y = table[f"{b}_{metric}"], table[f"{a}_{metric}"]
        for cat in CATEGORIES:
            pick = table["category"] == cat
            ax.scatter(x[pick], y[pick], s=8, alpha=0.7, color=colours[cat], label=cat)
        both = x.notna() & y.notna()
        share = float((y[both] > x[both]).mean()) if both.any() else float("nan")
        lo = float(np.nanmin([x.min(), y.min(), 0.5 if metric == "roc_auc" else 0.0]))
        ax.plot([lo, 1], [lo, 1], "k--", lw=0.8)
        ax.set(xlabel=f"{b} {metric}", ylabel=f"{a} {metric}",
               title=f"{a} beats {b} on {100 * share:.1f} % of targets", xlim=(lo, 1), ylim=(lo, 1))
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes.ravel()[len(pairs):]:
        ax.axis("off")
    fig.suptitle(f"{title}: per-target {metric.replace('_', ' ').upper()}")
    fig.tight_layout()
    save_figure(fig, path)


def plot_against_positives(table: pd.DataFrame, model: str, metric: str, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for i, cat in enumerate(CATEGORIES):
        pick = table["category"] == cat
        ax.scatter(table.loc[pick, "n_pos"], table.loc[pick, f"{model}_{metric}"], s=10, alpha=0.7,
                   color=f"C{i}", label=cat)
    ax.set(xscale="log", xlabel="positives in the test set", ylabel=f"{model} {metric}",
           title=f"{title}: {model}, per target")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)


def plot_training_curves(logs: dict[str, pd.DataFrame], path: Path, title: str) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for name, lg in logs.items():
        axes[0].plot(lg["epoch"], lg["train_loss"], "--", label=f"{name} train")
        axes[0].plot(lg["epoch"], lg["valid_loss"], label=f"{name} valid")
        axes[1].plot(lg["epoch"], lg["valid_roc_auc"], label=name)
        axes[2].plot(lg["epoch"], lg["valid_pr_auc"], label=name)
    for ax, ylabel in zip(axes, ("loss", "validation mean ROC AUC", "validation mean PR AUC")):
        ax.set(xlabel="epoch", ylabel=ylabel)
        ax.legend(fontsize=7)
    fig.suptitle(f"training curves — {title}")
    fig.tight_layout()
    save_figure(fig, path)


@dataclass
class CompareOutputs:
    table: Path
    summary: Path
    wins: Path
    scatter_roc: Path
    scatter_pr: Path
    by_category: Path
    training_curves: Path


CATEGORY_METRICS = [f"{c}_{m}" for c in CATEGORIES for m in ("roc_auc", "pr_auc")]
SPLIT_METRICS = ["mean_roc_auc", "sd_roc_auc", "mean_pr_auc", "weighted_roc_auc", "weighted_pr_auc"] + CATEGORY_METRICS


def read_published_summary(spec: dict) -> pd.DataFrame:
    """Published summary rows (a paper's table of mean AUCs, overall or by category, no per-target
    values): split ``valid`` rows give the ``valid_`` columns, others the test columns; a model's
    validation and test rows become one row."""
    path = Path(spec["file"])
    if not path.is_file():
        raise InputError(f"{path}: published summary table not found")
    rows = pd.read_csv(path, sep="\t")
    missing = {"model", "split", "n_targets"} - set(rows.columns)
    if missing or not set(SPLIT_METRICS) & set(rows.columns):
        raise InputError(f"{path}: needs the columns model, split, n_targets and one or more of "
                         f"{', '.join(SPLIT_METRICS)}")
    valid = rows["split"] == "valid"
    for column in [c for c in SPLIT_METRICS if c in rows]:
        rows[f"valid_{column}"] = rows[column].where(valid)
        rows[column] = rows[column].where(~valid)
    return rows.drop(columns=["split", "source"], errors="ignore").groupby("model", sort=False).first().reset_index()


def validation_columns(valid_metrics: dict[str, Path]) -> pd.DataFrame:
    """Per model: the plain means (overall, by category) and sd of AUCs over the targets scored on
    the validation split (DSSDA's Table 2, Gupta's Tables 8.4.1 and C.2), weighted by validation
    positives; columns ``valid_*``."""
    rows = [{"model": name, **summary_columns(summarise(pd.read_csv(p, sep="\t"), 0, 0), "valid_")}
            for name, p in valid_metrics.items()]
    return pd.DataFrame(rows, columns=["model"] + [f"valid_{c}" for c in SPLIT_METRICS])


def kept_epoch(log: pd.DataFrame, monitor: str = "valid_loss") -> int:
    """The epoch whose weights training kept: the lowest validation loss, or the highest validation
    AUC with ``train.monitor`` (the first of equals, as the trainer)."""
    scores = log[monitor] if monitor == "valid_loss" else -log[monitor]
    return int(log.loc[scores.idxmin(), "epoch"])


def training_columns(train_logs: dict[str, pd.DataFrame], metas: dict[str, dict]) -> pd.DataFrame:
    """Per model: its family and share of labelled training rows, the epoch whose weights were kept
    and the median training throughput."""
    def settings(name: str) -> tuple[str | None, float, str]:
        meta = metas.get(name)
        if meta is None:
            return None, np.nan, "valid_loss"
        train = meta["train"]
        return meta.get("family"), train.get("label_fraction", 1.0), train.get("monitor", "valid_loss")
    rows = []
    for name, lg in train_logs.items():
        family, fraction, monitor = settings(name)
        rows.append({"model": name, "family": family, "label_fraction": fraction,
                     "best_epoch": kept_epoch(lg, monitor), "samples_per_s": lg["samples_per_s"].median()})
    return pd.DataFrame(rows, columns=["model", "family", "label_fraction", "best_epoch", "samples_per_s"])


def compare(dataset: str, metrics: dict[str, Path], train_logs: dict[str, Path], target_counts: Path,
            out: CompareOutputs, published: list[dict], valid_metrics: dict[str, Path] | None = None,
            model_meta: dict[str, Path] | None = None) -> pd.DataFrame:
    """``model_meta``: each model's model.json, for the validation score its training kept the
    best weights by (``train.monitor``; the loss when not given, or for models trained before it)."""
    tables = {name: pd.read_csv(p, sep="\t") for name, p in metrics.items()}
    for spec in published:
        if not spec.get("summary"):
            for name, t in read_published(spec).items():
                tables[name] = t.assign(category=None, n_pos=np.nan)
    table = join_tables(tables, pd.read_csv(target_counts, sep="\t"))
    models = list(tables)
    logs = {n: pd.read_csv(p, sep="\t") for n, p in train_logs.items()}
    metas = {n: read_meta(p) for n, p in (model_meta or {}).items()}
    summary = summary_table(table, models)
    for columns in (validation_columns(valid_metrics or {}), training_columns(logs, metas)):
        summary = summary.merge(columns, on="model", how="left")
    summary = pd.concat([summary] + [read_published_summary(s) for s in published if s.get("summary")],
                        ignore_index=True)
    with atomic_output(out.table) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6f", na_rep="NaN")
    with atomic_output(out.summary) as tmp:
        summary.to_csv(tmp, sep="\t", index=False, float_format="%.4f", na_rep="NaN")
    with atomic_output(out.wins) as tmp:
        win_shares(table, models).to_csv(tmp, sep="\t", index=False, float_format="%.4f")
    plot_scatter(table, models, "roc_auc", out.scatter_roc, dataset)
    plot_scatter(table, models, "pr_auc", out.scatter_pr, dataset)
    per_model = {m: table[["category"]].assign(roc_auc=table[f"{m}_roc_auc"], pr_auc=table[f"{m}_pr_auc"])
                 for m in models}
    plot_by_category(per_model, out.by_category, dataset)
    plot_training_curves(logs, out.training_curves, dataset)
    log.info("%s: compared %s on %d targets", dataset, ", ".join(models), len(table))
    return table


def main(args) -> None:
    metrics = dict(zip(args.models, map(Path, args.metrics)))
    logs = dict(zip(args.models, map(Path, args.train_logs)))
    out = CompareOutputs(*(Path(getattr(args, f)) for f in ("table", "summary", "wins", "scatter_roc", "scatter_pr",
                                                             "by_category", "training_curves")))
    valid = dict(zip(args.models, map(Path, args.valid_metrics)))
    metas = dict(zip(args.models, map(Path, args.model_meta)))
    compare(args.dataset, metrics, logs, Path(args.target_counts), out, args.published, valid, metas)


def build_parser():
    p = cli.parser("Compare the models of one data set: tables, win shares and plots.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--metrics", nargs="+", required=True, help="metrics.tsv per model, same order")
    p.add_argument("--train-logs", nargs="+", required=True, help="train_log.tsv per model, same order")
    p.add_argument("--valid-metrics", nargs="*", default=[], help="metrics_valid.tsv per model, same order")
    p.add_argument("--model-meta", nargs="*", default=[], help="model.json per model, same order")
    p.add_argument("--target-counts", required=True, help="targets.tsv of the data set (explore_dataset)")
    for output in ("table", "summary", "wins", "scatter-roc", "scatter-pr", "by-category", "training-curves"):
        p.add_argument(f"--{output}", required=True, help=f"output: {output}")
    p.add_argument("--published", type=cli.json_arg, default=[], help="published AUC tables (JSON list)")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
