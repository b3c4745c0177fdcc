"""Loading the data set files for training, evaluation and motif extraction.

One :class:`SplitReader` per (file, split) reads whole HDF5 row chunks; :class:`BatchStream`
turns it into batches for a ``torch.utils.data.DataLoader`` (``batch_size=None``):

* the order of an epoch is a pure function of (seed, epoch): the row chunks are shuffled, then
  the rows of each block of ``buffer_chunks`` chunks are shuffled together and cut into global
  batches. Random access therefore reads whole chunks (throughput does not collapse), and a
  resumed run can skip the batches it already did without reading them;
* the DataLoader moves blocks of consecutive global batches (about ``TRANSFER_BYTES`` of
  sequence each), not single batches: worker ``w`` of ``W`` reads blocks ``w, w + W, ...``, the
  DataLoader hands them out round-robin and :func:`make_loader` cuts them into the batches again,
  so the order does not depend on the number of workers, and the per-transfer cost of worker
  processes (a shared-memory segment per array) is paid once per block, not once per batch;
* under DistributedDataParallel, rank ``r`` of ``R`` takes rows ``r::R`` of every global batch:
  the ranks together see exactly the global batch a single process would.

A batch is a dict of arrays (numpy from a :class:`BatchStream`, tensors from
:func:`make_loader`): ``codes`` (B, L) uint8, ``rows`` (B,) int64, ``labelled``
(B,) bool and either ``labels`` (B, T) uint8 or, for per-nucleotide data, ``intervals``
(M, 4) int32 = (batch row, target, start, end); :func:`dense_labels` makes (B, T, L) on the device.
"""
from __future__ import annotations

import signal
import threading
from collections import OrderedDict
from pathlib import Path
from queue import Full, Queue
from typing import Iterable, Iterator

import h5py
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from workflow_scripts.dataset_layout import unpack_labels

TRANSFER_BYTES = 4 << 20      # sequence bytes per block a loader worker hands over


class SplitReader:
    """Chunk-wise reader of one split of a data set file (opened lazily, once per process)."""

    def __init__(self, path: str | Path, split: str):
        self.path, self.split = str(path), split
        with h5py.File(self.path, "r") as f:
            g = f[split]
            self.n = int(g["start"].shape[0])
            self.seq_length = int(f.attrs["seq_length"])
            self.targets = [str(t) for t in f.attrs["targets"]]
            self.categories = [str(c) for c in f.attrs["categories"]]
            self.per_nucleotide = str(f.attrs["label_layout"]) == "intervals"
            self.chunk_rows = int(g["seq"].chunks[0]) if self.n else 1
            self.interval_ptr = g["interval_ptr"][:] if self.per_nucleotide else None
        self._file = None
        self._cache: OrderedDict[int, dict] = OrderedDict()
        self.cache_chunks = 16

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"], state["_cache"] = None, OrderedDict()
        return state

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_rows)

    def _group(self):
        if self._file is None:
            self._file = h5py.File(self.path, "r")
        return self._file[self.split]

    def chunk(self, c: int) -> dict:
        """Rows of chunk ``c`` (cached: a shuffle block re-reads nothing)."""
        if c in self._cache:
            self._cache.move_to_end(c)
            return self._cache[c]
        g = self._group()
        lo, hi = c * self.chunk_rows, min(self.n, (c + 1) * self.chunk_rows)
        data = {"codes": g["seq"][lo:hi]}
        if self.per_nucleotide:
            a, b = self.interval_ptr[lo], self.interval_ptr[hi]
            data["intervals"] = g["intervals"][a:b]
        else:
            data["labels"] = g["labels"][lo:hi]
        self._cache[c] = data
        if len(self._cache) > self.cache_chunks:
            self._cache.popitem(last=False)
        return data

    def read(self, rows: np.ndarray) -> dict:
        """Rows in the given order (any order; each needed chunk is read once)."""
        chunks = rows // self.chunk_rows
        codes = np.empty((len(rows), self.seq_length), np.uint8)
        labels, pieces = None, []
        for c in np.unique(chunks):
            at = np.flatnonzero(chunks == c)
            data = self.chunk(int(c))
            local = rows[at] - c * self.chunk_rows
            codes[at] = data["codes"][local]
            if self.per_nucleotide:
                base = self.interval_ptr[c * self.chunk_rows]
                for i, r in zip(at, rows[at]):
                    a, b = self.interval_ptr[r] - base, self.interval_ptr[r + 1] - base
                    iv = data["intervals"][a:b]
                    pieces.append(np.column_stack([np.full(len(iv), i, np.int32), iv]))
            else:
                if labels is None:
                    labels = np.empty((len(rows), data["labels"].shape[1]), np.uint8)
                labels[at] = data["labels"][local]
        out = {"codes": codes, "rows": rows.astype(np.int64)}
        if self.per_nucleotide:
            out["intervals"] = np.concatenate(pieces) if pieces else np.zeros((0, 4), np.int32)
        else:
            out["labels"] = unpack_labels(labels, len(self.targets)) if labels is not None else \
                np.zeros((0, len(self.targets)), np.uint8)
        return out


def epoch_plan(n: int, chunk_rows: int, batch_size: int, *, shuffle: bool, seed: int, epoch: int,
               buffer_chunks: int = 8, drop_last: bool = False) -> list[np.ndarray]:
    """Global batches (row index arrays) of one epoch; a pure function of its arguments."""
    if not shuffle:
        order = np.arange(n)
    else:
        rng = np.random.default_rng([seed, epoch])
        chunk_order = rng.permutation(-(-n // chunk_rows))
        blocks = []
        for i in range(0, len(chunk_order), buffer_chunks):
            rows = np.concatenate([np.arange(c * chunk_rows, min(n, (c + 1) * chunk_rows))
                                   for c in chunk_order[i:i + buffer_chunks]])
            blocks.append(rng.permutation(rows))
        order = np.concatenate(blocks) if blocks else np.zeros(0, np.int64)
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def labelled_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    """Which training rows keep their labels in semi-supervised runs (fixed for a seed)."""
    if fraction >= 1:
        return np.ones(n, dtype=bool)
    return np.random.default_rng([seed, 7]).random(n) < fraction


class BatchStream:
    """Batches of one split for one epoch; see the module docstring for order guarantees."""

    def __init__(self, reader: SplitReader, batch_size: int, *, shuffle: bool, seed: int = 0,
                 buffer_chunks: int = 8, rank: int = 0, world: int = 1, labelled: np.ndarray | None = None,
                 labelled_only: bool = False, drop_last: bool = False, max_batches: int | None = None,
                 rows: np.ndarray | None = None):
        self.reader, self.batch_size, self.shuffle, self.seed = reader, batch_size, shuffle, seed
        self.buffer_chunks, self.rank, self.world, self.drop_last = buffer_chunks, rank, world, drop_last
        self.max_batches = max_batches
        self.rows = rows            # only these rows, in this order (a sample), instead of the split
        # semi-supervised runs (labelled_mask): which rows keep their labels; labelled_only skips the
        # others (a supervised model learns nothing from them, and its batch norm must not see them)
        self.labelled = np.ones(reader.n, dtype=bool) if labelled is None else labelled
        self.labelled_only = labelled_only and not self.labelled.all()
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    def plan(self) -> list[np.ndarray]:
        if self.rows is not None:
            return [self.rows[i:i + self.batch_size] for i in range(0, len(self.rows), self.batch_size)]
        plan = epoch_plan(self.reader.n, self.reader.chunk_rows, self.batch_size, shuffle=self.shuffle,
                          seed=self.seed, epoch=self.epoch, buffer_chunks=self.buffer_chunks,
                          drop_last=self.drop_last)
        if self.labelled_only:      # the same order without the unlabelled rows, cut again into batches
            order = np.concatenate(plan) if plan else np.zeros(0, np.int64)
            order = order[self.labelled[order]]
            stop = len(order) - (len(order) % self.batch_size if self.drop_last else 0)
            plan = [order[i:i + self.batch_size] for i in range(0, stop, self.batch_size)]
        return plan[:self.max_batches] if self.max_batches else plan

    def __len__(self) -> int:
        return len(self.plan()) - self.skip

    def blocks(self, worker: int, workers: int, batches_per_block: int) -> Iterator[dict]:
        """Blocks ``worker, worker + workers, ...`` of ``batches_per_block`` consecutive batches,
        each read at once; ``sizes`` holds the batch sizes to cut it up again (:func:`split_block`)."""
        plan = self.plan()[self.skip:]
        for first in range(worker * batches_per_block, len(plan), workers * batches_per_block):
            batches = [rows[self.rank::self.world] for rows in plan[first:first + batches_per_block]]
            rows = np.concatenate(batches)
            block = self.reader.read(rows)
            block["labelled"] = self.labelled[rows]
            block["sizes"] = np.array([len(b) for b in batches], np.int64)
            yield block

    def __iter__(self) -> Iterator[dict]:
        for block in self.blocks(0, 1, 1):
            del block["sizes"]
            yield block


def split_block(block: dict) -> Iterator[dict]:
    """The batches of a block (numpy arrays or tensors); interval rows renumbered per batch."""
    sizes = [int(n) for n in block["sizes"]]
    start = 0
    for size in sizes:
        stop = start + size
        batch = {k: v[start:stop] for k, v in block.items() if k not in ("sizes", "intervals")}
        if "intervals" in block:
            iv = block["intervals"]
            part = iv[(iv[:, 0] >= start) & (iv[:, 0] < stop)]    # boolean indexing copies
            part[:, 0] -= start
            batch["intervals"] = part
        yield batch
        start = stop


class _BlockDataset(IterableDataset):
    """What a DataLoader worker iterates: its share of a stream's blocks."""

    def __init__(self, stream: BatchStream):
        self.stream = stream
        row_bytes = max(1, stream.batch_size * stream.reader.seq_length)
        self.batches_per_block = max(1, TRANSFER_BYTES // row_bytes)

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        return self.stream.blocks(worker, workers, self.batches_per_block)


def dense_labels(intervals: torch.Tensor, batch: int, n_targets: int, length: int) -> torch.Tensor:
    """(M, 4) = (row, target, start, end) intervals -> (B, T, L) float 0/1, on their device."""
    marks = torch.zeros(batch * n_targets * (length + 1), device=intervals.device, dtype=torch.int16)
    if len(intervals):
        iv = intervals.long()
        base = (iv[:, 0] * n_targets + iv[:, 1]) * (length + 1)
        ones = torch.ones(len(iv), device=iv.device, dtype=torch.int16)
        marks.index_add_(0, base + iv[:, 2], ones)
        marks.index_add_(0, base + iv[:, 3], -ones)
    covered = marks.view(batch, n_targets, length + 1).cumsum(-1, dtype=torch.int16)
    return covered[..., :length].gt(0).float()


def batch_targets(batch: dict, reader: SplitReader, device) -> torch.Tensor:
    """A batch's labels as float 0/1 on ``device``: (B, T), or (B, T, L) per nucleotide."""
    if reader.per_nucleotide:
        return dense_labels(batch["intervals"].to(device, non_blocking=True), len(batch["codes"]),
                            len(reader.targets), reader.seq_length)
    return batch["labels"].to(device, non_blocking=True).float()


def _ignore_stop_signals(_worker: int) -> None:
    # SLURM signals the whole job; the main process checkpoints, workers must not die first
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)


def make_loader(stream: BatchStream, workers: int, pin_memory: bool) -> Iterator[dict]:
    """The stream's batches as tensors, read by ``workers`` processes (0: this one)."""
    # A private generator: otherwise every new iterator draws its seed from the global RNG,
    # which would shift dropout masks between an uninterrupted and a resumed run.
    loader = torch.utils.data.DataLoader(_BlockDataset(stream), batch_size=None, num_workers=workers,
                                         pin_memory=pin_memory, persistent_workers=False,
                                         prefetch_factor=2 if workers else None,
                                         worker_init_fn=_ignore_stop_signals if workers else None,
                                         generator=torch.Generator().manual_seed(0))
    for block in loader:
        yield from split_block(block)


def read_ahead(items: Iterable, depth: int = 2) -> Iterator:
    """``items``, produced by a background thread up to ``depth`` ahead: host-side preparation
    (parsing, cutting windows) overlaps the device's work on the previous item. An exception of
    the producer is raised here; leaving the loop early (or raising in it) stops the producer."""
    queue: Queue = Queue(depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        """False once the consumer has stopped (nobody would take ``entry``)."""
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                pass
        return False

    def produce():
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as error:          # handed to the consumer, raised there
            put((done, error))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()
