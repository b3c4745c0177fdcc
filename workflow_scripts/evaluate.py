"""Stage ``evaluate``: test-set predictions and per-target ROC / PR AUC of one trained model.

Outputs (``results/eval/{dataset}/{model}/``):

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
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from workflow_scripts import cli
from workflow_scripts.inference import default_device, load_trained, predict_split
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import SplitReader
from workflow_scripts.plots import plot_by_category, plot_curves
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
    summary: Path
    summary_json: Path
    predictions: Path
    curves: Path
    by_category: Path


def evaluate(dataset: Path, weights: Path, meta: Path, out: EvalOutputs, *, rc_average: bool, min_positives: int,
             eval_stride: int, batch_size: int, curve_targets: list[str], name: str) -> dict:
    device = default_device()
    model, _ = load_trained(weights, meta, device, dataset)
    reader = SplitReader(dataset, "test")
    pred = predict_split(model, reader, device, batch_size=batch_size, rc_average=rc_average, eval_stride=eval_stride)
    table = metrics_table(pred.probs, pred.labels, reader.targets, reader.categories, min_positives)
    summary = summarise(table, len(pred.probs), min_positives)
    summary.update(model=name, rc_average=rc_average, eval_stride=eval_stride, test_loss=pred.loss)
    write_predictions(out.predictions, reader, pred.probs, pred.labels, eval_stride)
    with atomic_output(out.metrics) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6f", na_rep="NaN")
    with atomic_output(out.summary_json) as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    with atomic_output(out.summary) as tmp:
        tmp.write_text(summary_line(name, summary))
    plot_curves(pred.probs, pred.labels, table, curve_targets, name, out.curves)
    plot_by_category({name: table}, out.by_category, name)
    log.info("%s", summary_line(name, summary).strip())
    return summary


def main(args) -> None:
    out = EvalOutputs(Path(args.metrics), Path(args.summary), Path(args.summary_json), Path(args.predictions),
                      Path(args.curves), Path(args.by_category))
    evaluate(Path(args.dataset), Path(args.weights), Path(args.meta), out, rc_average=args.rc_average,
             min_positives=args.min_positives, eval_stride=args.eval_stride, batch_size=args.batch_size,
             curve_targets=args.curve_targets, name=args.name)


def build_parser():
    p = cli.parser("Evaluate a trained model on the test split: predictions, per-target AUCs, plots.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--meta", required=True, help="the model's model.json")
    p.add_argument("--name", required=True, help="model name shown in tables and plots")
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--min-positives", type=int, default=10)
    p.add_argument("--eval-stride", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--curve-targets", nargs="*", default=["GM12878|EBF1|None", "H1-hESC|SIX5|None"])
    for output in ("metrics", "summary", "summary-json", "predictions", "curves", "by-category"):
        p.add_argument(f"--{output}", required=True, help=f"output: {output}")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
