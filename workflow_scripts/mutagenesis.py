"""Stage ``mutagenesis``: in-silico saturation mutagenesis (ISM) of sequences with a trained model.

For each input sequence (:mod:`workflow_scripts.sequence_inputs`: FASTA records or BED intervals,
as windows of the model's input length), every base of the window's central ``span`` bases (a BED
interval shorter than ``span``: its own bases) is changed to each of the other three (all four
at an N; identity substitutions are never run) and the model predicts each mutant
(:func:`workflow_scripts.inference.mutations.mutant_probs`: only what a mutation changes is
recomputed where the model allows it; ``--naive`` runs whole mutants). Forward and reverse
complement are averaged with ``--rc-average``; a per-nucleotide model is read at the window's
centre base.

Output, HDF5 (one group per sequence, ``seq{i}``): ``effects`` (span, 4, T) float32 = mutant's
probability - reference's, 0 at the reference base; ``ref_probs`` (T,); ``codes`` (span,) the
reference bases mutated; attributes ``name``, ``chrom``, ``first`` (genome position of the first
mutated base, 0-based; -1 for FASTA) and ``window_offset`` (its index in the model's window); the
file's ``targets``. Plots, one page per sequence (the first ``--plots``): the effect heatmap
(4 bases x positions) of the target whose effects are largest, under a logo whose reference base
has height -mean effect of its substitutions (tall: mutating it lowers the prediction).
"""
from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import logomaker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from tqdm import tqdm  # noqa: E402

from workflow_scripts import cli  # noqa: E402
from workflow_scripts.inference import default_device, load_trained_dir  # noqa: E402
from workflow_scripts.inference.mutations import saturation_mutagenesis  # noqa: E402
from workflow_scripts.io_utils import atomic_output  # noqa: E402
from workflow_scripts.sequence import ALPHABET  # noqa: E402
from workflow_scripts import sequence_inputs  # noqa: E402

log = logging.getLogger("seq2reg.mutagenesis")


def mutated_span(start: int, end: int, length: int, span: int) -> tuple[int, int]:
    """(index in the window of the first mutated base, how many): the central ``span`` bases of
    a BED interval (all of a shorter one), or of the window for a FASTA record (start = end = -1)."""
    if end <= start:
        n = min(span, length)
        return (length - n) // 2, n
    n = min(span, end - start, length)
    first = sequence_inputs.window_start(start, end, length)
    return min(max(0, start - first + (end - start - n) // 2), length - n), n


def plot_sequence(pdf: PdfPages, effects: np.ndarray, codes: np.ndarray, targets: list[str], title: str) -> None:
    t = int(np.abs(effects).max(axis=(0, 1)).argmax())
    e = effects[:, :, t]
    importance = np.zeros_like(e)
    known = codes < 4
    importance[np.flatnonzero(known), codes[known]] = -e[known].sum(axis=1) / 3
    width = max(8.0, min(24.0, len(codes) / 12))
    fig, (logo_ax, heat_ax) = plt.subplots(2, 1, figsize=(width, 4.2), sharex=True,
                                           gridspec_kw={"height_ratios": [1, 1.2]})
    logomaker.Logo(pd.DataFrame(importance, columns=list(ALPHABET)), ax=logo_ax, show_spines=False)
    logo_ax.set(ylabel="-mean effect", title=f"{title} — {targets[t]}")
    limit = float(np.abs(e).max()) or 1.0
    image = heat_ax.imshow(e.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                           extent=(-0.5, len(codes) - 0.5, 3.5, -0.5), interpolation="nearest")
    heat_ax.set(yticks=range(4), yticklabels=list(ALPHABET), xlabel="position in the mutated span",
                ylabel="new base")
    fig.colorbar(image, ax=[logo_ax, heat_ax], label="effect on probability", fraction=0.02, pad=0.01)
    pdf.savefig(fig)
    plt.close(fig)


def mutagenesis(model_dir: Path, out: Path, plots: Path, *, fasta: Path | None = None, bed: Path | None = None,
                genome_fasta: Path | None = None, span: int = 200, max_sequences: int | None = None,
                n_plots: int = 8, rc_average: bool = True, fast: bool = True) -> int:
    device = default_device()
    model, meta = load_trained_dir(model_dir, device)
    length = meta["seq_length"]
    skipped: Counter = Counter()
    rows = sequence_inputs.sequence_rows(length, skipped, fasta=fasta, bed=bed, genome_fasta=genome_fasta)
    done = 0
    with atomic_output(out, suffix=".h5") as tmp, atomic_output(plots, suffix=".pdf") as tmp_pdf, \
            h5py.File(tmp, "w") as h5, PdfPages(tmp_pdf) as pdf:
        h5.create_dataset("targets", data=np.array(meta["targets"], dtype=object), dtype=h5py.string_dtype())
        h5.attrs.update({"model": str(model_dir), "rc_average": rc_average, "window": length})
        for (name, chrom, start, end, flag), codes in tqdm(rows, unit="sequence", desc="mutagenesis"):
            if max_sequences is not None and done >= max_sequences:
                break
            offset, n = mutated_span(start, end, length, span)
            positions = np.arange(offset, offset + n)
            ref, effects = saturation_mutagenesis(model, codes, positions, device, rc_average=rc_average, fast=fast)
            group = h5.create_group(f"seq{done}")
            group.create_dataset("effects", data=effects, compression="gzip", compression_opts=1)
            group.create_dataset("ref_probs", data=ref)
            group.create_dataset("codes", data=codes[positions])
            first = sequence_inputs.window_start(start, end, length)
            group.attrs.update({"name": name, "chrom": chrom, "flag": flag, "window_offset": offset,
                                "first": first + offset if chrom else -1})
            if done < n_plots:
                plot_sequence(pdf, effects, codes[positions], meta["targets"], name)
            done += 1
        if done == 0:
            fig = plt.figure(figsize=(6, 1))
            fig.text(0.5, 0.5, "no sequences", ha="center")
            pdf.savefig(fig)
            plt.close(fig)
    log.info("%s: %d sequences mutated (%s); skipped: %s", out, done, "fast" if fast else "naive",
             dict(skipped) or "none")
    return done


def main(args) -> None:
    mutagenesis(args.model, args.out, args.plots, fasta=args.fasta, bed=args.bed, genome_fasta=args.genome,
                span=args.span, max_sequences=args.max_sequences, n_plots=args.n_plots,
                rc_average=args.rc_average, fast=not args.naive)


def build_parser():
    p = cli.parser(__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a trained model's directory (weights.pt, model.json)")
    sequence_inputs.add_arguments(p)
    p.add_argument("--span", type=int, default=200, help="bases mutated, centred in the window")
    p.add_argument("--max-sequences", type=int)
    p.add_argument("--out", type=Path, required=True, help="HDF5 of effects")
    p.add_argument("--plots", type=Path, required=True, help="PDF: logo + heatmap per sequence")
    p.add_argument("--n-plots", type=int, default=8)
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--naive", action="store_true", help="run whole mutants (for checking the fast way)")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
