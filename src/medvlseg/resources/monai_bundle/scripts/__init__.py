"""Bundle scripts (medvlseg MONAI bundle): transforms and the inference loop; tubularity.py is medvlseg's own."""

from . import transforms

__all__ = ["transforms"]
