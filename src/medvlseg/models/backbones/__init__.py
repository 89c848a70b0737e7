"""Backbones: image (B, C_in, X, Y, Z) → (bottleneck feature, full-resolution decoder feature).

Every backbone exposes `bottleneck_channels`, `decoder_channels` and `size_divisor` (spatial sizes must be
multiples of it, in voxels).
"""

from medvlseg.models.backbones import monai_nets, unet3d  # noqa: F401  (registers the backbones)
