"""Building blocks shared by the model families, and the geometry that follows from them.

A model file states its architecture with these blocks: a ``trunk`` of :class:`ConvBlock`
layers (convolution -> normalisation -> activation -> pooling -> dropout; :class:`Resampled`
wraps layers between a strided convolution and a deconvolution, :class:`BiLSTM` is a recurrent
layer) and a head (:class:`DenseHead` over the flattened trunk for one prediction per sequence,
:class:`PositionwiseHead` for one prediction per nucleotide).

:func:`trace` walks a module in forward order and composes each layer's kernel, stride,
dilation and padding into a :class:`Geometry`: how many input bases one output position sees
(its receptive field), the step between neighbouring output positions in input bases, where
the first output's window starts, and the output length. Recurrent, attention and flattening
layers make each output see all the input that reaches them. A module's children are walked in
the order they were registered, which must be forward order; a module that is not a plain
sequence of layers (parallel branches, a flattening head, layers applied more than once) defines
``trace_geometry(g)``.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from fractions import Fraction

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU, "none": nn.Identity}
GLOBAL_LAYERS = (nn.LSTM, nn.GRU, nn.RNN, nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.Flatten,
                 nn.AdaptiveMaxPool1d, nn.AdaptiveAvgPool1d)


@dataclass(frozen=True)
class Geometry:
    """Output position i sees input bases ``[start + i * jump, start + i * jump + field)`` of an
    input of ``input_length`` bases; ``length`` is the number of output positions.

    A recurrent, attention or flattening layer makes every output see all the input that reaches
    it: :meth:`whole` sets ``field`` to that span and ``jump`` to 0.
    """
    input_length: int
    length: int
    field: int = 1
    jump: Fraction = Fraction(1)
    start: Fraction = Fraction(0)

    @classmethod
    def of_input(cls, length: int) -> "Geometry":
        return cls(length, length)

    def conv(self, kernel: int, stride: int = 1, dilation: int = 1, padding: int = 0) -> "Geometry":
        span = dilation * (kernel - 1) + 1
        length = (self.length + 2 * padding - span) // stride + 1
        return replace(self, length=length, field=self.field + int((span - 1) * self.jump),
                       jump=self.jump * stride, start=self.start - padding * self.jump)

    def transposed(self, kernel: int, stride: int, dilation: int = 1, padding: int = 0,
                   output_padding: int = 0) -> "Geometry":
        """Upsampling: an output sees ceil(span / stride) input positions (exact when the
        kernel is a multiple of the stride, as in every model here)."""
        span = dilation * (kernel - 1) + 1
        length = (self.length - 1) * stride - 2 * padding + span + output_padding
        reach = -(-span // stride)
        first = -(-(padding - span + 1) // stride)
        return replace(self, length=length, field=self.field + int((reach - 1) * self.jump),
                       jump=self.jump / stride, start=self.start + first * self.jump)

    def covered(self) -> tuple[int, int]:
        """First and last + 1 input base that reaches some output position."""
        first = max(0, int(self.start))
        last = min(self.input_length, int(self.start + (self.length - 1) * self.jump) + self.field)
        return first, last

    def whole(self, length: int | None = None) -> "Geometry":
        first, last = self.covered()
        return replace(self, length=self.length if length is None else length, field=last - first,
                       jump=Fraction(0), start=Fraction(first))


def _pair(value) -> int:
    return value[0] if isinstance(value, tuple) else value


def left_padding(layer) -> int:
    p = layer.padding
    if p == "same":
        dilation, width = _pair(getattr(layer, "dilation", 1)), _pair(layer.kernel_size)
        if isinstance(layer, SameConv1d):
            return dilation * ((width - 1) // 2)
        return dilation * (width - 1) // 2          # PyTorch's own "same": half the span
    if p == "valid":
        return 0
    return _pair(p)


def trace(module: nn.Module, g: Geometry) -> Geometry:
    """The geometry after ``module`` applied to input of geometry ``g``."""
    if hasattr(module, "trace_geometry"):
        return module.trace_geometry(g)
    if isinstance(module, nn.Conv1d):
        out = g.conv(_pair(module.kernel_size), _pair(module.stride), _pair(module.dilation), left_padding(module))
        return replace(out, length=g.length) if module.padding == "same" else out
    if isinstance(module, nn.ConvTranspose1d):
        return g.transposed(_pair(module.kernel_size), _pair(module.stride), _pair(module.dilation),
                            left_padding(module), _pair(module.output_padding))
    if isinstance(module, (nn.MaxPool1d, nn.AvgPool1d)):
        stride = _pair(module.stride) or _pair(module.kernel_size)
        return g.conv(_pair(module.kernel_size), stride, _pair(getattr(module, "dilation", 1)), _pair(module.padding))
    if isinstance(module, GLOBAL_LAYERS):
        return g.whole()
    for child in module.children():
        g = trace(child, g)
    return g


def trace_parallel(branches, g: Geometry) -> Geometry:
    """The geometry of ``branches`` applied side by side to input of geometry ``g`` and
    concatenated along channels (an Inception module) or added (a residual block): one output
    position sees the union of what it sees through each branch. The branches must give the same
    positions."""
    outs = [trace(branch, g) for branch in branches]
    if len({(o.length, o.jump) for o in outs}) != 1:
        raise ValueError(f"parallel branches disagree on output positions: {outs}")
    start = min(o.start for o in outs)
    end = max(o.start + o.field for o in outs)
    return replace(outs[0], start=start, field=int(end - start))


# ---------------------------------------------------------------- blocks
class SameConv1d(nn.Conv1d):
    """A "same"-padded convolution that pads in whole dilation steps: (width - 1) // 2 of them on
    the left, the rest on the right. PyTorch's and Keras' "same" pad half the span, which for an
    even width and a dilation d > 1 is not a multiple of d: no tap then falls on the output's own
    position (width 10, dilation 3: taps at -13, -10, ..., +14), and a stack of such layers never
    sees the base it predicts. Odd widths and dilation 1 pad as PyTorch does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros":
            raise ValueError(f"SameConv1d pads with zeros only, not {self.padding_mode!r}")

    def _conv_forward(self, x, weight, bias):
        left = left_padding(self)
        right = self.dilation[0] * (self.kernel_size[0] - 1) - left
        if left == right:
            return F.conv1d(x, weight, bias, self.stride, left, self.dilation, self.groups)
        return F.conv1d(F.pad(x, (left, right)), weight, bias, self.stride, 0, self.dilation, self.groups)


class ConvBlock(nn.Sequential):
    """Convolution -> [normalisation] -> activation -> [max-pool] -> [dropout].

    ``padding`` "valid" (none), "same" (output as long as the input at stride 1; :class:`SameConv1d`)
    or a number.
    ``pool_stride`` defaults to the pool width (non-overlapping). ``transposed``: the convolution
    is a deconvolution (``nn.ConvTranspose1d``), which upsamples by its stride. :meth:`activations`
    stops after the activation: what motif extraction reads (before pooling).
    """

    def __init__(self, inputs: int, filters: int, width: int, *, stride: int = 1, dilation: int = 1,
                 padding: str | int = "valid", norm: str | None = None, activation: str = "relu",
                 pool: int = 1, pool_stride: int | None = None, pool_dilation: int = 1,
                 pool_padding: int = 0, dropout: float = 0.0, bias: bool = True, transposed: bool = False):
        convolution = nn.ConvTranspose1d if transposed else SameConv1d if padding == "same" else nn.Conv1d
        layers = {"conv": convolution(inputs, filters, width, stride=stride, dilation=dilation,
                                      padding=0 if padding == "valid" else padding, bias=bias)}
        if norm == "batch":
            layers["norm"] = nn.BatchNorm1d(filters)
        layers["act"] = ACTIVATIONS[activation]()
        if pool > 1:
            layers["pool"] = nn.MaxPool1d(pool, stride=pool_stride or pool, dilation=pool_dilation,
                                          padding=pool_padding)
        if dropout:
            layers["drop"] = nn.Dropout(dropout)
        super().__init__()
        for name, layer in layers.items():
            self.add_module(name, layer)

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if hasattr(self, "norm"):
            x = self.norm(x)
        return self.act(x)


def conv_stack(inputs: int, filters, widths, *, pools=None, dropouts=None, dilations=None,
               **common) -> nn.Sequential:
    """ConvBlocks with per-layer filters, widths, pools, dropouts and dilations and shared settings."""
    n = len(filters)
    pools, dropouts, dilations = pools or [1] * n, dropouts or [0.0] * n, dilations or [1] * n
    blocks, channels = [], inputs
    for f, w, p, d, dil in zip(filters, widths, pools, dropouts, dilations):
        blocks.append(ConvBlock(channels, f, w, pool=p, dropout=d, dilation=dil, **common))
        channels = f
    return nn.Sequential(*blocks)


def base_embedding(dim: int) -> nn.Conv1d:
    """A learned embedding of the bases, the capstone's: a linear map of the one-hot input (4 x
    ``dim`` weights, no bias), position-wise; an N (0.25 in each channel) gets the mean of the four."""
    return nn.Conv1d(4, dim, 1, bias=False)


class DenseHead(nn.Module):
    """Flatten -> fully connected layers (each -> [batch norm] -> activation -> [dropout]) ->
    the output layer (one logit per target). ``hidden`` empty: the output layer alone.
    ``last_hidden`` is the last hidden block (DeepSEA's L1 penalty reads its activations)."""

    def __init__(self, inputs: int, hidden, n_targets: int, *, norm: str | None = None,
                 activation: str = "relu", dropout=0.0, bias: bool = True):
        super().__init__()
        dropouts = dropout if isinstance(dropout, (list, tuple)) else [dropout] * len(hidden)
        layers = []
        for units, p in zip(hidden, dropouts):
            block = [nn.Linear(inputs, units, bias=bias)]
            block += [nn.BatchNorm1d(units)] if norm == "batch" else []
            block += [ACTIVATIONS[activation]()] + ([nn.Dropout(p)] if p else [])
            layers.append(nn.Sequential(*block))
            inputs = units
        self.hidden = nn.Sequential(*layers)
        self.last_hidden = layers[-1] if layers else None
        self.output = nn.Linear(inputs, n_targets)

    def trace_geometry(self, g: Geometry) -> Geometry:
        return g.whole(length=1)

    @property
    def first_linear(self) -> nn.Linear:
        """The layer that reads the flattened input (linear: a change of a few input positions
        changes its output by the sum of their columns' products, which mutagenesis uses)."""
        return self.hidden[0][0] if len(self.hidden) else self.output

    def after_first_linear(self, z: torch.Tensor) -> torch.Tensor:
        """The rest of :meth:`forward` after :attr:`first_linear`."""
        if not len(self.hidden):
            return z
        return self.output(self.hidden[1:](self.hidden[0][1:](z)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x.flatten(1)))     # (through hidden: hooks on last_hidden fire)


class Resampled(nn.Sequential):
    """A strided convolution -> ``middle`` at 1/``stride`` of the length -> a deconvolution back
    (Gupta's "resizing" models). Both convolutions are ``stride`` wide, so their windows tile the
    sequence: the input must be a whole number of strides long and the output is as long, and the
    ``stride`` output positions of one window all read the same middle position. ``middle`` maps
    ``filters`` channels to ``middle_channels``; ``block`` (norm, activation, dropout) is given to
    both convolutions."""

    def __init__(self, inputs: int, filters: int, middle: nn.Module, middle_channels: int, outputs: int,
                 stride: int, **block):
        super().__init__(OrderedDict(
            down=ConvBlock(inputs, filters, stride, stride=stride, **block),
            middle=middle,
            up=ConvBlock(middle_channels, outputs, stride, stride=stride, transposed=True, **block)))


class SamePool(nn.Sequential):
    """A stride-1 max-pool of odd ``width``, dilated by ``dilation``, whose output is as long as its
    input. Padded with zeros, which for non-negative input (after a ReLU) is TensorFlow's "SAME"
    pooling; PyTorch's own pool padding may not exceed half the width, too little once dilated."""

    def __init__(self, width: int, dilation: int = 1):
        if width % 2 == 0:
            raise ValueError(f"pool width {width}: only an odd width keeps the length")
        padding = dilation * (width - 1) // 2
        super().__init__(nn.ConstantPad1d(padding, 0.0), nn.MaxPool1d(width, stride=1, dilation=dilation))
        self.window = (width, 1, dilation, padding)

    def trace_geometry(self, g: Geometry) -> Geometry:
        return g.conv(*self.window)


class BiLSTM(nn.Module):
    """A bidirectional LSTM along the sequence: (B, C, L) -> (B, 2 x ``units``, L)."""

    def __init__(self, inputs: int, units: int):
        super().__init__()
        self.lstm = nn.LSTM(inputs, units, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x.transpose(1, 2))[0].transpose(1, 2)


@torch.no_grad()
def single_lstm_bias(lstm: nn.LSTM, forget: float = 0.0) -> None:
    """One learned bias per gate, as in Keras and TensorFlow: PyTorch's second bias (``bias_hh``)
    adds to the first, so it is frozen: at 0 on every gate but the forget gate's, which is
    ``forget`` (TensorFlow's BasicLSTMCell adds a constant ``forget_bias`` there)."""
    for name, p in lstm.named_parameters():
        if name.startswith("bias_hh"):
            p.zero_()
            p[lstm.hidden_size:2 * lstm.hidden_size] = forget      # gates: input, forget, cell, output
            p.requires_grad_(False)


class PreActBottleneck(nn.Module):
    """A pre-activation bottleneck residual block (He et al. 2016, "Identity mappings in deep
    residual networks"), 1-D: BN-ReLU of the input, then a 1x1 convolution to ``width``
    channels, BN-ReLU, a ``kernel``-wide convolution at ``stride`` (zero-padded by kernel // 2),
    BN-ReLU and a 1x1 convolution to ``outputs``, added to the shortcut: the input itself, or a
    1x1 convolution at ``stride`` of its pre-activation when the shape changes (as in He et al.'s
    code). No convolution has a bias: batch normalisation follows each one."""

    def __init__(self, inputs: int, width: int, outputs: int, *, kernel: int = 3, stride: int = 1):
        super().__init__()
        self.pre = nn.Sequential(nn.BatchNorm1d(inputs), nn.ReLU())
        self.main = nn.Sequential(
            nn.Conv1d(inputs, width, 1, bias=False), nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, width, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm1d(width), nn.ReLU(),
            nn.Conv1d(width, outputs, 1, bias=False))
        changes = stride != 1 or inputs != outputs
        self.shortcut = nn.Conv1d(inputs, outputs, 1, stride=stride, bias=False) if changes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.pre(x)
        return (x if self.shortcut is None else self.shortcut(a)) + self.main(a)

    def trace_geometry(self, g: Geometry) -> Geometry:
        return trace_parallel([self.main, self.shortcut or nn.Identity()], g)


class PositionwiseHead(nn.Module):
    """Per-nucleotide head: fully connected layers applied at every position (1x1
    convolutions): ``hidden`` units with activation and dropout, then one logit per target."""

    def __init__(self, inputs: int, hidden: int, n_targets: int, *, dropout: float = 0.0,
                 activation: str = "relu"):
        super().__init__()
        self.hidden = nn.Sequential(nn.Conv1d(inputs, hidden, 1), ACTIVATIONS[activation](),
                                    *([nn.Dropout(dropout)] if dropout else []))
        self.output = nn.Conv1d(hidden, n_targets, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.hidden(x))


def output_length(module: nn.Module, seq_length: int) -> int:
    return trace(module, Geometry.of_input(seq_length)).length
