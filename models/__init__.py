"""Model architectures of the source papers, one file per family, registered by name.

A model is a plain ``torch.nn.Module`` whose constructor takes ``n_targets`` and
``seq_length`` plus its paper's hyperparameters as keyword defaults. It declares what it needs
with class attributes, and the training engine (``workflow_scripts/train.py``) does the rest:

``input_encoding``  ``"onehot"``: forward gets (B, 4, L) float one-hot (A, C, G, T; N = 0.25);
                    ``"codes"``: forward gets (B, L) int64 codes (embeddings, k-mers, ...).
``per_nucleotide``  False: forward returns (B, T) logits; True: (B, T, L) logits.
``uses_unlabelled`` True if ``loss`` uses rows without labels (semi-supervised models).

Optional hooks: ``loss(logits, labels, labelled)`` replaces the default binary cross-entropy;
``prepare(batches)`` runs once on training batches before training (input statistics, ...).
Motif extraction needs ``first_layer(x)`` (activations after the non-linearity, before pooling)
and ``first_layer_window = (width, stride, padding)`` in input bases.
"""
from __future__ import annotations

import torch.nn as nn

MODELS: dict[str, type[nn.Module]] = {}


def register(name: str):
    def add(cls):
        MODELS[name] = cls
        return cls
    return add


def build_model(name: str, n_targets: int, seq_length: int, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name](n_targets=n_targets, seq_length=seq_length, **kwargs)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


from models import basset, danq, deepsea, dilated  # noqa: E402,F401  (registration)
