"""Text adapters (K, E) → (K, D) and image adapters (B, Cb, x, y, z) → (B, D).

Each module registers its adapters; medvlseg.models.registry imports it on first use.
"""
