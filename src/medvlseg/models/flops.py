"""FLOP counting for models and windows (torch.utils.flop_counter.FlopCounterMode).

FlopCounterMode counts matmul/convolution/attention FLOPs (2 per multiply-add); elementwise ops (norms,
activations) are not counted, so the figures are a lower bound dominated by the convolutions.
"""

from __future__ import annotations

import copy

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(
    model: torch.nn.Module, window: tuple[int, int, int], batch: int = 1, backward: bool = False
) -> int:
    """FLOPs of one forward (optionally + backward) pass on a (batch, C_in, *window) input (window in voxels).

    Runs on a copy of the model on the "meta" device (shapes only), so it takes milliseconds at any size.
    """
    meta_model = copy.deepcopy(model).to("meta")
    in_channels = int(model.config.in_channels)  # type: ignore[union-attr]
    x = torch.zeros(batch, in_channels, *window, device="meta")
    with FlopCounterMode(display=False) as counter:
        if backward:
            meta_model(x).float().mean().backward()
        else:
            with torch.no_grad():
                meta_model(x)
    return int(counter.get_total_flops())
