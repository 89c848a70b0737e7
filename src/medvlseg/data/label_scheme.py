"""The label schemes (docs/architecture.md, Labels): 3 classes (artery, vein) and 5 classes (left/right kept).

One place for what training, prediction and evaluation must agree on: the class names (value i+1 = names[i]),
the short names of evaluation tables, the model channels per scheme, and which 5-class channels merge into
each 3-class one (left + right artery → artery, left + right vein → vein).
"""

from __future__ import annotations

from dataclasses import dataclass

from medvlseg.errors import ConfigError


@dataclass(frozen=True)
class LabelScheme:
    """A label scheme: `classes` values including background, foreground names, table names, 3-class merge."""

    classes: int  # label values including background (3 or 5)
    label_mode: str  # the TrainConfig.label_mode that trains it ("3class" | "5class")
    names: tuple[str, ...]  # foreground names, label value i+1 = names[i] = model channel i
    short_names: tuple[str, ...]  # the same classes in evaluation tables (CSV/JSON keys)
    groups_3: tuple[tuple[int, ...], ...]  # foreground channels merged into each 3-class channel

    @property
    def num_foreground(self) -> int:
        """Foreground classes = model output channels of a sigmoid model."""
        return len(self.names)

    @property
    def labels(self) -> tuple[int, ...]:
        """Foreground label values (1..num_foreground)."""
        return tuple(range(1, self.num_foreground + 1))


THREE = LabelScheme(3, "3class", ("pulmonary artery", "pulmonary vein"), ("artery", "vein"), ((0,), (1,)))
FIVE = LabelScheme(5, "5class", ("left pulmonary artery", "left pulmonary vein", "right pulmonary artery",
                                 "right pulmonary vein"),
                   ("left_artery", "left_vein", "right_artery", "right_vein"), ((0, 2), (1, 3)))
SCHEMES: dict[int, LabelScheme] = {3: THREE, 5: FIVE}


def label_scheme(classes: int) -> LabelScheme:
    """The scheme with `classes` label values including background (3 or 5); ConfigError otherwise."""
    try:
        return SCHEMES[int(classes)]
    except KeyError:
        raise ConfigError(f"classes must be 3 or 5 (including background), got {classes}") from None


def scheme_for_mode(label_mode: str) -> LabelScheme:
    """The scheme a TrainConfig.label_mode ("5class" | "3class") trains."""
    for scheme in SCHEMES.values():
        if scheme.label_mode == label_mode:
            return scheme
    raise ConfigError(f"label_mode must be one of {[s.label_mode for s in SCHEMES.values()]}, got {label_mode!r}")


def default_names(channels: int) -> list[str]:
    """Foreground names of a model with `channels` outputs: the scheme's (4 → 5-class, 2 → 3-class), else 'class i'."""
    for scheme in SCHEMES.values():
        if scheme.num_foreground == channels:
            return list(scheme.names)
    return [f"class {i + 1}" for i in range(channels)]
