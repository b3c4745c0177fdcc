"""Stage ``label_study``: DSSDA's label study (Shams, Platania et al. 2018, section 5.3, Table 2),
for a data set with a model trained on a share of its labels (``train.label_fraction`` < 1).

The ladder network (``dssda``) learns from every training row, its supervised counterpart
(``alexnet``) only from the labelled ones (the same rows for a seed); the question is how far
each falls below its fully supervised score. Reads the data set's ``comparison_summary.tsv``
(stage compare: ``family`` and ``label_fraction`` per model) and writes, in
``results/eval/{dataset}/``:

* ``label_study.tsv`` — one row per model of each family trained at a label fraction below 1
  (all of that family's models, by fraction): mean ROC AUC on the validation split (DSSDA's
  Table 2 reports there) and the test split, mean PR AUC and SD of ROC AUC on the test split
  (plain means and SD over the scored targets), the epoch kept; then the models of other families
  (all labels), the references;
* ``label_study.png`` — validation and test mean ROC AUC against the share of labelled rows, a
  line per family, the references as dashed lines.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.plots import plt, save_figure

log = cli.log.getChild("label_study")
COLUMNS = ["family", "label_fraction", "model", "valid_mean_roc_auc", "mean_roc_auc", "mean_pr_auc", "sd_roc_auc",
           "best_epoch"]
SCORES = {"valid_mean_roc_auc": "validation", "mean_roc_auc": "test"}


def label_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The study's families by label fraction, then the other trained models as references."""
    ours = summary.dropna(subset=["family"])
    studied = set(ours.loc[ours["label_fraction"] < 1, "family"])
    if not studied:
        raise InputError("no model of this data set was trained on a label fraction below 1 "
                         "(train.label_fraction): there is no label study to make")
    table = ours.assign(reference=~ours["family"].isin(studied))
    table = table.sort_values(["reference", "family", "label_fraction"], kind="stable")
    return table[COLUMNS + ["reference"]].reset_index(drop=True)


def plot_label_study(table: pd.DataFrame, path: Path, title: str) -> None:
    fig, axes = plt.subplots(1, len(SCORES), figsize=(5 * len(SCORES), 4), sharey=True)
    studied, references = table[~table["reference"]], table[table["reference"]]
    for ax, (column, split) in zip(axes, SCORES.items()):
        for family, rows in studied.groupby("family", sort=False):
            ax.plot(rows["label_fraction"] * 100, rows[column], marker="o", label=family)
        for _, ref in references.iterrows():
            ax.axhline(ref[column], ls="--", lw=1, color="grey")
            ax.annotate(ref["model"], (100, ref[column]), xytext=(-4, 2), textcoords="offset points",
                        ha="right", fontsize=8, color="grey")
        ax.set(xlabel="labelled training rows (%)", title=f"{title}: {split}", xlim=(0, 105))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean ROC AUC over targets")
    axes[0].legend(loc="lower right")
    save_figure(fig, path)


def label_study(summary_path: Path, table_path: Path, plot_path: Path, name: str) -> pd.DataFrame:
    table = label_table(pd.read_csv(summary_path, sep="\t"))
    with atomic_output(table_path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4f", na_rep="NaN")
    plot_label_study(table, plot_path, name)
    log.info("%s: label study of %s", name, ", ".join(table.loc[~table["reference"], "model"]))
    return table


def main(args) -> None:
    label_study(Path(args.summary), Path(args.table), Path(args.plot), args.name)


def build_parser():
    p = cli.parser("DSSDA's label study: mean AUCs against the share of labelled training rows.")
    p.add_argument("--summary", required=True, help="comparison_summary.tsv of the data set (stage compare)")
    p.add_argument("--name", required=True, help="the data set's name (plot titles)")
    p.add_argument("--table", required=True, help="output: label_study.tsv")
    p.add_argument("--plot", required=True, help="output: label_study.png")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
