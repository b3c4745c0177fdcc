"""Stage ``curve_overlay``: DanQ's Figs. 2-3 for any data set — the test-set ROC and PR curves
of every model of the data set overlaid, one row of panels per target.

The targets are ``evaluate.curve_targets`` where the data set has them (DanQ: GM12878 EBF1 and
H1-hESC SIX5) and ``evaluate.curve_random`` of the data set's other targets drawn at random (DSSDA's
Fig. 3: 10 random classes, AlexNet against DSSDA), else the choice each model's own curves make
(plots.chosen_targets: best, median and worst scored), taken from the first model's ``metrics.tsv`` so that every model is drawn
for the same targets. Curves come from each model's ``predictions.h5`` (the test rows evaluation
scored, reverse complements averaged in when it did); the legend gives each model's AUC from its
``metrics.tsv``.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.plots import chosen_targets, draw_curves, finish_curve_axes, plt, save_figure

log = cli.log.getChild("curve_overlay")


def target_columns(predictions: Path, targets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and 0/1 labels of the named targets, (N, len(targets)) each."""
    with h5py.File(predictions, "r") as f:
        names = [str(t) for t in f.attrs["targets"]]
        index = [names.index(t) for t in targets]
        order = np.argsort(index)                  # h5py reads increasing columns only
        probs = np.empty((f["probs"].shape[0], len(index)), np.float32)
        probs[:, order] = f["probs"][:, sorted(index)]
        labels = np.unpackbits(f["labels"][:], axis=1)[:, index]
    return probs, labels


def plot_overlay(predictions: dict[str, Path], metrics: dict[str, Path], wanted: list[str], title: str,
                 path: Path, n_random: int = 0) -> list[str]:
    tables = {name: pd.read_csv(p, sep="\t").set_index("target", drop=False) for name, p in metrics.items()}
    targets = chosen_targets(next(iter(tables.values())), wanted, n_random)
    fig, axes = plt.subplots(max(1, len(targets)), 2, figsize=(10, 4.2 * max(1, len(targets))), squeeze=False)
    for name, file in predictions.items():
        probs, labels = target_columns(file, targets)
        for k, t in enumerate(targets):
            row = tables[name].loc[t]
            draw_curves(*axes[k], probs[:, k], labels[:, k], name, row["roc_auc"], row["pr_auc"])
    for k, t in enumerate(targets):
        finish_curve_axes(*axes[k], f"{t} ({title})")
    fig.tight_layout()
    save_figure(fig, path)
    return targets


def main(args) -> None:
    targets = plot_overlay(dict(zip(args.models, map(Path, args.predictions))),
                           dict(zip(args.models, map(Path, args.metrics))), args.curve_targets, args.name,
                           Path(args.plot), args.random_targets)
    log.info("%s: %d models overlaid for %s", args.name, len(args.models), ", ".join(targets))


def build_parser():
    p = cli.parser("ROC and PR curves of every model of a data set overlaid for the same targets (DanQ Figs. 2-3).")
    p.add_argument("--name", required=True, help="the data set's name")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--predictions", nargs="+", required=True, help="predictions.h5 per model, same order")
    p.add_argument("--metrics", nargs="+", required=True, help="metrics.tsv per model, same order")
    p.add_argument("--curve-targets", nargs="*", default=[])
    p.add_argument("--random-targets", type=int, default=0,
                   help="also this many other scored targets at random (fixed draw; DSSDA's Fig. 3: 10)")
    p.add_argument("--plot", required=True, help="output: curve_overlay.png")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
