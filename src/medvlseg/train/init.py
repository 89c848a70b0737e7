"""`train --init default|RUN_DIR`: start a run from a shipped model's or another run's weights (fine-tuning).

Every weight is copied except the class-embeddings buffer: the new run keeps the embeddings of its own prompts
(computed by its text encoder), so a fine-tuned model may be given new class prompts. The shapes must match: same
preset/capacity, classes and input channels (the run's preprocessing) as the initial model — the base config of an
`--init` run is the initial model's own config.yaml for exactly that reason.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from medvlseg.errors import ConfigError
from medvlseg.models.serialization import EXTRA, checkpoint_paths, read_checkpoint
from medvlseg.models.zoo import resolve_model

log = logging.getLogger(__name__)

KEEP = ("class_embeddings",)  # buffers the new run owns (its prompts' embeddings)


def init_checkpoint(spec: str) -> Path:
    """Checkpoint stem of `--init SPEC`: the model folder's `best`, else its `last`."""
    folder = resolve_model(spec)
    for stem in ("best", "last"):
        if checkpoint_paths(folder / stem)[1].is_file():
            return folder / stem
    raise ConfigError(f"--init {spec}: {folder} holds no best/last checkpoint")


def load_init_weights(model: torch.nn.Module, spec: str) -> Path:
    """Copy the weights of `--init SPEC` into `model` (fp16 shipped weights cast to the model's dtype)."""
    stem = init_checkpoint(spec)
    _, tensors, _ = read_checkpoint(stem)
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA) and k not in KEEP}
    own = {k: v for k, v in model.state_dict().items() if k not in KEEP}
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    bad = [k for k in set(own) & set(state) if own[k].shape != state[k].shape]
    if missing or unexpected or bad:
        raise ConfigError(f"--init {spec}: {checkpoint_paths(stem)[0]} does not fit this run's model (missing "
                          f"{missing[:3]}, unexpected {unexpected[:3]}, other shapes {sorted(bad)[:3]}); train "
                          "with the initial model's config (the default when --config is not given)")
    result = model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    if set(result.missing_keys) - set(KEEP):
        raise ConfigError(f"--init {spec}: weights left uninitialised: {result.missing_keys[:3]}")
    log.info("initialised %d tensors from %s", len(state), stem)
    return stem
