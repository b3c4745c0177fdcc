"""Model architectures of the source papers: one file per family, registered by name.

Every model derives from :class:`models.base.SeqModel` (the contract: what a model declares and
what the engine, the inference path and the analyses may rely on) and is built from the blocks
of :mod:`models.blocks`. A family registers itself with ``@register("name")``; every module of
this package is imported here, so adding a family is adding its file (and an entry in
config/models.yaml).
"""
from __future__ import annotations

import importlib
import pkgutil

import torch.nn as nn

MODELS: dict[str, type[nn.Module]] = {}
LIBRARY = {"base", "blocks", "encodings", "forest", "nucleotide", "transformer_xl"}   # modules of this package that are not families


def register(name: str):
    def add(cls):
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"two model families named {name!r}: {MODELS[name].__name__} and {cls.__name__}")
        MODELS[name] = cls
        return cls
    return add


def build_model(name: str, n_targets: int, seq_length: int, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name](n_targets=n_targets, seq_length=seq_length, **kwargs)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


for _module in pkgutil.iter_modules(__path__):
    if _module.name not in LIBRARY:
        importlib.import_module(f"{__name__}.{_module.name}")
