"""Heads: decoder features (+ fused (B, K, D_fused)) → logits (B, K, ...) or (B, K+1, ...).

Each module registers its head; medvlseg.models.registry imports it on first use.
"""
