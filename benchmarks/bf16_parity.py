"""bf16 against fp32 training: the first steps of DeepSEA and DanQ at their paper settings.

Each model is trained twice through the engine on the same data set, with the same seed and the
same batches: once with ``precision: bf16`` (the default on a GPU: bf16 autocast, TF32 for what
stays in float32) and once with ``precision: fp32`` (float32 throughout, TF32 off). The steps are
cut into windows (``--window`` steps each, one engine "epoch" per window, validated after each);
the check is that every window's mean training loss, and the validation loss after it, agree
within ``--loss-tolerance`` (1 %), and that the last validation ROC AUC (plain mean over targets)
agrees within ``--auc-tolerance`` (0.005). Writes ``parity.json`` and ``parity.png`` (the curves).

    python benchmarks/bf16_parity.py --dataset results/datasets/deepsea1000.h5       # on a GPU
    python benchmarks/bf16_parity.py --dataset D.h5 --profile smoke --steps 20 --window 10   # CPU check

On the CPU both runs compute in float32 (the engine never autocasts there), so a CPU run checks the
script, not bf16.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

from workflow_scripts.configuration import model_settings  # noqa: E402
from workflow_scripts.engine import TrainConfig, TrainOutputs, Trainer  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def train_windows(dataset: Path, entry: dict, precision: str, steps: int, window: int, out: Path,
                  workers: int) -> list[dict]:
    """The engine's log rows of ``steps`` training steps in windows of ``window``."""
    settings = {**entry["train"], "precision": precision, "batches_per_epoch": window,
                "max_epochs": steps // window, "patience": 10 ** 6, "workers": workers}
    outputs = TrainOutputs(out / "weights.pt", out / "model.json", out / "train_log.tsv")
    trainer = Trainer(dataset, outputs, entry["family"], entry["args"], TrainConfig.from_dict(settings))
    trainer.run()
    return trainer.state.history


def compare(runs: dict[str, list[dict]]) -> dict:
    fp32, bf16 = runs["fp32"], runs["bf16"]
    rel = lambda key: [abs(b[key] - a[key]) / abs(a[key]) for a, b in zip(fp32, bf16)]  # noqa: E731
    return {"train_loss_max_rel_diff": max(rel("train_loss")), "valid_loss_max_rel_diff": max(rel("valid_loss")),
            "final_valid_roc_auc": {p: runs[p][-1]["valid_roc_auc"] for p in PRECISIONS},
            "final_auc_diff": abs(bf16[-1]["valid_roc_auc"] - fp32[-1]["valid_roc_auc"])}


def plot(results: dict, path: Path, window: int) -> None:
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.5), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        for precision, style in zip(PRECISIONS, ("-", "--")):
            rows = r["runs"][precision]
            steps = [row["epoch"] * window for row in rows]
            ax.plot(steps, [row["train_loss"] for row in rows], style, color="C0", label=f"train, {precision}")
            ax.plot(steps, [row["valid_loss"] for row in rows], style, color="C1", label=f"valid, {precision}")
        ax.set(title=f"{name}: bf16 vs fp32", xlabel="training step", ylabel="BCE loss")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, default=ROOT / "results" / "datasets" / "deepsea1000.h5")
    p.add_argument("--models", nargs="+", default=["deepsea", "danq"])
    p.add_argument("--profile", default="paper", help="profile of config/models.yaml")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--window", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--loss-tolerance", type=float, default=0.01)
    p.add_argument("--auc-tolerance", type=float, default=0.005)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "bf16_parity")
    args = p.parse_args()
    zoo = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (both runs float32)"
    results = {}
    for name in args.models:
        entry = model_settings({**zoo, "profile": args.profile}, name)
        runs = {precision: train_windows(args.dataset, entry, precision, args.steps, args.window,
                                         args.out / name / precision, args.workers) for precision in PRECISIONS}
        results[name] = {"runs": runs, **compare(runs)}
        r = results[name]
        r["passes"] = bool(max(r["train_loss_max_rel_diff"], r["valid_loss_max_rel_diff"]) <= args.loss_tolerance
                           and r["final_auc_diff"] <= args.auc_tolerance)
        print(f"{name}: {args.steps} steps at batch {entry['train'].get('batch_size')}: train loss within "
              f"{100 * r['train_loss_max_rel_diff']:.2f} %, valid loss within {100 * r['valid_loss_max_rel_diff']:.2f} %, "
              f"final valid ROC AUC fp32 {r['final_valid_roc_auc']['fp32']:.4f} bf16 "
              f"{r['final_valid_roc_auc']['bf16']:.4f} (diff {r['final_auc_diff']:.4f}): "
              f"{'PASS' if r['passes'] else 'FAIL'}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "parity.json").write_text(json.dumps({"device": device, "torch": torch.__version__,
                                                       "dataset": str(args.dataset), "steps": args.steps,
                                                       "window": args.window, "results": results}, indent=2))
    plot(results, args.out / "parity.png", args.window)


if __name__ == "__main__":
    main()
