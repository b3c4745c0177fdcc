"""Predictions for many single-base substitutions of one sequence (saturation mutagenesis).

:func:`mutant_probs` predicts every mutant. The naive way runs the whole model on each mutant.
The fast way (after fastISM, Nair et al. 2022) uses that a model's ``trunk`` is local: a
substitution at base i changes a convolution's or pooling's output only where its window reads
i. Layer by layer, only those positions are recomputed from the reference's activations, so a
mutant costs a few columns of each layer instead of the whole sequence; the model's
:meth:`~models.base.SeqModel.after_trunk` then reads the reference trunk output with those
columns replaced, and a :class:`~models.blocks.DenseHead` adds only the changed columns' share
to its first (linear) layer's reference output. Exact up to float rounding: a test holds it to
1e-6 of naive in float64 (``model.double()``) on every model it applies to; in float32 the two
ways round differently, by about 1e-7 on a probability at ordinary weights and up to 1.2e-5 at
weights that grow activations over 15 layers. Under bf16 autocast on a GPU both ways carry bf16's
rounding (about 1e-2 on a probability), so compare effects at that precision.

The fast way applies to models whose ``body`` is the default (trunk, then ``after_trunk``) and
whose trunk is a sequence of 1-D convolutions, max-pools and position-wise layers (batch norm in
eval mode, activations, dropout); other models (embeddings over strides, k-mer counts, recurrent
trunks) are mutated the naive way, with the same results.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.base import SeqModel
from models.blocks import DenseHead, left_padding
from workflow_scripts.inference.device import set_precision
from workflow_scripts.inference.predict import in_batches, predict_batches
from workflow_scripts.sequence import N_CODE, reverse_complement

POSITIONWISE = (nn.BatchNorm1d, nn.ReLU, nn.GELU, nn.ELU, nn.Identity, nn.Dropout)
WINDOWED = (nn.Conv1d, nn.MaxPool1d)


def substitutions(codes: np.ndarray, positions=None) -> tuple[np.ndarray, np.ndarray]:
    """Every non-identity substitution at ``positions`` (default all): three per base (four at N),
    as (position, new code) arrays in position-then-base order."""
    positions = np.arange(len(codes)) if positions is None else np.asarray(positions)
    pos = np.repeat(positions, 4)
    base = np.tile(np.arange(4, dtype=np.uint8), len(positions))
    keep = base != codes[pos]
    return pos[keep], base[keep]


def mutant_codes(codes: np.ndarray, positions: np.ndarray, bases: np.ndarray) -> np.ndarray:
    out = np.repeat(codes[None], len(positions), axis=0)
    out[np.arange(len(positions)), positions] = bases
    return out


def trunk_layers(model: SeqModel) -> list[nn.Module] | None:
    """The trunk's layers in forward order, when the fast way applies (else None)."""
    if (type(model).body is not SeqModel.body or not hasattr(model, "trunk") or model.per_nucleotide
            or model.input_encoding not in ("onehot", "codes")):       # one base = one input column
        return None
    leaves: list[nn.Module] = []

    def walk(module):
        if isinstance(module, WINDOWED + POSITIONWISE):
            leaves.append(module)
        elif type(module) in (nn.Sequential,) or type(module).forward is nn.Sequential.forward:
            for child in module.children():
                walk(child)
        else:
            raise TypeError
    try:
        walk(model.trunk)
    except TypeError:
        return None
    ok = all(isinstance(m, POSITIONWISE) or (isinstance(m, nn.Conv1d) and m.groups == 1 and m.padding_mode == "zeros") or
             (isinstance(m, nn.MaxPool1d) and not m.ceil_mode) for m in leaves)
    return leaves if ok else None


def _window(layer) -> tuple[int, int, int, int, float]:
    """(span, stride, left padding, dilation, padding value) of a windowed layer."""
    if isinstance(layer, nn.Conv1d):
        d = layer.dilation[0]
        return d * (layer.kernel_size[0] - 1) + 1, layer.stride[0], left_padding(layer), d, 0.0
    k, st, d = layer.kernel_size, layer.stride or layer.kernel_size, layer.dilation
    k, st, d = (v[0] if isinstance(v, tuple) else v for v in (k, st, d))
    p = layer.padding[0] if isinstance(layer.padding, tuple) else layer.padding
    return d * (k - 1) + 1, st, p, d, float("-inf")


def _apply(layer, x: torch.Tensor) -> torch.Tensor:
    """A windowed layer on an already padded slice."""
    if isinstance(layer, nn.Conv1d):
        return F.conv1d(x, layer.weight, layer.bias, layer.stride, 0, layer.dilation)
    span, stride, _, d, _ = _window(layer)
    return F.max_pool1d(x, (span - 1) // d + 1, stride, 0, d)


class LocalTrunk:
    """The reference's activations at every trunk layer, and mutants recomputed from them."""

    def __init__(self, model: SeqModel, layers: list[nn.Module], ref_input: torch.Tensor):
        self.layers = layers
        self.inputs = []                      # each layer's input for the reference, (C, len)
        self.padded = []                      # ... padded as the layer pads, plus room on the right
        self.flipped = {}                     # stride-1 convolutions: weight for the change alone
        x = ref_input
        for k, layer in enumerate(layers):
            self.inputs.append(x[0])
            if isinstance(layer, nn.Conv1d) and layer.stride[0] == 1:
                self.flipped[k] = layer.weight.flip(-1).transpose(0, 1).contiguous()
            if isinstance(layer, WINDOWED):
                span, stride, pad, _, fill = _window(layer)
                self.padded.append(F.pad(x[0], (pad, 2 * (span + stride)), value=fill))
            else:
                self.padded.append(None)
            x = layer(x)
        self.output = x[0]                    # (C, len_out)
        head = getattr(model, "head", None)
        self.dense = type(model).after_trunk is SeqModel.after_trunk and isinstance(head, DenseHead)
        if self.dense:                        # the first linear layer's weight as (len_out, C, H)
            linear = head.first_linear
            self.ref_z = linear(self.output.reshape(1, -1))
            self.weight = linear.weight.view(-1, *self.output.shape).permute(2, 1, 0).contiguous()

    def mutate(self, stem_mutants: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """For (M, C, 1) stem columns of mutants at ``positions``: (first changed output position
        (M,), changed output columns (M, C, w)) of the trunk."""
        lo, vals = positions, stem_mutants
        outputs = self.inputs[1:] + [self.output]
        for k, (layer, padded, ref_out) in enumerate(zip(self.layers, self.padded, outputs)):
            length_out = ref_out.shape[-1]
            if padded is None:                                              # position-wise
                vals = layer(vals)
                continue
            if k in self.flipped:
                lo, vals = self._conv_change(layer, k, ref_out, lo, vals)
                continue
            span, stride, pad, _, _ = _window(layer)
            w = vals.shape[-1]
            w_out = min(length_out, (w - 1 + span - 1) // stride + 1)      # outputs that read a change
            first = torch.div(lo + pad - span + stride, stride, rounding_mode="floor")
            first = first.clamp(0, length_out - w_out)
            width_in = (w_out - 1) * stride + span
            start = first * stride - pad                                   # in input positions
            index = (start + pad)[:, None] + torch.arange(width_in + 1, device=padded.device)
            window = padded[:, index].permute(1, 0, 2)                      # (M, C, width_in + 1 spare)
            rel = (lo - start)[:, None] + torch.arange(w, device=padded.device)
            rel = torch.where((rel >= 0) & (rel < width_in), rel, width_in)  # outside: the spare column
            window.scatter_(2, rel[:, None, :].expand(-1, window.shape[1], -1), vals)
            vals, lo = _apply(layer, window[..., :width_in]), first
        return lo, vals

    def _conv_change(self, conv: nn.Conv1d, k: int, ref_out: torch.Tensor, lo: torch.Tensor, vals: torch.Tensor):
        """A stride-1 convolution's output where its input changed: the reference output plus the
        convolution of the change alone, computed as a transposed convolution of the few changed
        columns (a fraction of the work of convolving the whole window again)."""
        span, _, pad, dilation, _ = _window(conv)
        w = vals.shape[-1]
        ref_in = self.inputs[k]
        delta = vals - ref_in[:, lo[:, None] + torch.arange(w, device=vals.device)].permute(1, 0, 2)
        change = F.conv_transpose1d(delta, self.flipped[k], dilation=dilation)      # (M, C_out, w + span - 1)
        width = change.shape[-1]
        first_changed = lo + pad - (span - 1)                      # output position of change[..., 0]
        length_out = ref_out.shape[-1]
        width_out = min(width, length_out)
        first = first_changed.clamp(0, length_out - width_out)
        change = F.pad(change, (width, width))
        index = (first - first_changed + width)[:, None] + torch.arange(width_out, device=vals.device)
        change = change.gather(2, index[:, None, :].expand(-1, change.shape[1], -1))
        columns = first[:, None] + torch.arange(width_out, device=vals.device)
        return first, ref_out[:, columns].permute(1, 0, 2) + change


@torch.no_grad()
def _fast_logits(model: SeqModel, local: LocalTrunk, positions: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    stem_cols = model.stem(model.encode(bases[:, None].to(torch.uint8)))    # (M, C, 1): position-wise
    lo, vals = local.mutate(stem_cols, positions)
    ref = local.output
    w = vals.shape[-1]
    cols = lo[:, None] + torch.arange(w, device=ref.device)
    if local.dense:        # first linear layer: reference output + the changed columns' share
        delta = (vals - ref[:, cols].permute(1, 0, 2)).transpose(1, 2)      # (M, w, C)
        z = local.ref_z.expand(len(lo), -1).clone()
        for start in torch.unique(lo).tolist():
            rows = torch.nonzero(lo == start).ravel()
            z[rows] += delta[rows].reshape(len(rows), -1) @ local.weight[start:start + w].reshape(-1, z.shape[1])
        return model.head.after_first_linear(z)
    out = ref.expand(len(lo), -1, -1).clone()
    out.scatter_(2, cols[:, None, :].expand(-1, ref.shape[0], -1), vals)
    return model.after_trunk(out)


@torch.no_grad()
def _fast_probs(model, layers, codes: np.ndarray, positions, bases, device, batch_size) -> np.ndarray:
    ref = torch.as_tensor(codes[None]).to(device)
    local = LocalTrunk(model, layers, model.stem(model.encode(ref)))
    out = []
    for rows in in_batches(np.arange(len(positions)), batch_size):
        pos = torch.as_tensor(positions[rows], device=device)
        base = torch.as_tensor(bases[rows], device=device)
        logits = _fast_logits(model, local, pos, base)
        out.append(torch.sigmoid(logits.float()).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.n_targets), np.float32)


def mutant_probs(model: SeqModel, codes: np.ndarray, positions: np.ndarray, bases: np.ndarray, device, *,
                 rc_average: bool, batch_size: int = 256, fast: bool = True, position: int | None = None) -> np.ndarray:
    """(M, T) probabilities of the mutants ``codes`` with ``bases[m]`` at ``positions[m]``
    (per nucleotide: at output ``position``). Forward and reverse complement averaged with
    ``rc_average``, as :func:`~workflow_scripts.inference.predict.predict_codes` does."""
    model.eval()
    layers = trunk_layers(model) if fast and type(model).predict_proba is SeqModel.predict_proba else None
    if layers is None:
        mutants = mutant_codes(codes, positions, bases)
        return np.concatenate(list(predict_batches(model, in_batches(mutants, batch_size), device,
                                                   rc_average=rc_average, position=position)))
    with set_precision(device, model.precision):
        p = _fast_probs(model, layers, codes, positions, bases, device, batch_size)
        if rc_average:
            rc_bases = np.where(bases < N_CODE, 3 - bases, bases).astype(np.uint8)
            rc = _fast_probs(model, layers, reverse_complement(codes).copy(), len(codes) - 1 - positions,
                             rc_bases, device, batch_size)
            p = (p + rc) / 2
    return p


def saturation_mutagenesis(model, codes: np.ndarray, positions: np.ndarray, device, *, rc_average: bool,
                           fast: bool = True, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(reference probabilities (T,), effects (len(positions), 4, T)) for one window."""
    centre = (len(codes) - 1) // 2
    ref = next(predict_batches(model, [codes[None]], device, rc_average=rc_average, position=centre))[0]
    pos, base = substitutions(codes, positions)
    probs = mutant_probs(model, codes, pos, base, device, rc_average=rc_average, fast=fast,
                         batch_size=batch_size, position=centre)
    effects = np.zeros((len(positions), 4, len(ref)), np.float32)
    index = np.searchsorted(positions, pos)
    effects[index, base] = probs - ref
    return ref, effects
