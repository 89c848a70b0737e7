"""Backbones: image (B, C_in, X, Y, Z) → (bottleneck feature, full-resolution decoder feature).

Every backbone exposes `bottleneck_channels`, `decoder_channels` and `size_divisor` (spatial sizes must be
multiples of it, in voxels). Each module registers its backbones; medvlseg.models.registry imports it on first use.
"""
