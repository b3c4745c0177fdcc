"""The training loop: state, checkpoints, validation and early stopping — nothing paper-specific.

A batch's loss is the model's own ``training_step`` (``models.base.SeqModel``) plus the hooks'
penalties (:mod:`workflow_scripts.engine.hooks`); the learning rate is the configured one times
the hooks' factors. The loop:

* reverse-complement augmentation and the model's input encoding on the device from codes;
* bf16 autocast and TF32 on CUDA, optional ``torch.compile``; CPU when there is no GPU;
* DistributedDataParallel when launched by ``torchrun`` with several processes (NCCL on GPUs,
  gloo on CPU); each rank takes its share of every global batch; only rank 0 writes files;
* early stopping with patience on the validation loss (or ROC / PR AUC: ``monitor``); the best
  weights are kept;
* ``train_log.tsv`` written as training goes (:data:`LOG_COLUMNS`);
* a checkpoint every epoch and on SIGTERM / SIGUSR1 (SLURM's signals before walltime and on
  preemption): model, optimiser, schedule, :class:`TrainState`, RNG states and what the run is
  (family, settings, targets, data-set build). Rerunning resumes it and ends with the same
  weights as an uninterrupted run. A checkpoint of another run (other settings, another
  data-set build) is never resumed: the rerun trains afresh. A checkpoint of this run whose
  training had finished (the job stopped before writing the outputs, or in a model's second
  stage) resumes to what follows training. When the outputs are written the working files
  ``checkpoint.pt`` and ``best.pt`` are removed.

:meth:`Trainer.run` is :meth:`~Trainer.train` (the gradient stage) then :meth:`~Trainer.finish`
(the outputs); a fit strategy (:mod:`~workflow_scripts.engine.fitting`) may do more between
them. A model whose classifier is not a torch layer (``torch_classifier`` False) is validated
by its own loss (``training_step`` on the validation split), its classifier not existing yet.
"""
from __future__ import annotations

import math
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from models import build_model
from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.engine.config import TrainConfig, compile_mode
from workflow_scripts.engine.hooks import make_hooks
from workflow_scripts.inference import default_device, predict_split, save_torch, set_precision, write_trained
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import BatchStream, SplitReader, batch_targets, labelled_mask, make_loader
from workflow_scripts.metrics import per_target_auc
from workflow_scripts.sequence import reverse_complement

log = cli.log.getChild("train")
LOG_COLUMNS = ["epoch", "train_loss", "valid_loss", "valid_roc_auc", "valid_pr_auc", "seconds",
               "samples_per_s", "lr"]
RUN_IDENTITY = ("family", "args", "train", "targets", "dataset", "labelled_only")


@dataclass
class TrainState:
    """Where a run is; saved in every checkpoint."""
    epoch: int = 0                  # epochs completed
    step_in_epoch: int = 0          # batches done in the current epoch
    global_step: int = 0            # batches done in all
    best_score: float = math.inf    # the monitored validation score, lower is better (AUCs negated)
    bad_epochs: int = 0             # epochs since it last improved
    history: list[dict] = field(default_factory=list)
    epoch_loss_sum: float = 0.0
    epoch_samples: int = 0
    epoch_seconds: float = 0.0
    finished: bool = False


@dataclass
class TrainOutputs:
    """The files a training job writes; the working files live beside the weights."""
    weights: Path
    meta: Path
    train_log: Path

    @property
    def checkpoint(self) -> Path:
        return self.weights.parent / "checkpoint.pt"

    @property
    def best(self) -> Path:
        return self.weights.parent / "best.pt"


class Runtime:
    """Device, process group and precision of this process."""

    def __init__(self, deterministic: bool, precision: str = "bf16"):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = default_device(int(os.environ.get("LOCAL_RANK", "0")))
        if self.device.type == "cuda" and self.device.index >= torch.cuda.device_count():
            raise InputError(f"process {self.device.index} of this node has no GPU: {torch.cuda.device_count()} "
                             f"visible (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '-')}); "
                             f"run one process per GPU (the model's gpus: setting)")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        self.precision = precision if self.device.type == "cuda" else "fp32 (CPU)"
        self.autocast = set_precision(self.device, precision)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def mean(self, value: float) -> float:
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.item() / self.world

    def broadcast(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


class StopRequest:
    """Turns SIGTERM / SIGUSR1 into a flag checked between steps (checkpoint, then exit)."""

    def __init__(self):
        self.signal: int | None = None
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.signal = signum


class _Step(nn.Module):
    """The model's ``training_step`` as a module's forward, so that DistributedDataParallel and
    ``torch.compile`` wrap the whole step."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, targets, labelled):
        return self.model.training_step(x, targets, labelled)


def augment(codes: torch.Tensor, targets: torch.Tensor, per_nucleotide: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Reverse-complement a random half of the batch (labels flip too when per nucleotide)."""
    flip = torch.rand(len(codes), generator=generator).to(codes.device) < 0.5
    codes = torch.where(flip[:, None], reverse_complement(codes), codes)
    if per_nucleotide:
        targets = torch.where(flip[:, None, None], targets.flip(-1), targets)
    return codes, targets


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    kinds = {"rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD, "adam": torch.optim.Adam,
             "adamw": torch.optim.AdamW}
    if cfg.optimizer not in kinds:
        raise InputError(f"unknown optimizer {cfg.optimizer!r}; use one of {', '.join(kinds)}")
    return kinds[cfg.optimizer](params, lr=cfg.lr, weight_decay=cfg.weight_decay, **cfg.optimizer_args)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    # generator states are CPU byte tensors; a checkpoint loaded onto the GPU moved them there
    torch.set_rng_state(state["torch"].cpu())
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def write_log(history: list[dict], path: Path) -> None:
    lines = ["\t".join(LOG_COLUMNS)] + ["\t".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c])
                                                   for c in LOG_COLUMNS) for row in history]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def mean_finite(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


class Trainer:
    def __init__(self, dataset: Path, outputs: TrainOutputs, family: str, model_args: dict, cfg: TrainConfig):
        self.cfg, self.outputs = cfg, outputs
        self.rt = Runtime(cfg.deterministic, cfg.precision)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        self.train_reader = SplitReader(dataset, "train")
        self.valid_reader = SplitReader(dataset, "valid")
        for reader in (self.train_reader, self.valid_reader):
            if reader.n == 0:
                raise InputError(f"{dataset}: the {reader.split} split has no rows; a model cannot be "
                                 f"{'trained' if reader.split == 'train' else 'validated'} (check the data set's split settings)")
        r = self.train_reader
        self.model = build_model(family, len(r.targets), r.seq_length, **model_args).to(self.rt.device)
        if not self.model.torch_classifier and (cfg.monitor != "valid_loss" or cfg.positive_weight != 1.0):
            raise InputError(f"{family}: its network learns without labels (its classifier is fitted after "
                             f"training), so monitor must be valid_loss (not {cfg.monitor}) and "
                             f"positive_weight 1 (not {cfg.positive_weight})")
        self.meta = {"family": family, "args": model_args, "targets": r.targets, "categories": r.categories,
                     "seq_length": r.seq_length, "train": asdict(cfg), "dataset": build_id(dataset)}
        # the training's rows with labels (train.label_fraction, fixed by the seed); a model that does
        # not use unlabelled rows never reads the others, not even for input statistics
        self.labelled = labelled_mask(r.n, cfg.label_fraction, cfg.seed)
        self.labelled_only = not self.model.uses_unlabelled
        if not self.labelled.any():
            raise InputError(f"{dataset}: label_fraction {cfg.label_fraction} leaves none of the training "
                             f"split's {r.n} rows labelled; raise it")
        # which rows an epoch reads is part of what a run is (a checkpoint of a run that read them
        # all, before 2026-11-24, is not resumed)
        if self.labelled_only and cfg.label_fraction < 1:
            self.meta["labelled_only"] = True
        self.model.prepare(BatchStream(r, 256, shuffle=False, max_batches=100, labelled=self.labelled,
                                       labelled_only=self.labelled_only))
        self.hooks = make_hooks(cfg, self.model)
        self.step_module = _Step(self.model)
        if self.rt.world > 1:
            if self.rt.device.type == "cuda":
                self.step_module = nn.SyncBatchNorm.convert_sync_batchnorm(self.step_module)
            self.step_module = nn.parallel.DistributedDataParallel(
                self.step_module, device_ids=[self.rt.device.index] if self.rt.device.type == "cuda" else None)
        self.step = torch.compile(self.step_module, mode=compile_mode(cfg.compile)) if cfg.compile else self.step_module
        self.optimizer = make_optimizer(self.model, cfg)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_factor)
        self.call("setup", self)
        self.stream = BatchStream(r, cfg.batch_size, shuffle=True, seed=cfg.seed, buffer_chunks=cfg.buffer_chunks,
                                  rank=self.rt.rank, world=self.rt.world, labelled=self.labelled,
                                  labelled_only=self.labelled_only, max_batches=cfg.batches_per_epoch)
        self.state = TrainState()
        self.stop = StopRequest()
        log.info("device %s (%s), %d process(es); SLURM job %s; CUDA_VISIBLE_DEVICES=%s", self.rt.device,
                 self.rt.precision, self.rt.world, os.environ.get("SLURM_JOB_ID", "-"), os.environ.get("CUDA_VISIBLE_DEVICES", "-"))

    # -- hooks
    def call(self, point: str, *args) -> list:
        return [getattr(h, point)(*args) for h in self.hooks if hasattr(h, point)]

    def lr_factor(self, step: int) -> float:
        return math.prod(self.call("lr_factor", step))

    # -- checkpoints
    def save_checkpoint(self) -> None:
        if self.rt.main:
            save_torch({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                        "schedule": self.schedule.state_dict(), "state": asdict(self.state), "rng": rng_state(),
                        "meta": self.meta}, self.outputs.checkpoint)
        self.rt.barrier()

    def resume(self) -> bool:
        """Continue an interrupted (or finished, unwritten) run of exactly this training; anything
        else starts afresh."""
        path = self.outputs.checkpoint
        if not path.exists():
            return False
        ck = torch.load(path, map_location=self.rt.device, weights_only=False)
        changed = [k for k in RUN_IDENTITY if ck["meta"].get(k) != self.meta.get(k)]
        if changed:
            log.info("%s is not resumed (its %s differ): training afresh", path, ", ".join(changed))
            self.rt.barrier()
            if self.rt.main:
                path.unlink()
                self.outputs.best.unlink(missing_ok=True)
            return False
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.schedule.load_state_dict(ck["schedule"])
        self.state = TrainState(**ck["state"])
        set_rng_state(ck["rng"])
        log.info("resuming from %s: epoch %d, step %d", path, self.state.epoch + 1, self.state.step_in_epoch)
        return True

    # -- one epoch
    def train_epoch(self) -> bool:
        """Train until the epoch ends (True) or a stop signal arrives (False)."""
        cfg, st, rt = self.cfg, self.state, self.rt
        self.stream.set_epoch(st.epoch, st.step_in_epoch)
        loader = make_loader(self.stream, cfg.workers, rt.device.type == "cuda")
        self.step_module.train()
        t0 = time.time()
        bar = None
        if rt.main and sys.stderr.isatty():
            from tqdm import tqdm
            bar = tqdm(total=len(self.stream) + st.step_in_epoch, initial=st.step_in_epoch,
                       desc=f"epoch {st.epoch + 1}", leave=False)
        loss_sum, samples = torch.zeros((), device=rt.device), 0
        scale = math.prod(self.call("loss_scale"))
        for batch in loader:
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + st.global_step)
            codes = batch["codes"].to(rt.device, non_blocking=True)
            targets = batch_targets(batch, self.train_reader, rt.device)
            labelled = batch["labelled"].to(rt.device, non_blocking=True)
            if cfg.rc_augment:
                codes, targets = augment(codes, targets, self.train_reader.per_nucleotide, g)
            with rt.autocast:
                loss = self.step(self.model.encode(codes), targets, labelled)
                loss = loss + sum(self.call("penalty"))
            (loss * scale).backward()
            st.step_in_epoch += 1
            st.global_step += 1
            if all(self.call("steps_optimizer", st.global_step)):
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.schedule.step()
                self.call("after_step", self)
            loss_sum += loss.detach().float() * len(codes)
            samples += len(codes)
            if bar:
                bar.update(1)
            if st.step_in_epoch % 50 == 0 or bar is None and st.step_in_epoch % 200 == 0:
                self.collect(loss_sum, samples)
                loss_sum, samples = torch.zeros((), device=rt.device), 0
                if bar:
                    bar.set_postfix(loss=f"{st.epoch_loss_sum / st.epoch_samples:.4f}")
                elif rt.main:
                    log.info("epoch %d step %d loss %.4f", st.epoch + 1, st.step_in_epoch,
                             st.epoch_loss_sum / st.epoch_samples)
            # one process checks its flag for free; several agree on it every 20 steps
            if (rt.world == 1 or st.step_in_epoch % 20 == 0) and rt.broadcast([float(self.stop.signal or 0)])[0]:
                self.collect(loss_sum, samples)
                st.epoch_seconds += time.time() - t0
                return False
        if bar:
            bar.close()
        self.collect(loss_sum, samples)
        st.epoch_seconds += time.time() - t0
        return True

    def collect(self, loss_sum: torch.Tensor, samples: int) -> None:
        """Add a stretch of steps' summed loss (all ranks) to the epoch totals."""
        self.state.epoch_loss_sum += self.rt.mean(float(loss_sum)) * self.rt.world
        self.state.epoch_samples += samples * self.rt.world

    def validate(self) -> dict:
        if not self.model.torch_classifier:
            return {"valid_loss": self.mean_loss(self.valid_reader)}
        pred = predict_split(self.model, self.valid_reader, self.rt.device, batch_size=max(self.cfg.batch_size, 64),
                             rc_average=False, workers=self.cfg.workers, eval_stride=self.cfg.eval_stride,
                             autocast=self.rt.autocast)
        auc = per_target_auc(pred.probs, pred.labels, min_positives=1)
        return {"valid_loss": pred.loss, "valid_roc_auc": mean_finite(auc["roc_auc"]),
                "valid_pr_auc": mean_finite(auc["pr_auc"])}

    @torch.no_grad()
    def mean_loss(self, reader: SplitReader) -> float:
        """The model's own loss (``training_step``, eval mode, no augmentation) over a split."""
        self.model.eval()
        stream = BatchStream(reader, max(self.cfg.batch_size, 64), shuffle=False)
        total, rows = 0.0, 0
        for batch in make_loader(stream, self.cfg.workers, self.rt.device.type == "cuda"):
            codes = batch["codes"].to(self.rt.device)
            targets, labelled = batch_targets(batch, reader, self.rt.device), batch["labelled"].to(self.rt.device)
            with self.rt.autocast:
                total += float(self.model.training_step(self.model.encode(codes), targets, labelled)) * len(codes)
            rows += len(codes)
        return total / max(rows, 1)

    def end_epoch(self) -> None:
        """Validate, log, keep the best weights, decide on early stopping, checkpoint."""
        cfg, st, rt = self.cfg, self.state, self.rt
        self.call("before_validation", self)        # every rank: SyncBatchNorm reduces across them
        scores = self.validate() if rt.main else {}
        loss = rt.broadcast([scores.get("valid_loss", 0.0)])[0]
        row = {"epoch": st.epoch + 1, "train_loss": st.epoch_loss_sum / max(1, st.epoch_samples),
               **{k: float(scores.get(k, loss if k == "valid_loss" else float("nan")))
                  for k in ("valid_loss", "valid_roc_auc", "valid_pr_auc")},
               "seconds": st.epoch_seconds, "samples_per_s": st.epoch_samples / max(st.epoch_seconds, 1e-9),
               "lr": self.optimizer.param_groups[0]["lr"]}
        st.history.append(row)
        score = loss if cfg.monitor == "valid_loss" else -rt.broadcast([row[cfg.monitor]])[0]
        if score < st.best_score - cfg.min_delta:       # NaN never improves
            st.best_score, st.bad_epochs = score, 0
            if rt.main:
                save_torch(self.model.state_dict(), self.outputs.best)
        else:
            st.bad_epochs += 1
        st.epoch += 1
        st.step_in_epoch, st.epoch_loss_sum, st.epoch_samples, st.epoch_seconds = 0, 0.0, 0, 0.0
        if st.bad_epochs >= cfg.patience:
            log.info("early stop: %s has not improved for %d epochs", cfg.monitor, cfg.patience)
        st.finished = st.bad_epochs >= cfg.patience or st.epoch >= cfg.max_epochs
        if rt.main:
            log.info("epoch %d: %s", row["epoch"], {k: round(v, 5) if isinstance(v, float) else v
                                                    for k, v in row.items()})
            write_log(st.history, self.outputs.train_log)
        self.save_checkpoint()

    def run(self) -> None:
        """Train (resuming an interrupted run of the same training) and write the outputs."""
        self.train()
        self.finish()

    def train(self) -> None:
        """The gradient stage: epochs until early stopping or ``max_epochs``, resuming an
        interrupted run of the same training; the working files stay for :meth:`finish`."""
        self.outputs.weights.parent.mkdir(parents=True, exist_ok=True)
        self.resume()
        while not self.state.finished and self.state.epoch < self.cfg.max_epochs:
            if not self.train_epoch():
                self.save_checkpoint()
                name = signal.Signals(int(self.stop.signal or signal.SIGTERM)).name
                log.warning("%s received: checkpoint saved at epoch %d step %d; rerun the job to resume",
                            name, self.state.epoch + 1, self.state.step_in_epoch)
                raise SystemExit(3)
            self.end_epoch()

    def use_best(self) -> dict:
        """Load the best weights into the model (eval mode); returns them, on the CPU."""
        if not self.outputs.best.exists():
            raise InputError(f"{self.outputs.weights}: the validation score ({self.cfg.monitor}) was never "
                             f"finite (training diverged, or no validation target has positives); lower the "
                             f"learning rate or check the data set")
        best = torch.load(self.outputs.best, map_location="cpu", weights_only=True)
        self.model.load_state_dict(best)
        self.model.eval()
        return best

    def training_batches(self):
        """``(input, targets, labelled)`` batches of the training split on the device, in a random
        order (whole row chunks drawn at random), without augmentation: what a model's second
        stage reads. A stop signal ends the job between batches (exit 3; the rerun resumes after
        the gradient stage)."""
        stream = BatchStream(self.train_reader, max(self.cfg.batch_size, 256), shuffle=True, seed=self.cfg.seed,
                             labelled=self.labelled)     # the training's labelled rows
        stream.set_epoch(self.cfg.max_epochs)                               # an order no epoch used
        for batch in make_loader(stream, self.cfg.workers, self.rt.device.type == "cuda"):
            if self.stop.signal:
                log.warning("%s received in the second stage: rerun the job to redo it",
                            signal.Signals(self.stop.signal).name)
                raise SystemExit(3)
            codes = batch["codes"].to(self.rt.device, non_blocking=True)
            yield (self.model.encode(codes), batch_targets(batch, self.train_reader, self.rt.device),
                   batch["labelled"].to(self.rt.device))

    def finish(self, best: dict | None = None) -> None:
        """Write the outputs: the model's extra state, the best weights (loaded into the model
        unless given, as :meth:`use_best` returned them), ``model.json`` and the log; then remove
        the working files."""
        if self.rt.main:
            best = self.use_best() if best is None else best
            write_trained(best, self.meta, self.outputs.weights, self.outputs.meta, model=self.model)
            write_log(self.state.history, self.outputs.train_log)
            self.outputs.checkpoint.unlink(missing_ok=True)
            self.outputs.best.unlink(missing_ok=True)
        self.rt.barrier()
