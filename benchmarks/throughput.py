"""Benchmark: loader throughput per data set, and one training step per model (samples/s).

The loader must out-run the fastest model step by a wide margin (target on CPU: at least 20,000
deepsea1000 samples per second per worker). Model steps use the papers' full sizes and batch
sizes; on a GPU they run with bf16 autocast, and GPU utilisation is sampled with nvidia-smi
while the steps run.

    python benchmarks/throughput.py --out /tmp/tp [--rows 200000] [--steps 10]
"""
from __future__ import annotations

import argparse
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

from models import build_model  # noqa: E402
from workflow_scripts.dataset_layout import SPLITS, SplitWriter, write_header  # noqa: E402
from workflow_scripts.loaders import BatchStream, SplitReader, make_loader  # noqa: E402
from workflow_scripts.sequence import one_hot  # noqa: E402

SHAPES = {"dhs600": (600, 164, "packbits"), "deepsea1000": (1000, 919, "packbits"), "nuc25k": (25000, 919, "intervals")}


def make_file(path: Path, dataset: str, rows: int, rng) -> Path:
    length, targets, layout = SHAPES[dataset]
    with h5py.File(path, "w") as f:
        write_header(f, dataset, [f"t{i}" for i in range(targets)], ["TF"] * targets, length, layout,
                     {"params_hash": "bench", "inputs": {}, "params": {}, "code_version": "bench"})
        for split in SPLITS:
            n = rows if split == "train" else 16
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


def step_rate(name: str, dataset: str, batch: int, steps: int, device) -> tuple[float, float | None]:
    length, targets, layout = SHAPES[dataset]
    model = build_model(name, targets, length).to(device)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-4)
    codes = torch.randint(0, 4, (batch, length), dtype=torch.uint8, device=device)
    y = (torch.rand(batch, targets, length, device=device) < 0.01).float() if layout == "intervals" \
        else (torch.rand(batch, targets, device=device) < 0.02).float()
    cast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)

    def one():
        x = one_hot(codes) if model.input_encoding == "onehot" else codes.long()
        with cast:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    one()
    sampler = GpuSampler() if device.type == "cuda" and shutil.which("nvidia-smi") else None
    if sampler:
        sampler.start()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.time()
    for _ in range(steps):
        one()
    if device.type == "cuda":
        torch.cuda.synchronize()
    rate = batch * steps / (time.time() - t0)
    util = None
    if sampler:
        sampler.running = False
        sampler.join()
        util = float(np.mean(sampler.values)) if sampler.values else None
    return rate, util


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="benchmarks/out/throughput")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="+", default=["basset", "deepsea", "danq", "dilated"])
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'})")
    print("\nloader (samples/s; 0 workers = the main process reads)")
    for dataset, (length, _, _) in SHAPES.items():
        rows = args.rows if length < 10_000 else max(200, args.rows // 400)
        path = make_file(out / f"{dataset}.h5", dataset, rows, rng)
        batch = 100 if length < 10_000 else 8
        rates = {w: loader_rate(path, batch, w) for w in args.workers}
        per_worker = {w: r / max(w, 1) for w, r in rates.items()}
        print(f"  {dataset:12s} " + "  ".join(f"{w} workers: {r:9.0f} ({per_worker[w]:8.0f}/worker)" for w, r in rates.items()))
    print("\ntraining step, full-size models (samples/s)")
    spec = {"basset": ("dhs600", 128), "deepsea": ("deepsea1000", 16), "danq": ("deepsea1000", 100), "dilated": ("nuc25k", 8)}
    for name in args.models:
        dataset, batch = spec[name]
        rate, util = step_rate(name, dataset, batch, args.steps, device)
        extra = f", GPU utilisation {util:.0f} %" if util is not None else ""
        print(f"  {name:8s} on {dataset:12s} batch {batch:4d}: {rate:9.1f} samples/s{extra}")


if __name__ == "__main__":
    main()
