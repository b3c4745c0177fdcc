"""Where models run: the GPU when there is one (bf16 autocast, TF32 matmuls), else the CPU."""
from __future__ import annotations

import contextlib

import torch

# bf16: autocast to bfloat16, TF32 for what stays in float32; tf32: float32 with TF32 matmuls and
# convolutions; fp32: float32 throughout. The CPU always computes in float32.
PRECISIONS = ("bf16", "tf32", "fp32")


def default_device(local_rank: int = 0) -> torch.device:
    if torch.cuda.is_available():
        set_precision(torch.device("cuda"), "bf16")
        return torch.device(f"cuda:{local_rank}")
    return torch.device("cpu")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: one of {', '.join(PRECISIONS)}")
    return precision


def autocast_for(device: torch.device, precision: str = "bf16"):
    """bf16 autocast on CUDA when ``precision`` is bf16; nothing on the CPU (bf16 matmuls are slow
    on most CPUs)."""
    if device.type == "cuda" and check_precision(precision) == "bf16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_precision(device: torch.device, precision: str):
    """Sets this process's TF32 switches for ``precision``; returns its autocast context."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = \
            check_precision(precision) != "fp32"
    return autocast_for(device, precision)
