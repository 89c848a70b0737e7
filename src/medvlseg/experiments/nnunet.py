"""The nnU-Net baseline's dataset converter lives in `medvlseg.data.nnunet` (shared with `medvlseg import-nnunet`)."""

from __future__ import annotations

from medvlseg.data.nnunet import IGNORE, LABELS, convert, ignore_side

__all__ = ["IGNORE", "LABELS", "convert", "ignore_side"]
