"""Benchmark: per-target AUCs at DeepSEA's test-set size, and Tomtom speed and agreement.

* AUC: 919 targets x 455,024 test samples (float32 scores, ~2 % positives) with
  workflow_scripts.metrics, and scikit-learn's roc_auc_score + average_precision_score looped
  over targets in the same run (on ``--sklearn-targets`` of them, scaled to 919);
* Tomtom: DanQ's 320 published filters against the 879 JASPAR 2024 matrices with Pearson
  scores (DanQ's settings), timed, and compared with MEME Suite 5.5.8's output for every pair
  (tests/data/motifs); memelite's Euclidean Tomtom timed for reference.

    python benchmarks/evaluation.py
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from workflow_scripts.metrics import per_target_auc  # noqa: E402
from workflow_scripts.motif_files import read_meme  # noqa: E402
from workflow_scripts.tomtom import tomtom_euclidean, tomtom_pearson  # noqa: E402

MOTIFS = ROOT / "tests" / "data" / "motifs"


def auc_benchmark(n: int, targets: int, sklearn_targets: int) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score
    rng = np.random.default_rng(0)
    labels = (rng.random((n, targets), dtype=np.float32) < 0.02).astype(np.uint8)
    scores = (rng.random((n, targets), dtype=np.float32) + 0.3 * labels).astype(np.float32)
    t = time.time()
    ours = per_target_auc(scores, labels, workers=os.cpu_count())
    ours_s = time.time() - t
    t = time.time()
    for k in range(sklearn_targets):
        roc = roc_auc_score(labels[:, k], scores[:, k])
        ap = average_precision_score(labels[:, k], scores[:, k])
        assert abs(roc - ours["roc_auc"][k]) < 1e-9 and abs(ap - ours["pr_auc"][k]) < 1e-9
    sk_s = (time.time() - t) * targets / sklearn_targets
    print(f"AUC, {targets} targets x {n:,} samples: {ours_s:.1f} s on {os.cpu_count()} cores; "
          f"scikit-learn loop {sk_s:.0f} s (timed on {sklearn_targets} targets, scaled) -> {sk_s / ours_s:.0f}x")


def tomtom_benchmark() -> None:
    queries, background = read_meme(MOTIFS / "DanQ_filters.meme")
    targets, _ = read_meme(MOTIFS / "JASPAR2024_CORE_vertebrates_nr.meme")
    tomtom_pearson(queries[:2], targets, background)                       # compile / load numba
    t = time.time()
    ours = tomtom_pearson(queries, targets, background, min_overlap=5)
    seconds = time.time() - t
    ref = pd.read_csv(MOTIFS / "meme558_tomtom_DanQ_pearson_danqsettings.tsv.gz", sep="\t", comment="#")
    both = ref.merge(ours, on=["Query_ID", "Target_ID"], suffixes=("_meme", "_ours"))
    lp = np.log10(both[["p-value_meme", "p-value_ours"]].clip(lower=1e-300))
    corr = np.corrcoef(lp.iloc[:, 0], lp.iloc[:, 1])[0, 1]
    sig_m = set(ref.loc[ref["E-value"] < 0.01, "Query_ID"])
    sig_o = set(ours.loc[ours["E-value"] < 0.01, "Query_ID"])
    best = lambda df: df.sort_values("p-value", kind="stable").drop_duplicates("Query_ID").set_index("Query_ID")["Target_ID"]  # noqa: E731
    bm, bo = best(ref), best(ours)
    agree = np.mean([bm[q] == bo[q] for q in sig_m])
    print(f"Tomtom (Pearson), 320 x 879: {seconds:.1f} s on {os.cpu_count()} cores (MEME 5.5.8: 1,926 s); "
          f"filters at E < 0.01: ours {len(sig_o)}, MEME {len(sig_m)}, Jaccard {len(sig_m & sig_o) / len(sig_m | sig_o):.3f}; "
          f"log10 p correlation {corr:.6f}; best match agrees for {100 * agree:.1f} % of significant filters")
    tomtom_euclidean(queries[:2], targets)
    t = time.time()
    tomtom_euclidean(queries, targets)
    print(f"Tomtom (Euclidean, memelite), 320 x 879: {time.time() - t:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=455_024)
    p.add_argument("--targets", type=int, default=919)
    p.add_argument("--sklearn-targets", type=int, default=46)
    p.add_argument("--skip-tomtom", action="store_true")
    args = p.parse_args()
    auc_benchmark(args.samples, args.targets, args.sklearn_targets)
    if not args.skip_tomtom:
        tomtom_benchmark()


if __name__ == "__main__":
    main()
