"""The HDF5 layout shared by the three data sets, their splits and their provenance.

``results/datasets/{dataset}.h5``::

    attrs:  dataset            "dhs600" | "deepsea1000" | "nuc25k"
            targets            target names (sample-sheet labels), in label order
            categories         DNase | TF | Histone per target
            seq_length         input length in bases (600, 1000, 25000)
            label_layout       "packbits" (per sequence) or "intervals" (per nucleotide)
            provenance         JSON: code version, parameters and their hash, input md5s
    /{train,valid,test}/
            chrom   (N,)  bytes   chromosome of the labelled region
            start   (N,)  int64   labelled region [start, end): the 600 bp feature,
            end     (N,)  int64   the 200 bp bin or the 25 kb window (0-based, half-open)
            seq     (N, L) uint8  input sequence codes A=0 C=1 G=2 T=3 N=4 (forward strand
                                  of the feature; reverse complements are made by the loader)
            labels  (N, ceil(T/8)) uint8   [packbits]  targets bit-packed along the row,
                                  numpy.packbits order (bit 7 of byte 0 is target 0)
            intervals    (M, 3) int32 [intervals] target, start, end of each peak piece,
                                  relative to its window, sorted by window then target
            interval_ptr (N+1,) int64  rows interval_ptr[i]:interval_ptr[i+1] belong to window i

Rows are in genome order within a split; all datasets are chunked by rows so that whole chunks
can be read at random (the loader shuffles chunks, then rows inside a buffer of chunks).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import md5sum

SPLITS = ("train", "valid", "test")
ROW_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class SplitRule:
    """How regions are assigned to train / valid / test.

    ``chromosome`` mode (DeepSEA's, the default): ``test_chroms`` form the test set; regions
    inside ``valid_region`` (``chrom:start-end``, 1-based inclusive as DeepSEA wrote it) form the
    validation set, ``valid_count`` of them drawn at random when set (DeepSEA took 4,000); the
    rest of that region is left out of training so that no validation neighbour leaks in; all
    other regions train. ``random`` mode (Basset/DSSDA): exactly ``test_count`` and
    ``valid_count`` regions drawn at random, the rest train.
    """
    mode: str = "chromosome"
    test_chroms: tuple[str, ...] = ("chr8", "chr9")
    valid_region: str | None = "chr7:30508751-35296850"
    valid_count: int | None = None
    test_count: int | None = None
    seed: int = 1

    @classmethod
    def from_config(cls, cfg: dict) -> "SplitRule":
        return cls(mode=cfg.get("mode", "chromosome"),
                   test_chroms=tuple(cfg.get("test_chroms", ("chr8", "chr9"))),
                   valid_region=cfg.get("valid_region", "chr7:30508751-35296850"),
                   valid_count=cfg.get("valid_count"), test_count=cfg.get("test_count"),
                   seed=int(cfg.get("seed", 1)))


def parse_region(region: str) -> tuple[str, int, int]:
    """``chr7:30508751-35296850`` (1-based inclusive) -> ("chr7", 30508750, 35296850) half-open."""
    try:
        chrom, span = region.split(":")
        first, last = (int(x.replace(",", "")) for x in span.split("-"))
    except ValueError:
        raise InputError(f"region {region!r} is not chrom:start-end") from None
    return chrom, first - 1, last


def assign_splits(chrom: np.ndarray, start: np.ndarray, end: np.ndarray, rule: SplitRule) -> np.ndarray:
    """Split name index per region: 0 train, 1 valid, 2 test, -1 left out."""
    n = len(chrom)
    split = np.zeros(n, dtype=np.int8)
    rng = np.random.default_rng(rule.seed)
    if rule.mode == "random":
        want = (rule.test_count or 0) + (rule.valid_count or 0)
        if want > n:
            raise InputError(f"random split asks for {want} test+validation regions, only {n} exist")
        order = rng.permutation(n)
        split[order[:rule.test_count or 0]] = 2
        split[order[rule.test_count or 0:want]] = 1
        return split
    if rule.mode != "chromosome":
        raise InputError(f"unknown split mode {rule.mode!r} (chromosome, random)")
    split[np.isin(chrom, np.array(rule.test_chroms, dtype=chrom.dtype))] = 2
    if rule.valid_region:
        vchrom, vstart, vend = parse_region(rule.valid_region)
        inside = np.flatnonzero((chrom == vchrom) & (start >= vstart) & (end <= vend))
        split[inside] = -1
        if rule.valid_count is not None and rule.valid_count < len(inside):
            inside = np.sort(rng.choice(inside, size=rule.valid_count, replace=False))
        split[inside] = 1
    return split


def code_version() -> str:
    """git commit of the checkout (with -dirty), or 'unknown' outside git."""
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=here,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(params: dict, inputs: dict[str, str | Path]) -> dict:
    """What built a data set: code version, parameters (+ hash) and md5 of every input file."""
    blob = json.dumps(params, sort_keys=True, default=str)
    return {"code_version": code_version(), "params": params,
            "params_hash": hashlib.sha1(blob.encode()).hexdigest(),
            "inputs": {str(k): genome_or_file_md5(v) for k, v in inputs.items()}}


def genome_or_file_md5(path: str | Path) -> str:
    """md5 of a file; for the prepared genome the checksum written beside it is reused."""
    side = Path(str(path) + ".md5")
    if side.is_file():
        return side.read_text().split()[0]
    return md5sum(path)


def read_provenance(h5_path: str | Path) -> dict:
    with h5py.File(h5_path, "r") as f:
        return json.loads(f.attrs["provenance"])


def build_id(h5_path: str | Path) -> str:
    """Identity of a data-set build: the hash of its parameters and input checksums."""
    built = read_provenance(h5_path)
    blob = json.dumps([built.get("params_hash"), built.get("inputs")], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()


def stale_reasons(h5_path: str | Path, params: dict, inputs: dict[str, str | Path]) -> list[str]:
    """Why a built data set no longer matches these parameters and inputs (empty: up to date)."""
    built = read_provenance(h5_path)
    now = provenance(params, inputs)
    reasons = []
    if built["params_hash"] != now["params_hash"]:
        reasons.append("parameters changed")
    for name, md5 in now["inputs"].items():
        if built["inputs"].get(name) != md5:
            reasons.append(f"input {name} changed")
    return reasons


def require_rows(counts: dict[str, int], out: str | Path, spec: dict) -> None:
    """A split without rows cannot train, validate or test: refuse it at build time."""
    empty = [s for s in SPLITS if counts.get(s, 0) == 0]
    if empty:
        split = spec.get("split", {})
        hint = (f"test_chroms {split.get('test_chroms')} and valid_region {split.get('valid_region')}"
                if split.get("mode", "chromosome") == "chromosome" else "the random split counts")
        raise InputError(f"{out}: the {' and '.join(empty)} split(s) would have no rows ({counts}); check "
                         f"{hint} against the genome's chromosomes, and that the peak files have peaks there")


def sample_files(sheet: list, files: list[str], sheet_path: str | Path) -> list[Path]:
    """The normalised peak file of each sample, in sheet order (as the rule passes them)."""
    paths = [Path(f) for f in files]
    names = [p.name.removesuffix(".bed.gz") for p in paths]
    if names != [s.name for s in sheet]:
        raise InputError(f"{sheet_path}: the peak files given ({len(paths)}) are not the sheet's samples in order")
    return paths


def row_chunk(row_bytes: int, n_rows: int) -> int:
    return int(max(1, min(n_rows, ROW_CHUNK_BYTES // max(row_bytes, 1))))


class SplitWriter:
    """Appends rows to the datasets of one split group (resizable, chunked by rows)."""

    def __init__(self, group: h5py.Group, columns: dict[str, tuple[tuple[int, ...], np.dtype]],
                 chunk_rows: int | None = None):
        self.group = group
        for name, (row_shape, dtype) in columns.items():
            row_bytes = int(np.prod(row_shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            chunk = chunk_rows or row_chunk(row_bytes, 1 << 30)
            group.create_dataset(name, shape=(0, *row_shape), maxshape=(None, *row_shape),
                                 dtype=dtype, chunks=(chunk, *row_shape))

    def append(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            ds = self.group[name]
            n = ds.shape[0]
            ds.resize(n + len(values), axis=0)
            ds[n:] = values


def write_header(f: h5py.File, dataset: str, targets: list[str], categories: list[str],
                 seq_length: int, label_layout: str, prov: dict) -> None:
    f.attrs["dataset"] = dataset
    f.attrs["targets"] = np.array(targets, dtype=h5py.string_dtype())
    f.attrs["categories"] = np.array(categories, dtype=h5py.string_dtype())
    f.attrs["seq_length"] = seq_length
    f.attrs["label_layout"] = label_layout
    f.attrs["provenance"] = json.dumps(prov, sort_keys=True)


def read_header(path: str | Path) -> dict:
    with h5py.File(path, "r") as f:
        return {"dataset": str(f.attrs["dataset"]),
                "targets": [str(t) for t in f.attrs["targets"]],
                "categories": [str(c) for c in f.attrs["categories"]],
                "seq_length": int(f.attrs["seq_length"]),
                "label_layout": str(f.attrs["label_layout"]),
                "sizes": {s: int(f[s]["start"].shape[0]) for s in SPLITS if s in f}}


def unpack_labels(packed: np.ndarray, n_targets: int) -> np.ndarray:
    return np.unpackbits(packed, axis=-1, count=n_targets)
