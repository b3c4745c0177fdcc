"""Benchmark: scoring every base of nuc25k at hg19 size (workflow_scripts/streaming_auc.py).

Measures, on one device, the streamed binned AUC's update (bin index + histogram of 919 targets)
on synthetic per-base probabilities (logit-normal, ~2 % positives in runs), and optionally the
paper-size model's forward pass with reverse-complement averaging (what evaluate runs per batch),
then extrapolates to every window of hg19's nuc25k (Gupta kept 93,880 windows: 2.35e9 bases) and
to its chr8 + chr9 test split. Peak memory: the device's (torch.cuda.max_memory_allocated) or the
process's maximum RSS on the CPU. Compared with holding the strided predictions as evaluate does
for the exact AUC (float32 probabilities and uint8 labels of every stride-th base).

    python benchmarks/streaming_auc.py --out benchmarks/out/streaming_auc     # GPU when there is one
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import build_model  # noqa: E402
from workflow_scripts.inference.device import set_precision  # noqa: E402
from workflow_scripts.inference.predict import predict_codes  # noqa: E402
from workflow_scripts.streaming_auc import BinnedAUC  # noqa: E402

WINDOW = 25_000
HG19_WINDOWS = 93_880          # Gupta's kept windows (thesis section 8.1)
TEST_FRACTION = 0.093          # chr8 + chr9: 287 of hg19's 3,095 Mbp (chr1-22, X)


def synthetic_batch(windows: int, targets: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator(device=device).manual_seed(0)
    labels = (torch.rand(windows, targets, WINDOW // 500, generator=g, device=device) < 0.02)
    labels = labels.repeat_interleave(500, dim=-1).float()               # runs of 500 bp
    logits = torch.randn(windows, targets, WINDOW, generator=g, device=device) * 1.5 - 4 + 3 * labels
    return torch.sigmoid(logits), labels


def timed(step, device, repeats: int) -> float:
    step()                                                              # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def peak_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(args) -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    probs, labels = synthetic_batch(args.windows, args.targets, device)
    scorer = BinnedAUC(args.targets, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    update_s = timed(lambda: scorer.update(probs, labels), device, args.repeats) / args.windows
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "targets": args.targets, "windows_per_batch": args.windows, "n_bins": scorer.n_bins,
              "counts_mb": scorer.counts.numel() * 8 / 2**20, "update_s_per_window": update_s,
              "update_peak_mb": peak_mb(device)}
    if args.model:
        model = build_model(args.model, args.targets, WINDOW).to(device).eval()
        codes = torch.randint(0, 4, (args.windows, WINDOW), dtype=torch.uint8, device=device)

        def forward():
            with set_precision(device, "bf16"):
                predict_codes(model, codes, rc_average=True)
        result[f"{args.model}_forward_rc_s_per_window"] = timed(forward, device, args.repeats) / args.windows
        result["peak_mb_with_model"] = peak_mb(device)
    per_window = update_s + result.get(f"{args.model}_forward_rc_s_per_window", 0.0)
    for name, windows in (("hg19_all_windows", HG19_WINDOWS), ("hg19_test_split", round(HG19_WINDOWS * TEST_FRACTION))):
        bases = windows * WINDOW
        result[name] = {"windows": windows, "bases": bases, "update_hours": update_s * windows / 3600,
                        "total_hours": per_window * windows / 3600,
                        "strided_200_exact_gb": bases / 200 * args.targets * 5 / 1e9,
                        "every_base_exact_gb": bases * args.targets * 5 / 1e9}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "streaming_auc.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", type=int, default=919)
    p.add_argument("--windows", type=int, default=8, help="25 kb windows per batch")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--model", default="dilated", help="family timed at paper size ('' to skip)")
    p.add_argument("--out", default="")
    main(p.parse_args())
