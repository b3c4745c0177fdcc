"""Stage ``attribution``: per-base attributions of a trained model (DeepLIFT/SHAP, or ISM).

Everything runs in float32 (on a GPU too: no bf16 or TF32). What is explained: per sequence, a weighted sum of the model's **logits** (``weights``, stored per
sequence; a per-nucleotide model: at the window's centre base, where mutagenesis and variant
effects read it too), forward strand only. With a data set (``--dataset``), ``--select
per-target`` (default) takes the ``--top`` rows of ``--split`` with the highest logit of each chosen
target (``--targets``: names or categories, default all), and each row explains the target it
ranks best for (ties: the first target); ``--select mean`` takes the ``--top`` rows by the chosen
targets' mean logit and explains that mean. Ranking streams the split, keeping only the best rows.
FASTA/BED input explains the chosen targets' mean logit.

How, per model:

* DeepLIFT/SHAP (tangermeme's ``deep_lift_shap``, ``n_shuffles`` dinucleotide-shuffled references
  per sequence, seeded) for models with one-hot input and no recurrent or attention layer, on
  windows without N (the shuffled references need one-hot columns; a window with an N gets
  ISM). Each sequence's **additivity** is checked: ``|sum of contributions - (output - mean reference
  output)| <= tolerance`` (1e-3); a sequence that fails it falls back to ISM (below).
* ISM (:func:`workflow_scripts.inference.mutations.saturation_mutagenesis`, every base of the window, the
  fast way where the model allows it) for models with a recurrent or attention layer (DanQ,
  bilstm_nuc, wrn_*, transformer-XL), or whose input is not one-hot (embeddings, k-mers), where
  DeepLIFT's rules do not hold or have no input to attribute to. The ISM attribution convention:
  ``d[i, b]`` = logit change of mutating base i to b (0 at the reference base), mean-centred per
  position: ``hypothetical[i, b] = d[i, b] - mean_b' d[i, b']``; the contribution of the base
  present is then ``-mean_b' d[i, b']``. A per-nucleotide model's mutations are limited to the
  bases its centre prediction reads (``context_of``: the receptive field); the others have no
  effect (0). Logits are read back from the mutants' probabilities
  (clipped to [1e-7, 1 - 1e-7], so exact for |logit| below about 16).
* Refused (:func:`attribution_method` raises): models whose targets come from a classifier that
  is not a torch layer (SuperQ's random forest): it has no gradient, and its probabilities are
  often exactly 0 or 1, so logit differences are undefined.

Output HDF5 (written row block by row block, so memory does not grow with the input):

* ``codes`` (N, L) uint8 — the sequences (A C G T N = 0..4);
* ``hypothetical`` (N, L, 4) float32 — hypothetical contributions (TF-MoDISco's input); the
  contributions of the bases present are ``hypothetical * one_hot(codes)``;
* ``method`` (N,) bytes — ``deeplift`` or ``ism``; ``additivity_error`` (N,) float32 — DeepLIFT's
  error (also where it failed and ISM was used instead; NaN where DeepLIFT was not run);
* ``output`` (N,) float32 — the explained logit (weighted sum); ``reference_output`` (N,) — its mean over
  the shuffled references (NaN for ISM);
* ``names`` (N,) str and ``row`` (N,) int64 (the data-set row; -1 for FASTA/BED input);
* ``weights`` (N, T) float32 — the explained combination of the model's targets;
* ``targets`` — the model's target names; attributes ``model``, ``source``, ``position`` (the
  per-nucleotide output read, -1 per sequence), ``n_shuffles``, ``seed``, ``tolerance``,
  ``model_method`` (``deeplift`` or ``ism``).
"""
from __future__ import annotations

import argparse
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from models.blocks import GLOBAL_LAYERS
from workflow_scripts import cli, sequence_inputs
from workflow_scripts.cli import InputError
from workflow_scripts.inference import default_device, load_trained_dir, set_precision
from workflow_scripts.inference.mutations import saturation_mutagenesis
from workflow_scripts.inference.predict import context_of, in_batches
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import SplitReader
from workflow_scripts.sequence import N_CODE

log = logging.getLogger("seq2reg.attribution")
# layers over which DeepLIFT's rules do not hold (they mix positions non-linearly)
SEQUENCE_MIXING = tuple(m for m in GLOBAL_LAYERS if m not in (nn.Flatten, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d))
LOGIT_CLIP = 1e-7


class ExplainedOutput(nn.Module):
    """``sum_t weights[:, t] * logit_t`` of the model (per nucleotide: at ``position``), as (B, 1):
    a mean over a target set, or one target per sequence."""

    def __init__(self, model: nn.Module, position: int | None):
        super().__init__()
        self.model, self.position = model, position

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if self.position is not None:
            out = out[..., self.position]
        return (out * weights).sum(1, keepdim=True)


def attribution_method(model) -> str:
    """``deeplift`` or ``ism`` for this model; InputError where neither applies."""
    if not model.torch_classifier:
        raise InputError(f"{type(model).__name__}: its targets come from a classifier that is not a torch layer "
                         f"(a fitted forest), which has no gradient and gives probabilities of exactly 0 or 1; "
                         f"attribution is not supported for it")
    mixing = any(isinstance(m, SEQUENCE_MIXING) or "Attention" in type(m).__name__ for m in model.modules())
    return "ism" if mixing or model.input_encoding != "onehot" else "deeplift"


def target_indices(meta: dict, chosen: list[str] | None) -> list[int]:
    """Indices of the chosen targets, each given by name or by category (``TF``: every TF target)."""
    names, categories = meta["targets"], meta["categories"]
    if not chosen:
        return list(range(len(names)))
    unknown = [c for c in chosen if c not in names and c not in categories]
    if unknown:
        raise InputError(f"{unknown}: neither targets nor categories of the model (categories: "
                         f"{sorted(set(categories))}; targets e.g. {names[:3]})")
    return [i for i, (name, category) in enumerate(zip(names, categories)) if name in chosen or category in chosen]


@dataclass
class Attributions:
    """One block of sequences' attributions (see the module docstring for the fields)."""
    hypothetical: np.ndarray
    method: np.ndarray
    additivity_error: np.ndarray
    output: np.ndarray
    reference_output: np.ndarray


class Attributor:
    """Attributions of a model's weighted logits (:class:`ExplainedOutput`), DeepLIFT/SHAP with an
    ISM fallback. ``weights`` are (B, T) per block of sequences."""

    def __init__(self, model, device, *, n_shuffles: int = 20, seed: int = 0, tolerance: float = 1e-3,
                 batch_size: int = 64):
        self.model, self.device = model, device
        self.method = attribution_method(model)
        model.precision = "fp32"        # no bf16 or TF32 on a GPU: additivity at 1e-3 needs float32
        set_precision(device, "fp32")
        self.position = (model.seq_length - 1) // 2 if model.per_nucleotide else None
        self.explained = ExplainedOutput(model, self.position).to(device).eval()
        self.n_shuffles, self.seed, self.tolerance, self.batch_size = n_shuffles, seed, tolerance, batch_size

    @torch.no_grad()
    def logits(self, codes: np.ndarray) -> np.ndarray:
        """(B, T) logits (per nucleotide: at the centre base), float64."""
        out = self.model(self.model.encode(torch.as_tensor(codes).to(self.device)))
        return (out if self.position is None else out[..., self.position]).double().cpu().numpy()

    def attribute(self, codes: np.ndarray, weights: np.ndarray) -> Attributions:
        out = (self.logits(codes) * weights).sum(1)
        n = len(codes)
        hyp = np.zeros((n, codes.shape[1], 4), np.float32)
        error, ref_out = np.full(n, np.nan), np.full(n, np.nan)
        # DeepLIFT's shuffled references need one-hot input: a window with an N goes to ISM
        tried = np.flatnonzero((codes < N_CODE).all(1)) if self.method == "deeplift" else np.zeros(0, int)
        if len(tried):
            hyp[tried], contributions, ref_out[tried] = self.deeplift(codes[tried], weights[tried])
            error[tried] = np.abs(contributions - (out[tried] - ref_out[tried]))
        ism = np.setdiff1d(np.arange(n), tried[error[tried] <= self.tolerance])
        for i in ism:
            hyp[i] = self.ism(codes[i], weights[i])
        ref_out[ism] = np.nan
        method = np.full(n, b"deeplift")
        method[ism] = b"ism"
        return Attributions(hyp, method, error, out, ref_out)

    def deeplift(self, codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hypothetical (B, L, 4), summed contributions (B,), mean reference output (B,))."""
        from tangermeme.deep_lift_shap import deep_lift_shap
        x = self.model.encode(torch.as_tensor(codes)).float()
        w = torch.as_tensor(weights, dtype=torch.float32)
        result = deep_lift_shap(self.explained, x, args=(w,), target=0, n_shuffles=self.n_shuffles,
                                hypothetical=True, return_references=True, batch_size=self.batch_size,
                                device=self.device, random_state=self.seed, warning_threshold=float("inf"))
        hyp = result.attributions.double()                                  # (B, 4, L)
        refs = result.references.flatten(0, 1).to(self.device)              # (B * S, 4, L)
        with torch.no_grad():
            ref_w = w.repeat_interleave(self.n_shuffles, 0).to(self.device)
            ref_out = self.explained(refs, ref_w).double().cpu().view(len(codes), -1).mean(1)
        contributions = (hyp * x.double()).sum(dim=(1, 2))
        return hyp.transpose(1, 2).float().numpy(), contributions.numpy(), ref_out.numpy()

    def ism(self, codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Mean-centred ISM effects on the weighted logits, (L, 4) (see the module docstring).
        Per nucleotide, only the bases the centre's prediction reads are mutated (the rest: 0)."""
        start, stop = (0, len(codes)) if self.position is None else context_of(self.model, len(codes), self.position)
        ref, effects = saturation_mutagenesis(self.model, codes, np.arange(start, stop), self.device,
                                              rc_average=False)
        used = np.flatnonzero(weights)
        p_ref = ref[used].astype(np.float64)
        d = np.zeros((len(codes), 4))                                     # 0 at the reference base
        d[start:stop] = (logit(p_ref + effects[..., used]) - logit(p_ref)) @ weights[used]
        return (d - d.mean(1, keepdims=True)).astype(np.float32)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(p) - np.log1p(-p)


def target_weights(n_targets: int, chosen: list[int]) -> np.ndarray:
    """(T,) the mean over ``chosen``."""
    w = np.zeros(n_targets)
    w[chosen] = 1 / len(chosen)
    return w


def top_rows(attributor: Attributor, reader: SplitReader, chosen: list[int], top: int, per_target: bool,
             batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows in row order, their (R, T) weights). ``per_target``: the ``top`` rows of each chosen
    target by its logit, each row explaining the target it ranks best for (ties: the first
    target); else the ``top`` rows by the chosen targets' mean logit, explaining that mean.
    Streamed: only the best ``top`` of each column are kept."""
    n_targets = len(reader.targets)
    mean = target_weights(n_targets, chosen)
    best_scores = np.full((0, len(chosen) if per_target else 1), -np.inf)
    best_rows = np.zeros((0, best_scores.shape[1]), np.int64)
    row = 0
    for c in tqdm(range(reader.n_chunks), desc="ranking", unit="chunk"):
        for codes in in_batches(reader.chunk(c)["codes"], batch_size):
            logits = attributor.logits(codes)
            scores = logits[:, chosen] if per_target else (logits @ mean)[:, None]
            rows = np.repeat(np.arange(row, row + len(codes))[:, None], scores.shape[1], 1)
            row += len(codes)
            best_scores, best_rows = keep_best(np.concatenate([best_scores, scores]),
                                               np.concatenate([best_rows, rows]), top)
    rank = np.full(row, np.iinfo(np.int64).max)
    which = np.zeros(row, np.int64)
    for column in range(best_rows.shape[1] - 1, -1, -1):        # the first target wins ties
        r = best_rows[:, column]
        better = np.arange(len(r)) <= rank[r]
        rank[r[better]], which[r[better]] = np.arange(len(r))[better], column
    selected = np.flatnonzero(rank < np.iinfo(np.int64).max)
    weights = np.zeros((len(selected), n_targets))
    if per_target:
        weights[np.arange(len(selected)), np.asarray(chosen)[which[selected]]] = 1.0
    else:
        weights[:] = mean
    return selected, weights


def keep_best(scores: np.ndarray, rows: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the ``top`` highest scores (ties: the earlier row) and their rows, best first."""
    order = np.lexsort((rows, -scores), axis=0)[:top]
    return np.take_along_axis(scores, order, 0), np.take_along_axis(rows, order, 0)


class AttributionWriter:
    """The output HDF5, grown block by block (resizable datasets, chunked by rows)."""

    GROWING = {"method": "S8", "additivity_error": np.float32, "output": np.float32,
               "reference_output": np.float32, "row": np.int64}

    def __init__(self, h5: h5py.File, length: int, n_targets: int, block: int):
        self.h5, self.n = h5, 0
        arrays = {"codes": (np.uint8, (length,)), "hypothetical": (np.float32, (length, 4)),
                  "weights": (np.float32, (n_targets,)), **{k: (v, ()) for k, v in self.GROWING.items()}}
        for name, (dtype, shape) in arrays.items():
            h5.create_dataset(name, (0, *shape), dtype, maxshape=(None, *shape), chunks=(block, *shape),
                              compression="gzip" if shape else None, compression_opts=1 if shape else None)
        h5.create_dataset("names", (0,), h5py.string_dtype(), maxshape=(None,), chunks=(block,))

    def append(self, codes: np.ndarray, names: list[str], rows: np.ndarray, weights: np.ndarray,
               a: Attributions) -> None:
        lo, hi = self.n, self.n + len(codes)
        values = {"codes": codes, "names": np.array(names, dtype=object), "row": rows, "weights": weights,
                  **a.__dict__}
        for name, value in values.items():
            self.h5[name].resize(hi, axis=0)
            self.h5[name][lo:hi] = value
        self.n = hi


def sequence_blocks(attributor: Attributor, meta: dict, chosen: list[int], block: int, *, dataset: Path | None,
                    split: str, top: int, per_target: bool, fasta: Path | None, bed: Path | None,
                    genome: Path | None, max_sequences: int | None):
    """(codes (B, L), names, data-set rows, weights (B, T)) in blocks of ``block`` sequences."""
    if dataset is not None:
        reader = SplitReader(dataset, split)
        if reader.targets != meta["targets"]:
            raise InputError(f"{dataset}: its targets are not the model's (was the model trained on another data set?)")
        rows, weights = top_rows(attributor, reader, chosen, top, per_target, block)
        for lo in range(0, len(rows), block):
            chunk = rows[lo:lo + block]
            yield reader.read(chunk)["codes"], [f"{split}:{r}" for r in chunk], chunk, weights[lo:lo + block]
        return
    mean = target_weights(len(meta["targets"]), chosen)
    skipped: Counter = Counter()
    items = sequence_inputs.sequence_rows(meta["seq_length"], skipped, fasta=fasta, bed=bed, genome_fasta=genome)
    names, codes, done = [], [], 0
    for (name, *_), c in items:
        if max_sequences is not None and done >= max_sequences:
            break
        names.append(name)
        codes.append(c)
        done += 1
        if len(codes) == block:
            yield np.stack(codes), names, np.full(block, -1), np.tile(mean, (block, 1))
            names, codes = [], []
    if codes:
        yield np.stack(codes), names, np.full(len(codes), -1), np.tile(mean, (len(codes), 1))
    if skipped:
        log.warning("skipped: %s", dict(skipped))


def attribute(model_dir: Path, out: Path, *, targets: list[str] | None = None, dataset: Path | None = None,
              split: str = "test", top: int = 50, per_target: bool = True, fasta: Path | None = None,
              bed: Path | None = None, genome: Path | None = None, max_sequences: int | None = None,
              n_shuffles: int = 20, seed: int = 0, tolerance: float = 1e-3, block: int = 64) -> Counter:
    """Writes ``out``; returns how many sequences each method explained."""
    device = default_device()
    model, meta = load_trained_dir(model_dir, device)
    chosen = target_indices(meta, targets)
    attributor = Attributor(model, device, n_shuffles=n_shuffles, seed=seed, tolerance=tolerance)
    methods: Counter = Counter()
    blocks = sequence_blocks(attributor, meta, chosen, block, dataset=dataset, split=split, top=top,
                             per_target=per_target, fasta=fasta, bed=bed, genome=genome, max_sequences=max_sequences)
    with atomic_output(out, suffix=".h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.create_dataset("targets", data=np.array(meta["targets"], dtype=object), dtype=h5py.string_dtype())
        h5.attrs.update({"model": str(model_dir), "source": str(dataset or fasta or bed), "n_shuffles": n_shuffles,
                         "seed": seed, "tolerance": tolerance, "model_method": attributor.method,
                         "position": -1 if attributor.position is None else attributor.position})
        writer = AttributionWriter(h5, meta["seq_length"], len(meta["targets"]), block)
        for codes, names, rows, weights in tqdm(blocks, desc="attribution", unit="block"):
            result = attributor.attribute(codes, weights)
            writer.append(codes, names, rows, weights, result)
            methods.update(m.decode() for m in result.method)
    log.info("%s: %d sequences (%s); DeepLIFT additivity tolerance %g", out, sum(methods.values()),
             dict(methods) or "none", tolerance)
    return methods


def main(args) -> None:
    attribute(args.model, args.out, targets=args.targets, dataset=args.dataset, split=args.split, top=args.top,
              per_target=args.select == "per-target",
              fasta=args.fasta, bed=args.bed, genome=args.genome, max_sequences=args.max_sequences,
              n_shuffles=args.n_shuffles, seed=args.seed, tolerance=args.tolerance)


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a trained model's directory (weights.pt, model.json)")
    sequence_inputs.add_arguments(p, dataset=True)
    p.add_argument("--top", type=int, default=50, help="with --dataset: rows with the highest logit (per target)")
    p.add_argument("--select", choices=["per-target", "mean"], default="per-target",
                   help="with --dataset: the top rows of each target (each explaining it), or by the mean logit")
    p.add_argument("--max-sequences", type=int, help="with --fasta/--bed: at most this many")
    p.add_argument("--targets", nargs="*", help="the targets explained (default: all)")
    p.add_argument("--n-shuffles", type=int, default=20, help="dinucleotide-shuffled references per sequence")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=1e-3, help="DeepLIFT additivity tolerance (else ISM)")
    p.add_argument("--out", type=Path, required=True, help="HDF5 of attributions")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
