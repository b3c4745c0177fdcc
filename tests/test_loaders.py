"""Loading: epoch plans (deterministic, complete, resumable), worker- and rank-independence."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from conftest import write_toy_dataset
from workflow_scripts.loaders import (TRANSFER_BYTES, BatchStream, SplitReader, _BlockDataset, epoch_plan, read_ahead,
                                      labelled_mask, make_loader, split_block)
from workflow_scripts.sequence import encode, one_hot, reverse_complement


def test_plan_is_a_permutation_by_whole_chunks_and_a_function_of_seed_and_epoch():
    plan = epoch_plan(1000, 64, 50, shuffle=True, seed=1, epoch=3, buffer_chunks=4)
    rows = np.concatenate(plan)
    assert sorted(rows.tolist()) == list(range(1000)) and len(plan) == 20
    again = epoch_plan(1000, 64, 50, shuffle=True, seed=1, epoch=3, buffer_chunks=4)
    assert all((a == b).all() for a, b in zip(plan, again))
    other = epoch_plan(1000, 64, 50, shuffle=True, seed=1, epoch=4, buffer_chunks=4)
    assert not all((a == b).all() for a, b in zip(plan, other))
    # each batch draws from at most two blocks of 4 chunks: reads stay chunk-local
    for batch in plan:
        assert len(np.unique(batch // 64)) <= 8


def rows_of(loader):
    return [b["rows"].tolist() for b in loader]


def test_worker_count_and_skipping_do_not_change_the_order(tmp_path):
    path = write_toy_dataset(tmp_path / "d.h5", n={"train": 777, "valid": 10, "test": 10}, chunk_rows=32)
    reader = SplitReader(path, "train")
    stream = BatchStream(reader, 40, shuffle=True, seed=5)
    stream.set_epoch(2)
    single = rows_of(make_loader(stream, 0, False))
    three = rows_of(make_loader(stream, 3, False))
    assert single == three and len(single) == 20
    stream.set_epoch(2, skip_batches=7)
    assert rows_of(make_loader(stream, 2, False)) == single[7:]
    blocks = [list(split_block(b)) for b in stream.blocks(0, 1, 3)]   # 13 batches left: the last block short
    assert [len(b) for b in blocks] == [3, 3, 3, 3, 1]
    assert [b["rows"].tolist() for block in blocks for b in block] == single[7:]


def test_a_worker_hands_over_blocks_of_about_transfer_bytes(tmp_path):
    path = write_toy_dataset(tmp_path / "d.h5", n={"train": 100, "valid": 10, "test": 10}, length=200)
    stream = BatchStream(SplitReader(path, "train"), 16, shuffle=False)
    assert _BlockDataset(stream).batches_per_block == TRANSFER_BYTES // (16 * 200)


def test_ranks_split_each_global_batch(tmp_path):
    path = write_toy_dataset(tmp_path / "d.h5", n={"train": 300, "valid": 10, "test": 10}, chunk_rows=16)
    reader = SplitReader(path, "train")
    full = BatchStream(reader, 20, shuffle=True, seed=1)
    parts = [BatchStream(reader, 20, shuffle=True, seed=1, rank=r, world=2) for r in range(2)]
    for whole, a, b in zip(full, *parts):
        assert sorted(whole["rows"].tolist()) == sorted(a["rows"].tolist() + b["rows"].tolist())
        assert (whole["codes"][0::2] == a["codes"]).all() and (whole["labels"][1::2] == b["labels"]).all()


def test_batches_carry_the_right_rows(tmp_path):
    path = write_toy_dataset(tmp_path / "d.h5", chunk_rows=32)
    reader = SplitReader(path, "valid")
    batch = next(iter(BatchStream(reader, 25, shuffle=True, seed=2)))
    import h5py
    from workflow_scripts.dataset_layout import unpack_labels
    with h5py.File(path) as f:
        seq, labels = f["valid"]["seq"][:], unpack_labels(f["valid"]["labels"][:], 3)
    assert (batch["codes"] == seq[batch["rows"]]).all() and (batch["labels"] == labels[batch["rows"]]).all()


def test_labelled_fraction_is_fixed():
    a, b = labelled_mask(10_000, 0.1, 3), labelled_mask(10_000, 0.1, 3)
    assert (a == b).all() and 0.08 < a.mean() < 0.12 and labelled_mask(5, 1.0, 0).all()


def test_encodings():
    codes = encode("ACGTNacgt")
    assert reverse_complement(codes).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3]
    x = one_hot(torch.tensor(codes)[None])
    assert x.shape == (1, 4, 9) and x[0, :, 4].tolist() == [0.25] * 4 and x[0, :, 2].tolist() == [0, 0, 1, 0]


def test_read_ahead_keeps_order_raises_the_producers_error_and_stops_early():
    assert list(read_ahead(iter(range(50)), depth=3)) == list(range(50))
    produced = []

    def numbers():
        for i in range(10_000):
            produced.append(i)
            yield i

    for i in read_ahead(numbers(), depth=2):
        if i == 5:
            break
    assert len(produced) <= 5 + 1 + 2 + 1                     # stopped a few items ahead, not at the end
    assert not any(t.name.startswith("Thread") and t.is_alive() for t in threading.enumerate()
                   if t is not threading.current_thread() and t.daemon)

    def failing():
        yield 1
        raise ValueError("line 7 of the input")

    with pytest.raises(ValueError, match="line 7"):
        list(read_ahead(failing()))


def test_read_ahead_returns_when_the_consumer_fails_after_the_producer_finished():
    """The producer waits to hand over its end (the queue full) while the consumer fails: the
    consumer's error must come out, not a hang (as a device error in the last chunks would)."""
    outcome = []

    def consume():
        try:
            for _ in read_ahead(iter(range(3)), depth=2):
                time.sleep(0.3)                                   # the producer is done by now
                raise RuntimeError("CUDA out of memory")
        except RuntimeError as error:
            outcome.append(str(error))

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive() and outcome == ["CUDA out of memory"]


def test_a_labelled_only_stream_keeps_the_epochs_order_without_the_unlabelled_rows(tmp_path):
    """A supervised model at a label fraction reads only its labelled rows, in full batches, in the
    order the whole split's epoch would have them; ranks still split each global batch."""
    path = write_toy_dataset(tmp_path / "d.h5", n={"train": 500, "valid": 10, "test": 10}, chunk_rows=16)
    reader = SplitReader(path, "train")
    labelled = labelled_mask(reader.n, 0.3, 4)
    whole = np.concatenate(rows_of(BatchStream(reader, 20, shuffle=True, seed=4, labelled=labelled)))
    only = BatchStream(reader, 20, shuffle=True, seed=4, labelled=labelled, labelled_only=True)
    batches = rows_of(only)
    assert np.concatenate(batches).tolist() == whole[labelled[whole]].tolist()
    assert all(len(b) == 20 for b in batches[:-1]) and len(batches) == -(-int(labelled.sum()) // 20)
    parts = [BatchStream(reader, 20, shuffle=True, seed=4, labelled=labelled, labelled_only=True, rank=r, world=2)
             for r in range(2)]
    assert [sorted(a + b) for a, b in zip(*map(rows_of, parts))] == [sorted(b) for b in batches]
    assert len(BatchStream(reader, 20, shuffle=True, seed=4, labelled=np.ones(500, bool), labelled_only=True)) == 25
