"""Stage ``predict``: a trained model's per-target probabilities for sequences a user brings.

Inputs (:mod:`workflow_scripts.sequence_inputs`): a FASTA, a BED (windows of the model's input
length centred on each interval, from the pipeline's genome) or a split of a data set built by
the pipeline (``--dataset file.h5 --split test``); resized or near-end windows are counted in the
log and flagged (``cropped``, ``padded``, ``near_end``). Forward and reverse complement are
averaged with ``--rc-average``. A per-nucleotide model gives the probability at the window's
centre base (index ``(L - 1) // 2``, as for variants); ``--tracks`` also keeps every base's
(HDF5 only, float16).

Outputs: TSV (``name chrom start end flags`` then one column per target) or HDF5 (``probs``
(N, T) float32, ``targets``, ``rows/{name,chrom,start,end,flags}``, and ``tracks`` (N, T, L) with
``--tracks``), written batch by batch.
"""
from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.inference import default_device, load_trained_dir
from workflow_scripts.inference.predict import predict_batches
from workflow_scripts.dataset_layout import SplitWriter
from workflow_scripts.io_utils import atomic_output
from workflow_scripts import sequence_inputs

log = logging.getLogger("seq2reg.predict")
ROW = ("name", "chrom", "start", "end", "flags")


class ProbWriter:
    def __init__(self, path: Path, fmt: str, targets: list[str], length: int, tracks: bool):
        self.fmt, self.n = fmt, 0
        if fmt == "tsv":
            self.out = open(path, "w")
            self.out.write("\t".join(ROW + tuple(targets)) + "\n")
            return
        self.h5 = h5py.File(path, "w")
        self.h5.create_dataset("targets", data=np.array(targets, dtype=object), dtype=h5py.string_dtype())
        columns = {"probs": ((len(targets),), np.float32)}
        columns.update({f"rows/{c}": ((), np.int64 if c in ("start", "end") else h5py.string_dtype()) for c in ROW})
        if tracks:
            columns["tracks"] = ((len(targets), length), np.float16)
        self.writer = SplitWriter(self.h5, columns)

    def append(self, rows: list[tuple], probs: np.ndarray, tracks: np.ndarray | None) -> None:
        if self.fmt == "tsv":
            for row, p in zip(rows, probs):
                self.out.write("\t".join(map(str, row)) + "\t" + "\t".join(f"{x:.6g}" for x in p) + "\n")
        else:
            items = {"probs": probs, **{f"rows/{c}": np.array([r[i] for r in rows], dtype=object if
                                                              c not in ("start", "end") else np.int64)
                                        for i, c in enumerate(ROW)}}
            if tracks is not None:
                items["tracks"] = tracks.astype(np.float16)
            self.writer.append(**items)
        self.n += len(rows)

    def close(self) -> None:
        (self.out if self.fmt == "tsv" else self.h5).close()


def predict_file(model_dir: Path, out: Path, *, fasta: Path | None = None, bed: Path | None = None,
                 dataset: Path | None = None, split: str = "test", genome_fasta: Path | None = None,
                 fmt: str | None = None, rc_average: bool = True, batch_size: int = 64, tracks: bool = False) -> int:
    """Writes the predictions of the model in ``model_dir``; returns the number of rows."""
    device = default_device()
    model, meta = load_trained_dir(model_dir, device)
    length, fmt = meta["seq_length"], fmt or ("h5" if out.suffix in (".h5", ".hdf5") else "tsv")
    if tracks and (fmt != "h5" or not model.per_nucleotide):
        raise InputError("--tracks needs a per-nucleotide model and an HDF5 output (.h5)")
    skipped: Counter = Counter()
    rows = sequence_inputs.sequence_rows(length, skipped, fasta=fasta, bed=bed, genome_fasta=genome_fasta,
                                         dataset=dataset, split=split)
    flags: Counter = Counter()
    with atomic_output(out, suffix=f".{fmt}") as tmp:
        writer = ProbWriter(tmp, fmt, meta["targets"], length, tracks)
        try:
            for batch in tqdm(_batches(rows, batch_size), unit="batch", desc="predict", mininterval=5):
                labels, codes = zip(*batch)
                flags.update(r[4] for r in labels if r[4])
                full = next(predict_batches(model, [np.stack(codes)], device, rc_average=rc_average)) \
                    if tracks else None
                probs = full[..., (length - 1) // 2] if tracks else next(predict_batches(
                    model, [np.stack(codes)], device, rc_average=rc_average, position=(length - 1) // 2))
                writer.append(list(labels), probs, full)
        finally:
            writer.close()
    log.info("%s: %d sequences predicted (%s); skipped: %s", out, writer.n, dict(flags) or "none flagged",
             dict(skipped) or "none")
    return writer.n


def _batches(rows, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def main(args) -> None:
    predict_file(args.model, args.out, fasta=args.fasta, bed=args.bed, dataset=args.dataset, split=args.split,
                 genome_fasta=args.genome, fmt=args.format, rc_average=args.rc_average,
                 batch_size=args.batch_size, tracks=args.tracks)


def build_parser():
    p = cli.parser(__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a trained model's directory (weights.pt, model.json)")
    sequence_inputs.add_arguments(p, dataset=True)
    p.add_argument("--out", type=Path, required=True, help=".tsv or .h5")
    p.add_argument("--format", choices=["tsv", "h5"])
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--tracks", action="store_true")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
