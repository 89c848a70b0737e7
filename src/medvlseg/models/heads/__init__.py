"""Heads: decoder features (+ fused (B, K, D_fused)) → logits (B, K, ...) or (B, K+1, ...)."""

from medvlseg.models.heads import dynamic_head, softmax_head  # noqa: F401  (registers the heads)
