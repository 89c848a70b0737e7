"""Medical image I/O: canonical RAS+ volumes with exact write-back, dataset manifests, dataset validation.

Public API (docs/architecture.md): `read_image`, `write_image`, `Volume`, `SourceGeometry`, `find_images`,
`case_name`, `Manifest`, `Case`; `validate_manifest` lives in `medvlseg.io.validate`.
"""

from __future__ import annotations

from medvlseg.io.geometry import SourceGeometry, canonicalize, source_from_canonical, spacing_of, to_source
from medvlseg.io.image import IMAGE_EXTS, Volume, case_name, find_images, image_ext, read_image, write_image
from medvlseg.io.manifest import SPLITS, Case, Manifest

__all__ = [
    "IMAGE_EXTS", "SPLITS", "Case", "Manifest", "SourceGeometry", "Volume", "canonicalize", "case_name",
    "find_images", "image_ext", "read_image", "source_from_canonical", "spacing_of", "to_source", "write_image",
]
