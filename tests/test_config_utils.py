"""Tests for dataclass config helpers and atomic writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medvlseg.errors import ConfigError, InputError
from medvlseg.utils import config as cfgmod
from medvlseg.utils.atomic import atomic_path


@dataclass
class Inner:
    window: tuple[float, float] = (-700.0, 300.0)
    name: str = "x"


@dataclass
class Outer:
    epochs: int = 3
    lr: float = 8e-4
    spacing: tuple[float, float, float] | None = None
    inner: Inner = field(default_factory=Inner)


def test_round_trip_yaml(tmp_path: Path) -> None:
    cfg = Outer(epochs=5, spacing=(1.5, 1.5, 2.0), inner=Inner(window=(-1000.0, 400.0)))
    cfgmod.save(cfg, tmp_path / "c.yaml")
    assert cfgmod.load(Outer, tmp_path / "c.yaml") == cfg


def test_unknown_key_and_bad_type_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("epochs: 2\nepoch: 3\n")
    with pytest.raises(InputError, match="bad.yaml.*unknown key"):
        cfgmod.load(Outer, tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text("epochs: two\n")
    with pytest.raises(InputError, match="epochs"):
        cfgmod.load(Outer, tmp_path / "bad2.yaml")


def test_override_dotted() -> None:
    cfg = cfgmod.override(Outer(), **{"inner.name": "y", "epochs": 9, "lr": None})
    assert cfg.inner.name == "y" and cfg.epochs == 9 and cfg.lr == 8e-4
    with pytest.raises(ConfigError):
        cfgmod.override(Outer(), **{"inner.nope": 1})


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.nii.gz"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.name.endswith(".nii.gz")
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"ok")
    assert target.read_bytes() == b"ok" and len(list(tmp_path.iterdir())) == 1
