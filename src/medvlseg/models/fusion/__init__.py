"""Fusion modules: text (K, D) + image (B, D) → (B, K, D_fused), chosen by name; `out_dim` = D_fused."""

from medvlseg.models.fusion import add, concat, cross_attention  # noqa: F401  (registers the fusions)
