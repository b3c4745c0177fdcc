"""The training engine (library): one loop for every model, with plug-ins.

* :mod:`~workflow_scripts.engine.config` — the training settings (``TrainConfig``);
* :mod:`~workflow_scripts.engine.hooks` — paper-specific behaviours (warm-up, inverse-time
  decay, gradient accumulation, DeepSEA's hidden L1 and kernel max-norm, prior output bias,
  precise BatchNorm) plugged into fixed call points of the loop;
* :mod:`~workflow_scripts.engine.trainer` — the loop: state, checkpoints, validation, early
  stopping, DistributedDataParallel;
* :mod:`~workflow_scripts.engine.fitting` — fit strategies by name (a model's ``fit_strategy``).
"""
from workflow_scripts.engine.config import TrainConfig  # noqa: F401
from workflow_scripts.engine.fitting import fit  # noqa: F401
from workflow_scripts.engine.trainer import LOG_COLUMNS, Trainer, TrainOutputs  # noqa: F401
