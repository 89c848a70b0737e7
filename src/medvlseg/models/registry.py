"""Name → constructor registries for model parts (backbones, adapters, fusion, heads) and presets.

Parts register themselves with a decorator when their module is imported; `medvlseg.models` imports every
part module, so `BACKBONES.build("unet3d", ...)` works after `import medvlseg.models`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from medvlseg.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """A named table of constructors; unknown names raise ConfigError listing the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._table: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator registering `fn` under `name` (a duplicate name is a programming error)."""

        def deco(fn: F) -> F:
            if name in self._table and self._table[name] is not fn:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._table[name] = fn
            return fn

        return deco

    def get(self, name: str) -> Callable[..., Any]:
        """Return the constructor registered as `name`."""
        try:
            return self._table[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {self.names()}") from None

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the constructor registered as `name` with the given arguments."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table


BACKBONES: Registry[Any] = Registry("backbone")
TEXT_ADAPTERS: Registry[Any] = Registry("text adapter")
IMAGE_ADAPTERS: Registry[Any] = Registry("image adapter")
FUSIONS: Registry[Any] = Registry("fusion")
HEADS: Registry[Any] = Registry("head")
PRESETS: Registry[Any] = Registry("model preset")
# Whole-model constructors `fn(config: ModelConfig) -> nn.Module` for families that are not SegModel part
# assemblies (Med-VLM, SegEVOLution); selected by `ModelConfig.architecture`.
ARCHITECTURES: Registry[Any] = Registry("model architecture")
