"""How a model is fitted: strategies by name (a model's ``fit_strategy``).

``gradient`` is the training loop of :class:`~workflow_scripts.engine.trainer.Trainer`. A model
that needs more (a second stage fitted on the first stage's outputs) registers a strategy that
runs the trainer and then its own stage, writing its extra state beside the weights.
"""
from __future__ import annotations

from typing import Callable

FIT_STRATEGIES: dict[str, Callable] = {}


def fit_strategy(name: str):
    def add(fn):
        FIT_STRATEGIES[name] = fn
        return fn
    return add


@fit_strategy("gradient")
def gradient(trainer) -> None:
    trainer.run()


def fit(trainer) -> None:
    strategy = trainer.model.fit_strategy
    if strategy not in FIT_STRATEGIES:
        raise KeyError(f"unknown fit strategy {strategy!r}; known: {', '.join(sorted(FIT_STRATEGIES))}")
    FIT_STRATEGIES[strategy](trainer)
