"""How a model is fitted: strategies by name (a model's ``fit_strategy``).

``gradient`` is the training loop of :class:`~workflow_scripts.engine.trainer.Trainer`.
``two_stage`` is that loop, then a second stage fitted on its outputs: the model's
``fit_second_stage`` reads the training split through the best weights (a random forest on an
autoencoder's codes, say), and the state it fits is written beside the weights (the model's
``extra_state`` files, :mod:`workflow_scripts.inference.model_files`). A job stopped in the
gradient stage resumes from its checkpoint; one stopped in the second stage resumes after the
gradient stage (its finished checkpoint) and redoes the second stage.
"""
from __future__ import annotations

from typing import Callable

from workflow_scripts import cli
from workflow_scripts.cli import InputError

FIT_STRATEGIES: dict[str, Callable] = {}
log = cli.log.getChild("fit")


def fit_strategy(name: str):
    def add(fn):
        FIT_STRATEGIES[name] = fn
        return fn
    return add


@fit_strategy("gradient")
def gradient(trainer) -> None:
    trainer.run()


@fit_strategy("two_stage")
def two_stage(trainer) -> None:
    if trainer.rt.world > 1:
        raise InputError(f"{type(trainer.model).__name__} is fitted in two stages, in one process: give it gpus: 1")
    trainer.train()
    best = trainer.use_best()
    log.info("second stage of %s on the training split", type(trainer.model).__name__)
    with trainer.rt.autocast:
        trainer.model.fit_second_stage(trainer.training_batches())
    trainer.finish(best)


def fit(trainer) -> None:
    strategy = trainer.model.fit_strategy
    if strategy not in FIT_STRATEGIES:
        raise KeyError(f"unknown fit strategy {strategy!r}; known: {', '.join(sorted(FIT_STRATEGIES))}")
    FIT_STRATEGIES[strategy](trainer)
