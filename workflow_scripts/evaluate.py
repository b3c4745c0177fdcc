"""Stage ``evaluate``: test-set predictions and per-target ROC / PR AUC of one trained model.

Outputs in ``results/eval/{dataset}/{model}/``:

* ``predictions.h5`` — ``chrom``, ``start``, ``end`` of each scored region (per-nucleotide data:
  one row per scored base, ``start`` its position, every ``eval_stride``-th base of each window),
  ``probs`` (N, T) float32 (forward and reverse-complement averaged when ``rc_average``),
  ``labels`` (N, ceil(T/8)) bit-packed as in the data sets; attrs ``targets``, ``categories``;
* ``metrics.tsv`` — ``target  category  n_pos  roc_auc  pr_auc``, one row per target; targets
  with fewer than ``min_positives`` positives get NaN and are left out of the means (counted);
* ``summary.json`` and ``summary.txt`` (one line) — the papers' summaries: mean ROC and PR AUC
  overall and by category (Gupta's tables), mean and standard deviation of ROC AUC over targets
  (DSSDA's Table 2), prevalence-weighted means (the capstone);
* ``curves.png`` — ROC and PR curves of chosen targets (DanQ's figures use GM12878 EBF1 and
  H1-hESC SIX5); ``auc_by_category.png`` — per-category AUC distributions (DSSDA figure 4).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from workflow_scripts import cli  # noqa: E402
from workflow_scripts.io_utils import atomic_output  # noqa: E402
from workflow_scripts.loaders import SplitReader  # noqa: E402
from workflow_scripts.metrics import per_target_auc  # noqa: E402

log = cli.log.getChild("evaluate")
CATEGORIES = ("DNase", "TF", "Histone")


def metrics_table(probs: np.ndarray, labels: np.ndarray, targets: list[str], categories: list[str],
                  min_positives: int) -> pd.DataFrame:
    auc = per_target_auc(probs, labels, min_positives=min_positives)
    return pd.DataFrame({"target": targets, "category": categories, "n_pos": auc["n_pos"],
                         "roc_auc": auc["roc_auc"], "pr_auc": auc["pr_auc"]})


def summarise(table: pd.DataFrame, n_rows: int, min_positives: int) -> dict:
    """The summaries the papers report, from a metrics table."""
    scored = table.dropna(subset=["roc_auc"])
    weights = scored["n_pos"] / max(1, scored["n_pos"].sum())
    out = {"n_targets": int(len(table)), "n_scored": int(len(scored)),
           "n_skipped_few_positives": int(len(table) - len(scored)), "min_positives": min_positives,
           "n_rows": int(n_rows),
           "mean_roc_auc": float(scored["roc_auc"].mean()) if len(scored) else float("nan"),
           "sd_roc_auc": float(scored["roc_auc"].std(ddof=1)) if len(scored) > 1 else float("nan"),
           "mean_pr_auc": float(scored["pr_auc"].mean()) if len(scored) else float("nan"),
           "weighted_roc_auc": float((scored["roc_auc"] * weights).sum()),
           "weighted_pr_auc": float((scored["pr_auc"] * weights).sum()), "by_category": {}}
    for cat in CATEGORIES:
        sub = scored[scored["category"] == cat]
        if len(sub):
            out["by_category"][cat] = {"n": int(len(sub)), "mean_roc_auc": float(sub["roc_auc"].mean()),
                                       "mean_pr_auc": float(sub["pr_auc"].mean())}
    return out


def summary_line(name: str, s: dict) -> str:
    cats = ", ".join(f"{c} {v['mean_roc_auc']:.3f}/{v['mean_pr_auc']:.3f}" for c, v in s["by_category"].items())
    return (f"{name}: mean ROC AUC {s['mean_roc_auc']:.4f} (sd {s['sd_roc_auc']:.4f}), mean PR AUC "
            f"{s['mean_pr_auc']:.4f} over {s['n_scored']} targets ({s['n_skipped_few_positives']} with "
            f"< {s['min_positives']} positives left out); by category ROC/PR: {cats}\n")


def curve_points(scores: np.ndarray, labels: np.ndarray):
    order = np.argsort(-scores, kind="stable")
    y = labels[order].astype(float)
    tps, fps = np.cumsum(y), np.cumsum(1 - y)
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1), tps / np.maximum(tps + fps, 1)


def plot_curves(probs, labels, table: pd.DataFrame, wanted: list[str], title: str, path: Path) -> None:
    """ROC and PR curves of the wanted targets present, else of the best and worst scored ones."""
    chosen = [t for t in wanted if t in set(table["target"])]
    scored = table.dropna(subset=["roc_auc"]).sort_values("roc_auc")
    if not chosen and len(scored):
        chosen = list(dict.fromkeys([scored["target"].iloc[-1], scored["target"].iloc[len(scored) // 2],
                                     scored["target"].iloc[0]]))
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.5))
    index = {t: i for i, t in enumerate(table["target"])}
    for t in chosen:
        i = index[t]
        fpr, tpr, precision = curve_points(probs[:, i], labels[:, i])
        row = table.iloc[i]
        roc_ax.plot(fpr, tpr, label=f"{t} ({row.roc_auc:.3f})")
        pr_ax.plot(tpr, precision, label=f"{t} ({row.pr_auc:.3f})")
    roc_ax.plot([0, 1], [0, 1], ":", color="grey")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC — {title}")
    pr_ax.set(xlabel="recall", ylabel="precision", title=f"precision-recall — {title}")
    for ax in (roc_ax, pr_ax):
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, path)


def plot_by_category(tables: dict[str, pd.DataFrame], path: Path, title: str) -> None:
    """Per-category AUC distributions, one box per (category, model)."""
    fig, axes = plt.subplots(1, 2, figsize=(max(6, 2 + 1.6 * len(tables)), 4.5))
    for ax, metric in zip(axes, ("roc_auc", "pr_auc")):
        data, names = [], []
        for cat in CATEGORIES:
            for model, table in tables.items():
                values = table.loc[table["category"] == cat, metric].dropna()
                if len(values):
                    data.append(values.to_numpy())
                    names.append(f"{cat}\n{model}")
        if data:
            ax.boxplot(data, showfliers=True)
            ax.set_xticks(range(1, len(names) + 1), names, fontsize=7, rotation=45, ha="right")
        ax.set(ylabel=metric.replace("_", " ").upper(), title=f"{metric.replace('_', ' ').upper()} by category — {title}")
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig, path: Path) -> None:
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_predictions(path: Path, reader: SplitReader, probs: np.ndarray, labels: np.ndarray, stride: int) -> None:
    with h5py.File(reader.path, "r") as f:
        g = f["test"]
        chrom, start, end = g["chrom"][:], g["start"][:], g["end"][:]
    if reader.per_nucleotide:          # one row per scored base
        offsets = np.arange(0, reader.seq_length, stride)
        chrom = np.repeat(chrom, len(offsets))
        start = (start[:, None] + offsets[None, :]).ravel()
        end = start + 1
    with atomic_output(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as out:
        out.attrs["targets"] = np.array(reader.targets, dtype=h5py.string_dtype())
        out.attrs["categories"] = np.array(reader.categories, dtype=h5py.string_dtype())
        rows = max(1, min(len(probs), (1 << 20) // max(1, 4 * probs.shape[1])))
        out.create_dataset("chrom", data=chrom)
        out.create_dataset("start", data=start)
        out.create_dataset("end", data=end)
        out.create_dataset("probs", data=probs, chunks=(rows, probs.shape[1]) if len(probs) else None)
        out.create_dataset("labels", data=np.packbits(labels, axis=1))


def evaluate(dataset: Path, model_dir: Path, out_dir: Path, *, rc_average: bool, min_positives: int,
             eval_stride: int, batch_size: int, curve_targets: list[str], name: str) -> dict:
    import torch
    from workflow_scripts.train import load_trained, predict
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = load_trained(model_dir, device, dataset)
    reader = SplitReader(dataset, "test")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
    probs, labels, _ = predict(model, reader, device, batch_size=batch_size, rc_average=rc_average,
                               eval_stride=eval_stride, autocast=autocast)
    table = metrics_table(probs, labels, reader.targets, reader.categories, min_positives)
    summary = summarise(table, len(probs), min_positives)
    summary.update(model=name, rc_average=rc_average, eval_stride=eval_stride)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_predictions(out_dir / "predictions.h5", reader, probs, labels, eval_stride)
    with atomic_output(out_dir / "metrics.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6f", na_rep="NaN")
    with atomic_output(out_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    with atomic_output(out_dir / "summary.txt") as tmp:
        tmp.write_text(summary_line(name, summary))
    plot_curves(probs, labels, table, curve_targets, name, out_dir / "curves.png")
    plot_by_category({name: table}, out_dir / "auc_by_category.png", name)
    log.info("%s", summary_line(name, summary).strip())
    return summary


def main(args) -> None:
    evaluate(Path(args.dataset), Path(args.model_dir), Path(args.out_dir), rc_average=args.rc_average,
             min_positives=args.min_positives, eval_stride=args.eval_stride, batch_size=args.batch_size,
             curve_targets=args.curve_targets, name=args.name)


def build_parser():
    p = cli.parser("Evaluate a trained model on the test split: predictions, per-target AUCs, plots.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", required=True, help="model name shown in tables and plots")
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--min-positives", type=int, default=10)
    p.add_argument("--eval-stride", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--curve-targets", nargs="*", default=["GM12878|EBF1|None", "H1-hESC|SIX5|None"])
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
