"""Exceptions that the CLI turns into one clear line on stderr and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class MedvlsegError(Exception):
    """Base class: an error a user can fix, reported without a traceback (unless --debug)."""


class InputError(MedvlsegError):
    """A user-supplied file or folder is missing, unreadable or invalid; the message names it."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[Path, str]]:
        """Pickle as (path, problem), so a worker process can raise it to its parent."""
        return (type(self), (self.path, self.problem))


class ConfigError(MedvlsegError):
    """A configuration value is invalid (unknown key, wrong type, out of range)."""


class CheckpointError(InputError):
    """A checkpoint or run folder is corrupt, foreign or incomplete."""
