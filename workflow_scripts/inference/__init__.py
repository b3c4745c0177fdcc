"""The one inference path (library): load a trained model and predict on batches of sequences.

Every stage that uses a trained model — evaluation, filter motifs, and every later analysis
(variant effects, mutagenesis, attribution) — goes through here, never through the training
stage:

* :mod:`~workflow_scripts.inference.model_files` — ``weights.pt`` + ``model.json``: writing
  (byte-identical for identical tensors) and loading, refusing a model trained on another build
  of the data set;
* :mod:`~workflow_scripts.inference.device` — device choice, bf16 autocast and TF32 on CUDA;
* :mod:`~workflow_scripts.inference.predict` — probabilities for any iterable of (B, L) code
  batches, forward and reverse-complement averaged on request, and for a data-set split.
"""
from workflow_scripts.inference.device import default_device, set_precision  # noqa: F401
from workflow_scripts.inference.model_files import load_trained, load_trained_dir, save_torch, write_trained  # noqa: F401
from workflow_scripts.inference.predict import predict_batches, predict_codes, predict_split  # noqa: F401
