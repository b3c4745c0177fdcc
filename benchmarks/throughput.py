"""Benchmark: loader throughput per data set, and training throughput of every model of the zoo.

The loader must out-run the fastest model step by a wide margin (target on CPU: at least 20,000
deepsea1000 samples per second per worker). Training is measured for every model of
config/models.yaml at its profile's size (``paper`` by default: the papers' full sizes and batch
sizes) on a synthetic HDF5 file of its data set's real shape (600 bp x 164, 1000 bp x 919,
25 kb x 919), fed by the real loader with workers, through the model's own ``encode`` and
``training_step`` with bf16 autocast and TF32 on a GPU (the engine's settings). Per model:
samples/s, the share of wall time spent waiting for the loader, peak GPU memory, GPU
utilisation (nvidia-smi, sampled), and the projected time of one DeepSEA-size epoch (4.4 M
samples). ``--compile`` adds a ``torch.compile`` run (speed-up and compile time).

    python benchmarks/throughput.py --out /tmp/tp                     # on a GPU machine: the table
    python benchmarks/throughput.py --profile smoke --rows 400 --steps 3 --workers 0 --loader-seconds 1   # CPU check
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from models import MODELS, build_model  # noqa: E402
from models.encodings import FITTED  # noqa: E402
from workflow_scripts.configuration import model_settings  # noqa: E402
from workflow_scripts.engine.config import COMPILE_MODES, compile_mode  # noqa: E402
from workflow_scripts.dataset_layout import SPLITS, SplitWriter, write_header  # noqa: E402
from workflow_scripts.inference import set_precision  # noqa: E402
from workflow_scripts.kmer_vectors import write_kmer_vectors  # noqa: E402
from workflow_scripts.loaders import BatchStream, SplitReader, batch_targets, make_loader  # noqa: E402
from workflow_scripts.word2vec import fit_vectors  # noqa: E402

EPOCH_SAMPLES = 4_400_000                     # DeepSEA's training set

SHAPES = {"dhs600": (600, 164, "packbits"), "deepsea1000": (1000, 919, "packbits"), "nuc25k": (25000, 919, "intervals")}


def make_file(path: Path, dataset: str, rows: int, rng, big_split: str = "train") -> Path:
    """A data set of ``dataset``'s real shape with random sequence and ~2 % positives: ``rows`` rows
    in ``big_split``, 16 in the others."""
    length, targets, layout = SHAPES[dataset]
    with h5py.File(path, "w") as f:
        write_header(f, dataset, [f"t{i}" for i in range(targets)], ["TF"] * targets, length, layout,
                     {"params_hash": "bench", "inputs": {}, "params": {}, "code_version": "bench"})
        for split in SPLITS:
            n = rows if split == big_split else 16
            cols = {"chrom": ((), np.dtype("S5")), "start": ((), np.int64), "end": ((), np.int64), "seq": ((length,), np.uint8)}
            if layout == "packbits":
                cols["labels"] = (((targets + 7) // 8,), np.uint8)
            w = SplitWriter(f.create_group(split), cols)
            step = 50_000 if length < 10_000 else 200
            for lo in range(0, n, step):
                k = min(step, n - lo)
                data = {"chrom": np.array([b"chr1"] * k), "start": np.arange(lo, lo + k), "end": np.arange(lo, lo + k) + length,
                        "seq": rng.integers(0, 4, (k, length), dtype=np.uint8)}
                if layout == "packbits":
                    data["labels"] = np.packbits(rng.random((k, targets)) < 0.02, axis=1)
                w.append(**data)
            if layout == "intervals":                     # ~ 60 peak pieces per window
                per = rng.poisson(60, n)
                ptr = np.concatenate([[0], np.cumsum(per)])
                m = int(ptr[-1])
                starts = rng.integers(0, length - 2000, m)
                iv = np.stack([rng.integers(0, targets, m), starts, starts + rng.integers(100, 2000, m)], 1).astype(np.int32)
                f[split].create_dataset("intervals", data=iv, chunks=(max(1, min(m, 1 << 16)), 3))
                f[split].create_dataset("interval_ptr", data=ptr)
    return path


def loader_rate(path: Path, batch: int, workers: int, seconds: float = 8.0) -> float:
    reader = SplitReader(path, "train")
    stream = BatchStream(reader, batch, shuffle=True, seed=1)
    n, t0 = 0, time.time()
    for b in make_loader(stream, workers, False):
        n += len(b["codes"])
        if time.time() - t0 > seconds:
            break
    return n / (time.time() - t0)


class GpuSampler(threading.Thread):
    """Samples nvidia-smi's utilisation.gpu every 0.2 s while running."""

    def __init__(self):
        super().__init__(daemon=True)
        self.values, self.running = [], True

    def run(self):
        while self.running:
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                self.values.append(float(out.stdout.split()[0]))
            time.sleep(0.2)


def dataset_of(family: str) -> str:
    """The data set whose shape a family trains on (its default input length)."""
    import inspect
    length = inspect.signature(MODELS[family].__init__).parameters["seq_length"].default
    return next(name for name, shape in SHAPES.items() if shape[0] == length)


WARMUP_STEPS = 3                              # cuDNN's choices and compilation happen here


def fitted_encoding_args(family: str, path: Path) -> dict:
    """A fitted input encoding's file (word2vec 3-mer vectors), fitted by its own stage on the
    benchmark's data set, once, as the pipeline's rule does before training."""
    if MODELS[family].input_encoding not in FITTED:
        return {}
    vectors = path.with_suffix(".kmer_vectors.tsv")
    if not vectors.exists():
        write_kmer_vectors(vectors, *fit_vectors(path, epochs=1))
    return {"encoding_file": str(vectors)}


def train_rate(entry: dict, path: Path, steps: int, seconds: float, workers: int, device, compile_model: bool,
               batch: int | None = None, compile_mode: str | None = None) -> dict:
    """Training steps of one model fed by the real loader, at least ``steps`` and ``seconds`` after
    the warm-up: samples/s and time waiting for data."""
    reader = SplitReader(path, "train")
    torch.manual_seed(0)
    model = build_model(entry["family"], len(reader.targets), reader.seq_length, **entry["args"],
                        **fitted_encoding_args(entry["family"], path)).to(device)
    model.prepare(BatchStream(reader, 64, shuffle=False, max_batches=4))
    batch = batch or entry["train"].get("batch_size", 100)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-5)
    step = torch.compile(model.training_step, mode=compile_mode) if compile_model else model.training_step
    def passes():                                  # the data as often as the timing needs
        for epoch in itertools.count():
            stream = BatchStream(reader, batch, shuffle=True, seed=1)
            stream.set_epoch(epoch, 0)
            yield from make_loader(stream, workers, device.type == "cuda")

    batches = passes()
    autocast = set_precision(device, "bf16")           # the engine's default
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sampler = GpuSampler() if device.type == "cuda" and shutil.which("nvidia-smi") else None
    waited, done, i, t0, warmup = 0.0, 0, 0, time.time(), 0.0
    while i < WARMUP_STEPS + steps or time.time() - t0 < seconds:
        w0 = time.time()
        b = next(batches)
        codes = b["codes"].to(device, non_blocking=True)
        targets = batch_targets(b, reader, device)
        if i >= WARMUP_STEPS:
            waited += time.time() - w0
            done += len(codes)
        with autocast:
            loss = step(model.encode(codes), targets, torch.ones(len(codes), dtype=torch.bool, device=device))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        i += 1
        if i == WARMUP_STEPS:                         # warm-up (and compilation) not timed
            if device.type == "cuda":
                torch.cuda.synchronize()
            warmup, t0 = time.time() - t0, time.time()
            if sampler:
                sampler.start()
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.time() - t0
    util = None
    if sampler:
        sampler.running = False
        sampler.join()
        util = float(np.mean(sampler.values)) if sampler.values else None
    rate = done / wall if wall > 0 and done else float("nan")
    return {"batch": batch, "timed_steps": i - WARMUP_STEPS, "timed_s": wall, "samples_per_s": rate, "data_wait_share": waited / wall if done else float("nan"),
            "warmup_s": warmup, "gpu_util": util, "epoch_minutes_4.4M": EPOCH_SAMPLES / rate / 60,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == "cuda" else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="benchmarks/out/throughput")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--steps", type=int, default=5, help="timed training steps per model (at least)")
    p.add_argument("--seconds", type=float, default=0.0, help="timed training seconds per model (at least)")
    p.add_argument("--batch-size", nargs="*", default=[],
                   help="MODEL=N: also measure MODEL at batch size N (e.g. deepsea=256)")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="*", help="models of config/models.yaml (default: all)")
    p.add_argument("--loader-seconds", type=float, default=8.0, help="how long each loader rate is measured")
    p.add_argument("--profile", default="paper", help="profile of config/models.yaml (smoke: a quick CPU check)")
    p.add_argument("--train-workers", type=int, default=2, help="loader workers feeding the training steps")
    p.add_argument("--compile", nargs="*", metavar="MODEL",
                   help="also measure these models (none named: every model) with torch.compile")
    p.add_argument("--compile-mode", choices=COMPILE_MODES, default="default",
                   help="torch.compile's mode (reduce-overhead: CUDA graphs, for small batches)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"device: {device} ({device_name}), torch {torch.__version__}")
    files = {}
    print("\nloader (samples/s; 0 workers = the main process reads)")
    for dataset, (length, _, _) in SHAPES.items():
        rows = args.rows if length < 10_000 else max(64, args.rows // 400)
        files[dataset] = make_file(out / f"{dataset}.h5", dataset, rows, rng)
        batch = 100 if length < 10_000 else 8
        rates = {w: loader_rate(files[dataset], batch, w, args.loader_seconds) for w in args.workers}
        per_worker = {w: r / max(w, 1) for w, r in rates.items()}
        print(f"  {dataset:12s} " + "  ".join(f"{w} workers: {r:9.0f} ({per_worker[w]:8.0f}/worker)" for w, r in rates.items()))
    zoo = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    config = {**zoo, "profile": args.profile}
    print(f"\ntraining, profile {args.profile}, real loader with {args.train_workers} worker(s)")
    rows = []

    def save(rows):                                    # after every model: a cut-off run keeps its figures
        (out / "training.json").write_text(json.dumps({"device": device_name, "torch": torch.__version__,
                                                       "profile": args.profile, "rows": rows}, indent=2))

    extra_batches = [item.split("=") for item in args.batch_size]
    names = args.models or list(zoo["models"])
    compiled = set(names if args.compile == [] else args.compile or [])
    runs = [(n, c, None) for n in names for c in ([False, True] if n in compiled else [False])]
    runs += [(n, False, int(b)) for n, b in extra_batches]
    for name, compile_model, batch in runs:
        entry = model_settings(config, name)
        dataset = dataset_of(entry["family"])
        r = {"model": name, "dataset": dataset, "compile": compile_model and args.compile_mode}
        try:
            r.update(train_rate(entry, files[dataset], args.steps, args.seconds, args.train_workers, device,
                                compile_model, batch, compile_mode(args.compile_mode)))
        except Exception as e:                         # an out-of-memory or a compiler failure is a figure too
            r["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            print(f"  {name:12s} {'compiled ' if compile_model else ''}failed: {r['error']}")
            rows.append(r)
            save(rows)
            continue
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        rows.append(r)
        extra = "".join([f", GPU {r['gpu_util']:.0f} %" if r["gpu_util"] is not None else "",
                         f", peak {r['peak_gpu_mb']:.0f} MB" if r["peak_gpu_mb"] is not None else ""])
        print(f"  {name:12s} {'compiled ' if compile_model else ''}on {dataset:12s} batch {r['batch']:4d}: "
              f"{r['samples_per_s']:9.1f} samples/s, waiting for data {100 * r['data_wait_share']:4.1f} %, "
              f"4.4 M-sample epoch {r['epoch_minutes_4.4M']:8.1f} min, warm-up {r['warmup_s']:.1f} s{extra}")
        save(rows)


if __name__ == "__main__":
    main()
