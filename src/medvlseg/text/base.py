"""The frozen text-encoder interface, its registry and the `get_text_encoder` factory.

A `TextEncoder` is deliberately *not* a `torch.nn.Module`: a segmentation model that keeps one as an attribute
never exposes the encoder's weights through `.parameters()`, so they can never reach an optimizer. Every
encoder's weights are set to `requires_grad=False`, kept in eval mode and used under `torch.inference_mode`.
`encoder.config()` returns a JSON-able dict such that `get_text_encoder(**encoder.config())` rebuilds it.
Encoders live in `TEXT_ENCODERS` (a medvlseg.utils.registry.Registry): each built-in module is imported the
first time its name is asked for and registers itself with `register_text_encoder`.
"""

from __future__ import annotations

import abc
import inspect
import logging
from collections.abc import Callable
from typing import Any

import torch

from medvlseg.errors import ConfigError
from medvlseg.utils.registry import Registry

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "minilm"
TEXT_ENCODERS: Registry[Any] = Registry("text encoder", {
    "bert": "medvlseg.text.bert", "clip": "medvlseg.text.clip", "minilm": "medvlseg.text.minilm",
    "precomputed": "medvlseg.text.precomputed", "random": "medvlseg.text.random_text"})


class TextEncoder(abc.ABC):
    """One embedding per prompt: `encode(prompts) -> (N, E)` float32; frozen; rebuildable from `config()`."""

    name: str = ""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Embedding size E (number of features per prompt)."""

    @abc.abstractmethod
    def _encode(self, prompts: list[str]) -> torch.Tensor:
        """Encode a non-empty list of prompts to an (N, E) tensor (called under inference mode)."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """Return the JSON-able kwargs (with "name") that rebuild this encoder via `get_text_encoder`."""

    def frozen_parameters(self) -> list[torch.nn.Parameter]:
        """Return the encoder's parameters (all with requires_grad False); empty for weight-free encoders."""
        return []

    def encode(self, prompts: list[str] | tuple[str, ...]) -> torch.Tensor:
        """Encode prompts to a float32 CPU tensor (N, E); N = len(prompts)."""
        if isinstance(prompts, str):
            raise TypeError("encode() takes a list of prompts, not a single string")
        prompts = [str(p) for p in prompts]
        if not prompts:
            return torch.zeros(0, self.dim)
        with torch.inference_mode():
            out = self._encode(prompts)
        # Leave inference mode: a clone is an ordinary tensor that autograd-using callers may consume.
        return out.detach().float().cpu().clone()

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        """Same as `encode`."""
        return self.encode(prompts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config()})"


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    """Put `module` in eval mode and switch off gradients for all its parameters; return it."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Divide each row of (N, E) by its Euclidean norm."""
    return torch.nn.functional.normalize(x, p=2.0, dim=-1, eps=eps)


def register_text_encoder(name: str) -> Callable[[Callable[..., TextEncoder]], Callable[..., TextEncoder]]:
    """Class/function decorator: make an encoder constructor available as `get_text_encoder(name, ...)`."""
    return TEXT_ENCODERS.register(name)


def available_text_encoders() -> list[str]:
    """Names accepted by `get_text_encoder`."""
    return TEXT_ENCODERS.names()


def get_text_encoder(name: str = DEFAULT_ENCODER, **kwargs: Any) -> TextEncoder:
    """Build the text encoder registered as `name` with constructor kwargs (e.g. path=..., normalize=...)."""
    factory = TEXT_ENCODERS.get(name)
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"text encoder {name!r}: {exc}") from exc
    return factory(**kwargs)


def text_encoder_from_config(config: dict[str, Any]) -> TextEncoder:
    """Rebuild an encoder from the dict returned by `TextEncoder.config()`."""
    if "name" not in config:
        raise ConfigError(f"text encoder config has no 'name': {config}")
    kwargs = {k: v for k, v in config.items() if k != "name"}
    return get_text_encoder(config["name"], **kwargs)
