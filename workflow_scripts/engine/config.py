"""Training settings: what a ``train:`` entry of config/models.yaml may say (unknown keys refused)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from workflow_scripts.cli import InputError
from workflow_scripts.inference.device import PRECISIONS


@dataclass
class TrainConfig:
    """Training hyperparameters; config/models.yaml gives each model its paper's values."""
    optimizer: str = "rmsprop"        # rmsprop, sgd, adam, adamw
    lr: float = 1e-3
    optimizer_args: dict = field(default_factory=dict)
    weight_decay: float = 0.0
    lr_decay: float = 0.0             # inverse-time decay per step: lr / (1 + decay * step)
    warmup_steps: int = 0             # linear warm-up over this many optimiser steps
    batch_size: int = 100
    grad_accumulation: int = 1        # optimiser step every this many batches
    max_epochs: int = 60
    patience: int = 5
    monitor: str = "valid_loss"       # best weights and early stopping: lowest valid_loss, or the
                                      # highest valid_roc_auc / valid_pr_auc (MONITORS)
    min_delta: float = 0.0
    batches_per_epoch: int | None = None
    max_kernel_norm: float | None = None   # DeepSEA: every convolution kernel's norm <= this
    hidden_l1: float = 0.0            # L1 on the activations of the model's ``last_hidden`` layer
    prior_output_bias: bool = False   # output biases start at logit(training prevalence)
    rc_augment: bool = True
    label_fraction: float = 1.0       # semi-supervised runs: share of training rows with labels
    positive_weight: float = 1.0      # a positive label counts this many times in the loss
    seed: int = 1
    workers: int = 2
    buffer_chunks: int = 8
    compile: bool | str = False       # true, or a torch.compile mode (COMPILE_MODES)
    deterministic: bool = True
    precision: str = "bf16"           # on CUDA: bf16 (autocast), tf32 or fp32; the CPU is always fp32
    eval_stride: int = 1              # per-nucleotide validation: score every eval_stride-th base
    bn_recalibrate_batches: int = 0   # >0: recompute BatchNorm statistics on this many training
                                      # batches before each validation ("precise BN")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise InputError(f"unknown training setting(s): {', '.join(unknown)}; "
                             f"known: {', '.join(cls.names())}")
        bad = cls.value_problems(values)
        if bad:
            raise InputError("; ".join(bad))
        return cls(**values)

    @staticmethod
    def value_problems(values: dict) -> list[str]:
        """Settings whose value is refused (names are checked by ``from_dict``)."""
        precision, compile_value = values.get("precision", "bf16"), values.get("compile", False)
        bad = [] if precision in PRECISIONS else [f"precision {precision!r}: one of {', '.join(PRECISIONS)}"]
        if not isinstance(compile_value, bool) and compile_value not in COMPILE_MODES:
            bad.append(f"compile {compile_value!r}: true, false or one of {', '.join(COMPILE_MODES)}")
        monitor = values.get("monitor", "valid_loss")
        if monitor not in MONITORS:
            bad.append(f"monitor {monitor!r}: one of {', '.join(MONITORS)}")
        weight = values.get("positive_weight", 1.0)
        if not (isinstance(weight, (int, float)) and weight > 0):
            bad.append(f"positive_weight {weight!r}: a number above 0")
        fraction = values.get("label_fraction", 1.0)
        if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
            bad.append(f"label_fraction {fraction!r}: a share of the training rows, above 0 and at most 1")
        return bad


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")    # torch.compile's modes
MONITORS = ("valid_loss", "valid_roc_auc", "valid_pr_auc")        # train_log.tsv's validation columns


def compile_mode(value: bool | str) -> str | None:
    """The ``torch.compile`` mode of a ``compile`` setting (true: PyTorch's default mode)."""
    return None if value is True else value
