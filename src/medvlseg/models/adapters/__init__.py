"""Text adapters (K, E) → (K, D) and image adapters (B, Cb, x, y, z) → (B, D)."""

from medvlseg.models.adapters import image_adapter, text_adapter  # noqa: F401  (registers the adapters)
