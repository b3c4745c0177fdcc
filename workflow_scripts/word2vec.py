"""Stage ``word2vec``: fit DSSDA's 3-mer vectors (seed section 4.2.2) on a data set's training split.

Each training sequence is a sentence of its overlapping k-mers (598 3-mers of a 600 bp sequence;
vocabulary 4^3 = 64); gensim's word2vec fits CBOW with negative sampling, 16-d vectors, window 1
("the model should predict the one adjacent k-mer"). Only the **training** split is read, so
that validation and test sequences never shape the input of a model scored on them. A k-mer
window with an N is no word: the sentence is cut there (counted and logged; the encoding gives
such windows a zero vector). Outputs: the vectors file (:mod:`workflow_scripts.kmer_vectors`;
the ``kmer_vectors`` encoding's table, an input of training ``basset_w2v``) and a t-SNE map of the
64 vectors (the seed's Fig. 6).

Choices the seed leaves open (each an option): 5 epochs, negative 5 and the learning rate 0.025
to 0.0001 (gensim's defaults); no down-sampling of frequent words (``sample`` 0: with 64 words
every word is "frequent" and the default 1e-3 would drop most of the corpus); one worker thread,
so that a seed gives the same vectors (gensim's threads race); the seed's "mini-batch size of
16" has no counterpart in gensim's SGD, which updates after each word.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import torch

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.kmer_vectors import kmers, write_kmer_vectors
from workflow_scripts.loaders import SplitReader

log = cli.log.getChild("word2vec")


class KmerSentences:
    """Re-iterable corpus for gensim: each training sequence's k-mers, cut at windows with an N."""

    def __init__(self, reader: SplitReader, k: int):
        self.reader, self.k = reader, k
        self.words = np.array(kmers(k) + [""], dtype=object)     # index 4^k: a window with an N
        self.n_windows = self.skipped = 0

    def __iter__(self):
        from models.encodings import encode
        from tqdm import tqdm
        self.n_windows = self.skipped = 0
        for c in tqdm(range(self.reader.n_chunks), desc="word2vec pass (chunks)", leave=False, disable=None):
            index = encode("kmer_codes", torch.from_numpy(self.reader.chunk(c)["codes"]), k=self.k).numpy()
            self.n_windows += index.size
            for row in index:
                yield from self.sentences(row)

    def sentences(self, row: np.ndarray):
        gaps = np.flatnonzero(row == 4 ** self.k)
        self.skipped += len(gaps)
        for part in np.split(row, gaps) if len(gaps) else [row]:
            part = part[part < 4 ** self.k]
            if len(part) > 1:
                yield self.words[part].tolist()


def stable_hash(word: str) -> int:
    """gensim seeds each word's starting vector from a hash of it: Python's str hash differs
    between processes, this one does not."""
    return zlib.crc32(word.encode())


def fit_vectors(dataset: Path, k: int = 3, dim: int = 16, window: int = 1, negative: int = 5, epochs: int = 5,
                seed: int = 1) -> tuple[dict[str, np.ndarray], list[str]]:
    """The k-mer vectors of the training split, and provenance lines for the file."""
    from gensim.models import Word2Vec
    reader = SplitReader(dataset, "train")
    if reader.n == 0:
        raise InputError(f"{dataset}: the train split has no rows; no k-mer vectors can be fitted")
    corpus = KmerSentences(reader, k)
    model = Word2Vec(corpus, vector_size=dim, window=window, sg=0, hs=0, negative=negative, min_count=1,
                     sample=0, epochs=epochs, seed=seed, workers=1, hashfxn=stable_hash)
    missing = [m for m in kmers(k) if m not in model.wv.key_to_index]
    if missing:
        raise InputError(f"{dataset}: k-mer(s) {', '.join(missing[:5])} never occur in the train split; "
                         f"no vector can be fitted for them")
    log.info("%d sequences, %d %d-mer windows per epoch; %d with an N left out (%.3f %%)", reader.n,
             corpus.n_windows, k, corpus.skipped, 100 * corpus.skipped / max(corpus.n_windows, 1))
    provenance = [f"word2vec CBOW, negative sampling {negative}, {dim}-d, window {window}, {epochs} epochs, seed {seed} "
                  f"(gensim), k = {k}", f"fitted on the train split of {dataset} (build {build_id(dataset)}): "
                  f"{reader.n} sequences; {corpus.skipped} of {corpus.n_windows} windows with an N left out"]
    return {m: model.wv[m] for m in kmers(k)}, provenance


def plot_tsne(vectors: dict[str, np.ndarray], path: Path, seed: int = 0) -> None:
    """The seed's Fig. 6: the vectors mapped to 2-d by t-SNE, each point labelled with its k-mer
    and coloured by its G+C count."""
    from sklearn.manifold import TSNE

    from workflow_scripts.plots import plt, save_figure
    names = list(vectors)
    xy = TSNE(n_components=2, perplexity=min(15, len(names) - 1), init="pca", random_state=seed).fit_transform(
        np.stack([vectors[m] for m in names]))
    gc = [sum(b in "GC" for b in m) for m in names]
    fig, ax = plt.subplots(figsize=(7, 6))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=gc, cmap="viridis", s=30)
    for (x, y), name in zip(xy, names):
        ax.annotate(name, (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
    fig.colorbar(points, ax=ax, label="G + C in the k-mer")
    ax.set(title=f"t-SNE of the {len(names)} word2vec {len(names[0])}-mer vectors", xticks=[], yticks=[])
    save_figure(fig, path)


def main(args) -> None:
    vectors, provenance = fit_vectors(Path(args.dataset), args.k, args.dim, args.window, args.negative,
                                      args.epochs, args.seed)
    plot_tsne(vectors, Path(args.tsne))
    write_kmer_vectors(args.vectors, vectors, provenance)


def build_parser():
    p = cli.parser("Fit word2vec k-mer vectors (CBOW) on a data set's training split (DSSDA section 4.2.2).")
    p.add_argument("--dataset", required=True, help="results/datasets/{dataset}.h5")
    p.add_argument("--vectors", required=True, help="output vectors TSV (workflow_scripts/kmer_vectors.py)")
    p.add_argument("--tsne", required=True, help="output t-SNE map of the vectors (PNG)")
    p.add_argument("--k", type=int, default=3, help="k-mer length (seed: 3)")
    p.add_argument("--dim", type=int, default=16, help="vector size (seed: 16)")
    p.add_argument("--window", type=int, default=1, help="context window (seed: 1)")
    p.add_argument("--negative", type=int, default=5, help="noise words per word (seed: not given)")
    p.add_argument("--epochs", type=int, default=5, help="passes over the corpus (seed: not given)")
    p.add_argument("--seed", type=int, default=1)
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
