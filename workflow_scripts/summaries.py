"""Per-target AUC tables and the summaries the papers report (library for evaluate and compare).

``metrics.tsv`` columns: ``target  category  n_pos  roc_auc  pr_auc``. Summaries say which mean
they are: plain means over scored targets (overall and by category, Gupta's tables), the standard
deviation over targets (DSSDA's Table 2), and weighted means: evaluate weighs each target by its
test positives, compare by its frequency in the training split (the capstone's Tables 2-3).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.metrics import per_target_auc
from workflow_scripts.sample_sheets import CATEGORIES


def metrics_table(probs: np.ndarray, labels: np.ndarray, targets: list[str], categories: list[str],
                  min_positives: int) -> pd.DataFrame:
    auc = per_target_auc(probs, labels, min_positives=min_positives)
    return pd.DataFrame({"target": targets, "category": categories, "n_pos": auc["n_pos"],
                         "roc_auc": auc["roc_auc"], "pr_auc": auc["pr_auc"]})


def summarise(table: pd.DataFrame, n_rows: int, min_positives: int, weight: str = "n_pos") -> dict:
    """The summaries the papers report, from a metrics table; ``weight`` names the column the
    weighted means weigh targets by."""
    scored = table.dropna(subset=["roc_auc"])
    weights = scored[weight] / (scored[weight].sum() or 1)
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


