"""Speed and memory of using a trained model: variant scoring, saturation mutagenesis (ISM).

    python benchmarks/use_model.py                      # everything below, 2 CPU threads
    python benchmarks/use_model.py --only ism --threads 2
    python benchmarks/use_model.py --only memory --variants 1000000

* ``variants``: variants/s of the ``variant_effects`` stage (reading a VCF, windows from a
  FASTA, forward + reverse complement of ref and alt, writing HDF5) for Basset-, DeepSEA- and
  DanQ-size models (paper shapes, random weights, 919 / 164 targets), on a synthetic VCF of SNVs
  over a random 4 Mbp genome;
* ``ism``: one 1000 bp sequence, every base x 3 alternatives, DeepSEA at paper size: the fast
  way (only what a mutation changes) and the naive way (every mutant whole), forward only and
  forward + reverse complement, with their largest difference;
* ``predict``: the test-split predictions of the evaluate stage (``predict_split``, forward +
  reverse complement averaged) of a DeepSEA-size model on a synthetic deepsea1000 test split of
  ``--predict-rows`` rows (455,024 = DeepSEA's test set), and ``./seq2reg predict`` on the same
  split to HDF5 for a tenth of them;
* ``memory``: peak resident memory of the stage on VCFs of growing size (default 10 k, 100 k and
  1 M SNVs) with a small model, in a fresh process each: streaming keeps it flat.

Writes ``results.json`` under ``--out`` and prints a table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from models import build_model  # noqa: E402
from throughput import make_file  # noqa: E402
from workflow_scripts.inference import default_device, load_trained_dir, predict_split, write_trained  # noqa: E402
from workflow_scripts.loaders import SplitReader  # noqa: E402
from workflow_scripts.predict_sequences import predict_file  # noqa: E402
from workflow_scripts.inference.mutations import mutant_probs, substitutions  # noqa: E402
from workflow_scripts.variant_effects import score_file  # noqa: E402

SIZES = {"basset": ("basset", 600, 164, {}), "deepsea": ("deepsea", 1000, 919, {}),
         "danq": ("danq", 1000, 919, {}), "small": ("deepsea", 1000, 919, {"conv_filters": [16, 16, 16], "hidden": 32})}


def make_genome(out: Path, size: int = 4_000_000) -> Path:
    fa = out / "genome.fa"
    if not Path(str(fa) + ".fai").exists():
        rng = np.random.default_rng(0)
        letters = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)]
        with open(fa, "wb") as handle:
            handle.write(b">chr1\n")
            handle.write(b"\n".join(letters[i:i + 60].tobytes() for i in range(0, size, 60)) + b"\n")
        pysam.faidx(str(fa))
    return fa


def make_vcf(out: Path, genome: Path, n: int) -> Path:
    vcf = out / f"snvs_{n}.vcf"
    if not vcf.exists():
        fasta = pysam.FastaFile(str(genome))
        seq = fasta.fetch("chr1")
        rng = np.random.default_rng(1)
        positions = np.sort(rng.integers(1000, len(seq) - 1000, n))
        with open(vcf, "w") as handle:
            handle.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
            for p in positions:
                ref = seq[p - 1]
                handle.write(f"chr1\t{p}\t.\t{ref}\t{'ACGT'[('ACGT'.index(ref) + 1) % 4]}\t.\t.\t.\n")
    return vcf


def make_model(out: Path, name: str) -> Path:
    family, length, targets, args = SIZES[name]
    d = out / "models" / name
    if not (d / "model.json").exists():
        torch.manual_seed(0)
        model = build_model(family, targets, length, **args)
        write_trained(model.state_dict(), {"family": family, "args": args, "targets": [f"t{i}" for i in range(targets)],
                                           "categories": ["TF"] * targets, "seq_length": length, "train": {},
                                           "dataset": "benchmark"}, d / "weights.pt", d / "model.json")
    return d


def bench_variants(out: Path, n: int, batch_size: int) -> dict:
    genome = make_genome(out)
    vcf = make_vcf(out, genome, n)
    results = {}
    for name in ("basset", "deepsea", "danq"):
        d = make_model(out, name)
        start = time.perf_counter()
        summary = score_file(vcf, d / "weights.pt", d / "model.json", genome, out / f"{name}.h5", out / f"{name}.json",
                             batch_size=batch_size)
        seconds = time.perf_counter() - start
        results[name] = {"variants": summary["scored"], "seconds": round(seconds, 2),
                         "variants_per_s": round(summary["scored"] / seconds, 1)}
        print(f"variants  {name:>8}: {results[name]['variants_per_s']:8.1f} variants/s (fwd + RC, {n} SNVs, "
              f"batch {batch_size})", flush=True)
    return results


def bench_ism(rc_average: bool) -> dict:
    torch.manual_seed(0)
    model = build_model("deepsea", 919, 1000).eval()
    codes = np.random.default_rng(2).integers(0, 4, 1000).astype(np.uint8)
    pos, base = substitutions(codes)
    device = default_device()
    model = model.to(device)
    start = time.perf_counter()
    fast = mutant_probs(model, codes, pos, base, device, rc_average=rc_average, fast=True)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    naive = mutant_probs(model, codes, pos, base, device, rc_average=rc_average, fast=False)
    t_naive = time.perf_counter() - start
    row = {"mutants": len(pos), "rc_average": rc_average, "fast_s": round(t_fast, 2), "naive_s": round(t_naive, 2),
           "speedup": round(t_naive / t_fast, 1), "max_abs_difference": float(np.abs(fast - naive).max())}
    print(f"ISM DeepSEA 1000 bp {'fwd+RC' if rc_average else 'fwd   '}: fast {t_fast:.1f} s, naive {t_naive:.1f} s "
          f"({row['speedup']}x), max |fast - naive| {row['max_abs_difference']:.1e}", flush=True)
    return row


def bench_predict(out: Path, rows: int, batch_size: int, workers: int) -> dict:
    path = out / f"test_{rows}.h5"
    if not path.exists():
        make_file(path, "deepsea1000", rows, np.random.default_rng(3), big_split="test")
    device = default_device()
    model, _ = load_trained_dir(make_model(out, "deepsea"), device)
    start = time.perf_counter()
    pred = predict_split(model, SplitReader(path, "test"), device, batch_size=batch_size, rc_average=True,
                         workers=workers)
    seconds = time.perf_counter() - start
    row = {"rows": len(pred.probs), "targets": pred.probs.shape[1], "batch_size": batch_size, "workers": workers,
           "evaluate_seconds": round(seconds, 1), "evaluate_rows_per_s": round(len(pred.probs) / seconds)}
    some = max(1, rows // 10)
    small = out / f"test_{some}.h5"
    if not small.exists():
        make_file(small, "deepsea1000", some, np.random.default_rng(3), big_split="test")
    start = time.perf_counter()
    predict_file(out / "models" / "deepsea", out / "predictions.h5", dataset=small, split="test",
                 batch_size=batch_size)
    row["predict_file_rows_per_s"] = round(some / (time.perf_counter() - start))
    print(f"predict DeepSEA fwd+RC: {rows} x {row['targets']} test rows in {row['evaluate_seconds']} s "
          f"({row['evaluate_rows_per_s']} rows/s, evaluate stage); ./seq2reg predict to HDF5: "
          f"{row['predict_file_rows_per_s']} rows/s", flush=True)
    return row


def bench_memory(out: Path, sizes: list[int]) -> dict:
    genome = make_genome(out)
    d = make_model(out, "small")
    results = {}
    for n in sizes:
        vcf = make_vcf(out, genome, n)
        code = ("import sys, resource, time; sys.path.insert(0, '.');"
                "from pathlib import Path; from workflow_scripts.variant_effects import score_file;"
                f"t = time.perf_counter(); s = score_file(Path('{vcf}'), Path('{d}/weights.pt'), Path('{d}/model.json'),"
                f" Path('{genome}'), Path('{out}/mem.h5'), Path('{out}/mem.json'), batch_size=256);"
                "print(s['scored'], time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
        scored, seconds, peak_kb = done.stdout.split()
        results[n] = {"scored": int(scored), "seconds": round(float(seconds), 1), "peak_mb": round(int(peak_kb) / 1024)}
        print(f"memory {n:>9} SNVs: peak {results[n]['peak_mb']} MB, {results[n]['seconds']} s", flush=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", choices=["variants", "ism", "predict", "memory"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                   help="VCF sizes for the memory benchmark")
    p.add_argument("--speed-variants", type=int, default=2000, help="SNVs for the speed benchmark")
    p.add_argument("--variant-batch", type=int, default=128, help="variants per forward pass")
    p.add_argument("--predict-rows", type=int, default=455_024, help="test rows for the predict benchmark")
    p.add_argument("--predict-batch", type=int, default=1024)
    p.add_argument("--workers", type=int, default=2, help="loader workers of the predict benchmark")
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/use_model"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    device = default_device()
    results = {"device": torch.cuda.get_device_name() if device.type == "cuda" else f"{args.threads} CPU threads",
               "torch": torch.__version__}
    wanted = set(args.only or ["variants", "ism", "predict", "memory"])
    if "ism" in wanted:
        results["ism"] = [bench_ism(False), bench_ism(True)]
    if "variants" in wanted:
        results["variants"] = bench_variants(args.out, args.speed_variants, args.variant_batch)
    if "predict" in wanted:
        results["predict"] = bench_predict(args.out, args.predict_rows, args.predict_batch, args.workers)
    if "memory" in wanted:
        results["memory"] = bench_memory(args.out, args.variants)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
