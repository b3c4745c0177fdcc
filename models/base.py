"""The model contract: what every model of seq2reg is, declares and may override.

Every model derives from :class:`SeqModel`, a plain ``torch.nn.Module`` whose constructor takes
``n_targets`` and ``seq_length`` plus its paper's hyperparameters as keyword defaults. The
engine, the inference path and every analysis use only what is declared here.

Declared by class attributes (defaults in brackets):

``input_encoding`` ["onehot"]  how (B, L) uint8 codes become the model's input: a name in
                               :data:`models.encodings.ENCODINGS` (``onehot`` (B, 4, L),
                               ``codes`` (B, L) int64, ``kmer_counts``, ``kmer_codes``,
                               ``kmer_vectors``); ``encoding_args`` its settings. A *fitted*
                               encoding (``FITTED``, e.g. word2vec k-mer vectors) reads its
                               table from the constructor's ``encoding_file`` into the buffer
                               ``encoding_table`` (saved with the weights); the path is a model
                               setting, so ``model.json`` carries it to ``load_trained``
``per_nucleotide`` [False]     False: ``forward`` returns (B, T) logits; True: (B, T, L)
``uses_unlabelled`` [False]    True: :meth:`training_step` also uses rows without labels
``fit_strategy`` ["gradient"]  how the engine fits it (``workflow_scripts.engine.fitting``):
                               ``two_stage`` trains by gradient, then calls
                               :meth:`fit_second_stage` on the training split
``torch_classifier`` [True]    False: the targets are predicted by a classifier that is not a
                               torch layer (SuperQ's forest, fitted in the second stage):
                               ``forward`` returns the features it reads, (B, F), only
                               :meth:`predict_proba` gives targets, the gradient stage is
                               validated by its own loss, the receptive field is the features'
                               and there is no ``self.output``
``reconstructs_input`` [False] True: :meth:`reconstruct` decodes per-base logits (B, 4, L) of
                               the input (an autoencoder; SuperQ's failure analysis reads it)
``extra_state`` [()]           files beside ``weights.pt`` holding state that is not a tensor
                               (a fitted forest), written by :meth:`save_extra_state` before
                               the weights and read by :meth:`load_extra_state` when loading
``motif_layer`` [True]         whether a first convolution's filters can become motifs (the
                               rules plan ``filter_motifs``/``tomtom`` only for such models)
``precision`` ["bf16"]         numerics of inference on CUDA (``bf16``, ``tf32``, ``fp32``): a
                               trained model gets its training's ``precision`` when loaded

Set by the constructor:

``self.output``       the output layer (``nn.Linear`` or 1x1 ``nn.Conv1d``); its bias is the
                      per-target prior (``prior_output_bias``)
``self.trunk``        (optional) the positional layers; the first :class:`~models.blocks.ConvBlock`
                      of it is the motif layer unless ``self.first_block`` says otherwise
``self.last_hidden``  (optional) the layer whose activations DeepSEA's L1 penalty reads

Computed from the layers (never typed by hand): :attr:`geometry`, :attr:`receptive_field`,
:attr:`first_layer_window`. Overridable with defaults: :meth:`stem` (input -> first layer's
input, e.g. an embedding; position-wise), :meth:`body` (stem output -> logits: ``trunk``, then
:meth:`after_trunk`, the head by default; ``forward`` is ``body(stem(x))``), :meth:`first_layer`,
:meth:`prepare` (input statistics from training batches), :meth:`training_step` (loss of a
batch; binary cross-entropy on labelled rows), :meth:`predict_proba` (sigmoid of the logits).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.blocks import ConvBlock, Geometry, left_padding, trace
from models.encodings import FITTED, POSITIONAL, encode


class SeqModel(nn.Module):
    input_encoding = "onehot"
    encoding_args: dict = {}
    per_nucleotide = False
    uses_unlabelled = False
    fit_strategy = "gradient"
    torch_classifier = True
    extra_state: tuple[str, ...] = ()
    reconstructs_input = False
    positive_weight = 1.0        # set by the engine (train.positive_weight), read by training_step
    motif_layer = True
    precision = "bf16"

    def __init__(self, n_targets: int, seq_length: int, encoding_file: str | None = None):
        super().__init__()
        self.n_targets, self.seq_length = n_targets, seq_length
        if self.input_encoding in FITTED:
            if encoding_file is None:
                raise ValueError(f"{type(self).__name__}'s input encoding {self.input_encoding!r} is fitted: "
                                 f"give the file it was fitted into (encoding_file)")
            self.register_buffer("encoding_table", FITTED[self.input_encoding](encoding_file))
        elif encoding_file is not None:
            raise ValueError(f"{type(self).__name__}'s input encoding {self.input_encoding!r} reads no file "
                             f"(encoding_file is for fitted encodings: {', '.join(sorted(FITTED))})")

    # ------------------------------------------------------------ inputs and outputs
    def encode(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, L) uint8 codes (A C G T N = 0..4) -> this model's input, on the codes' device, a float
        encoding in the model's own float type (a model turned ``.double()`` computes in float64)."""
        fitted = {"table": self.encoding_table} if self.input_encoding in FITTED else {}
        x = encode(self.input_encoding, codes, **self.encoding_args, **fitted)
        return x.to(next(self.parameters()).dtype) if x.is_floating_point() else x

    @property
    def input_window(self) -> int:
        """Bases that one position of the encoded input reads (k for k-mer encodings)."""
        return 1

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The model input -> what the first convolution reads (identity for one-hot input)."""
        return x

    def body(self, h: torch.Tensor) -> torch.Tensor:
        """What the first convolution reads -> logits (trunk, then the rest)."""
        return self.after_trunk(self.trunk(h))

    def after_trunk(self, t: torch.Tensor) -> torch.Tensor:
        """The trunk's output -> logits (the head). Mutagenesis recomputes only the part of the
        trunk a mutation changes, then this."""
        return self.head(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(x))

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities per target (and base); a model whose classifier is not a torch layer
        overrides this."""
        return torch.sigmoid(self(x).float())

    def training_step(self, x: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
        """The loss of one training batch: binary cross-entropy on the rows with labels."""
        return labelled_bce(self(x), targets, labelled, self.positive_weight)

    def prepare(self, batches) -> None:
        """Runs once on a stream of training batches before training (input statistics)."""

    # ------------------------------------------------------------ two-stage models
    def fit_second_stage(self, batches) -> None:
        """``two_stage`` models: fit what follows the gradient stage (with the best weights, in
        eval mode) on ``(input, targets, labelled)`` batches of the training split in a random
        order, reading as many as it needs."""
        raise NotImplementedError(f"{type(self).__name__} has no second stage")

    def save_extra_state(self, directory: Path) -> None:
        """Write the files of ``extra_state`` into ``directory``."""

    def load_extra_state(self, directory: Path) -> None:
        """Read the files of ``extra_state`` from ``directory``."""

    # ------------------------------------------------------------ motifs and geometry
    @property
    def first_block(self) -> ConvBlock | None:
        """The convolution whose filters become motifs (None: the model has none)."""
        trunk = getattr(self, "trunk", None)
        blocks = [m for m in trunk.modules() if isinstance(m, ConvBlock)] if trunk is not None else []
        return blocks[0] if blocks else None

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """First-layer activations after the non-linearity, before pooling: (B, filters, L')."""
        return self.first_block.activations(self.stem(x))

    @property
    def first_layer_window(self) -> tuple[int, int, int]:
        """(width, stride, padding on the left) of the first layer in input bases: output i reads
        input bases ``[i * stride - padding, i * stride - padding + width)``."""
        conv = self.first_block.conv
        return (conv.dilation[0] * (conv.kernel_size[0] - 1) + 1, conv.stride[0], left_padding(conv))

    @property
    def geometry(self) -> Geometry:
        """Output geometry of the whole model on its ``seq_length`` input (see models.blocks).
        A model whose input encoding is not positional (k-mer counts) sees the whole input."""
        start = Geometry.of_input(self.seq_length)
        if not POSITIONAL[self.input_encoding]:
            return start.whole(length=1)
        return trace(self, start.conv(self.input_window))

    @property
    def receptive_field(self) -> int:
        """Input bases one output (a sequence's prediction, or one base's) depends on."""
        return self.geometry.field


def labelled_bce(logits: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor,
                 positive_weight: float = 1.0) -> torch.Tensor:
    """Binary cross-entropy of logits averaged over the rows with labels (0 when none has), a
    positive label counting ``positive_weight`` times. Weighted, not indexed: selecting rows
    would wait for the GPU every step."""
    pos_weight = None if positive_weight == 1.0 else torch.tensor(positive_weight, device=logits.device)
    per_row = F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="none",
                                                 pos_weight=pos_weight).flatten(1).mean(1)
    weight = labelled.to(per_row.dtype)
    return (per_row * weight).sum() / weight.sum().clamp(min=1)


@torch.no_grad()
def _linearised(model: SeqModel) -> SeqModel:
    """A copy whose gradient support is the structural receptive field: max-pools averaged,
    activations and dropout removed (they zero gradients by chance, not by structure)."""
    import copy
    clone = copy.deepcopy(model).double().eval()
    for name, module in list(clone.named_modules()):
        parent = clone.get_submodule(name.rsplit(".", 1)[0]) if "." in name else clone
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(module, nn.AdaptiveMaxPool1d):
            setattr(parent, leaf, nn.AdaptiveAvgPool1d(module.output_size))
        elif isinstance(module, nn.MaxPool1d):
            setattr(parent, leaf, nn.AvgPool1d(module.kernel_size, module.stride, module.padding)
                    if module.dilation == 1 else _DilatedAverage(module))
        elif isinstance(module, (nn.ReLU, nn.GELU, nn.ELU, nn.Dropout)):
            setattr(parent, leaf, nn.Identity())
    return clone


class _DilatedAverage(nn.Module):
    """Average over a dilated window (stands in for a dilated max-pool when measuring)."""

    def __init__(self, pool: nn.MaxPool1d):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, d, p = self.pool.kernel_size, self.pool.dilation, self.pool.padding
        channels = x.shape[1]
        weight = torch.ones(channels, 1, k, dtype=x.dtype, device=x.device) / k
        return F.conv1d(x, weight, stride=self.pool.stride, padding=p, dilation=d, groups=channels)


def measured_receptive_field(model: SeqModel, seed: int = 0) -> int:
    """The receptive field measured by back-propagation on a random input: the span of input
    positions with a non-zero gradient of the central output position (per nucleotide) or of
    the output (per sequence), on a linearised copy of the model. Measured at the stem's output
    (one-hot input, or the embedding of integer codes), which is position-wise; a position there
    reads ``input_window`` bases (k-mer encodings)."""
    codes = torch.randint(0, 4, (1, model.seq_length), generator=torch.Generator().manual_seed(seed))
    if not POSITIONAL[model.input_encoding]:
        return _measured_by_mutation(model.eval(), codes)
    clone = _linearised(model)
    x = clone.encode(codes)
    h = clone.stem(x.double() if x.is_floating_point() else x).double().detach().requires_grad_(True)
    out = clone.body(h)
    focus = out[..., out.shape[-1] // 2] if clone.per_nucleotide else out
    focus.sum().backward()
    support = torch.nonzero(h.grad.abs().sum(dim=(0, 1)) > 0).ravel()
    return int(support[-1] - support[0] + model.input_window) if len(support) else 0


@torch.no_grad()
def _measured_by_mutation(model: SeqModel, codes: torch.Tensor) -> int:
    """For inputs that are not positional (k-mer counts): the span of positions whose mutation
    changes the output (the central one, per nucleotide)."""
    n = codes.shape[1]
    mutants = codes.repeat(n, 1)
    mutants[torch.arange(n), torch.arange(n)] = (codes[0] + 1) % 4
    ref = model(model.encode(codes))
    out = model(model.encode(mutants))
    if model.per_nucleotide:
        ref, out = ref[..., n // 2], out[..., n // 2]
    support = torch.nonzero((out - ref).abs().flatten(1).amax(1) > 0).ravel()
    return int(support[-1] - support[0] + 1) if len(support) else 0
