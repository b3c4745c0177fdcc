"""Stage ``modisco``: de-novo motifs from attributions with TF-MoDISco-lite (modisco-lite 3.0.0).

Input: an attribution HDF5 of :mod:`workflow_scripts.attribution` (its ``hypothetical``
contributions and ``codes``; an N is an all-zero one-hot column). MoDISco finds seqlets (windows of
high contribution), clusters them and aggregates each cluster into a pattern; positive patterns
are what raises the explained logit, negative ones what lowers it.

Outputs:

* ``modisco.h5`` — modisco-lite's own results file (``pos_patterns``/``neg_patterns``, each
  ``pattern_i`` with ``sequence`` (PPM), ``contrib_scores`` (CWM), ``hypothetical_contribs`` and
  its ``seqlets``), readable by ``modisco report``;
* ``patterns.meme`` — each pattern's PPM, trimmed as modisco-lite's report trims it (to the
  columns whose summed |contribution| is at least ``trim`` (0.3) of the pattern's largest), in
  MEME format with ``nsites`` = its seqlets, named ``pos_pattern_i``/``neg_pattern_i``, with the
  attributed sequences' base composition as background (an empty file when MoDISco found no
  pattern); the project's Tomtom (rule
  ``modisco_tomtom``: :mod:`workflow_scripts.tomtom`) matches them against JASPAR;
* ``patterns.png`` — one row per pattern: its contribution logo (CWM, trimmed) beside its
  sequence logo (bits), drawn with logomaker.
"""
from __future__ import annotations

import logging
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import logomaker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from workflow_scripts import cli  # noqa: E402
from workflow_scripts.cli import InputError  # noqa: E402
from workflow_scripts.io_utils import atomic_output  # noqa: E402
from workflow_scripts.motif_files import Motif, information_content, write_meme  # noqa: E402

log = logging.getLogger("seq2reg.modisco")
GROUPS = ("pos_patterns", "neg_patterns")


def read_attributions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot (N, L, 4) float32, hypothetical contributions (N, L, 4) float32)."""
    with h5py.File(path, "r") as f:
        if "hypothetical" not in f or "codes" not in f:
            raise InputError(f"{path}: not an attribution file of seq2reg attribute (no hypothetical/codes)")
        codes, hyp = f["codes"][:], f["hypothetical"][:]
    one_hot = (codes[..., None] == np.arange(4)).astype(np.float32)
    return one_hot, hyp.astype(np.float32)


def run_modisco(one_hot: np.ndarray, hyp: np.ndarray, settings: dict):
    """(positive patterns, negative patterns) of modisco-lite; [] where it found none."""
    from modiscolite.tfmodisco import TFMoDISco
    if len(one_hot) == 0:
        return [], []
    pos, neg = TFMoDISco(one_hot=one_hot, hypothetical_contribs=hyp, **settings)
    return pos or [], neg or []


def trimmed(pattern, trim: float) -> tuple[np.ndarray, np.ndarray]:
    """(PPM, CWM) cut to the columns with summed |contribution| >= ``trim`` x the largest."""
    score = np.abs(pattern.contrib_scores).sum(1)
    keep = np.flatnonzero(score >= trim * score.max())
    cut = slice(keep[0], keep[-1] + 1)
    return pattern.sequence[cut], pattern.contrib_scores[cut]


def pattern_motifs(patterns: dict, trim: float) -> tuple[list[Motif], list[np.ndarray]]:
    """The patterns as motifs (trimmed PPMs) and their trimmed CWMs, positive ones first."""
    motifs, cwms = [], []
    for group, found in patterns.items():
        for i, pattern in enumerate(found):
            ppm, cwm = trimmed(pattern, trim)
            ppm = ppm / ppm.sum(1, keepdims=True)
            motifs.append(Motif(f"{group[:3]}_pattern_{i}", f"{group[:3]}_pattern_{i}", ppm, len(pattern.seqlets)))
            cwms.append(cwm)
    return motifs, cwms


def plot_patterns(path: Path, motifs: list[Motif], cwms: list[np.ndarray], background: np.ndarray) -> None:
    rows = max(1, len(motifs))
    fig, axes = plt.subplots(rows, 2, figsize=(10, 1.5 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for (cwm_ax, ppm_ax), motif, cwm in zip(axes, motifs, cwms):
        cwm_ax.axis("on")
        ppm_ax.axis("on")
        logomaker.Logo(pd.DataFrame(cwm, columns=list("ACGT")), ax=cwm_ax, show_spines=False)
        cwm_ax.set_title(f"{motif.id} ({int(motif.nsites)} seqlets): contributions", fontsize=8)
        bits = motif.freqs * information_content(motif.freqs, background)[:, None]
        logomaker.Logo(pd.DataFrame(bits.clip(min=0), columns=list("ACGT")), ax=ppm_ax, show_spines=False)
        ppm_ax.set(ylim=(0, 2), title="sequence (bits)")
        ppm_ax.title.set_fontsize(8)
    if not motifs:
        axes[0, 0].text(0.5, 0.5, "no patterns found", ha="center", transform=axes[0, 0].transAxes)
    fig.tight_layout()
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def modisco(attributions: Path, results: Path, meme: Path, logos: Path, *, settings: dict, trim: float = 0.3) -> int:
    """Writes the three outputs; returns the number of patterns."""
    from modiscolite.io import save_hdf5
    one_hot, hyp = read_attributions(attributions)
    counts = one_hot.sum(axis=(0, 1)) + 1.0
    background = counts / counts.sum()
    pos, neg = run_modisco(one_hot, hyp, settings)
    with atomic_output(results, suffix=".h5") as tmp:
        save_hdf5(str(tmp), pos, neg, settings.get("sliding_window_size", 21))
    motifs, cwms = pattern_motifs(dict(zip(GROUPS, (pos, neg))), trim)
    if motifs:
        write_meme(meme, motifs, background)
    else:                               # an empty file: Tomtom reads it as no queries
        with atomic_output(meme) as tmp:
            tmp.write_text("")
    plot_patterns(logos, motifs, cwms, background)
    log.info("%s: %d positive and %d negative patterns from %d sequences", attributions, len(pos), len(neg),
             len(one_hot))
    return len(motifs)


def main(args) -> None:
    settings = {"sliding_window_size": args.window, "flank_size": args.flank,
                "max_seqlets_per_metacluster": args.max_seqlets, "target_seqlet_fdr": args.fdr,
                "final_min_cluster_size": args.min_cluster, "n_leiden_runs": args.leiden_runs}
    modisco(args.attributions, args.results, args.meme, args.logos, settings=settings, trim=args.trim)


def build_parser():
    p = cli.parser(__doc__.split("\n")[0])
    p.add_argument("--attributions", type=Path, required=True, help="HDF5 of seq2reg attribute")
    p.add_argument("--results", type=Path, required=True, help="output: modisco-lite's HDF5")
    p.add_argument("--meme", type=Path, required=True, help="output: the patterns (MEME), for Tomtom")
    p.add_argument("--logos", type=Path, required=True, help="output: PNG of the patterns' logos")
    p.add_argument("--window", type=int, default=21, help="seqlet core width (modisco's sliding_window_size)")
    p.add_argument("--flank", type=int, default=10, help="bases added each side of a seqlet core")
    p.add_argument("--max-seqlets", type=int, default=20000, help="per metacluster")
    p.add_argument("--fdr", type=float, default=0.2, help="modisco's target_seqlet_fdr")
    p.add_argument("--min-cluster", type=int, default=20, help="seqlets a final pattern needs")
    p.add_argument("--leiden-runs", type=int, default=50)
    p.add_argument("--trim", type=float, default=0.3, help="trim columns below this share of the top |CWM|")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
