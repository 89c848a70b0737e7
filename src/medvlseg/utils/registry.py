"""`Registry`: a name → constructor table whose plug-ins are imported lazily, by name, on first use.

One implementation serves model parts, presets and whole architectures (medvlseg.models.registry) and the
text encoders (medvlseg.text.base). A registry knows which module defines each built-in name (`plugins`); the
module is imported when that name is first asked for, and registers itself with the `register` decorator. So
the module holding a registry never imports its plug-ins (no import circles), and nothing heavy is imported
until it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from medvlseg.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """A named table of constructors; unknown names raise ConfigError listing the known ones."""

    def __init__(self, kind: str, plugins: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self.plugins = dict(plugins or {})  # built-in name → module that registers it when imported
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
        """Return the constructor registered as `name`, importing its plug-in module first if needed."""
        if name not in self._table and name in self.plugins:
            importlib.import_module(self.plugins[name])
            if name not in self._table:
                raise ValueError(f"{self.plugins[name]} did not register {self.kind} {name!r}")
        try:
            return self._table[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {self.names()}") from None

    def build(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the constructor registered as `name` with the given arguments."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """Registered and built-in names, sorted (without importing any plug-in)."""
        return sorted(set(self._table) | set(self.plugins))

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self.plugins
