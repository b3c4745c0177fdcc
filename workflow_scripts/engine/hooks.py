"""Paper-specific training behaviours as plug-ins of the training loop.

A hook is built from the training settings when its setting is on (:func:`make_hooks`) and is
called by the :class:`~workflow_scripts.engine.trainer.Trainer` at fixed points; every call
point is optional:

``setup(trainer)``            once, after the model and optimiser exist, before resuming
``lr_factor(step)``           multiplies the learning rate at optimiser step ``step``
``loss_scale()``              multiplies each batch's loss before the backward pass
``penalty()``                 added to each batch's loss (after the forward pass)
``steps_optimizer(step)``     False: keep accumulating gradients after batch ``step``
``after_step(trainer)``       after each optimiser step
``before_validation(trainer)`` before each validation

Adding a behaviour is a class here with ``enabled(cfg)``; the loop does not change.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from workflow_scripts.cli import InputError
from workflow_scripts.engine.config import TrainConfig
from workflow_scripts.loaders import BatchStream, batch_targets, make_loader

HOOKS: list[type["Hook"]] = []


def hook(cls):
    HOOKS.append(cls)
    return cls


class Hook:
    def __init__(self, cfg: TrainConfig, model: nn.Module):
        self.cfg, self.model = cfg, model

    @staticmethod
    def enabled(cfg: TrainConfig) -> bool:
        raise NotImplementedError


def make_hooks(cfg: TrainConfig, model: nn.Module) -> list[Hook]:
    return [h(cfg, model) for h in HOOKS if h.enabled(cfg)]


@hook
class WarmUp(Hook):
    """Linear learning-rate warm-up over ``warmup_steps`` optimiser steps (the capstone)."""

    @staticmethod
    def enabled(cfg):
        return cfg.warmup_steps > 0

    def lr_factor(self, step: int) -> float:
        return min(1.0, (step + 1) / self.cfg.warmup_steps)


@hook
class InverseTimeDecay(Hook):
    """lr / (1 + lr_decay * step), as DeepSEA's SGD."""

    @staticmethod
    def enabled(cfg):
        return cfg.lr_decay > 0

    def lr_factor(self, step: int) -> float:
        return 1.0 / (1.0 + self.cfg.lr_decay * step)


@hook
class GradientAccumulation(Hook):
    """One optimiser step per ``grad_accumulation`` batches, each batch's loss scaled to match
    (the capstone: batch 25 x 4)."""

    @staticmethod
    def enabled(cfg):
        return cfg.grad_accumulation > 1

    def loss_scale(self) -> float:
        return 1.0 / self.cfg.grad_accumulation

    def steps_optimizer(self, step: int) -> bool:
        return step % self.cfg.grad_accumulation == 0


@hook
class HiddenL1(Hook):
    """``hidden_l1 * sum |h| / batch`` over the activations of the model's ``last_hidden`` layer
    (DeepSEA's L1 penalty, 1e-8)."""

    @staticmethod
    def enabled(cfg):
        return cfg.hidden_l1 > 0

    def __init__(self, cfg, model):
        super().__init__(cfg, model)
        layer = getattr(model, "last_hidden", None)
        if layer is None:
            raise InputError(f"hidden_l1 needs a model with a last_hidden layer; {type(model).__name__} has none")
        self.value = None
        layer.register_forward_hook(self._record)

    def _record(self, module, inputs, output):
        if module.training:
            self.value = self.cfg.hidden_l1 * output.float().abs().sum() / len(output)

    def penalty(self):
        value, self.value = self.value, None
        return 0.0 if value is None else value


@hook
class KernelMaxNorm(Hook):
    """Rescale every convolution kernel to a norm of at most ``max_kernel_norm`` after each
    step (DeepSEA's constraint, 0.9)."""

    @staticmethod
    def enabled(cfg):
        return bool(cfg.max_kernel_norm)

    @torch.no_grad()
    def after_step(self, trainer) -> None:
        for m in self.model.modules():
            if isinstance(m, nn.Conv1d):
                norms = m.weight.flatten(1).norm(dim=1).clamp(min=1e-12)
                m.weight.mul_((self.cfg.max_kernel_norm / norms).clamp(max=1.0)[:, None, None])


@hook
class PriorOutputBias(Hook):
    """Output biases start at logit(prevalence) of the training labels (the capstone), estimated
    on a random sample of the whole training split's labelled rows (not its first rows in genome order)."""
    sample_batches = 50

    @staticmethod
    def enabled(cfg):
        return cfg.prior_output_bias

    @torch.no_grad()
    def setup(self, trainer) -> None:
        reader = trainer.train_reader
        stream = BatchStream(reader, 256, shuffle=True, seed=self.cfg.seed + 17, max_batches=self.sample_batches,
                             labelled=trainer.labelled, labelled_only=True)
        counts, n = None, 0
        for batch in make_loader(stream, 0, False):
            y = batch_targets(batch, reader, "cpu")
            y = y.transpose(1, 2).reshape(-1, y.shape[1]) if reader.per_nucleotide else y
            counts = y.sum(0) if counts is None else counts + y.sum(0)
            n += len(y)
        prevalence = ((counts + 1) / (n + 2)).clamp(1e-6, 1 - 1e-6)
        self.model.output.bias.copy_(torch.log(prevalence / (1 - prevalence)).reshape(self.model.output.bias.shape))


@hook
class PositiveWeight(Hook):
    """Positive labels count ``positive_weight`` times in the binary cross-entropy (PyTorch's
    ``pos_weight``): rare positives, such as a TF's 2 % of bases in a 25 kb window, otherwise
    leave the model at the labels' prevalence for many epochs. The model's ``training_step``
    reads it. The learned odds come out about ``positive_weight`` times too high: rankings
    (ROC/PR AUC) are unaffected, probabilities are not calibrated."""

    @staticmethod
    def enabled(cfg):
        return cfg.positive_weight != 1.0

    def setup(self, trainer) -> None:
        self.model.positive_weight = float(self.cfg.positive_weight)


@hook
class PreciseBatchNorm(Hook):
    """Replace BatchNorm running statistics by exact averages over the first
    ``bn_recalibrate_batches`` training batches before each validation ("precise BN", Wu &
    Johnson 2021): with a high learning rate the running averages lag the weights. Uses no
    randomness, so a resumed run stays identical to an uninterrupted one."""

    @staticmethod
    def enabled(cfg):
        return cfg.bn_recalibrate_batches > 0

    @torch.no_grad()
    def before_validation(self, trainer) -> None:
        norms = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        saved = {m: m.momentum for m in norms}
        for m in norms:
            m.reset_running_stats()
            m.momentum = None                       # cumulative average
        self.model.eval()
        for m in norms:
            m.train()
        stream = BatchStream(trainer.train_reader, self.cfg.batch_size, shuffle=False,
                             max_batches=self.cfg.bn_recalibrate_batches, labelled=trainer.labelled,
                             labelled_only=trainer.labelled_only)
        for batch in make_loader(stream, 0, False):
            self.model(self.model.encode(batch["codes"].to(trainer.rt.device)))
        for m, momentum in saved.items():
            m.momentum = momentum
        self.model.eval()
