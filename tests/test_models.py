"""Model families: registration, output shapes, motif-layer geometry, published parameter counts."""
from __future__ import annotations

import pytest
import torch

from models import MODELS, build_model, n_parameters


def test_registry():
    assert {"basset", "deepsea", "danq", "dilated"} <= set(MODELS)
    with pytest.raises(KeyError, match="unknown model family"):
        build_model("nope", 3, 100)


def test_published_parameter_counts():
    # DanQ: Gupta's Table 7.2.1 gives 46,926,479 for the Keras model; PyTorch's LSTM has a second
    # bias vector per gate: 2 directions x 4 gates x 320 units = 2,560 more
    assert n_parameters(build_model("danq", 919, 1000)) == 46_926_479 + 2_560
    assert n_parameters(build_model("deepsea", 919, 1000)) == 52_843_119
    # Basset: 164 targets, 600 bp (conv 23,100 + 660,200 + 280,200; dense 2,001,000 + 1,001,000;
    # output 164,164; batch norm 2 x (300 + 200 + 200 + 1000 + 1000))
    assert n_parameters(build_model("basset", 164, 600)) == 4_135_064


@pytest.mark.parametrize("name,length,encoding", [("basset", 600, "onehot"), ("deepsea", 1000, "onehot"),
                                                  ("danq", 1000, "onehot"), ("dilated", 2500, "codes")])
def test_shapes_and_first_layer(name, length, encoding):
    small = {"basset": dict(conv_filters=[8, 8, 8], hidden=[16, 16]), "deepsea": dict(conv_filters=[8, 8, 8], hidden=16),
             "danq": dict(conv_filters=8, lstm_units=4, hidden=16), "dilated": dict(f1=8, f2=8, f3=8, hidden=8)}[name]
    m = build_model(name, 5, length, **small).eval()
    assert m.input_encoding == encoding
    codes = torch.randint(0, 5, (2, length))
    x = codes if encoding == "codes" else torch.nn.functional.one_hot(codes.clamp(max=3), 4).float().transpose(1, 2)
    out = m(x)
    assert out.shape == ((2, 5, length) if m.per_nucleotide else (2, 5))
    width, stride, padding = m.first_layer_window
    act = m.first_layer(x)
    assert act.shape[1] == 8 and act.shape[2] == (length + 2 * padding - width) // stride + 1
    assert (act >= 0).all()                                   # after the non-linearity


def test_danq_jaspar_initialisation_puts_motifs_in_kernels():
    m = build_model("danq", 3, 200, conv_filters=6, conv_width=30, lstm_units=4, hidden=8, jaspar_init=3, seed=1)
    w = m.conv[0].weight.detach()
    assert (w[:3].abs().max(dim=1).values > 0.3).any(dim=1).all()   # frequency - 0.25 somewhere
    assert (w[3:].abs() <= 0.05).all() and (m.conv[0].bias[:3] <= 0).all()
