"""Stage ``filter_motifs``: first-layer convolution filters -> motifs (Basset's method).

Kelley et al.'s Basset ``basset_motifs.py``, used by DanQ and DSSDA (section 5.6): run the test
sequences through the first layer and take its activations after the non-linearity, before
pooling; for each filter, the threshold is ``mean + factor * (max - mean)`` of all its
activations (``factor`` 0.5); the input windows where it is exceeded (aligned through the
layer's width, stride and padding; bases beyond the sequence count as N) are counted per
position: each base adds 1 to its letter, an N adds 0.25 to each. A pseudocount of 1 per letter
is added; filters with fewer than ``min_sites`` sites (10) are dropped. Optionally weak ends
(below ``trim_ic`` bits, Basset's 0.2) are trimmed.

Outputs (``results/motifs/{dataset}/{model}/``): ``filters.meme`` (MEME minimal format,
both strands, background from the data, real ``nsites``), ``filters.tsv`` (filter, width,
sites, consensus, information content, kept or why not), ``logos/filterN.png`` (logomaker) and
``logos.png`` (all kept filters on one sheet).
"""
from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import torch

matplotlib.use("Agg")
import logomaker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from workflow_scripts import cli  # noqa: E402
from workflow_scripts.io_utils import atomic_dir, atomic_output  # noqa: E402
from workflow_scripts.loaders import BatchStream, SplitReader, make_loader  # noqa: E402
from workflow_scripts.motif_files import Motif, consensus, information_content, write_meme  # noqa: E402
from workflow_scripts.sequence import N_CODE, ONE_HOT_ROWS  # noqa: E402
from workflow_scripts.inference import default_device, load_trained  # noqa: E402

log = cli.log.getChild("filter_motifs")


def batches(reader: SplitReader, max_sequences: int, batch_size: int):
    max_batches = -(-min(reader.n, max_sequences) // batch_size)
    for batch in make_loader(BatchStream(reader, batch_size, shuffle=False, max_batches=max_batches), 0, False):
        yield batch["codes"]


@torch.no_grad()
def activation_stats(model, reader, max_sequences, batch_size, device):
    """Mean and max of each filter's activations over all test sequences and positions."""
    total, count, peak = None, 0, None
    for codes in batches(reader, max_sequences, batch_size):
        act = model.first_layer(model.encode(codes.to(device))).float()     # (B, F, L')
        s, m = act.sum(dim=(0, 2)), act.amax(dim=(0, 2))
        total = s if total is None else total + s
        peak = m if peak is None else torch.maximum(peak, m)
        count += act.shape[0] * act.shape[2]
    return total / count, peak


@torch.no_grad()
def site_counts(model, reader, thresholds, max_sequences, batch_size, device):
    """Per filter: base counts (F, w, 4) of the windows above threshold, and the site count."""
    width, stride, padding = model.first_layer_window
    table = torch.tensor(ONE_HOT_ROWS, dtype=torch.float64, device=device)
    counts = sites = None
    for codes in batches(reader, max_sequences, batch_size):
        codes = codes.to(device)
        act = model.first_layer(model.encode(codes)).float()
        if counts is None:
            counts = torch.zeros(act.shape[1], width, 4, dtype=torch.float64, device=device)
            sites = torch.zeros(act.shape[1], dtype=torch.long, device=device)
        b, f, i = torch.nonzero(act > thresholds[None, :, None], as_tuple=True)
        if not len(b):
            continue
        padded = torch.nn.functional.pad(codes.long(), (padding, width), value=N_CODE)
        offsets = i * stride                                         # window start in padded input
        windows = padded[b[:, None], offsets[:, None] + torch.arange(width, device=device)[None, :]]
        counts.index_add_(0, f, table[windows])
        sites += torch.bincount(f, minlength=act.shape[1])
    return counts.cpu().numpy(), sites.cpu().numpy()


def trim(freqs: np.ndarray, background: np.ndarray, min_ic: float) -> np.ndarray:
    ic = information_content(freqs, background)
    keep = np.flatnonzero(ic >= min_ic)
    return freqs[keep[0]:keep[-1] + 1] if len(keep) else freqs[:0]


def background_of(reader: SplitReader, max_sequences: int, batch_size: int) -> np.ndarray:
    counts = np.zeros(5)
    for codes in batches(reader, max_sequences, batch_size):
        counts += np.bincount(codes.numpy().ravel(), minlength=5)[:5]
    acgt = counts[:4] + counts[4] / 4
    return acgt / acgt.sum()


def draw_logo(ax, freqs: np.ndarray, background: np.ndarray, title: str) -> None:
    bits = freqs * information_content(freqs, background)[:, None]
    logomaker.Logo(pd.DataFrame(bits.clip(min=0), columns=list("ACGT")), ax=ax, show_spines=False)
    ax.set_title(title, fontsize=8)
    ax.set_ylim(0, 2)
    ax.set_yticks([0, 1, 2])
    ax.tick_params(labelsize=6)


def _render_logo(job) -> None:
    freqs, background, title, path = job
    fig, ax = plt.subplots(figsize=(max(2.5, 0.25 * len(freqs)), 1.4))
    draw_logo(ax, freqs, background, title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_logos(motifs: list[Motif], background: np.ndarray, logo_dir: Path, sheet: Path, workers: int = 1) -> None:
    """One logo per motif (logomaker), drawn once each, and a sheet made of those images."""
    with atomic_dir(logo_dir) as tmp:
        jobs = [(m.freqs, background, f"{m.id} ({int(m.nsites)} sites)", tmp / f"{m.id}.png") for m in motifs]
        if workers > 1 and len(jobs) > 1:
            with Pool(workers) as pool:
                pool.map(_render_logo, jobs)
        else:
            list(map(_render_logo, jobs))
        images = [plt.imread(job[3]) for job in jobs]
    cols = 4
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 1.1 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image in zip(axes.ravel(), images):
        ax.imshow(image)
    fig.tight_layout(pad=0.2)
    with atomic_output(sheet, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


@dataclass
class MotifOutputs:
    meme: Path
    table: Path
    logos: Path
    sheet: Path


def filter_motifs(weights: Path, meta: Path, dataset: Path, out: MotifOutputs, *, factor: float = 0.5,
                  min_sites: int = 10, trim_ic: float | None = None, max_sequences: int = 20000,
                  batch_size: int = 256, workers: int = 1) -> pd.DataFrame:
    device = default_device()
    model, _ = load_trained(weights, meta, device, dataset)
    if model.first_block is None:
        raise cli.InputError(f"{weights}: model {type(model).__name__} has no first convolution layer to read")
    reader = SplitReader(dataset, "test")
    mean, peak = activation_stats(model, reader, max_sequences, batch_size, device)
    thresholds = mean + factor * (peak - mean)
    counts, sites = site_counts(model, reader, thresholds, max_sequences, batch_size, device)
    background = background_of(reader, max_sequences, batch_size)
    motifs, rows = [], []
    for k in range(len(counts)):
        freqs = (counts[k] + 1.0) / (counts[k] + 1.0).sum(axis=1, keepdims=True)
        if trim_ic is not None:
            freqs = trim(freqs, background, trim_ic)
        status = "kept"
        if sites[k] < min_sites:
            status = f"fewer than {min_sites} sites"
        elif len(freqs) == 0:
            status = f"no column of {trim_ic} bits"
        row = {"filter": f"filter{k}", "sites": int(sites[k]), "width": len(freqs),
               "threshold": float(thresholds[k]), "consensus": consensus(freqs) if len(freqs) else "",
               "information_content": float(information_content(freqs, background).sum()) if len(freqs) else 0.0,
               "status": status}
        rows.append(row)
        if status == "kept":
            motifs.append(Motif(f"filter{k}", row["consensus"], freqs, float(sites[k])))
    write_meme(out.meme, motifs, background)
    table = pd.DataFrame(rows)
    with atomic_output(out.table) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4g")
    write_logos(motifs, background, out.logos, out.sheet, workers=workers)
    log.info("%d of %d filters kept as motifs", len(motifs), len(counts))
    return table


def main(args) -> None:
    out = MotifOutputs(Path(args.meme), Path(args.table), Path(args.logos), Path(args.sheet))
    filter_motifs(Path(args.weights), Path(args.meta), Path(args.dataset), out, factor=args.factor,
                  min_sites=args.min_sites, trim_ic=args.trim_ic, max_sequences=args.max_sequences,
                  batch_size=args.batch_size, workers=args.workers)


def build_parser():
    p = cli.parser("Convert a model's first-layer filters into motifs (MEME), tables and logos.")
    p.add_argument("--weights", required=True)
    p.add_argument("--meta", required=True, help="the model's model.json")
    p.add_argument("--dataset", required=True)
    p.add_argument("--meme", required=True, help="output: filters.meme")
    p.add_argument("--table", required=True, help="output: filters.tsv")
    p.add_argument("--logos", required=True, help="output: directory of one logo per motif")
    p.add_argument("--sheet", required=True, help="output: all logos on one image")
    p.add_argument("--factor", type=float, default=0.5, help="threshold = mean + factor * (max - mean)")
    p.add_argument("--min-sites", type=int, default=10)
    p.add_argument("--trim-ic", type=float, default=None, help="trim ends below this many bits")
    p.add_argument("--max-sequences", type=int, default=20000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=1, help="processes drawing logos")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
