"""The Universal Model's 3D U-Net (Models Genesis layout) with a width multiplier and a light CPU variant.

Paper layout (width 1.0, variant "paper"): encoder levels 1→32→64, 64→64→128, 128→128→256, 256→256→512
(conv k3 → norm → ReLU, two blocks per level, max-pool after the first three); decoder levels
ConvTranspose k2 s2 (keeps channels), concat the skip, two blocks: 512+256→256→256, 256+128→128→128,
128+64→64→64. Module names (enc1..enc4, dec3..dec1, blocks.i.conv/norm, up) map onto the published checkpoint
by the table in `medvlseg.models.backbones.universal_weights`.

Light variant: the first level's first conv has stride 2, so the whole U-Net runs at half resolution; a
ConvTranspose (c64 → c32) brings the decoder back to full resolution where it is concatenated with a thin
full-resolution refinement branch (`refine_channels`, one block on the input) and fused by one block into c32
channels (the decoder feature). At width 0.25 that is 8 full-resolution channels instead of 64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medvlseg.models.config import BackboneConfig
from medvlseg.models.registry import BACKBONES


class BatchStatsNorm3d(nn.BatchNorm3d):
    """BatchNorm3d that normalises with the current batch's statistics even in eval mode.

    This is the Universal Model's behaviour (needed to reproduce its published outputs). In training mode it is
    an ordinary BatchNorm3d (running statistics are updated); in eval mode running statistics stay untouched.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise `x` (B, C, X, Y, Z) with batch statistics."""
        if self.training:
            return super().forward(x)
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def make_norm(kind: str, channels: int) -> nn.Module:
    """Normalisation layer by name: "batch", "batch_stats" (always batch statistics) or "instance"."""
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    if kind == "batch_stats":
        return BatchStatsNorm3d(channels)
    if kind == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    raise ValueError(f"unknown norm {kind!r}")


class ConvBlock(nn.Module):
    """Conv3d k3 (padding 1) → norm → ReLU."""

    def __init__(self, cin: int, cout: int, norm: str, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel_size=3, stride=stride, padding=1)
        self.norm = make_norm(norm, cout)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, X, Y, Z) → (B, cout, X/stride, Y/stride, Z/stride)."""
        return self.act(self.norm(self.conv(x)))


class EncoderLevel(nn.Module):
    """Two conv blocks; the max-pool is applied by the caller (not after the deepest level)."""

    def __init__(self, cin: int, cmid: int, cout: int, norm: str, stride: int = 1) -> None:
        super().__init__()
        self.blocks = nn.Sequential(ConvBlock(cin, cmid, norm, stride), ConvBlock(cmid, cout, norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, ...) → (B, cout, ...)."""
        return self.blocks(x)


class DecoderLevel(nn.Module):
    """ConvTranspose k2 s2 (cin → up channels, default cin), concat the skip, `n_blocks` conv blocks."""

    def __init__(
        self, cin: int, cskip: int, cout: int, norm: str, up_channels: int | None = None, n_blocks: int = 2
    ) -> None:
        super().__init__()
        cup = cin if up_channels is None else up_channels
        self.up = nn.ConvTranspose3d(cin, cup, kernel_size=2, stride=2)
        blocks = [ConvBlock(cup + cskip, cout, norm)] + [ConvBlock(cout, cout, norm) for _ in range(n_blocks - 1)]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """(B, cin, n³) and skip (B, cskip, (2n)³) → (B, cout, (2n)³)."""
        return self.blocks(torch.cat([self.up(x), skip], dim=1))


def scaled(channels: int, width: float) -> int:
    """Channel count scaled by `width`, rounded to a multiple of 4 (at least 4)."""
    return max(4, int(round(channels * width / 4.0)) * 4)


class UNet3D(nn.Module):
    """Universal-Model 3D U-Net; forward returns (bottleneck (B, c512, n/8³), decoder features (B, c64, n³)).

    The light variant returns c32 decoder channels and its bottleneck is at n/16³.
    """

    def __init__(
        self,
        in_channels: int,
        width: float = 1.0,
        variant: str = "paper",
        norm: str = "batch",
        refine_channels: int = 8,
    ) -> None:
        super().__init__()
        c32, c64, c128, c256, c512 = (scaled(c, width) for c in (32, 64, 128, 256, 512))
        self.variant = variant
        stem_stride = 2 if variant == "light" else 1
        self.enc1 = EncoderLevel(in_channels, c32, c64, norm, stride=stem_stride)
        self.enc2 = EncoderLevel(c64, c64, c128, norm)
        self.enc3 = EncoderLevel(c128, c128, c256, norm)
        self.enc4 = EncoderLevel(c256, c256, c512, norm)
        self.dec3 = DecoderLevel(c512, c256, c256, norm)
        self.dec2 = DecoderLevel(c256, c128, c128, norm)
        self.dec1 = DecoderLevel(c128, c64, c64, norm)
        if variant == "light":
            self.refine = ConvBlock(in_channels, refine_channels, norm)
            self.final = DecoderLevel(c64, refine_channels, c32, norm, up_channels=c32, n_blocks=1)
        self.bottleneck_channels = c512
        self.decoder_channels = c32 if variant == "light" else c64
        self.size_divisor = 8 * stem_stride

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image (B, C_in, X, Y, Z), each size a multiple of `size_divisor` → (bottleneck, decoder features)."""
        if any(s % self.size_divisor for s in x.shape[2:]):
            raise ValueError(f"spatial size {tuple(x.shape[2:])} must be a multiple of {self.size_divisor} voxels")
        s1 = self.enc1(x)  # (B, c64, X/s, Y/s, Z/s), s = stem stride
        s2 = self.enc2(F.max_pool3d(s1, 2))  # (B, c128, X/2s, ...)
        s3 = self.enc3(F.max_pool3d(s2, 2))  # (B, c256, X/4s, ...)
        bottleneck = self.enc4(F.max_pool3d(s3, 2))  # (B, c512, X/8s, ...)
        d = self.dec3(bottleneck, s3)
        d = self.dec2(d, s2)
        d = self.dec1(d, s1)  # (B, c64, X/s, ...)
        if self.variant == "light":
            d = self.final(d, self.refine(x))  # (B, c32, X, Y, Z)
        return bottleneck, d


@BACKBONES.register("unet3d")
def build_unet3d(in_channels: int, cfg: BackboneConfig) -> UNet3D:
    """Registered builder: the Universal-Model U-Net at `cfg.width`, paper or light variant."""
    return UNet3D(in_channels, cfg.width, cfg.variant, cfg.norm, cfg.refine_channels)
