"""Which layouts of Gupta's Dilated6 give its parameter count, 8,043,759 (thesis Table 7.2.1,
Appendix E.1, ../shared/seeds/001_1a5e2163ee93479e.txt)?

The thesis says only: Dilated3 (Conv3's layout — width-8 convolutions, max-pool 4 after the
first two, a 919-unit hidden layer, 919 outputs — with dilations growing by 3 per layer and fewer
filters) plus "3 additional dilated convolutional layers, before adding the fully-connected
layers", with fewer filters per convolution. Dilated3's count is hit exactly by 120/240/360
filters with same padding (config/models.yaml), so those conventions are kept: same padding
(dilation adds no parameters), biases everywhere, no affine batch normalisation, 919 hidden and
919 outputs. The unknowns are the six filter counts and how many max-pools (sequence length
after the convolutions: 2 pools -> 62 as Dilated3, or 1 -> 250, 3 -> 15). For every
non-decreasing f1..f5 from the "round" values (multiples of 8 or 10 up to 480, where the count
allows) the count fixes f6 exactly; this prints every integer solution with f6 >= f5, and the
layouts of a few named families (all equal; Dilated3's 1:2:3 repeated; 1:2:3:4:5:6):

    python benchmarks/dilated6_counts.py

Result (2026-11-23): with Dilated3's two pools (length 62, what "adds 3 convolutions before the
fully-connected layers" implies) one round layout hits, 10/20/30/40/88/124 — no pattern the text
suggests; with one pool none; with three pools 1,651 arbitrary ones (not enumerated by default).
Nearest of the named families at two pools: six equal convolutions of 117 (8,064,831, +21,072).
So no layout consistent with the text is identified; ``dilated6`` (config/models.yaml) takes the
nearest plausible one, six convolutions of 117, and says so.
"""
from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np

TARGET, WIDTH, HIDDEN, OUTPUTS = 8_043_759, 8, 919, 919
HEAD = HIDDEN + HIDDEN * OUTPUTS + OUTPUTS                  # hidden bias, output layer
ROUND = np.array(sorted(set(range(8, 481, 8)) | set(range(10, 481, 10))), np.int64)


def count(filters: tuple[int, ...], length: int) -> int:
    inputs = (4,) + tuple(filters[:-1])
    return sum(WIDTH * i * f + f for i, f in zip(inputs, filters)) + filters[-1] * length * HIDDEN + HEAD


def exact_sixth(first_five: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For rows of f1..f5, the f6 that hits the count (where it is a whole number >= f5)."""
    inputs = np.column_stack([np.full(len(first_five), 4), first_five[:, :-1]])
    before = (WIDTH * inputs * first_five + first_five).sum(1)
    per_f6 = WIDTH * first_five[:, -1] + 1 + length * HIDDEN
    rest = TARGET - HEAD - before
    ok = (rest > 0) & (rest % per_f6 == 0)
    f6 = rest // per_f6
    ok &= f6 >= first_five[:, -1]
    return first_five[ok], f6[ok]


def main() -> None:
    for pools, length in ((1, 250), (2, 62), (3, 15)):
        print(f"{pools} max-pool(s), length {length}:")
        if pools < 3:          # three pools leave f6 up to 480 and 75 M tuples: 1,651 arbitrary hits (7 min)
            budget = (TARGET - HEAD) // (length * HIDDEN)          # f6 cannot exceed this
            rows = np.array(list(combinations_with_replacement(ROUND[ROUND <= budget], 5)), np.int64)
            five, six = exact_sixth(rows, length)
            print(f"    {len(five)} exact non-decreasing layouts with f1..f5 round (of {len(rows):,} tried)")
            for f, f6 in zip(five, six):
                print("   ", tuple(int(x) for x in f) + (int(f6),))
        families = {"equal": lambda a: (a,) * 6, "1:2:3 twice": lambda a: (a, 2 * a, 3 * a) * 2,
                    "1..6": lambda a: tuple(a * k for k in range(1, 7))}
        for name, shape in families.items():
            best = min(range(1, 400), key=lambda a: abs(count(shape(a), length) - TARGET))
            print(f"    family {name}: nearest {shape(best)} -> {count(shape(best), length):,} "
                  f"({count(shape(best), length) - TARGET:+,})")


if __name__ == "__main__":
    main()
