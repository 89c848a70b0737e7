"""Dataset checks behind `medvlseg validate`: every problem of every case, one `Problem` each.

Checks per case: image and label exist and parse; image is 3-D with finite values and plausible spacing (mm);
label shape and affine match the image (affine within `affine_tol` mm); label values ⊆ the allowed set.
Each file is read once; label values and finiteness are first checked by one min/max pass (fast on big volumes),
and counted in full (np.unique, np.isfinite) only when that pass finds a problem.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medvlseg.errors import InputError
from medvlseg.io.image import Volume, read_image
from medvlseg.io.manifest import Case, Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One problem found in a file (`where` is the path as shown to the user)."""

    case: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass(frozen=True)
class Checks:
    """Thresholds of the checks: allowed label values, spacing range (mm), affine tolerance (mm)."""

    label_values: tuple[int, ...] = (0, 1, 2)
    min_spacing: float = 0.2
    max_spacing: float = 10.0
    affine_tol: float = 1e-3


def label_values(array: np.ndarray) -> list[float]:
    """Sorted distinct values of a label array (np.unique; ints as int, floats as float)."""
    return [v.item() for v in np.unique(array)]


def values_outside(array: np.ndarray, allowed: tuple[int, ...]) -> list[float]:
    """Sorted distinct values of `array` not in `allowed`; [] after one min/max pass when the range is covered.

    Fast path (hand-written): for an integer array whose [min, max] lies inside a run of allowed integers no
    value can be outside, which min/max prove ~40x faster than np.unique on a 512x512x300 uint8 volume.
    """
    if array.size == 0:
        return []
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        lo, hi = int(array.min()), int(array.max())
        if set(range(lo, hi + 1)) <= set(allowed):
            return []
    allowed_set = set(allowed)
    return [v for v in label_values(array) if v not in allowed_set]


def check_image(vol: Volume, checks: Checks) -> list[str]:
    """Problems of an image volume: non-finite voxels, implausible spacing (mm)."""
    problems = []
    if np.issubdtype(vol.array.dtype, np.floating) and not np.isfinite([vol.array.min(), vol.array.max()]).all():
        bad = int(np.count_nonzero(~np.isfinite(vol.array)))  # NaN propagates through min/max, so only then count
        if bad:
            problems.append(f"{bad} non-finite voxel(s) (NaN/inf)")
    spacing = vol.spacing
    if not all(checks.min_spacing <= s <= checks.max_spacing for s in spacing):
        problems.append(f"implausible spacing {tuple(round(s, 4) for s in spacing)} mm "
                        f"(expected {checks.min_spacing}–{checks.max_spacing} mm)")
    return problems


def check_label(label: Volume, image: Volume | None, checks: Checks) -> list[str]:
    """Problems of a label volume against its image: shape, affine (mm), values ⊆ allowed set."""
    problems = []
    if image is not None:
        if label.array.shape != image.array.shape:
            problems.append(f"label shape {label.source.shape} ({''.join(label.source.axcodes)}) does not match "
                            f"image shape {image.source.shape} ({''.join(image.source.axcodes)})")
        else:
            diff = float(np.abs(label.affine - image.affine).max())
            if diff > checks.affine_tol:
                problems.append(f"label affine differs from the image affine by {diff:.4g} mm "
                                f"(tolerance {checks.affine_tol:g} mm)")
    allowed = set(checks.label_values)
    extra = values_outside(label.array, checks.label_values)
    if extra:
        shown = ", ".join(_fmt(v) for v in extra[:10]) + (", ..." if len(extra) > 10 else "")
        noun = "value" if len(extra) == 1 else "values"
        problems.append(f"label {noun} {shown} not in {{{','.join(str(v) for v in sorted(allowed))}}}")
    return problems


def _fmt(value: float) -> str:
    """A label value as text (integers without a decimal point)."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def _read(path: Path, where: str, case: str, problems: list[Problem]) -> Volume | None:
    """Read a volume, recording a Problem instead of raising."""
    try:
        return read_image(path, require_3d=True)
    except InputError as exc:
        problems.append(Problem(case, where, exc.problem))
    except (MemoryError, ValueError, OSError) as exc:
        problems.append(Problem(case, where, f"cannot read image: {exc}"))
    return None


def validate_case(case: Case, manifest: Manifest, checks: Checks = Checks()) -> list[Problem]:
    """All problems of one case (image and, if given, its label)."""
    problems: list[Problem] = []
    img_where = manifest.relative(case.image)
    image = _read(case.image, img_where, case.name, problems)
    if image is not None:
        problems += [Problem(case.name, img_where, p) for p in check_image(image, checks)]
    if case.label is not None:
        lab_where = manifest.relative(case.label)
        label = _read(case.label, lab_where, case.name, problems)
        if label is not None:
            problems += [Problem(case.name, lab_where, p) for p in check_label(label, image, checks)]
    return problems


def validate_manifest(manifest: Manifest, checks: Checks = Checks(), progress: bool = True) -> list[Problem]:
    """All problems of all cases of a manifest, in manifest order."""
    from tqdm import tqdm

    problems: list[Problem] = []
    cases: Iterable[Case] = tqdm(manifest.cases, desc="validate", unit="case", disable=None if progress else True)
    for case in cases:
        found = validate_case(case, manifest, checks)
        log.debug("%s: %d problem(s)", case.name, len(found))
        problems += found
    return problems
