"""MONAI networks as backbones returning (bottleneck feature, full-resolution decoder feature).

Each network is built with `out_channels` = the decoder feature width, so its final layer yields the decoder
feature map; the bottleneck is taken from the network's deepest block (SegResNet's `encode`, a forward hook on
DynUNet's `bottleneck` and on MONAI UNet's innermost sub-block). `width` scales the channel counts; the "light"
variant drops residual units (UNet) or uses narrower filters, for CPU training.
"""

from __future__ import annotations

import math

import torch
from monai.networks.blocks.convolutions import Convolution, ResidualUnit
from monai.networks.layers.simplelayers import SkipConnection
from monai.networks.nets import DynUNet, SegResNet, UNet
from torch import nn

from medvlseg.models.backbones.unet3d import scaled
from medvlseg.models.config import BackboneConfig
from medvlseg.models.registry import BACKBONES


def _innermost(net: UNet) -> nn.Module:
    """The deepest (bottleneck) block of a MONAI UNet: follow the nested SkipConnection sub-modules."""
    module: nn.Module = net.model
    while isinstance(module, nn.Sequential) and len(module) == 3 and isinstance(module[1], SkipConnection):
        module = module[1].submodule
    if not isinstance(module, (Convolution, ResidualUnit)):
        raise RuntimeError(f"unexpected MONAI UNet structure: innermost block is {type(module).__name__}")
    return module


class HookedBackbone(nn.Module):
    """Wraps a MONAI network; a forward hook on `inner` records the bottleneck during each forward."""

    def __init__(self, net: nn.Module, inner: nn.Module, bottleneck_channels: int, decoder_channels: int, divisor: int):
        super().__init__()
        self.net = net
        self.bottleneck_channels = bottleneck_channels
        self.decoder_channels = decoder_channels
        self.size_divisor = divisor
        self._captured: list[torch.Tensor] = []
        inner.register_forward_hook(self._record)  # a bound method, so deepcopy re-targets it

    def _record(self, _module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        self._captured.append(output)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image (B, C_in, X, Y, Z) → (bottleneck (B, Cb, ...), decoder features (B, Cd, X, Y, Z))."""
        if any(s % self.size_divisor for s in x.shape[2:]):
            raise ValueError(f"spatial size {tuple(x.shape[2:])} must be a multiple of {self.size_divisor} voxels")
        self._captured.clear()
        decoder = self.net(x)
        bottleneck = self._captured.pop()
        self._captured.clear()
        return bottleneck, decoder


@BACKBONES.register("monai_unet")
def build_monai_unet(in_channels: int, cfg: BackboneConfig) -> HookedBackbone:
    """MONAI UNet, strides 2 at every level (first conv strided); paper variant has 2 residual units per level."""
    channels = tuple(scaled(c, cfg.width) for c in (32, 64, 128, 256, 512))
    out = scaled(32, cfg.width)
    net = UNet(
        spatial_dims=3, in_channels=in_channels, out_channels=out, channels=channels, strides=(2, 2, 2, 2),
        num_res_units=2 if cfg.variant == "paper" else 0, norm="INSTANCE",
    )
    return HookedBackbone(net, _innermost(net), channels[-1], out, 16)


@BACKBONES.register("dynunet")
def build_dynunet(in_channels: int, cfg: BackboneConfig) -> HookedBackbone:
    """MONAI DynUNet (nnU-Net-like), kernel 3, strides 1,2,2,2,2 (light: 1,2,2,2 and fewer filters)."""
    levels = 5 if cfg.variant == "paper" else 4
    filters = [scaled(c, cfg.width) for c in (32, 64, 128, 256, 320)][:levels]
    strides = [1] + [2] * (levels - 1)
    net = DynUNet(
        spatial_dims=3, in_channels=in_channels, out_channels=filters[0], kernel_size=[3] * levels,
        strides=strides, upsample_kernel_size=strides[1:], filters=filters, res_block=False,
    )
    return HookedBackbone(net, net.bottleneck, filters[-1], filters[0], 2 ** (levels - 1))


class SegResNetBackbone(nn.Module):
    """MONAI SegResNet without its final conv: `encode` gives the bottleneck, `decode` the decoder feature."""

    def __init__(self, in_channels: int, cfg: BackboneConfig) -> None:
        super().__init__()
        init = scaled(32, cfg.width)
        blocks_down = (1, 2, 2, 4) if cfg.variant == "paper" else (1, 1, 1, 1)
        self.net = SegResNet(
            spatial_dims=3, init_filters=init, in_channels=in_channels, out_channels=init,
            num_groups=math.gcd(8, init), norm=("GROUP", {"num_groups": math.gcd(8, init)}),
            blocks_down=blocks_down, use_conv_final=False,
        )
        self.bottleneck_channels = init * 8
        self.decoder_channels = init
        self.size_divisor = 8

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image (B, C_in, X, Y, Z) → (bottleneck (B, 8·init, X/8, ...), decoder features (B, init, X, Y, Z))."""
        if any(s % self.size_divisor for s in x.shape[2:]):
            raise ValueError(f"spatial size {tuple(x.shape[2:])} must be a multiple of {self.size_divisor} voxels")
        bottleneck, skips = self.net.encode(x)
        skips.reverse()
        return bottleneck, self.net.decode(bottleneck, skips)


@BACKBONES.register("segresnet")
def build_segresnet(in_channels: int, cfg: BackboneConfig) -> SegResNetBackbone:
    """Registered builder for the SegResNet backbone."""
    return SegResNetBackbone(in_channels, cfg)
