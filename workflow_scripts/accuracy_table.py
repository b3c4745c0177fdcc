"""Stage ``accuracy_table``: DanQ's Table S1 for any data set — loss, accuracy and F1 on the
training, validation and test splits for every model and for the all-zeros predictor, beside
the mean AUCs (and SuperQ's point: with ~2 % positives, accuracy near 98 % is what predicting
nothing scores).

``accuracy_table.tsv`` (``results/eval/{dataset}/``), one row per (predictor, split):

* ``loss`` — mean binary cross-entropy over every (row, target) cell, probabilities clamped to
  [1e-7, 1 - 1e-7] as evaluation does (so the test loss equals ``summary.json``'s
  ``test_loss``); the all-zeros predictor has none (log 0: DanQ's "N/A");
* ``accuracy`` and ``f1`` — pooled over every cell at threshold 0.5 (what a single "accuracy"
  figure means, as in DanQ's table and the capstone's);
* ``mean_roc_auc``, ``mean_pr_auc`` — plain means over the targets scored in ``metrics.tsv``
  (test) and ``metrics_valid.tsv`` (validation); none on the training split. The all-zeros
  predictor scores every row alike: ROC AUC 0.5 and PR AUC (average precision) each target's
  prevalence, by definition, over the same targets;
* ``rows`` and ``cells`` scored. A row is a sequence, or for per-nucleotide data sets a base
  (every base of every window, streamed batch by batch: nothing per cell is kept).

Predictions average the reverse complement in when evaluation does (``evaluate.rc_average``).
The validation and test splits are scored whole; the training split (4.4 M rows on hg19's
deepsea1000) on a random sample of whole sequences or windows, drawn with ``seed``, of at most
``train_bases`` bases (config ``accuracy_table``); DanQ scored its whole training set.
With ``--published`` (a TSV of ``predictor split loss accuracy source``: DanQ's Table S1), the
published rows follow ours, their names ending in ``_published``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.inference import default_device, load_trained
from workflow_scripts.inference.predict import binary_cross_entropy, split_batches
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import SplitReader

log = cli.log.getChild("accuracy_table")
SPLITS = ("train", "valid", "test")
CELLS_PER_BATCH = 1 << 26        # per nucleotide: (window, target, base) cells predicted at once
PUBLISHED_COLUMNS = ["predictor", "split", "loss", "accuracy", "source"]


@dataclass
class Counts:
    """Pooled confusion counts at 0.5 and the summed loss over every cell of a split."""
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cells: int = 0
    rows: int = 0
    loss_sum: float = 0.0
    positives: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # per target

    def add(self, p: torch.Tensor, targets: torch.Tensor) -> None:
        called, truth = p >= 0.5, targets > 0.5
        self.tp += int((called & truth).sum())
        self.fp += int((called & ~truth).sum())
        self.fn += int((~called & truth).sum())
        self.cells += truth.numel()
        self.rows += truth.numel() // truth.shape[1]
        self.loss_sum += float(binary_cross_entropy(p, targets, reduction="none").sum(dtype=torch.float64))
        per_target = truth.transpose(0, 1).reshape(truth.shape[1], -1).sum(1).cpu().numpy()
        self.positives = per_target if not len(self.positives) else self.positives + per_target


def train_sample(reader: SplitReader, train_bases: int, seed: int) -> np.ndarray:
    """Rows (in file order) of a seeded random sample of at most ``train_bases`` bases."""
    n = min(reader.n, max(1, train_bases // reader.seq_length))
    return np.sort(np.random.default_rng(seed).choice(reader.n, n, replace=False))


def batch_size_for(reader: SplitReader) -> int:
    """256 sequences; per nucleotide as many windows as keep a batch's cells bounded."""
    if not reader.per_nucleotide:
        return 256
    return max(1, min(256, CELLS_PER_BATCH // (reader.seq_length * len(reader.targets))))


def split_counts(model, reader: SplitReader, device, rows: np.ndarray, *, rc_average: bool, progress: str) -> Counts:
    counts = Counts()
    for p, targets in split_batches(model, reader, device, batch_size=batch_size_for(reader),
                                    rc_average=rc_average, rows=rows, progress=progress):
        counts.add(p, targets)
    return counts


def score_row(predictor: str, split: str, c: Counts, loss: float, roc_auc: float, pr_auc: float) -> dict:
    tn = c.cells - c.tp - c.fp - c.fn
    return {"predictor": predictor, "split": split, "loss": loss, "accuracy": (c.tp + tn) / max(1, c.cells),
            "f1": 2 * c.tp / max(1, 2 * c.tp + c.fp + c.fn), "mean_roc_auc": roc_auc, "mean_pr_auc": pr_auc,
            "rows": c.rows, "cells": c.cells}


def all_zeros_row(split: str, c: Counts, scored: pd.Series | None) -> dict:
    """The all-zeros predictor on a split, from the labels a model's pass counted."""
    zeros = Counts(fn=int(c.positives.sum()), cells=c.cells, rows=c.rows)
    if scored is None:
        return score_row("all_zeros", split, zeros, np.nan, np.nan, np.nan)
    prevalence = c.positives / max(1, c.rows)
    return score_row("all_zeros", split, zeros, np.nan, 0.5, float(prevalence[scored.to_numpy()].mean()))


def read_published(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t")
    missing = set(PUBLISHED_COLUMNS) - set(table.columns)
    if missing:
        raise InputError(f"{path}: published accuracy table lacks the column(s) {', '.join(sorted(missing))}")
    return table.assign(predictor=table["predictor"] + "_published")


def accuracy_table(dataset: Path, models: dict[str, tuple[Path, Path]], metrics: dict[str, dict[str, Path]], *,
                   rc_average: bool, train_bases: int, seed: int) -> pd.DataFrame:
    """``models``: name -> (weights, meta); ``metrics``: name -> {"valid": path, "test": path}."""
    device = default_device()
    readers = {s: SplitReader(dataset, s) for s in SPLITS}
    rows = {"train": train_sample(readers["train"], train_bases, seed)}
    rows.update({s: np.arange(readers[s].n) for s in ("valid", "test")})
    out, zeros = [], {}
    for name, (weights, meta) in models.items():
        model, _ = load_trained(weights, meta, device, dataset)
        for split in SPLITS:
            c = split_counts(model, readers[split], device, rows[split], rc_average=rc_average,
                             progress=f"{name} {split}")
            table = pd.read_csv(metrics[name][split], sep="\t") if split in metrics[name] else None
            aucs = (table["roc_auc"].mean(), table["pr_auc"].mean()) if table is not None else (np.nan, np.nan)
            out.append(score_row(name, split, c, c.loss_sum / max(1, c.cells), *aucs))
            if split not in zeros:       # every model is scored on the same rows: the labels once
                zeros[split] = all_zeros_row(split, c, table["roc_auc"].notna() if table is not None else None)
    return pd.DataFrame(out + [zeros[s] for s in SPLITS])


def main(args) -> None:
    models = {n: (Path(w), Path(m)) for n, w, m in zip(args.models, args.weights, args.meta)}
    metrics = {n: {"valid": Path(v), "test": Path(t)} for n, v, t in zip(args.models, args.valid_metrics, args.metrics)}
    table = accuracy_table(Path(args.dataset), models, metrics, rc_average=args.rc_average,
                           train_bases=args.train_bases, seed=args.seed)
    if args.published:
        table = pd.concat([table, read_published(Path(args.published))], ignore_index=True)
    with atomic_output(Path(args.table)) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6f", na_rep="NaN")
    for _, r in table[table["split"] == "test"].iterrows():
        log.info("%s test: loss %.4f, accuracy %.4f, F1 %.4f", r["predictor"], r["loss"], r["accuracy"], r["f1"])


def build_parser():
    p = cli.parser("DanQ's Table S1: loss, accuracy and F1 per split for every model and the all-zeros predictor.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--models", nargs="+", required=True, help="every model of the data set")
    p.add_argument("--weights", nargs="+", required=True, help="weights.pt per model, same order")
    p.add_argument("--meta", nargs="+", required=True, help="model.json per model, same order")
    p.add_argument("--metrics", nargs="+", required=True, help="metrics.tsv (test) per model, same order")
    p.add_argument("--valid-metrics", nargs="+", required=True, help="metrics_valid.tsv per model, same order")
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--train-bases", type=int, default=100_000_000, help="bases of the training split's sample")
    p.add_argument("--seed", type=int, default=1, help="draws the training split's sample")
    p.add_argument("--published", help="a published table of predictor, split, loss, accuracy (DanQ's Table S1)")
    p.add_argument("--table", required=True, help="output: accuracy_table.tsv")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
