"""Fusion modules: text (K, D) + image (B, D) → (B, K, D_fused), chosen by name; `out_dim` = D_fused.

Each module registers its fusion; medvlseg.models.registry imports it on first use.
"""
