"""Medical image I/O: canonical RAS+ volumes with exact write-back, dataset manifests, dataset validation.

Public API (docs/architecture.md): `read_image(path, require_3d=True) -> Volume`,
`write_image(path, array, like=volume | affine=canonical_affine, orientation="LPS", dtype=None)`,
`Volume` (`.array`, `.affine`, `.spacing`, `.source`, `.to_source()`, `.with_array()`, `Volume.from_canonical()`),
`SourceGeometry`, `find_images(folder)`, `case_name(path)`, `Manifest`, `Case`;
`validate_manifest` lives in `medvlseg.io.validate`, the DICOM series writer in `medvlseg.io.dicom`.
Contract extensions: `write_image(..., affine=, orientation=)` writes a canonical array without a reference
volume; `SourceGeometry` also records the format family and NIfTI qform/sform codes; `dtype=None` stores
bool / ints in 0..255 as uint8 (label maps), int64 as int32, float64 as float32.
"""

from __future__ import annotations

from medvlseg.io.geometry import SourceGeometry, canonicalize, source_from_canonical, spacing_of, to_source
from medvlseg.io.image import IMAGE_EXTS, Volume, case_name, find_images, image_ext, read_image, write_image
from medvlseg.io.manifest import SPLITS, Case, Manifest

__all__ = [
    "IMAGE_EXTS", "SPLITS", "Case", "Manifest", "SourceGeometry", "Volume", "canonicalize", "case_name",
    "find_images", "image_ext", "read_image", "source_from_canonical", "spacing_of", "to_source", "write_image",
]
