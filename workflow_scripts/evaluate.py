"""Stage ``evaluate``: test-set predictions and per-target ROC / PR AUC of one trained model.

Outputs (``results/eval/{dataset}/{model}/``):

* ``predictions.h5`` — ``chrom``, ``start``, ``end`` of each scored region (per-nucleotide data:
  one row per scored base, ``start`` its position, every ``eval_stride``-th base of each window),
  ``probs`` (N, T) float32 (forward and reverse-complement averaged when ``rc_average``),
  ``labels`` (N, ceil(T/8)) bit-packed as in the data sets; attrs ``targets``, ``categories``;
* ``metrics.tsv`` — ``target  category  n_pos  roc_auc  pr_auc``, one row per target; targets
  with fewer than ``min_positives`` positives get NaN and are left out of the means (counted).
  Per-nucleotide data are scored at every base (with ``every_base``, the default): the AUCs are
  binned and streamed (``streaming_auc``), with their error bounds ``roc_auc_bound`` and
  ``pr_auc_bound``, and the exact AUCs of every ``eval_stride``-th base beside them
  (``roc_auc_strided``, ``pr_auc_strided``); ``summary.json``'s ``every_base`` says how far apart;
* ``metrics_valid.tsv`` — the same for the validation split (Gupta's Tables 8.4.1 and C.2 show both);
* ``summary.json`` and ``summary.txt`` (one line) — the papers' summaries: mean ROC and PR AUC
  overall and by category (Gupta's tables), mean and standard deviation of ROC AUC over targets
  (DSSDA's Table 2), means weighted by each target's test positives (compare weighs by training
  frequency, as the capstone);
* ``curves.png`` — ROC and PR curves of chosen targets (DanQ's figures use GM12878 EBF1 and
  H1-hESC SIX5); ``auc_by_category.png`` — per-category AUC distributions (DSSDA figure 4).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.inference import default_device, load_trained, predict_split
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import SplitReader
from workflow_scripts.plots import plot_by_category, plot_curves
from workflow_scripts.streaming_auc import BinnedAUC
from workflow_scripts.summaries import metrics_table, summarise, summary_line

log = cli.log.getChild("evaluate")


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


@dataclass
class EvalOutputs:
    metrics: Path
    valid_metrics: Path
    summary: Path
    summary_json: Path
    predictions: Path
    curves: Path
    by_category: Path


def with_every_base(strided: pd.DataFrame, binned: dict) -> pd.DataFrame:
    """The metrics of every base (binned, with their bounds) beside the strided exact ones."""
    table = strided.rename(columns={"n_pos": "n_pos_strided", "roc_auc": "roc_auc_strided",
                                    "pr_auc": "pr_auc_strided"})
    every = pd.DataFrame({k: binned[k] for k in ("n_pos", "roc_auc", "pr_auc", "roc_auc_bound", "pr_auc_bound")})
    return pd.concat([table[["target", "category"]], every, table.drop(columns=["target", "category"])], axis=1)


def stride_gap(table: pd.DataFrame, eval_stride: int) -> dict:
    """How far the strided exact AUCs are from those of every base (over targets scored by both)."""
    out = {"eval_stride": eval_stride}
    for metric in ("roc_auc", "pr_auc"):
        both = table.dropna(subset=[metric, f"{metric}_strided"])
        gap = (both[f"{metric}_strided"] - both[metric]).abs()
        out.update({f"mean_{metric}_strided": float(both[f"{metric}_strided"].mean()),
                    f"mean_{metric}_every_base": float(both[metric].mean()),
                    f"mean_abs_{metric}_gap": float(gap.mean()), f"max_abs_{metric}_gap": float(gap.max()),
                    f"max_{metric}_bound": float(table[f"{metric}_bound"].max())})
    return out


def stride_line(gap: dict) -> str:
    return (f"Every base scored (binned AUCs, bounds ROC <= {gap['max_roc_auc_bound']:.1e}, PR <= "
            f"{gap['max_pr_auc_bound']:.1e}); every {gap['eval_stride']}th base exactly: mean ROC AUC "
            f"{gap['mean_roc_auc_strided']:.4f}, |difference| mean {gap['mean_abs_roc_auc_gap']:.4f} max "
            f"{gap['max_abs_roc_auc_gap']:.4f}; PR AUC {gap['mean_pr_auc_strided']:.4f}, |difference| mean "
            f"{gap['mean_abs_pr_auc_gap']:.4f} max {gap['max_abs_pr_auc_gap']:.4f}\n")


def score_split(model, reader: SplitReader, device, *, every_base: bool, min_positives: int, **predict_args):
    """A split's predictions and metrics table; per nucleotide with ``every_base``, the table
    holds the binned AUCs of every base beside the strided exact ones."""
    binned = BinnedAUC(len(reader.targets), device) if every_base and reader.per_nucleotide else None
    pred = predict_split(model, reader, device, every_base=binned, progress=reader.split, **predict_args)
    table = metrics_table(pred.probs, pred.labels, reader.targets, reader.categories, min_positives)
    return pred, (with_every_base(table, binned.result(min_positives)) if binned else table)


def write_table(table: pd.DataFrame, path: Path) -> None:
    with atomic_output(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6f", na_rep="NaN")


def evaluate(dataset: Path, weights: Path, meta: Path, out: EvalOutputs, *, rc_average: bool, min_positives: int,
             eval_stride: int, batch_size: int, curve_targets: list[str], name: str, every_base: bool = True) -> dict:
    device = default_device()
    model, _ = load_trained(weights, meta, device, dataset)
    scoring = dict(every_base=every_base, min_positives=min_positives, batch_size=batch_size,
                   rc_average=rc_average, eval_stride=eval_stride)
    _, valid_table = score_split(model, SplitReader(dataset, "valid"), device, **scoring)
    write_table(valid_table, out.valid_metrics)
    reader = SplitReader(dataset, "test")
    pred, table = score_split(model, reader, device, **scoring)
    scored_rows = int(reader.n * reader.seq_length) if "roc_auc_bound" in table else len(pred.probs)
    summary = summarise(table, scored_rows, min_positives)
    summary.update(model=name, rc_average=rc_average, eval_stride=eval_stride, test_loss=pred.loss)
    line = summary_line(name, summary)
    if "roc_auc_bound" in table:
        summary["every_base"] = gap = stride_gap(table, eval_stride)
        line += stride_line(gap)
    write_predictions(out.predictions, reader, pred.probs, pred.labels, eval_stride)
    write_table(table, out.metrics)
    with atomic_output(out.summary_json) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    with atomic_output(out.summary) as tmp:
        tmp.write_text(line)
    plot_curves(pred.probs, pred.labels, table, curve_targets, name, out.curves)
    plot_by_category({name: table}, out.by_category, name)
    log.info("%s", line.strip())
    return summary


def main(args) -> None:
    out = EvalOutputs(Path(args.metrics), Path(args.valid_metrics), Path(args.summary), Path(args.summary_json),
                      Path(args.predictions), Path(args.curves), Path(args.by_category))
    evaluate(Path(args.dataset), Path(args.weights), Path(args.meta), out, rc_average=args.rc_average,
             min_positives=args.min_positives, eval_stride=args.eval_stride, batch_size=args.batch_size,
             curve_targets=args.curve_targets, name=args.name, every_base=args.every_base)


def build_parser():
    p = cli.parser("Evaluate a trained model on the test split: predictions, per-target AUCs, plots.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--meta", required=True, help="the model's model.json")
    p.add_argument("--name", required=True, help="model name shown in tables and plots")
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--min-positives", type=int, default=10)
    p.add_argument("--eval-stride", type=int, default=1,
                   help="per nucleotide: keep (and score exactly) every eval_stride-th base")
    p.add_argument("--every-base", action=argparse.BooleanOptionalAction, default=True,
                   help="per nucleotide: also score every base, binned and streamed")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--curve-targets", nargs="*", default=["GM12878|EBF1|None", "H1-hESC|SIX5|None"])
    for output in ("metrics", "valid-metrics", "summary", "summary-json", "predictions", "curves", "by-category"):
        p.add_argument(f"--{output}", required=True, help=f"output: {output}")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
