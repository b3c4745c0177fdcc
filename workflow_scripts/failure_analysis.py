"""Stage ``failure_analysis``: SuperQ's failure, measured (Löverli & Gupta 2018, the seed's
discussion), for a data set with an autoencoder model (``reconstructs_input``).

The seed's autoencoder never left chance at reconstructing its one-hot input, and its forest's
accuracy of ~98 % hid that: with ~2 % positives the all-zeros predictor scores as much (that
half of the analysis is DanQ's Table S1, the accuracy_table stage, made for every data set).
Here, on the test split:

* ``reconstruction.tsv`` — per autoencoder: per-base reconstruction accuracy (argmax of the
  decoded logits against the input base; N bases left out) next to chance (0.25) and to the
  trivial reconstruction that writes the training split's most frequent base everywhere;
  ``rows`` test windows read (the first ``max_rows``, in genome order).
* ``failure_analysis.png`` — the same as bars.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workflow_scripts import cli
from workflow_scripts.inference import default_device, load_trained
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import BatchStream, SplitReader, make_loader
from workflow_scripts.plots import plt, save_figure

log = cli.log.getChild("failure_analysis")
ROWS_PER_READ = 1 << 14
BASES = "ACGT"


def base_counts(reader: SplitReader, max_rows: int) -> np.ndarray:
    """Counts of A, C, G, T (N left out) in the first ``max_rows`` rows of a split."""
    counts = np.zeros(5, np.int64)
    for lo in range(0, min(reader.n, max_rows), ROWS_PER_READ):
        codes = reader.read(np.arange(lo, min(reader.n, max_rows, lo + ROWS_PER_READ)))["codes"]
        counts += np.bincount(codes.ravel(), minlength=5)
    return counts[:4]


@torch.no_grad()
def reconstruction_accuracy(model, reader: SplitReader, device, max_rows: int, batch_size: int = 256) -> float:
    """Share of the (non-N) input bases the autoencoder's argmax reconstruction gets right."""
    stream = BatchStream(reader, batch_size, shuffle=False, max_batches=-(-max_rows // batch_size))
    right = total = 0
    for batch in make_loader(stream, 0, False):
        codes = batch["codes"].to(device)
        guess = model.reconstruct(model.encode(codes)).argmax(1)
        known = codes < 4
        right += int((guess == codes)[known].sum())
        total += int(known.sum())
    return right / max(1, total)


def reconstruction_table(models: dict[str, tuple[Path, Path]], dataset: Path, max_rows: int) -> pd.DataFrame:
    device = default_device()
    test, train = SplitReader(dataset, "test"), SplitReader(dataset, "train")
    train_bases, test_bases = base_counts(train, max_rows), base_counts(test, max_rows)
    most = int(train_bases.argmax())
    rows = []
    for name, (weights, meta) in models.items():
        model, _ = load_trained(weights, meta, device, dataset)
        rows.append({"model": name, "reconstruction_accuracy": reconstruction_accuracy(model, test, device, max_rows),
                     "chance": 0.25, "most_frequent_base": BASES[most],
                     "most_frequent_base_accuracy": test_bases[most] / max(1, test_bases.sum()),
                     "rows": min(test.n, max_rows)})
    return pd.DataFrame(rows)


def plot_failure(recon: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(5 + 0.6 * len(recon), 4))
    names = list(recon["model"]) + ["most frequent base", "chance"]
    values = list(recon["reconstruction_accuracy"]) + [recon["most_frequent_base_accuracy"].iloc[0], 0.25]
    ax.bar(names, values, color=["C0"] * len(recon) + ["C7", "C7"])
    ax.set(ylim=(0, 1), ylabel="per-base reconstruction accuracy (test)", title=f"{title}: the autoencoder")
    fig.tight_layout()
    save_figure(fig, path)


def main(args) -> None:
    dataset = Path(args.dataset)
    recon = reconstruction_table({n: (Path(w), Path(m)) for n, w, m in zip(args.autoencoders, args.weights, args.meta)},
                                 dataset, args.max_rows)
    with atomic_output(Path(args.reconstruction)) as tmp:
        recon.to_csv(tmp, sep="\t", index=False, float_format="%.4f")
    plot_failure(recon, Path(args.plot), args.name)
    for _, r in recon.iterrows():
        log.info("%s reconstructs %.4f of bases (chance 0.25, most frequent base %.4f)", r["model"],
                 r["reconstruction_accuracy"], r["most_frequent_base_accuracy"])


def build_parser():
    p = cli.parser("SuperQ's failure analysis: the autoencoder's reconstruction against chance.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--name", required=True, help="the data set's name")
    p.add_argument("--autoencoders", nargs="+", required=True, help="models that reconstruct their input")
    p.add_argument("--weights", nargs="+", required=True, help="weights.pt per autoencoder, same order")
    p.add_argument("--meta", nargs="+", required=True, help="model.json per autoencoder, same order")
    p.add_argument("--max-rows", type=int, default=20_000, help="test windows reconstructed")
    p.add_argument("--reconstruction", required=True, help="output: reconstruction.tsv")
    p.add_argument("--plot", required=True, help="output: failure_analysis.png")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
