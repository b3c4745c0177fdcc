"""Stage ``explore_dataset``: how many positives each target has in each split, and how rare
targets are (the capstone's data exploration, its Figs. 1-2), for every data set.

Outputs (``results/datasets/{dataset}.targets.tsv`` and ``.targets.png``):

* TSV: ``target  category`` then, per split, ``{split}_positives`` (rows where the target is
  active; per-nucleotide data sets: active bases) and ``{split}_frequency`` (positives over rows,
  or over bases). ``train_frequency`` is the weight of the capstone's weighted mean AUCs (compare).
* PNG: the histogram of training frequencies by category (log scale: most targets are rare)
  and the positives per split of every target, ranked.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.dataset_layout import SPLITS
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.plots import plt, save_figure
from workflow_scripts.sample_sheets import CATEGORIES

log = cli.log.getChild("explore_dataset")
ROWS_PER_READ = 1 << 16


def split_positives(group: h5py.Group, n_targets: int, seq_length: int, per_nucleotide: bool) -> tuple[np.ndarray, int]:
    """(positives per target, rows or bases) of one split, read in slices (genome size fits)."""
    n = int(group["start"].shape[0])
    counts = np.zeros(n_targets, np.int64)
    if per_nucleotide:
        intervals = group["intervals"]
        for lo in range(0, intervals.shape[0], ROWS_PER_READ):
            iv = intervals[lo:lo + ROWS_PER_READ].astype(np.int64)
            counts += np.bincount(iv[:, 0], weights=iv[:, 2] - iv[:, 1], minlength=n_targets).astype(np.int64)
        return counts, n * seq_length
    labels = group["labels"]
    for lo in range(0, n, ROWS_PER_READ):
        counts += np.unpackbits(labels[lo:lo + ROWS_PER_READ], axis=1)[:, :n_targets].sum(0, dtype=np.int64)
    return counts, n


def target_counts(dataset: Path) -> pd.DataFrame:
    with h5py.File(dataset, "r") as f:
        targets = [str(t) for t in f.attrs["targets"]]
        table = pd.DataFrame({"target": targets, "category": [str(c) for c in f.attrs["categories"]]})
        per_nucleotide = str(f.attrs["label_layout"]) == "intervals"
        for split in SPLITS:
            counts, total = split_positives(f[split], len(targets), int(f.attrs["seq_length"]), per_nucleotide)
            table[f"{split}_positives"] = counts
            table[f"{split}_frequency"] = counts / max(1, total)
    return table


def plot_target_counts(table: pd.DataFrame, path: Path, title: str) -> None:
    fig, (hist, ranked) = plt.subplots(1, 2, figsize=(12, 4))
    freq = table["train_frequency"]
    low = max(float(freq[freq > 0].min()) if (freq > 0).any() else 1e-6, 1e-7)
    bins = np.logspace(np.log10(low), 0, 40)
    for i, cat in enumerate(CATEGORIES):
        pick = (table["category"] == cat) & (freq > 0)
        if pick.any():
            hist.hist(freq[pick], bins=bins, alpha=0.6, color=f"C{i}", label=f"{cat} ({int(pick.sum())})")
    hist.set(xscale="log", xlabel="frequency in the training split", ylabel="targets",
             title=f"{(freq == 0).sum()} targets never positive in training")
    hist.legend(fontsize=7)
    for split in SPLITS:
        ranked.plot(np.sort(table[f"{split}_positives"].to_numpy())[::-1], label=split)
    ranked.set(yscale="symlog", xlabel="targets, ranked", ylabel="positives", title="positives per split")
    ranked.legend(fontsize=7)
    fig.suptitle(f"{title}: targets")
    fig.tight_layout()
    save_figure(fig, path)


def main(args) -> None:
    table = target_counts(Path(args.dataset))
    with atomic_output(Path(args.table)) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    plot_target_counts(table, Path(args.plot), args.name)
    rare = int((table["train_positives"] == 0).sum())
    log.info("%s: %d targets, %d never positive in training; median training frequency %.4g",
             args.name, len(table), rare, table["train_frequency"].median())


def build_parser():
    p = cli.parser("Positives per target and split of a data set, and the histogram of target frequencies.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--table", required=True, help="output: targets.tsv")
    p.add_argument("--plot", required=True, help="output: targets.png")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
