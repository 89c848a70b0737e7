"""Training: partial-label losses, patch sampling from the cache, the trainer, checkpoints, torchrun DDP.

Public API: `TrainConfig`, `Trainer(config, data, run_dir, resume).fit()`, `partial_label_loss`.
"""

from medvlseg.train.config import TrainConfig

__all__ = ["TrainConfig"]
