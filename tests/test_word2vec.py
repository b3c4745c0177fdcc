"""DSSDA's word2vec 3-mer input: the fitting stage (workflow_scripts/word2vec.py), the vectors
file (workflow_scripts/kmer_vectors.py) and the fitted ``kmer_vectors`` encoding (models/encodings.py)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from conftest import kmer_vectors_file, write_toy_dataset
from models import build_model
from models.encodings import encode
from workflow_scripts.cli import InputError
from workflow_scripts.kmer_vectors import kmers, read_kmer_vectors
from workflow_scripts.word2vec import KmerSentences, fit_vectors, plot_tsne


def test_vectors_are_fitted_on_the_training_split_only_and_reproducibly(tmp_path):
    small = write_toy_dataset(tmp_path / "a.h5", {"train": 30, "valid": 4, "test": 4}, length=600)
    other = write_toy_dataset(tmp_path / "b.h5", {"train": 30, "valid": 4, "test": 4}, length=600)
    with h5py.File(other, "r+") as f:              # other validation and test sequences, same training split
        for split in ("valid", "test"):
            f[split]["seq"][...] = (f[split]["seq"][...] + 1) % 4
    first, provenance = fit_vectors(small, epochs=1)
    assert list(first) == kmers(3) and first["ACG"].shape == (16,)
    assert any("train split" in line and "30 sequences" in line for line in provenance)
    second, _ = fit_vectors(other, epochs=1)
    assert all(np.array_equal(first[m], second[m]) for m in first)
    with h5py.File(other, "r+") as f:
        f["train"]["seq"][0, :50] = 0              # a training sequence changes: the vectors do
    third, _ = fit_vectors(other, epochs=1)
    assert any(not np.array_equal(first[m], third[m]) for m in first)

    plot_tsne(first, tmp_path / "tsne.png")
    assert (tmp_path / "tsne.png").read_bytes()[:4] == b"\x89PNG"


def test_sentences_are_cut_where_a_window_holds_an_n(tmp_path):
    corpus = KmerSentences(None, 3)
    row = encode("kmer_codes", torch.tensor([[0, 1, 2, 3, 4, 0, 0, 0, 1]], dtype=torch.uint8), k=3)[0].numpy()
    assert list(corpus.sentences(row)) == [["ACG", "CGT"], ["AAA", "AAC"]]
    assert corpus.skipped == 3


def test_the_encoding_looks_each_kmer_up_in_the_fitted_table():
    table = read_kmer_vectors(kmer_vectors_file())
    assert table.shape == (65, 16) and not table[-1].any()
    codes = torch.tensor([[0, 1, 2, 3, 4, 3]], dtype=torch.uint8)        # ACG CGT GTN TNT
    x = encode("kmer_vectors", codes, table=table)
    assert x.shape == (1, 16, 4)
    torch.testing.assert_close(x[0, :, 0], table[kmers(3).index("ACG")])
    torch.testing.assert_close(x[0, :, 1], table[kmers(3).index("CGT")])
    assert not x[0, :, 2:].any()                                         # windows with an N: zeros


def test_a_fitted_encoding_needs_its_file_and_no_other_family_takes_one():
    model = build_model("basset_w2v", 3, 600, encoding_file=str(kmer_vectors_file()), conv_filters=[4, 4, 4],
                        hidden=[8, 8])
    assert model.trunk[0].conv.in_channels == 16 and model.input_window == 3
    assert "encoding_table" in model.state_dict()                         # saved with the weights
    with pytest.raises(ValueError, match="encoding_file"):
        build_model("basset_w2v", 3, 600)
    with pytest.raises(ValueError, match="reads no file"):
        build_model("basset", 3, 600, encoding_file=str(kmer_vectors_file()))


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[:-1], "needs one row for each"),
    (lambda lines: lines[:-1] + [lines[-1].replace("\t", "\tx", 1)], ":67: not a number"),
    (lambda lines: lines + [lines[-1]], ":68: expected a new k-mer"),
])
def test_a_bad_vectors_file_is_refused_with_its_line(tmp_path, edit, message):
    lines = kmer_vectors_file().read_text().splitlines()
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join(edit(lines)) + "\n")
    with pytest.raises(InputError, match=message):
        read_kmer_vectors(bad)
