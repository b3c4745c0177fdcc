"""Which layouts of Gupta's six per-nucleotide models give Table 8.2.1's parameter counts (thesis
chapter 8, Appendix E.2, Tables 8.2.1 and 8.3.1, ../shared/seeds/001_1a5e2163ee93479e.txt).

The thesis gives filter counts and d_hidden only as search ranges (Table 8.3.1) and leaves
conventions open. For each model this enumerates the layouts consistent with the text (filter
counts from the ranges, d_hidden, kernel widths, the deconvolution's width, strides, ...) under
every convention (919 or 917 outputs, a 4-dimensional embedding or one-hot input, biases in the
convolutions and in the head's hidden layer or not, batch normalisation with or without affine
parameters or none), and prints the exact hits and, where nothing hits at the text's 919 outputs,
the nearest. Then it checks that each model of config/models.yaml has the count it states.

    python benchmarks/nuc25k_counts.py

Result: at 919 outputs nothing hits any of the six; at 917 each hits exactly with the default
layout of Gupta's code (harvardnlp/regulatory-prediction models.py: kernel width 10, biases
everywhere, no trainable normalisation), which models/ builds.
"""
from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COUNTS = {"conv1": 136_935, "conv3_nuc": 554_675, "conv7": 654_875, "dilated": 629_825,
          "bilstm_nuc": 397_155, "id_cnn": 632_487}                     # Table 8.2.1
CONVENTIONS = {"outputs": (919, 917), "input": ("embedding 4", "one-hot"), "conv_bias": (True, False),
               "norm": ("none", "batch, affine", "batch, not affine"), "head_bias": (True, False)}
F1, F2, F3, HIDDEN = (64, 128), (120, 240), (50, 128), (125, 200)       # Table 8.3.1, convolutions
KERNELS = (3, 10)


def conv(inputs: int, filters: int, width: int, c: dict, normalised: int = 1) -> int:
    """A convolution or deconvolution with its batch normalisation (``normalised``: how many
    separately normalised applications share its weights)."""
    bias = filters if c["conv_bias"] else 0
    norm = 2 * filters * normalised if c["norm"] == "batch, affine" else 0
    return width * inputs * filters + bias + norm


def stem(c: dict) -> int:
    return 5 * 4 if c["input"] == "embedding 4" else 0       # either way 4 input channels


def head(channels: int, hidden: int, c: dict) -> int:
    return channels * hidden + (hidden if c["head_bias"] else 0) + (hidden + 1) * c["outputs"]


def chain(channels: list[int], width: int, c: dict) -> int:
    return sum(conv(a, b, width, c) for a, b in zip(channels, channels[1:]))


# ---------------------------------------------------------------- layouts: (description, count(c))
def conv1_layouts():
    for f1, hidden in product(F1, HIDDEN):      # E.2: one convolution of width 10, same padding
        yield dict(f1=f1, hidden=hidden), lambda c, f1=f1, h=hidden: stem(c) + conv(4, f1, 10, c) + head(f1, h, c)


def stacked_layouts(middle: int, plain_too: bool = False):
    """A strided convolution (width = stride = 10), ``middle`` convolutions (f2, then f3), a
    deconvolution to f3; with ``plain_too`` also the same layers without striding (Conv3)."""
    for f1, f2, f3, hidden, kernel, up in product(F1, F2, F3, HIDDEN, KERNELS, (10, 20)):
        channels = [f1, f2] + [f3] * (middle - 1)

        def count(c, ch=channels, f3=f3, h=hidden, k=kernel, up=up):
            return stem(c) + conv(4, ch[0], 10, c) + chain(ch, k, c) + conv(ch[-1], f3, up, c) + head(f3, h, c)
        yield dict(layout="strided", f=(f1, f2, f3), hidden=hidden, kernel=kernel, deconvolution_width=up), count
    if plain_too:
        for f1, f2, f3, hidden, kernel in product(F1, F2, F3, HIDDEN, KERNELS):
            def count(c, ch=(4, f1, f2, f3), h=hidden, k=kernel):
                return stem(c) + chain(list(ch), k, c) + head(ch[-1], h, c)
            yield dict(layout="plain", f=(f1, f2, f3), hidden=hidden, kernel=kernel), count


def bilstm_layouts():
    """Table 8.3.1's LSTM column: f1 128, f2 (units) {20, 40, 80}, f3 {50, 128}, d_hidden
    {64, 125, 200}, stride {10, 20, 50, 100}; the convolution 10 wide (text) or as wide as the
    stride; one bias per gate (TensorFlow, Keras) or two (PyTorch)."""
    for f2, f3, hidden, stride, width, biases in product((20, 40, 80), F3, (64, 125, 200), (10, 20, 50, 100),
                                                        ("10", "stride"), (1, 2)):
        def count(c, u=f2, f3=f3, h=hidden, s=stride, w=10 if width == "10" else stride, b=biases):
            lstm = 2 * (4 * u * (128 + u) + b * 4 * u)
            return stem(c) + conv(4, 128, w, c) + lstm + conv(2 * u, f3, s, c) + head(f3, h, c)
        yield dict(units=f2, f3=f3, hidden=hidden, stride=stride, conv_width=width, lstm_biases=biases), count


def id_cnn_layouts():
    """A first convolution, then one block applied 3 times with shared weights (batch
    normalisation per application): his block (a strided convolution of f1, three dilated ones,
    f2 then f3, a deconvolution to f1) or Strubell et al.'s (five dilated convolutions of f1).
    Filter counts: Table 8.3.1's and his code's (f1 50, f3 80)."""
    for first, f1, hidden, kernel in product((10, 20), (50, 64, 128), HIDDEN, KERNELS):
        for f2, f3, stride in product(F2, (50, 80, 128), (10, 20)):
            def count(c, w0=first, f=(f1, f2, f3), h=hidden, k=kernel, s=stride):
                f1, f2, f3 = f
                block = (conv(f1, f1, s, c, 3) + conv(f1, f2, k, c, 3) + conv(f2, f3, k, c, 3)
                         + conv(f3, f3, k, c, 3) + conv(f3, f1, s, c, 3))
                return stem(c) + conv(4, f1, w0, c) + block + head(f1, h, c)
            yield dict(block="strided", first_width=first, f=(f1, f2, f3), kernel=kernel, stride=stride,
                       hidden=hidden), count

        def strubell(c, w0=first, f1=f1, h=hidden, k=kernel):
            return stem(c) + conv(4, f1, w0, c) + 5 * conv(f1, f1, k, c, 3) + head(f1, h, c)
        yield dict(block="five dilated", first_width=first, f1=f1, kernel=kernel, hidden=hidden), strubell


LAYOUTS = {"conv1": conv1_layouts, "conv3_nuc": lambda: stacked_layouts(1, plain_too=True),
           "conv7": lambda: stacked_layouts(5), "dilated": lambda: stacked_layouts(4),
           "bilstm_nuc": bilstm_layouts, "id_cnn": id_cnn_layouts}


def search(name: str) -> tuple[int, list[str], tuple[int, str]]:
    """(layouts tried, exact hits, nearest at 919 outputs) for one model."""
    target, tried, hits, nearest = COUNTS[name], 0, [], (sys.maxsize, "")
    for layout, count in LAYOUTS[name]():
        for values in product(*CONVENTIONS.values()):
            c = dict(zip(CONVENTIONS, values))
            n, tried = count(c), tried + 1
            described = f"{c} {layout}"
            if n == target:
                hits.append(described)
            elif c["outputs"] == 919 and abs(n - target) < abs(nearest[0] - target):
                nearest = (n, described)
    return tried, hits, nearest


def check_config() -> list[str]:
    """Each Task 2 model of config/models.yaml built at its stated targets has its stated count."""
    import yaml

    from models import build_model, n_parameters
    zoo = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())["models"]
    wrong = []
    for name, entry in zoo.items():
        if entry["family"] in ("dilated", "bilstm_nuc", "id_cnn"):
            count = entry["parameters"]
            got = n_parameters(build_model(entry["family"], count["targets"], 25_000, **entry["args"]))
            print(f"config {name}: {got:,} parameters at {count['targets']} targets (states {count['count']:,})")
            wrong += [name] if got != count["count"] else []
    return wrong


def main() -> int:
    for name in COUNTS:
        tried, hits, (n, described) = search(name)
        print(f"\n{name}: Table 8.2.1 {COUNTS[name]:,}; {tried:,} layouts x conventions tried, {len(hits)} exact")
        for hit in hits:
            print("  exact:", hit)
        if not any("'outputs': 919" in hit for hit in hits):
            print(f"  nearest at 919 outputs: {n:,} ({n - COUNTS[name]:+,}) {described}")
    print()
    wrong = check_config()
    if wrong:
        print("config counts wrong:", ", ".join(wrong))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
