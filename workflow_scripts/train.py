"""Stage ``train_model``: train one model on one data set (a GPU job on a cluster).

The engine (:mod:`workflow_scripts.engine`) does the work; this is its command line. Outputs
(``results/models/{dataset}/{model}/``): ``weights.pt`` (best state dict, load with
``torch.load(weights_only=True)``), ``model.json`` (family, arguments, targets, training settings
and the data-set build; see :mod:`workflow_scripts.inference.model_files`), ``train_log.tsv``
(``epoch train_loss valid_loss valid_roc_auc valid_pr_auc seconds samples_per_s lr``). While it
runs, ``checkpoint.pt`` and ``best.pt`` beside them let a killed job resume.
"""
from __future__ import annotations

from pathlib import Path

from workflow_scripts import cli
from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs, fit


def main(args) -> None:
    cfg = TrainConfig.from_dict(args.train)
    outputs = TrainOutputs(Path(args.weights), Path(args.meta), Path(args.train_log))
    fit(Trainer(Path(args.dataset), outputs, args.family, args.model_args, cfg))


def build_parser():
    p = cli.parser("Train one model on one data set (resumable; DDP when launched by torchrun).")
    p.add_argument("--dataset", required=True, help="results/datasets/{dataset}.h5")
    p.add_argument("--weights", required=True, help="output weights.pt (checkpoints are written beside it)")
    p.add_argument("--meta", required=True, help="output model.json")
    p.add_argument("--train-log", required=True, help="output train_log.tsv")
    p.add_argument("--family", required=True, help="registered model family (models/)")
    p.add_argument("--model-args", type=cli.json_arg, default={})
    p.add_argument("--train", type=cli.json_arg, default={}, help="training settings as JSON")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
