"""Predictions of a trained model for any iterable of (B, L) code batches, or a data-set split."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from workflow_scripts.inference.device import set_precision
from workflow_scripts.loaders import BatchStream, SplitReader, batch_targets, make_loader
from workflow_scripts.sequence import reverse_complement


@torch.no_grad()
def predict_codes(model, codes: torch.Tensor, *, rc_average: bool) -> torch.Tensor:
    """Probabilities for one batch of codes on the model's device: (B, T), or (B, T, L) per
    nucleotide. With ``rc_average`` the reverse complement's prediction is averaged in (flipped
    back per nucleotide), as DeepSEA and DanQ did at test time."""
    p = model.predict_proba(model.encode(codes))
    if rc_average:
        rc = model.predict_proba(model.encode(reverse_complement(codes)))
        p = (p + (rc.flip(-1) if model.per_nucleotide else rc)) / 2
    return p


def predict_batches(model, batches: Iterable, device, *, rc_average: bool, autocast=None,
                    position: int | None = None) -> Iterator[np.ndarray]:
    """float32 probabilities per batch of codes (numpy arrays or tensors), in order. Per
    nucleotide, ``position`` keeps only that position's prediction: (B, T)."""
    model.eval()
    for codes in batches:
        codes = torch.as_tensor(codes).to(device, non_blocking=True)
        if model.per_nucleotide and position is not None:
            start, stop = context_of(model, codes.shape[-1], position)
            codes, at = codes[:, start:stop], position - start
        with autocast or set_precision(device, model.precision):
            p = predict_codes(model, codes, rc_average=rc_average)
        if model.per_nucleotide and position is not None:
            p = p[..., at]
        yield p.float().cpu().numpy()


def context_of(model, length: int, position: int) -> tuple[int, int]:
    """The slice of a per-nucleotide model's input that its prediction at ``position`` needs:
    the receptive field on either side (so the edges' padding cannot reach it), its ends a
    multiple of the model's total stride from the input's ends (so strided layers see the same
    phase, the reverse complement too). The whole input when the field is not much smaller than
    it (recurrent or attention layers)."""
    field = model.receptive_field
    if field >= length // 3:
        return 0, length
    step = math.prod(m.stride[0] if isinstance(m.stride, tuple) else m.stride for m in model.modules()
                     if isinstance(m, (torch.nn.Conv1d, torch.nn.MaxPool1d, torch.nn.AvgPool1d)))
    start = max(0, (position - field) // step * step)
    stop = length - max(0, (length - position - field - 1) // step * step)
    return start, stop


def in_batches(codes: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    return (codes[i:i + batch_size] for i in range(0, len(codes), batch_size))


@dataclass
class SplitPredictions:
    """A split's probabilities and 0/1 labels in row order (per nucleotide: one row per scored
    base, every ``eval_stride``-th of each window), and the mean binary cross-entropy. Per
    nucleotide, ``every_base`` (a ``streaming_auc.BinnedAUC``) is given every base of every
    batch, before the stride, on the device."""
    probs: np.ndarray
    labels: np.ndarray
    loss: float


@torch.no_grad()
def split_batches(model, reader: SplitReader, device, *, batch_size: int, rc_average: bool, workers: int = 0,
                  max_batches: int | None = None, rows: np.ndarray | None = None, autocast=None,
                  progress: str | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(probabilities, 0/1 targets) per batch of a split (or of its ``rows`` only), float32 on
    ``device``: (B, T), or (B, T, L) per nucleotide."""
    model.eval()
    stream = BatchStream(reader, batch_size, shuffle=False, max_batches=max_batches, rows=rows)
    batches = make_loader(stream, workers, device.type == "cuda")
    if progress:                                          # a bar named ``progress`` (evaluation)
        batches = tqdm(batches, total=len(stream), desc=progress, unit="batch", mininterval=5)
    for batch in batches:
        codes = batch["codes"].to(device, non_blocking=True)
        targets = batch_targets(batch, reader, device)
        with autocast or set_precision(device, model.precision):
            p = predict_codes(model, codes, rc_average=rc_average).float()
        yield p, targets


def binary_cross_entropy(p: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """The loss every evaluation reports: probabilities clamped away from 0 and 1 (log 0)."""
    return F.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), targets, reduction=reduction)


@torch.no_grad()
def predict_split(model, reader: SplitReader, device, *, batch_size: int, rc_average: bool, workers: int = 0,
                  eval_stride: int = 1, max_batches: int | None = None, autocast=None,
                  every_base=None, progress: str | None = None) -> SplitPredictions:
    probs, labels, loss_sum, rows = [], [], 0.0, 0
    for p, targets in split_batches(model, reader, device, batch_size=batch_size, rc_average=rc_average,
                                    workers=workers, max_batches=max_batches, autocast=autocast, progress=progress):
        loss_sum += binary_cross_entropy(p, targets).item() * len(p)
        rows += len(p)
        if reader.per_nucleotide:
            if every_base is not None:
                every_base.update(p, targets)
            p = p[..., ::eval_stride].transpose(1, 2).reshape(-1, p.shape[1])
            targets = targets[..., ::eval_stride].transpose(1, 2).reshape(-1, targets.shape[1])
        probs.append(p.cpu().numpy().astype(np.float32))
        labels.append(targets.cpu().numpy().astype(np.uint8))
    n_targets = len(reader.targets)
    if not probs:
        return SplitPredictions(np.zeros((0, n_targets), np.float32), np.zeros((0, n_targets), np.uint8), float("nan"))
    return SplitPredictions(np.concatenate(probs), np.concatenate(labels), loss_sum / rows)
