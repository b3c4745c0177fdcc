"""Figures shared by the evaluation stages (library): ROC / PR curves, AUCs by category."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from workflow_scripts.io_utils import atomic_output  # noqa: E402
from workflow_scripts.sample_sheets import CATEGORIES  # noqa: E402


def curve_points(scores: np.ndarray, labels: np.ndarray):
    order = np.argsort(-scores, kind="stable")
    y = labels[order].astype(float)
    tps, fps = np.cumsum(y), np.cumsum(1 - y)
    return fps / max(fps[-1], 1), tps / max(tps[-1], 1), tps / np.maximum(tps + fps, 1)


def chosen_targets(table: pd.DataFrame, wanted: list[str], n_random: int = 0, seed: int = 0) -> list[str]:
    """The wanted targets present and ``n_random`` other scored ones drawn at random (in table
    order; DSSDA's Fig. 3 shows 10 random classes); with neither, the best, median and worst scored."""
    present = set(table["target"])
    chosen = [t for t in wanted if t in present]
    scored = table.dropna(subset=["roc_auc"]).sort_values("roc_auc")
    scored_names = set(scored["target"])
    others = [t for t in table["target"] if t in scored_names and t not in chosen]
    if n_random and others:
        drawn = np.random.default_rng(seed).choice(len(others), min(n_random, len(others)), replace=False)
        chosen += [others[i] for i in sorted(drawn)]
    if not chosen and len(scored):
        chosen = list(dict.fromkeys([scored["target"].iloc[-1], scored["target"].iloc[len(scored) // 2],
                                     scored["target"].iloc[0]]))
    return chosen


def draw_curves(roc_ax, pr_ax, scores: np.ndarray, labels: np.ndarray, label: str, roc_auc: float,
                pr_auc: float) -> None:
    fpr, tpr, precision = curve_points(scores, labels)
    roc_ax.plot(fpr, tpr, label=f"{label} ({roc_auc:.3f})")
    pr_ax.plot(tpr, precision, label=f"{label} ({pr_auc:.3f})")


def finish_curve_axes(roc_ax, pr_ax, title: str) -> None:
    roc_ax.plot([0, 1], [0, 1], ":", color="grey")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC — {title}")
    pr_ax.set(xlabel="recall", ylabel="precision", title=f"precision-recall — {title}")
    for ax in (roc_ax, pr_ax):
        ax.legend(fontsize=7, loc="best")


def plot_curves(probs, labels, table: pd.DataFrame, wanted: list[str], title: str, path: Path) -> None:
    """ROC and PR curves of the wanted targets present, else of the best and worst scored ones."""
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.5))
    index = {t: i for i, t in enumerate(table["target"])}
    for t in chosen_targets(table, wanted):
        i = index[t]
        row = table.iloc[i]
        draw_curves(roc_ax, pr_ax, probs[:, i], labels[:, i], t, row.roc_auc, row.pr_auc)
    finish_curve_axes(roc_ax, pr_ax, title)
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


