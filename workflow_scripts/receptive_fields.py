"""Stage ``receptive_fields``: where per-nucleotide models look, as Gupta's Figs. 8.5.1 and D.0.1.

For one validation window and one marker (drawn with ``seed``: a window with a positive base, then
a target positive in it; the same for every model), an error of 1 is back-propagated from the
marker's output (its logit) at every positive base; per input base the L2 norm, over the
embedding's channels, of the gradient is plotted (black) under the marker's positive bases (blue),
one panel per model (``receptive_fields.png``).

The **effective receptive field** (``receptive_fields.tsv``): the same marker's logit at
``positions`` output bases drawn from the middle half of the window (so that the window's ends cut
no field short) is back-propagated one position at a time; the gradient norms, aligned on the
output base and averaged over the positions, give a profile, and the effective field is the
shortest run of input bases around it holding ``share`` (95 %) of the profile's total. Beside it
the analytic field from the model's geometry (``SeqModel.receptive_field``); the gradient is zero
outside the analytic field, so the effective field is never wider. Models run in eval mode
(no dropout) and float32.

``receptive_fields.tsv`` columns: ``model  analytic_field  effective_field  effective_share
share_in_analytic  positions  window  marker`` (``share_in_analytic``: the share of the averaged
gradient norm less than the analytic field's width from the output base, wherever the field lies
around it: 1 up to rounding).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from workflow_scripts import cli
from workflow_scripts.inference import load_trained
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import SplitReader, dense_labels
from workflow_scripts.plots import plt, save_figure

log = cli.log.getChild("receptive_fields")


@dataclass
class Probe:
    """The window and marker every model is probed on."""
    codes: np.ndarray            # (L,) uint8
    marks: np.ndarray            # (L,) bool: the marker's positive bases
    marker: int
    name: str                    # the target's name
    window: str                  # chrom:start-end


def draw_probe(dataset: Path, seed: int, split: str = "valid") -> Probe:
    """A random window of ``split`` with at least one positive base, and a random target positive in it."""
    reader = SplitReader(dataset, split)
    with_marks = np.flatnonzero(np.diff(reader.interval_ptr) > 0)
    if not len(with_marks):
        raise cli.InputError(f"{dataset}: no {split} window has a positive base to probe")
    rng = np.random.default_rng(seed)
    row = int(rng.choice(with_marks))
    data = reader.read(np.array([row]))
    marker = int(rng.choice(np.unique(data["intervals"][:, 1])))
    labels = dense_labels(torch.as_tensor(data["intervals"]), 1, len(reader.targets), reader.seq_length)
    with h5py.File(dataset, "r") as f:
        g = f[split]
        window = f"{g['chrom'][row].decode()}:{int(g['start'][row])}-{int(g['end'][row])}"
    return Probe(data["codes"][0], labels[0, marker].numpy() > 0, marker, reader.targets[marker], window)


def gradient_norms(model, codes: np.ndarray, marker: int, outputs: torch.Tensor) -> np.ndarray:
    """(R, L) gradient norms per input base of the marker's logit summed over ``outputs`` (R, L)
    0/1 weights, one row per row of weights (the window repeated), at the stem's output."""
    model.eval()
    device = next(model.parameters()).device
    batch = torch.as_tensor(codes, device=device).long()[None].expand(len(outputs), -1)
    with torch.enable_grad():
        h = model.stem(model.encode(batch)).float().detach().requires_grad_(True)
        logits = model.body(h)[:, marker]
        (logits * outputs.to(device)).sum().backward()
    return h.grad.norm(dim=1).cpu().numpy()


def probe_positions(length: int, count: int, seed: int) -> np.ndarray:
    """``count`` output bases from the middle half of the window."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(np.arange(length // 4, length - length // 4), size=count, replace=False))


def aligned_profile(norms: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Mean gradient norm by offset from the output base: index ``L - 1 + offset``."""
    length = norms.shape[1]
    profile = np.zeros(2 * length - 1)
    for row, at in zip(norms, positions):
        profile[length - 1 - at:2 * length - 1 - at] += row
    return profile / len(positions)


def shortest_span(profile: np.ndarray, share: float) -> int:
    """Length of the shortest run of entries holding ``share`` of the total (0 when all zero)."""
    total = profile.sum()
    if total <= 0:
        return 0
    cum = np.concatenate([[0.0], np.cumsum(profile)])
    need = share * total * (1 - 1e-12)
    # for each start, the first end whose cumulative sum reaches the need
    ends = np.searchsorted(cum, cum[:-1] + need, side="left")
    valid = ends <= len(profile)
    return int((ends[valid] - np.arange(len(profile))[valid]).min())


@dataclass
class FieldResult:
    analytic: int
    effective: int
    share_in_analytic: float


def effective_field(model, codes: np.ndarray, marker: int, positions: np.ndarray, share: float = 0.95) -> FieldResult:
    """The effective receptive field of one model (module docstring) on one window and marker."""
    length = len(codes)
    outputs = torch.zeros(len(positions), length)
    outputs[torch.arange(len(positions)), torch.as_tensor(positions)] = 1
    profile = aligned_profile(gradient_norms(model, codes, marker, outputs), positions)
    field = model.receptive_field
    return FieldResult(field, shortest_span(profile, share), analytic_share(profile, field, length))


def analytic_share(profile: np.ndarray, field: int, length: int) -> float:
    """Share of the profile within ``field - 1`` bases of the output base (where the analytic
    field can lie, whatever its placement)."""
    total = profile.sum()
    centre = length - 1
    return float(profile[max(0, centre - field + 1):centre + field].sum() / total) if total > 0 else float("nan")


def plot_panels(panels: dict[str, np.ndarray], probe: Probe, path: Path, dataset: str) -> None:
    """One panel per model: the marker's positive bases (blue, top) over the gradient norm (black)."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 1.9 * len(panels)), sharex=True, squeeze=False)
    x = np.arange(len(probe.codes))
    for ax, (name, norms) in zip(axes[:, 0], panels.items()):
        scaled = norms / norms.max() if norms.max() > 0 else norms
        ax.fill_between(x, 0, -scaled, color="black", step="mid", lw=0)
        ax.fill_between(x, 0, probe.marks.astype(float), color="tab:blue", step="mid", lw=0)
        ax.set(ylim=(-1.05, 1.05), yticks=[], ylabel=name)
    axes[-1, 0].set_xlabel(f"position in {probe.window} (bp)")
    fig.suptitle(f"{dataset}: gradient norm (black, scaled per model) of marker {probe.name}'s logit at its "
                 "positive bases (blue)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def receptive_fields(dataset: Path, models: dict[str, tuple[Path, Path]], figure: Path, table: Path, *,
                     seed: int, positions: int, share: float, device: str = "cpu") -> pd.DataFrame:
    probe = draw_probe(dataset, seed)
    at = probe_positions(len(probe.codes), positions, seed)
    panels, rows = {}, []
    for name, (weights, meta) in tqdm(models.items(), desc="receptive fields", unit="model"):
        model, _ = load_trained(weights, meta, device, dataset)
        model.float()
        marks = torch.as_tensor(probe.marks, dtype=torch.float32)[None]
        panels[name] = gradient_norms(model, probe.codes, probe.marker, marks)[0]
        result = effective_field(model, probe.codes, probe.marker, at, share)
        rows.append({"model": name, "analytic_field": result.analytic, "effective_field": result.effective,
                     "effective_share": share, "share_in_analytic": result.share_in_analytic,
                     "positions": len(at), "window": probe.window, "marker": probe.name})
        log.info("%s: analytic field %d bp, effective (%.0f %%) %d bp", name, result.analytic, 100 * share,
                 result.effective)
    plot_panels(panels, probe, figure, dataset.stem)
    out = pd.DataFrame(rows)
    with atomic_output(table) as tmp:
        out.to_csv(tmp, sep="\t", index=False, float_format="%.6f")
    return out


def main(args) -> None:
    if not (len(args.models) == len(args.weights) == len(args.meta)):
        raise cli.InputError("--models, --weights and --meta must name as many entries each")
    models = {m: (Path(w), Path(j)) for m, w, j in zip(args.models, args.weights, args.meta)}
    device = "cuda" if torch.cuda.is_available() else "cpu"      # plain float32 on either (no autocast)
    receptive_fields(Path(args.dataset), models, Path(args.figure), Path(args.table), seed=args.seed,
                     positions=args.positions, share=args.share, device=device)


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser("Receptive fields of per-nucleotide models: gradient plot and effective fields.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--weights", nargs="+", required=True, help="weights.pt per model, same order")
    p.add_argument("--meta", nargs="+", required=True, help="model.json per model, same order")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--positions", type=int, default=8, help="output bases averaged for the effective field")
    p.add_argument("--share", type=float, default=0.95)
    p.add_argument("--figure", required=True, help="output: receptive_fields.png")
    p.add_argument("--table", required=True, help="output: receptive_fields.tsv")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
