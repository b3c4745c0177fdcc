"""Where models run: the GPU when there is one (bf16 autocast, TF32 matmuls), else the CPU."""
from __future__ import annotations

import contextlib

import torch


def default_device(local_rank: int = 0) -> torch.device:
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        return torch.device(f"cuda:{local_rank}")
    return torch.device("cpu")


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; nothing on the CPU (bf16 matmuls are slow on most CPUs)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
