"""Benchmark: DSSDA trained data-parallel on 1 and N processes (seed section 5.4).

Three runs on the same data, seed and global batch (``--batch``, split over the processes, rank r
taking rows r::N of each global batch, as the engine's loader does):

* ``sync_1``: one process;
* ``sync_N``: N processes, DistributedDataParallel, gradients averaged every step (the seed's
  synchronous data parallelism: 2.18x with 3 GPUs);
* ``periodic_N``: N processes, each stepping on its own gradients, the models averaged every
  ``--period`` steps (20: the seed's "asynchronous" variant, 2.3x faster again but unstable,
  82 % against 94.6 %): PyTorch's post-local SGD (``post_localSGD_hook`` without gradient
  all-reduce, ``PostLocalSGDOptimizer`` with a ``PeriodicModelAverager``), not written here.

Reported per run (``results.json`` and a table): seconds per iteration (mean over the steps after
``--warmup``), speed-up over ``sync_1``, and the final validation mean ROC AUC (plain mean over
targets with a positive, rank 0's model). With ``--check-equal``, ``sync_1`` instead takes each
global batch as N micro-batches (the rows each rank takes) and averages their gradients, which is
what N synchronous processes compute: DSSDA's ladder normalises by its own batch's statistics,
so N processes with a local batch each equal one process only in that form; the corrupted path's
noise is drawn from the same seed per (step, shard) in both. The largest weight difference is
then reported (``max_weight_difference``, over the parameters: batch norm's running statistics
are each process's own).

    python benchmarks/distributed_dssda.py --dataset results/datasets/dhs600.h5 --out /tmp/dd   # CPU, gloo
    python benchmarks/distributed_dssda.py --dataset DATA.h5 --out OUT --backend nccl --processes 2 \\
        --size paper --batch 512 --steps 200                                                    # GPUs
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from models import build_model  # noqa: E402
from workflow_scripts.configuration import model_settings  # noqa: E402
from workflow_scripts.engine.trainer import _Step  # noqa: E402
from workflow_scripts.inference import predict_split  # noqa: E402
from workflow_scripts.loaders import BatchStream, SplitReader, batch_targets  # noqa: E402
from workflow_scripts.metrics import per_target_auc  # noqa: E402

ZOO = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())


def dssda_args(size: str) -> dict:
    """DSSDA's constructor settings at a profile's size (``paper``, ``demo``, ``smoke``)."""
    return model_settings({**ZOO, "profile": size}, "dssda")["args"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def global_batches(reader: SplitReader, batch: int, steps: int, seed: int):
    """``steps`` global batches of the training split, cycling over epochs."""
    epoch = 0
    while True:
        stream = BatchStream(reader, batch, shuffle=True, seed=seed)
        stream.set_epoch(epoch)
        for b in stream:
            if len(b["codes"]) == batch:
                yield b
                steps -= 1
                if not steps:
                    return
        epoch += 1


def shard_loss(step_module, model, b: dict, reader: SplitReader, rows: slice, device, seed: int) -> torch.Tensor:
    """DSSDA's training loss on some rows of a batch, its noise drawn from ``seed``."""
    torch.manual_seed(seed)
    part = {k: torch.as_tensor(v[rows]).to(device) for k, v in b.items()}     # per-sequence layout
    return step_module(model.encode(part["codes"]), batch_targets(part, reader, device), part["labelled"])


def train(rank: int, world: int, args, mode: str, port: int, results) -> None:
    """One process of one run; rank 0 puts the run's figures (and weights) on ``results``."""
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group(args.backend, rank=rank, world_size=world)
    device = torch.device(f"cuda:{rank}") if args.backend == "nccl" else torch.device("cpu")
    torch.set_num_threads(args.threads)
    reader = SplitReader(args.dataset, "train")
    torch.manual_seed(args.seed)
    model = build_model("dssda", len(reader.targets), reader.seq_length, **dssda_args(args.size)).to(device)
    step_module = _Step(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    if world > 1:
        step_module = DistributedDataParallel(step_module, device_ids=[rank] if device.type == "cuda" else None)
        if mode == "periodic":
            from torch.distributed.algorithms.ddp_comm_hooks.post_localSGD_hook import (PostLocalSGDState,
                                                                                         post_localSGD_hook)
            from torch.distributed.algorithms.model_averaging.averagers import PeriodicModelAverager
            from torch.distributed.optim import PostLocalSGDOptimizer
            step_module.register_comm_hook(PostLocalSGDState(None, None, start_localSGD_iter=1,
                                                             post_local_gradient_allreduce=False), post_localSGD_hook)
            optimizer = PostLocalSGDOptimizer(optimizer, PeriodicModelAverager(args.period, warmup_steps=1))
    shards = world if world > 1 else args.micro_batches
    times = []
    model.train()
    for step, b in enumerate(global_batches(reader, args.batch, args.steps, args.seed)):
        t0 = time.perf_counter()
        mine = range(rank, rank + 1) if world > 1 else range(shards)
        for shard in mine:
            loss = shard_loss(step_module, model, b, reader, slice(shard, None, shards), device,
                              args.seed * 100_003 + step * shards + shard)
            (loss / len(mine)).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    if rank == 0:
        valid = SplitReader(args.dataset, "valid")
        pred = predict_split(model, valid, device, batch_size=256, rc_average=False)
        auc = per_target_auc(pred.probs, pred.labels, min_positives=1)["roc_auc"]
        results.put({"mean_s_per_iteration": float(np.mean(times[args.warmup:])), "steps": len(times),
                     "valid_mean_roc_auc": float(np.nanmean(auc)),
                     "weights": {k: v.detach().cpu().numpy() for k, v in model.named_parameters()}})
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def run(args, mode: str, world: int) -> dict:
    context = mp.get_context("spawn" if args.backend == "nccl" else "fork")     # CUDA needs spawn; fork starts faster
    results = context.SimpleQueue()
    port = free_port()
    processes = [context.Process(target=train, args=(r, world, args, mode, port, results)) for r in range(world)]
    for p in processes:
        p.start()
    while all(p.is_alive() for p in processes) and results.empty():
        time.sleep(0.2)
    result = None if results.empty() else results.get()
    for p in processes:
        p.join()
    if result is None or any(p.exitcode for p in processes):
        raise SystemExit(f"run {mode}_{world} failed: exit codes {[p.exitcode for p in processes]}")
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True, help="a dhs600-layout data set (HDF5)")
    p.add_argument("--out", required=True)
    p.add_argument("--backend", choices=["gloo", "nccl"], default="gloo", help="gloo: CPU processes; nccl: a GPU each")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--size", default="smoke", help="config/models.yaml profile of DSSDA's size (paper: the full model)")
    p.add_argument("--batch", type=int, default=64, help="global batch (the seed: 512)")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=5, help="steps left out of the timing")
    p.add_argument("--period", type=int, default=20, help="periodic run: steps between model averages")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    p.add_argument("--check-equal", action="store_true",
                   help="sync_1 as N micro-batches; report its weights' largest difference from sync_N")
    args = p.parse_args(argv)
    args.micro_batches = args.processes if args.check_equal else 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {"sync_1": run(args, "sync", 1), f"sync_{args.processes}": run(args, "sync", args.processes),
            f"periodic_{args.processes}": run(args, "periodic", args.processes)}
    one = runs["sync_1"]
    weights = {name: r.pop("weights") for name, r in runs.items()}
    for r in runs.values():
        r["speed_up"] = one["mean_s_per_iteration"] / r["mean_s_per_iteration"]
    report = {"backend": args.backend, "processes": args.processes, "size": args.size, "global_batch": args.batch,
              "period": args.period, "runs": runs}
    if args.check_equal:
        a, b = weights["sync_1"], weights[f"sync_{args.processes}"]
        report["max_weight_difference"] = max(float(np.abs(a[k] - b[k]).max()) for k in a)
    (out / "results.json").write_text(json.dumps(report, indent=2))
    print(f"{'run':<14}{'s/iteration':>12}{'speed-up':>10}{'valid ROC AUC':>15}")
    for name, r in runs.items():
        print(f"{name:<14}{r['mean_s_per_iteration']:>12.4f}{r['speed_up']:>10.2f}{r['valid_mean_roc_auc']:>15.4f}")
    if args.check_equal:
        print(f"largest weight difference, sync_1 (as micro-batches) vs sync_{args.processes}: "
              f"{report['max_weight_difference']:.2e}")
    return report


if __name__ == "__main__":
    main()
