"""Stage ``train``: the one training engine for every model (a GPU job on a cluster).

What a model declares (see ``models/__init__.py``) decides its input (one-hot or codes), its
output (per sequence or per nucleotide) and its loss; everything else is here:

* optimisers and schedules from config (``rmsprop``, ``sgd``, ``adam``, ``adamw``; inverse-time
  decay as DeepSEA, linear warm-up), gradient accumulation, kernel max-norm, an L1 penalty on the
  last hidden layer's activations (DeepSEA), output biases initialised from label prevalence;
* reverse-complement augmentation and one-hot encoding on the device from compact codes;
* bf16 autocast and TF32 on CUDA, optional ``torch.compile``; CPU when there is no GPU;
* DistributedDataParallel when launched by ``torchrun`` with several processes (NCCL on GPUs,
  gloo on CPU); only rank 0 writes files;
* early stopping on validation loss with patience; the best weights are kept;
* ``train_log.tsv`` written as training goes: epoch, train_loss, valid_loss, valid_roc_auc,
  valid_pr_auc, seconds, samples_per_s, lr;
* a checkpoint every epoch and on SIGTERM / SIGUSR1 (SLURM's signals before walltime and on
  preemption), with model, optimiser, scheduler, epoch, step, RNG states, best score and log;
  rerunning the same job resumes from it and ends with the same weights as an uninterrupted run.

Outputs in ``results/models/{dataset}/{model}/``: ``weights.pt`` (best state dict, load with
``torch.load(weights_only=True)``), ``train_log.tsv``, ``model.json`` (family, arguments,
targets) and the working files ``checkpoint.pt`` and ``best.pt`` (kept for resuming).
"""
from __future__ import annotations

import json
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
import torch.nn.functional as F

from models import build_model
from workflow_scripts import cli
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import BatchStream, SplitReader, dense_labels, make_loader
from workflow_scripts.metrics import per_target_auc
from workflow_scripts.sequence import one_hot, reverse_complement

log = cli.log.getChild("train")
LOG_COLUMNS = ["epoch", "train_loss", "valid_loss", "valid_roc_auc", "valid_pr_auc", "seconds",
               "samples_per_s", "lr"]


@dataclass
class TrainConfig:
    """Training hyperparameters; config/models.yaml gives each model its paper's values."""
    optimizer: str = "rmsprop"
    lr: float = 1e-3
    optimizer_args: dict = field(default_factory=dict)
    weight_decay: float = 0.0
    lr_decay: float = 0.0             # inverse-time decay per step: lr / (1 + decay * step)
    warmup_steps: int = 0
    batch_size: int = 100
    grad_accumulation: int = 1
    max_epochs: int = 60
    patience: int = 5
    min_delta: float = 0.0
    batches_per_epoch: int | None = None
    max_kernel_norm: float | None = None
    hidden_l1: float = 0.0            # L1 on the activations of the model's ``last_hidden`` layer
    prior_output_bias: bool = False
    rc_augment: bool = True
    label_fraction: float = 1.0
    seed: int = 1
    workers: int = 2
    buffer_chunks: int = 8
    compile: bool = False
    deterministic: bool = True
    eval_stride: int = 1              # per-nucleotide validation: score every eval_stride-th base
    bn_recalibrate_batches: int = 0   # >0: recompute BatchNorm statistics on this many training
                                      # batches before each validation ("precise BN")

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise cli.InputError(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**known)


# ---------------------------------------------------------------- devices and processes
class Runtime:
    """Device, process group and precision of this process."""

    def __init__(self, deterministic: bool):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available()
        self.device = torch.device(f"cuda:{local}" if cuda else "cpu")
        if cuda:
            torch.cuda.set_device(self.device)
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo")
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)

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


# ---------------------------------------------------------------- model inputs and losses
def model_input(model: nn.Module, codes: torch.Tensor) -> torch.Tensor:
    return one_hot(codes) if model.input_encoding == "onehot" else codes.long()


def batch_targets(batch: dict, reader: SplitReader, device) -> torch.Tensor:
    if reader.per_nucleotide:
        return dense_labels(batch["intervals"].to(device, non_blocking=True), len(batch["codes"]),
                            len(reader.targets), reader.seq_length)
    return batch["labels"].to(device, non_blocking=True).float()


def augment(codes: torch.Tensor, targets: torch.Tensor, per_nucleotide: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Reverse-complement a random half of the batch (labels flip too when per nucleotide)."""
    flip = torch.rand(len(codes), generator=generator) < 0.5
    flip = flip.to(codes.device)
    codes = torch.where(flip[:, None], reverse_complement(codes), codes)
    if per_nucleotide:
        targets = torch.where(flip[:, None, None], targets.flip(-1), targets)
    return codes, targets


def compute_loss(model: nn.Module, logits: torch.Tensor, targets: torch.Tensor,
                 labelled: torch.Tensor) -> torch.Tensor:
    core = model.module if hasattr(model, "module") else model
    if hasattr(core, "loss"):
        return core.loss(logits, targets, labelled)
    logits, targets = logits[labelled], targets[labelled]
    return F.binary_cross_entropy_with_logits(logits.float(), targets) if len(targets) else logits.sum() * 0


class HiddenL1:
    """Adds ``weight * sum |h| / batch`` over the model's ``last_hidden`` activations (DeepSEA)."""

    def __init__(self, model: nn.Module, weight: float):
        if not hasattr(model, "last_hidden"):
            raise cli.InputError(f"hidden_l1 needs a model with a last_hidden layer; "
                                 f"{type(model).__name__} has none")
        self.weight, self.penalty = weight, None
        model.last_hidden.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        if module.training:
            self.penalty = self.weight * output.float().abs().sum() / len(output)

    def take(self) -> torch.Tensor | float:
        penalty, self.penalty = self.penalty, None
        return 0.0 if penalty is None else penalty


@torch.no_grad()
def predict(model: nn.Module, reader: SplitReader, device, *, batch_size: int, rc_average: bool,
            workers: int = 0, eval_stride: int = 1, max_batches: int | None = None, autocast=None):
    """Probabilities and 0/1 labels of a split, in row order; per-nucleotide outputs are taken
    at every ``eval_stride``-th base. Forward and reverse-complement predictions are averaged
    when ``rc_average`` (DanQ, DeepSEA)."""
    model.eval()
    stream = BatchStream(reader, batch_size, shuffle=False, max_batches=max_batches)
    probs, labels, loss_sum, rows = [], [], 0.0, 0
    autocast = autocast or torch.autocast("cpu", enabled=False)
    for batch in make_loader(stream, workers, device.type == "cuda"):
        codes = batch["codes"].to(device, non_blocking=True)
        targets = batch_targets(batch, reader, device)
        with autocast:
            p = torch.sigmoid(model(model_input(model, codes)).float())
            if rc_average:
                rc = torch.sigmoid(model(model_input(model, reverse_complement(codes))).float())
                p = (p + (rc.flip(-1) if reader.per_nucleotide else rc)) / 2
        loss_sum += F.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), targets).item() * len(codes)
        rows += len(codes)
        if reader.per_nucleotide:
            p = p[..., ::eval_stride].transpose(1, 2).reshape(-1, p.shape[1])
            targets = targets[..., ::eval_stride].transpose(1, 2).reshape(-1, targets.shape[1])
        probs.append(p.cpu().numpy().astype(np.float32))
        labels.append(targets.cpu().numpy().astype(np.uint8))
    n_targets = len(reader.targets)
    if not probs:
        return np.zeros((0, n_targets), np.float32), np.zeros((0, n_targets), np.uint8), float("nan")
    return np.concatenate(probs), np.concatenate(labels), loss_sum / rows


# ---------------------------------------------------------------- optimisation
def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    kinds = {"rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD, "adam": torch.optim.Adam,
             "adamw": torch.optim.AdamW}
    if cfg.optimizer not in kinds:
        raise cli.InputError(f"unknown optimizer {cfg.optimizer!r}; use one of {', '.join(kinds)}")
    return kinds[cfg.optimizer](params, lr=cfg.lr, weight_decay=cfg.weight_decay, **cfg.optimizer_args)


def make_schedule(optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        return warm / (1.0 + cfg.lr_decay * step)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def apply_max_norm(model: nn.Module, max_norm: float) -> None:
    """Rescale each convolution kernel to at most ``max_norm`` (DeepSEA's constraint)."""
    for m in model.modules():
        if isinstance(m, nn.Conv1d):
            w = m.weight
            norms = w.flatten(1).norm(dim=1).clamp(min=1e-12)
            w.mul_((max_norm / norms).clamp(max=1.0)[:, None, None])


@torch.no_grad()
def set_prior_bias(model: nn.Module, reader: SplitReader, batches: int = 50) -> None:
    """Start the output biases at logit(prevalence) of the training labels (capstone)."""
    stream = BatchStream(reader, 256, shuffle=False, max_batches=batches)
    counts, n = None, 0
    for batch in make_loader(stream, 0, False):
        y = batch_targets(batch, reader, "cpu")
        y = y.transpose(1, 2).reshape(-1, y.shape[1]) if reader.per_nucleotide else y
        counts = y.sum(0) if counts is None else counts + y.sum(0)
        n += len(y)
    prevalence = ((counts + 1) / (n + 2)).clamp(1e-6, 1 - 1e-6)
    model.output.bias.copy_(torch.log(prevalence / (1 - prevalence)))


# ---------------------------------------------------------------- checkpoints
def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, reader: SplitReader, batches: int, batch_size: int, device) -> None:
    """Replace BatchNorm running statistics by exact averages over the first training batches.

    With a high learning rate the running averages lag the weights and evaluation-mode outputs
    drift from what the network computes in training (Wu & Johnson 2021, "precise BN"). Uses no
    randomness, so a resumed run stays identical to an uninterrupted one.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = {m: m.momentum for m in norms}
    for m in norms:
        m.reset_running_stats()
        m.momentum = None                       # cumulative average
    model.eval()
    for m in norms:
        m.train()
    stream = BatchStream(reader, batch_size, shuffle=False, max_batches=batches)
    for batch in make_loader(stream, 0, False):
        model(model_input(model, batch["codes"].to(device)))
    for m, momentum in saved.items():
        m.momentum = momentum
    model.eval()


def save(obj, path: Path) -> None:
    with atomic_output(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def write_log(history: list[dict], path: Path) -> None:
    lines = ["\t".join(LOG_COLUMNS)] + ["\t".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c])
                                                   for c in LOG_COLUMNS) for row in history]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- the engine
class Trainer:
    def __init__(self, dataset: Path, out_dir: Path, model_name: str, model_args: dict, cfg: TrainConfig):
        self.cfg, self.out_dir = cfg, out_dir
        self.rt = Runtime(cfg.deterministic)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        random.seed(cfg.seed)
        self.train_reader = SplitReader(dataset, "train")
        self.valid_reader = SplitReader(dataset, "valid")
        r = self.train_reader
        self.model = build_model(model_name, len(r.targets), r.seq_length, **model_args).to(self.rt.device)
        self.meta = {"family": model_name, "args": model_args, "targets": r.targets,
                     "categories": r.categories, "seq_length": r.seq_length, "train": asdict(cfg),
                     "dataset": build_id(dataset)}
        if hasattr(self.model, "prepare"):
            self.model.prepare(BatchStream(r, 256, shuffle=False, max_batches=100))
        if cfg.prior_output_bias:
            set_prior_bias(self.model, r)
        self.net = self.model
        if self.rt.world > 1:
            if self.rt.device.type == "cuda":
                self.net = nn.SyncBatchNorm.convert_sync_batchnorm(self.net)
            self.net = nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.rt.device.index] if self.rt.device.type == "cuda" else None)
        self.forward = torch.compile(self.net) if cfg.compile else self.net
        self.hidden_l1 = HiddenL1(self.model, cfg.hidden_l1) if cfg.hidden_l1 else None
        self.optimizer = make_optimizer(self.model, cfg)
        self.schedule = make_schedule(self.optimizer, cfg)
        self.stream = BatchStream(r, cfg.batch_size, shuffle=True, seed=cfg.seed, buffer_chunks=cfg.buffer_chunks,
                                  rank=self.rt.rank, world=self.rt.world, label_fraction=cfg.label_fraction,
                                  max_batches=cfg.batches_per_epoch)
        self.state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_loss": math.inf,
                      "bad_epochs": 0, "history": [], "epoch_loss_sum": 0.0, "epoch_samples": 0,
                      "epoch_seconds": 0.0, "finished": False}
        self.checkpoint_path = out_dir / "checkpoint.pt"
        self.stop = StopRequest()
        log.info("device %s, %d process(es); SLURM job %s; CUDA_VISIBLE_DEVICES=%s", self.rt.device, self.rt.world,
                 os.environ.get("SLURM_JOB_ID", "-"), os.environ.get("CUDA_VISIBLE_DEVICES", "-"))

    # -- checkpoints
    def save_checkpoint(self) -> None:
        if self.rt.main:
            save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                  "schedule": self.schedule.state_dict(), "state": self.state, "rng": rng_state(),
                  "meta": self.meta}, self.checkpoint_path)
        self.rt.barrier()

    def resume(self) -> bool:
        if not self.checkpoint_path.exists():
            return False
        ck = torch.load(self.checkpoint_path, map_location=self.rt.device, weights_only=False)
        same = all(ck["meta"].get(k) == self.meta[k] for k in ("family", "args", "train", "targets"))
        if not same:   # the configuration changed since: never resume into a different run
            stale = self.checkpoint_path.with_suffix(".pt.stale")
            log.warning("%s was written with other settings; starting afresh (kept as %s)",
                        self.checkpoint_path, stale)
            self.rt.barrier()
            if self.rt.main:
                self.checkpoint_path.replace(stale)
            return False
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.schedule.load_state_dict(ck["schedule"])
        self.state = ck["state"]
        set_rng_state(ck["rng"])
        log.info("resuming from %s: epoch %d, step %d", self.checkpoint_path, self.state["epoch"] + 1,
                 self.state["step_in_epoch"])
        return True

    # -- one epoch
    def train_epoch(self) -> bool:
        """Train until the epoch ends (True) or a stop signal arrives (False)."""
        cfg, st, rt = self.cfg, self.state, self.rt
        self.stream.set_epoch(st["epoch"], st["step_in_epoch"])
        loader = make_loader(self.stream, cfg.workers, rt.device.type == "cuda")
        self.net.train()
        t0 = time.time()
        show = rt.main and sys.stderr.isatty()
        bar = None
        if show:
            from tqdm import tqdm
            bar = tqdm(total=len(self.stream) + st["step_in_epoch"], initial=st["step_in_epoch"],
                       desc=f"epoch {st['epoch'] + 1}", leave=False)
        loss_sum, samples = torch.zeros((), device=rt.device), 0
        for batch in loader:
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + st["global_step"])
            codes = batch["codes"].to(rt.device, non_blocking=True)
            targets = batch_targets(batch, self.train_reader, rt.device)
            labelled = batch["labelled"].to(rt.device)
            if cfg.rc_augment:
                codes, targets = augment(codes, targets, self.train_reader.per_nucleotide, g)
            with rt.autocast:
                logits = self.forward(model_input(self.model, codes))
                loss = compute_loss(self.net, logits, targets, labelled)
                if self.hidden_l1:
                    loss = loss + self.hidden_l1.take()
            (loss / cfg.grad_accumulation).backward()
            st["step_in_epoch"] += 1
            st["global_step"] += 1
            if st["global_step"] % cfg.grad_accumulation == 0:
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.schedule.step()
                if cfg.max_kernel_norm:
                    apply_max_norm(self.model, cfg.max_kernel_norm)
            loss_sum += loss.detach().float() * len(codes)
            samples += len(codes)
            if bar:
                bar.update(1)
            if st["step_in_epoch"] % 50 == 0 or bar is None and st["step_in_epoch"] % 200 == 0:
                self.collect(loss_sum, samples)
                loss_sum, samples = torch.zeros((), device=rt.device), 0
                if bar:
                    bar.set_postfix(loss=f"{st['epoch_loss_sum'] / st['epoch_samples']:.4f}")
                elif rt.main:
                    log.info("epoch %d step %d loss %.4f", st["epoch"] + 1, st["step_in_epoch"],
                             st["epoch_loss_sum"] / st["epoch_samples"])
            # one process checks its flag for free; several agree on it every 20 steps
            if (rt.world == 1 or st["step_in_epoch"] % 20 == 0) and rt.broadcast([float(self.stop.signal or 0)])[0]:
                self.collect(loss_sum, samples)
                st["epoch_seconds"] += time.time() - t0
                return False
        if bar:
            bar.close()
        self.collect(loss_sum, samples)
        st["epoch_seconds"] += time.time() - t0
        return True

    def collect(self, loss_sum: torch.Tensor, samples: int) -> None:
        """Add a stretch of steps' summed loss (all ranks) to the epoch totals."""
        self.state["epoch_loss_sum"] += self.rt.mean(float(loss_sum)) * self.rt.world
        self.state["epoch_samples"] += samples * self.rt.world

    def validate(self) -> dict:
        probs, labels, loss = predict(self.model, self.valid_reader, self.rt.device,
                                      batch_size=max(self.cfg.batch_size, 64), rc_average=False,
                                      workers=self.cfg.workers, eval_stride=self.cfg.eval_stride,
                                      autocast=self.rt.autocast)
        auc = per_target_auc(probs, labels, min_positives=1)
        return {"valid_loss": loss, "valid_roc_auc": float(np.nanmean(auc["roc_auc"])) if np.isfinite(auc["roc_auc"]).any() else float("nan"),
                "valid_pr_auc": float(np.nanmean(auc["pr_auc"])) if np.isfinite(auc["pr_auc"]).any() else float("nan")}

    def run(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.resume()                                   # may replace self.state: bind it after
        cfg, st, rt = self.cfg, self.state, self.rt
        best_path = self.out_dir / "best.pt"
        while not st["finished"] and st["epoch"] < cfg.max_epochs:
            if not self.train_epoch():
                self.save_checkpoint()
                name = signal.Signals(int(self.stop.signal or signal.SIGTERM)).name
                log.warning("%s received: checkpoint saved at epoch %d step %d; rerun the job to resume",
                            name, st["epoch"] + 1, st["step_in_epoch"])
                raise SystemExit(3)
            if cfg.bn_recalibrate_batches:       # every rank: SyncBatchNorm reduces across them
                recalibrate_batchnorm(self.model, self.train_reader, cfg.bn_recalibrate_batches,
                                      cfg.batch_size, rt.device)
            scores = self.validate() if rt.main else {}
            loss = rt.broadcast([scores.get("valid_loss", 0.0)])[0]
            row = {"epoch": st["epoch"] + 1, "train_loss": st["epoch_loss_sum"] / max(1, st["epoch_samples"]),
                   **{k: float(scores.get(k, loss if k == "valid_loss" else float("nan")))
                      for k in ("valid_loss", "valid_roc_auc", "valid_pr_auc")},
                   "seconds": st["epoch_seconds"], "samples_per_s": st["epoch_samples"] / max(st["epoch_seconds"], 1e-9),
                   "lr": self.optimizer.param_groups[0]["lr"]}
            st["history"].append(row)
            if loss < st["best_loss"] - cfg.min_delta:
                st["best_loss"], st["bad_epochs"] = loss, 0
                if rt.main:
                    save(self.model.state_dict(), best_path)
            else:
                st["bad_epochs"] += 1
            st["epoch"] += 1
            st.update(step_in_epoch=0, epoch_loss_sum=0.0, epoch_samples=0, epoch_seconds=0.0)
            if st["bad_epochs"] >= cfg.patience:
                log.info("early stop: validation loss has not improved for %d epochs", cfg.patience)
                st["finished"] = True
            if rt.main:
                log.info("epoch %d: %s", row["epoch"], {k: round(v, 5) if isinstance(v, float) else v
                                                        for k, v in row.items()})
                write_log(st["history"], self.out_dir / "train_log.tsv")
            self.save_checkpoint()
        if rt.main:
            with atomic_output(self.out_dir / "weights.pt", suffix=".pt") as tmp:
                tmp.write_bytes(best_path.read_bytes())
            with atomic_output(self.out_dir / "model.json") as tmp:
                tmp.write_text(json.dumps(self.meta, indent=2, default=str))
            write_log(st["history"], self.out_dir / "train_log.tsv")
        rt.barrier()


def load_trained(model_dir: str | Path, device="cpu", dataset: str | Path | None = None) -> nn.Module:
    """A trained model from its directory (``model.json`` + ``weights.pt``), in eval mode.

    With ``dataset``, refuses a model trained on another build of that data set."""
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "model.json").read_text())
    if dataset is not None and meta.get("dataset") not in (None, build_id(dataset)):
        raise cli.InputError(f"{model_dir}: trained on another build of {dataset} (the data set was rebuilt "
                             f"since); retrain it (snakemake --forcerun train_model ...)")
    model = build_model(meta["family"], len(meta["targets"]), meta["seq_length"], **meta["args"])
    model.load_state_dict(torch.load(model_dir / "weights.pt", map_location=device, weights_only=True))
    return model.to(device).eval()


def main(args) -> None:
    cfg = TrainConfig.from_dict(args.train)
    Trainer(Path(args.dataset), Path(args.out_dir), args.family, args.model_args, cfg).run()


def build_parser():
    p = cli.parser("Train one model on one data set (resumable; DDP when launched by torchrun).")
    p.add_argument("--dataset", required=True, help="results/datasets/{dataset}.h5")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--family", required=True, help="registered model family (models/)")
    p.add_argument("--model-args", type=cli.json_arg, default={})
    p.add_argument("--train", type=cli.json_arg, default={}, help="training settings as JSON")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
