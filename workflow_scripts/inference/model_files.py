"""A trained model on disk: ``weights.pt`` (state dict) and ``model.json`` (how to rebuild it).

``model.json`` holds ``family``, ``args`` (constructor settings), ``targets``, ``categories``,
``seq_length``, ``train`` (the training settings) and ``dataset`` (the build id of the data set
it was trained on, :func:`workflow_scripts.dataset_layout.build_id`). Weights are written through
an in-memory buffer so that identical tensors give identical bytes (``torch.save`` to a path
names the archive's records after the file) and load with ``torch.load(weights_only=True)``.

A model whose state is not all tensors (a two-stage model's fitted forest) declares the files
that hold the rest in its ``extra_state`` (models/base.py); they lie in ``extra_state/`` beside
``weights.pt`` (a directory every trained model has, empty for most, so that the training rule
declares it as an output), are written before the weights (so a ``weights.pt`` never stands
without them) and are read back by :func:`load_trained`, so that such a model predicts through
the same path as every other.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from models import build_model
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.io_utils import atomic_output, read_meta

EXTRA_STATE_DIR = "extra_state"


def save_torch(obj, path: str | Path) -> None:
    """``torch.save`` atomically, with bytes that depend only on ``obj``."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_output(path, suffix=".pt") as tmp:
        tmp.write_bytes(buffer.getvalue())


def extra_state_dir(weights: str | Path) -> Path:
    return Path(weights).parent / EXTRA_STATE_DIR


def write_trained(state_dict: dict, meta: dict, weights: str | Path, meta_path: str | Path, model=None) -> None:
    """``weights`` and ``model.json``; with ``model``, first the files of its ``extra_state``."""
    extra_state_dir(weights).mkdir(parents=True, exist_ok=True)
    if model is not None and model.extra_state:
        model.save_extra_state(extra_state_dir(weights))
    save_torch(state_dict, weights)
    with atomic_output(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=str))


def load_trained(weights: str | Path, meta_path: str | Path, device="cpu",
                 dataset: str | Path | None = None) -> tuple[torch.nn.Module, dict]:
    """The model (in eval mode, on ``device``) and its ``model.json``.

    With ``dataset``, refuses a model trained on another build of that data set."""
    meta = read_meta(meta_path)
    if dataset is not None and meta.get("dataset") != build_id(dataset):
        raise InputError(f"{weights}: trained on another build of {dataset} (the data set was rebuilt "
                         f"since); retrain it (snakemake --forcerun train_model ...)")
    model = build_model(meta["family"], len(meta["targets"]), meta["seq_length"], **meta["args"])
    model.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
    load_extra_state(model, extra_state_dir(weights))
    model.precision = meta.get("train", {}).get("precision", "bf16")   # evaluated and used as trained
    return model.to(device).eval(), meta


def load_extra_state(model, directory: Path) -> None:
    missing = [name for name in model.extra_state if not (directory / name).is_file()]
    if missing:
        raise InputError(f"{directory}: {', '.join(missing)} missing beside the weights ({type(model).__name__} "
                         f"keeps state there, written at the end of training); retrain the model")
    if model.extra_state:
        model.load_extra_state(directory)


def load_trained_dir(model_dir: str | Path, device="cpu") -> tuple[torch.nn.Module, dict]:
    """:func:`load_trained` of a model's directory (``weights.pt`` and ``model.json``)."""
    model_dir = Path(model_dir)
    if not (model_dir / "model.json").is_file():
        raise InputError(f"{model_dir}: not a trained model's directory (no model.json; trained models are "
                         f"in results/models/DATASET/MODEL)")
    return load_trained(model_dir / "weights.pt", model_dir / "model.json", device)
