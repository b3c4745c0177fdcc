"""The training engine: learning, early stopping, interrupt-and-resume (real SIGTERM to the job's
process group), DistributedDataParallel on gloo with two processes, settings changes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from conftest import ROOT, write_toy_dataset
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.engine import LOG_COLUMNS

SMALL_BASSET = {"conv_filters": [16, 16, 16], "conv_widths": [9, 5, 3], "pool_widths": [4, 2, 2], "hidden": [32, 32]}
SMALL_DEEPSEA = {"conv_filters": [16, 16, 16], "hidden": 16, "dropout": [0.0, 0.0, 0.0], "pool_width": 4}


def train_cmd(dataset, out, family="basset", args=None, **train):
    settings = {"optimizer": "adam", "lr": 0.003, "batch_size": 16, "max_epochs": 3, "patience": 10,
                "workers": 0, "seed": 3, **train}
    return [sys.executable, "-m", "workflow_scripts.train", "--dataset", str(dataset), "--weights", str(out / "weights.pt"),
            "--meta", str(out / "model.json"), "--train-log", str(out / "train_log.tsv"),
            "--family", family, "--model-args", json.dumps(args or SMALL_BASSET), "--train", json.dumps(settings)]


CPU = {"CUDA_VISIBLE_DEVICES": ""}
# Learning thresholds were set on the CPU; on an H100 the toy's 4 epochs end at AUC 0.79 in fp32
# but 0.51-0.59 in tf32 and bf16 (a trajectory on the edge of leaving its plateau, measured
# 2026-11-23), so tests asserting them hide the GPU. benchmarks/bf16_parity.py covers GPU numerics.


def run(cmd, env=None, **kw):
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}, **kw)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def weights(path):
    return torch.load(path / "weights.pt", weights_only=True)


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def interrupt(cmd, out):
    """Start a training, let it finish epoch 1, SIGTERM its process group (as SLURM signals a job)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while not (out / "train_log.tsv").exists():             # epoch 1 done
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.2)                                          # into epoch 2 (a GPU runs an epoch in ~1 s)
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err[-2000:]
    assert "SIGTERM received: checkpoint saved" in err
    return err


def test_learns_the_planted_motif_and_writes_the_log(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 1500, "valid": 300, "test": 300})
    run(train_cmd(data, tmp_path / "m", max_epochs=4), env=CPU)
    log = pd.read_csv(tmp_path / "m" / "train_log.tsv", sep="\t")
    assert list(log.columns) == LOG_COLUMNS and log["epoch"].tolist() == [1, 2, 3, 4]
    assert log["valid_roc_auc"].iloc[-1] > 0.7 and (log["samples_per_s"] > 0).all()
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["family"] == "basset" and meta["targets"] == ["t0", "t1", "t2"]


def test_early_stopping_keeps_the_best_weights(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5")
    run(train_cmd(data, tmp_path / "m", max_epochs=10, patience=2, min_delta=10.0))
    log = pd.read_csv(tmp_path / "m" / "train_log.tsv", sep="\t")
    assert len(log) == 3                                    # epoch 1 best, then 2 without gain
    run(train_cmd(data, tmp_path / "one", max_epochs=1))
    assert same(weights(tmp_path / "m"), weights(tmp_path / "one"))       # the weights of epoch 1
    assert not (tmp_path / "m" / "checkpoint.pt").exists() and not (tmp_path / "m" / "best.pt").exists()


MONITOR_EPOCHS, MONITOR_LR = 4, 0.03   # on the toy, epoch 3 has the lowest loss, epoch 4 the best AUC (CPU)


def test_monitor_keeps_the_weights_of_the_best_validation_auc(tmp_path):
    """monitor: valid_roc_auc keeps the epoch of the highest validation ROC AUC, not of the lowest loss."""
    data = write_toy_dataset(tmp_path / "d.h5")
    run(train_cmd(data, tmp_path / "auc", max_epochs=MONITOR_EPOCHS, lr=MONITOR_LR, monitor="valid_roc_auc"))
    log = pd.read_csv(tmp_path / "auc" / "train_log.tsv", sep="\t")
    by_auc = int(log.loc[log["valid_roc_auc"].idxmax(), "epoch"])
    assert by_auc != int(log.loc[log["valid_loss"].idxmin(), "epoch"]), log      # the two choices differ here
    run(train_cmd(data, tmp_path / "upto", max_epochs=by_auc, lr=MONITOR_LR, monitor="valid_roc_auc"))
    assert same(weights(tmp_path / "auc"), weights(tmp_path / "upto"))          # the weights of that epoch
    superq = subprocess.run(train_cmd(data, tmp_path / "sq", "superq", SMALL_SUPERQ, monitor="valid_roc_auc"),
                            cwd=ROOT, capture_output=True, text=True)
    assert superq.returncode != 0 and "monitor must be valid_loss (not valid_roc_auc)" in superq.stderr
    assert "Traceback" not in superq.stderr


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 4000, "valid": 200, "test": 200})
    cmd = lambda out: train_cmd(data, out, max_epochs=3, workers=1, rc_augment=True)  # noqa: E731
    run(cmd(tmp_path / "whole"))
    interrupt(cmd(tmp_path / "cut"), tmp_path / "cut")
    state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["state"]
    assert state["epoch"] >= 1 and not state["finished"]
    assert "resuming from" in run(cmd(tmp_path / "cut")).stderr         # the rerun resumes
    assert same(weights(tmp_path / "whole"), weights(tmp_path / "cut"))
    la = pd.read_csv(tmp_path / "whole" / "train_log.tsv", sep="\t")
    lb = pd.read_csv(tmp_path / "cut" / "train_log.tsv", sep="\t")
    assert la["valid_loss"].tolist() == lb["valid_loss"].tolist()
    assert (tmp_path / "whole" / "weights.pt").read_bytes() == (tmp_path / "cut" / "weights.pt").read_bytes()


def test_a_finished_training_is_redone_when_rerun(tmp_path):
    """--forcerun: the job runs again and must train, not 'resume' a finished run."""
    data = write_toy_dataset(tmp_path / "d.h5")
    run(train_cmd(data, tmp_path / "m", max_epochs=2))
    first = (tmp_path / "m" / "weights.pt").read_bytes()
    (tmp_path / "m" / "weights.pt").unlink()                # as Snakemake does before rerunning
    again = run(train_cmd(data, tmp_path / "m", max_epochs=2)).stderr
    assert "resuming" not in again and "epoch 2:" in again
    assert (tmp_path / "m" / "weights.pt").read_bytes() == first          # same settings, same bytes


def test_a_rebuilt_data_set_is_trained_on_not_resumed(tmp_path):
    """A checkpoint of another data-set build is never resumed: the model is trained on the new data
    and model.json names the new build (the stale-model guard of evaluation then holds)."""
    old = write_toy_dataset(tmp_path / "d.h5", n={"train": 4000, "valid": 200, "test": 200})
    cmd = train_cmd(old, tmp_path / "m", max_epochs=2, workers=1)
    interrupt(cmd, tmp_path / "m")                           # a checkpoint of the old build is left
    new = write_toy_dataset(tmp_path / "d.h5", n={"train": 4000, "valid": 200, "test": 200}, seed=5)
    rerun = run(cmd).stderr
    assert "is not resumed (its dataset differ)" in rerun
    run(train_cmd(new, tmp_path / "fresh", max_epochs=2, workers=1))
    assert same(weights(tmp_path / "m"), weights(tmp_path / "fresh"))
    assert json.loads((tmp_path / "m" / "model.json").read_text())["dataset"] == build_id(new)


def test_changed_settings_start_afresh(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 4000, "valid": 200, "test": 200})
    interrupt(train_cmd(data, tmp_path / "m", max_epochs=2, workers=1), tmp_path / "m")
    done = run(train_cmd(data, tmp_path / "m", max_epochs=2, workers=1, lr=0.001))
    assert "is not resumed (its train differ)" in done.stderr and "resuming" not in done.stderr


def test_an_empty_validation_split_is_refused_at_start(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 100, "valid": 0, "test": 50})
    done = subprocess.run(train_cmd(data, tmp_path / "m"), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "the valid split has no rows" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "m" / "weights.pt").exists()


def test_ddp_on_gloo_matches_one_process(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 640, "valid": 64, "test": 64})
    common = dict(family="deepsea", args=SMALL_DEEPSEA, max_epochs=1, batches_per_epoch=6, batch_size=32,
                  rc_augment=False, optimizer="sgd", lr=0.05)
    run(train_cmd(data, tmp_path / "one", **common), env=CPU)    # gloo on CPUs, also on a machine with one GPU
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    run(torchrun + train_cmd(data, tmp_path / "two", **common)[1:], env=CPU, timeout=300)
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    la = pd.read_csv(tmp_path / "one" / "train_log.tsv", sep="\t").iloc[0]
    lb = pd.read_csv(tmp_path / "two" / "train_log.tsv", sep="\t").iloc[0]
    assert abs(la["train_loss"] - lb["train_loss"]) < 1e-5 and abs(la["valid_loss"] - lb["valid_loss"]) < 1e-5


def test_precise_batchnorm_is_deterministic(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 1500, "valid": 300, "test": 300})
    run(train_cmd(data, tmp_path / "a", max_epochs=4, bn_recalibrate_batches=5), env=CPU)
    run(train_cmd(data, tmp_path / "b", max_epochs=4, bn_recalibrate_batches=5), env=CPU)
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert pd.read_csv(tmp_path / "a" / "train_log.tsv", sep="\t")["valid_roc_auc"].iloc[-1] > 0.7


def test_a_model_of_another_data_set_build_is_refused(tmp_path):
    import h5py
    from workflow_scripts.cli import InputError
    from workflow_scripts.inference import load_trained
    data = write_toy_dataset(tmp_path / "d.h5")
    run(train_cmd(data, tmp_path / "m", max_epochs=1))
    files = (tmp_path / "m" / "weights.pt", tmp_path / "m" / "model.json")
    assert load_trained(*files, dataset=data)[0].training is False
    with h5py.File(data, "r+") as f:                       # the data set is rebuilt with other settings
        prov = json.loads(f.attrs["provenance"])
        f.attrs["provenance"] = json.dumps({**prov, "params_hash": "changed"})
    with pytest.raises(InputError, match="trained on another build"):
        load_trained(*files, dataset=data)


SMALL_SUPERQ = {"conv_filters": 8, "conv_width": 9, "pool_width": 4, "lstm_units": 4, "code_size": 8,
                "forest_trees": 5, "forest_rows": 1000}


def forest_probs(out, data):
    """The forest's test probabilities of a trained SuperQ (through the one inference path)."""
    from workflow_scripts.inference import load_trained, predict_split
    from workflow_scripts.loaders import SplitReader
    model, _ = load_trained(out / "weights.pt", out / "model.json", "cpu", data)
    return predict_split(model, SplitReader(data, "test"), torch.device("cpu"), batch_size=64, rc_average=False).probs


def test_two_stage_fit_resumes_after_sigterm_in_the_gradient_stage(tmp_path):
    """SuperQ's autoencoder stopped by SIGTERM mid-training resumes; the rerun fits the same forest."""
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 2000, "valid": 100, "test": 100}, length=300)
    cmd = lambda out: train_cmd(data, out, "superq", SMALL_SUPERQ, max_epochs=2, lr=0.001)  # noqa: E731
    run(cmd(tmp_path / "whole"))
    interrupt(cmd(tmp_path / "cut"), tmp_path / "cut")
    assert not (tmp_path / "cut" / "extra_state" / "forest.skops").exists()
    assert "resuming from" in run(cmd(tmp_path / "cut")).stderr
    assert same(weights(tmp_path / "whole"), weights(tmp_path / "cut"))
    assert (forest_probs(tmp_path / "whole", data) == forest_probs(tmp_path / "cut", data)).all()


def test_two_stage_fit_redoes_the_second_stage_after_sigterm_in_it(tmp_path):
    """A SIGTERM (a real one, to this process) while the second stage reads the training split
    ends the job with exit 3 and no outputs; the rerun skips the finished gradient stage and
    fits the same forest as an uninterrupted fit."""
    from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs, fit
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 600, "valid": 100, "test": 100}, length=300)
    cfg = TrainConfig.from_dict({"optimizer": "adam", "lr": 0.001, "batch_size": 16, "max_epochs": 1, "seed": 3})
    outputs = lambda name: TrainOutputs(*(tmp_path / name / f for f in ("weights.pt", "model.json", "log.tsv")))  # noqa: E731
    previous = signal.getsignal(signal.SIGTERM)
    try:
        fit(Trainer(data, outputs("whole"), "superq", SMALL_SUPERQ, cfg))
        cut = Trainer(data, outputs("cut"), "superq", SMALL_SUPERQ, cfg)
        cut.train()
        read = cut.training_batches
        def signalled():                                   # SIGTERM once the second stage reads
            for i, batch in enumerate(read()):
                if i == 1:
                    os.kill(os.getpid(), signal.SIGTERM)
                yield batch
        cut.training_batches = signalled
        with pytest.raises(SystemExit) as stopped:
            fit(cut)
        assert stopped.value.code == 3
        assert not any((tmp_path / "cut" / f).exists() for f in ("weights.pt", "extra_state/forest.skops", "model.json"))
        assert (tmp_path / "cut" / "checkpoint.pt").exists()
        again = Trainer(data, outputs("cut"), "superq", SMALL_SUPERQ, cfg)
        fit(again)
        losses = lambda t: [(r["train_loss"], r["valid_loss"]) for r in t.state.history]  # noqa: E731
        assert losses(again) == losses(cut)                             # no epoch trained again
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    assert same(weights(tmp_path / "whole"), weights(tmp_path / "cut"))
    assert (forest_probs(tmp_path / "whole", data) == forest_probs(tmp_path / "cut", data)).all()


@pytest.mark.parametrize("family", ["basset", "id_cnn"])
def test_positive_weight_counts_each_positive_label_that_many_times(family):
    from models import build_model
    from workflow_scripts.engine.config import TrainConfig
    from workflow_scripts.engine.hooks import make_hooks
    torch.manual_seed(0)
    model = build_model(family, 3, 600 if family == "basset" else 400,
                        **(SMALL_BASSET if family == "basset" else {"f1": 4, "f2": 4, "f3": 4, "hidden": 4})).eval()
    x = model.encode(torch.randint(0, 4, (2, model.seq_length), dtype=torch.uint8))
    targets = (torch.rand(model(x).shape) < 0.2).float()
    labelled = torch.ones(2, dtype=torch.bool)
    plain = model.training_step(x, targets, labelled)
    for h in make_hooks(TrainConfig(positive_weight=4.0), model):
        h.setup(None)
    weighted = model.training_step(x, targets, labelled)
    if family == "basset":
        expected = torch.nn.functional.binary_cross_entropy_with_logits(model(x), targets, pos_weight=torch.tensor(4.0))
        assert torch.allclose(weighted, expected)
    assert weighted > plain * 1.2


def test_a_supervised_model_at_a_label_fraction_never_reads_the_unlabelled_rows(tmp_path):
    """DSSDA's supervised counterpart (alexnet_10) learns from its labelled rows only: changing the
    sequences and labels of the other training rows leaves its trained weights exactly as they
    were (before, they passed through its batch norm); the ladder network (dssda) reads them."""
    import h5py
    from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs, fit
    from workflow_scripts.loaders import labelled_mask
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 400, "valid": 100, "test": 100})
    changed = tmp_path / "changed.h5"
    changed.write_bytes(data.read_bytes())
    cfg = TrainConfig.from_dict({"optimizer": "adam", "lr": 0.003, "batch_size": 16, "max_epochs": 1, "seed": 3,
                                 "label_fraction": 0.25, "bn_recalibrate_batches": 4, "prior_output_bias": True})
    unlabelled = ~labelled_mask(400, 0.25, 3)
    with h5py.File(changed, "r+") as f:
        seq = f["train"]["seq"][:]
        seq[unlabelled] = (seq[unlabelled] + 1) % 4
        f["train"]["seq"][:] = seq
        f["train"]["labels"][unlabelled] = 255 - f["train"]["labels"][unlabelled]
    small = {"conv_filters": [8, 8, 8, 8, 8], "conv_widths": [9, 3, 3, 3, 3], "hidden": [16, 16]}
    trained = {}
    for family in ("alexnet", "dssda"):
        for name, path in (("same", data), ("changed", changed)):
            out = tmp_path / family / name
            trainer = Trainer(path, TrainOutputs(out / "weights.pt", out / "model.json", out / "log.tsv"),
                              family, small, cfg)
            rows = [r for batch in trainer.stream for r in batch["rows"]]
            assert (trainer.stream.labelled[rows].all()) == (family == "alexnet")
            fit(trainer)
            trained[family, name] = weights(out)
    assert same(trained["alexnet", "same"], trained["alexnet", "changed"])
    assert not same(trained["dssda", "same"], trained["dssda", "changed"])


def test_a_label_fraction_that_labels_no_row_is_refused_at_start(tmp_path):
    from workflow_scripts.cli import InputError
    from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs
    data = write_toy_dataset(tmp_path / "d.h5", n={"train": 50, "valid": 20, "test": 20})
    cfg = TrainConfig.from_dict({"optimizer": "adam", "lr": 0.003, "batch_size": 16, "label_fraction": 1e-6})
    with pytest.raises(InputError, match="leaves none of the training split's 50 rows labelled"):
        Trainer(data, TrainOutputs(*(tmp_path / f for f in ("w.pt", "m.json", "l.tsv"))), "basset", SMALL_BASSET, cfg)
