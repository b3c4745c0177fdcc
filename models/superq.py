"""SuperQ (Löverli & Gupta 2018, "SuperQ: a computationally efficient improvement of CNN based
DNA function annotator DanQ", ../shared/seeds/002_f59ed67f4de1912a.txt, section II): an
autoencoder condenses each sequence into a 500-feature code; a random forest trained on the
codes predicts the targets.

    one-hot -> convolution 320 x 26, ReLU, max-pool 13, dropout 0.2 -> BiLSTM 320 per direction,
    dropout 0.5 -> flatten -> Linear 500: the code -> Linear 4 x L: per-base logits (decoder)
    code -> random forest (scikit-learn, multi-output over the targets) -> probabilities

Two-stage fit (``fit_strategy = "two_stage"``, workflow_scripts/engine/fitting.py): the
autoencoder trains through the engine's loop on reconstruction alone (labels unused, so rows
without labels count too), validated by its reconstruction loss; then the forest is fitted on
the codes of training rows streamed through the best encoder, and saved beside the weights as
``forest.skops`` (:mod:`models.forest`). :meth:`predict_proba` is the forest on the codes.

From the seed: the 500-feature code from an internal layer, the convolutional and recurrent
layers before it (the second version; ``lstm_units: 0`` gives the first, convolution-only one),
a random forest on the codes. From its code (github.com/aron0093/5MT003,
SuperQ_train_keras2.1.1.py, read for this): a 320 x 26 convolution, Dense(500) as the encoder
(linear), Dense(4000) reshaped to (1000, 4) as the decoder, batch 100, at most 10 epochs
(1/6 of DanQ's 60, as the text says), early stopping after 5; its loss is the mean squared error
(``reconstruction: mse``) and its optimiser Nadam at 0.015, which the engine lacks (we train
with Adam, config/models.yaml).

Choices left open, taken here: the encoder's convolution, pooling, BiLSTM and dropouts are
DanQ's (the code's docstring: "DanQ modified ... to use an autoencoder"); the code is a linear
map of the flattened BiLSTM output (not one code per position, as the code's Dense on a 3-D
tensor would give); the reconstruction loss is the cross-entropy of each base against the input
(an N's uniform one-hot is a soft target), ``mse`` the seed code's; the forest: 100 trees of at
most 1,024 leaves, sqrt(500) = 22 features per split, fitted on 100,000 training rows at most
(``forest_rows``, 2.3 % of hg19's 4.4 M; the first rows of a shuffled pass over the training
split: whole HDF5 chunks drawn at random), on the forward strand. Memory at hg19 size (919
targets): codes 100k x 500 x 4 B = 0.2 GB, labels as float64 (scikit-learn's copy) 0.7 GB, trees
100 x 2,047 nodes x 919 targets x 2 classes x 8 B = 3.0 GB (also the size of ``forest.skops``):
about 4 GB, well inside a GPU node's memory. Time is what bounds the rows: with 919 outputs every
candidate split updates 919 class counts per row; 16 such trees on 20,000 rows of 500 features
took 101 s on 16 cores (an H100 node, 2026-11-23), so the default forest fits in about 50 min on
16 cores, and 500,000 rows would take about 4 h. The forest's predictions use one thread (a
fixed summation order, so saved and reloaded models predict the same bits): about 22 s per
10,000 rows, some 30 min for hg19's test split with reverse-complement averaging.

``motif_layer`` True: the first layer is a convolution over one-hot bases, as DanQ's; its
filters are learned for reconstruction, not the targets, and comparing them with JASPAR shows
whether the unsupervised code captured transcription-factor motifs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from models import register
from models.base import SeqModel
from models.blocks import BiLSTM, ConvBlock, output_length
from models.forest import fit_forest, load_forest, make_forest, positive_probs, save_forest

RECONSTRUCTION_LOSSES = {
    "cross_entropy": lambda logits, onehot: F.cross_entropy(logits.float(), onehot),
    "mse": lambda logits, onehot: F.mse_loss(logits.float(), onehot),
}
FOREST_FILE = "forest.skops"


@register("superq")
class SuperQ(SeqModel):
    fit_strategy = "two_stage"
    torch_classifier = False
    uses_unlabelled = True
    extra_state = (FOREST_FILE,)
    reconstructs_input = True

    def __init__(self, n_targets: int, seq_length: int = 1000, conv_filters: int = 320, conv_width: int = 26,
                 pool_width: int = 13, lstm_units: int = 320, dropout=(0.2, 0.5), code_size: int = 500,
                 reconstruction: str = "cross_entropy", forest_trees: int = 100, forest_max_leaves: int | None = 1024,
                 forest_max_features="sqrt", forest_rows: int = 100_000, seed: int = 0):
        super().__init__(n_targets, seq_length)
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"reconstruction {reconstruction!r}: one of {', '.join(RECONSTRUCTION_LOSSES)}")
        self.trunk = ConvBlock(4, conv_filters, conv_width, pool=pool_width, dropout=dropout[0])
        self.context = nn.Sequential(BiLSTM(conv_filters, lstm_units), nn.Dropout(dropout[1])) if lstm_units else nn.Identity()
        width = 2 * lstm_units if lstm_units else conv_filters
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(output_length(self.trunk, seq_length) * width, code_size))
        self.decoder = nn.Linear(code_size, 4 * seq_length)
        self.reconstruction = reconstruction
        self.forest_settings = dict(trees=forest_trees, max_leaves=forest_max_leaves, max_features=forest_max_features,
                                    seed=seed)
        self.forest_rows = forest_rows
        self.forest = None

    def body(self, h: torch.Tensor) -> torch.Tensor:
        """The code (B, code_size): what the forest reads."""
        return self.encoder(self.context(self.trunk(h)))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Per-base logits (B, 4, L) of the input, decoded from its code."""
        return self.decoder(self(x)).view(len(x), 4, self.seq_length)

    def training_step(self, x: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
        return RECONSTRUCTION_LOSSES[self.reconstruction](self.reconstruct(x), x)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        if self.forest is None:
            raise RuntimeError("superq predicts with its random forest, fitted by the two-stage fit "
                               "(or loaded with the weights); this model has none")
        codes = self(x).float().cpu().numpy()
        return torch.from_numpy(positive_probs(self.forest, codes)).to(x.device)

    @torch.no_grad()
    def fit_second_stage(self, batches) -> None:
        """The forest, fitted on the codes of the first ``forest_rows`` labelled rows streamed."""
        codes, labels, rows = [], [], 0
        for x, targets, labelled in batches:
            if not labelled.any():
                continue
            codes.append(self(x[labelled]).float().cpu().numpy())
            labels.append(targets[labelled].cpu().numpy().astype(np.uint8))
            rows += len(codes[-1])
            if rows >= self.forest_rows:
                break
        features, y = np.concatenate(codes)[:self.forest_rows], np.concatenate(labels)[:self.forest_rows]
        self.forest = fit_forest(make_forest(**self.forest_settings), features, y)

    def save_extra_state(self, directory: Path) -> None:
        save_forest(self.forest, Path(directory) / FOREST_FILE)

    def load_extra_state(self, directory: Path) -> None:
        self.forest = load_forest(Path(directory) / FOREST_FILE)
