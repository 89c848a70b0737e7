"""Top-1 Mixture-of-Adapters (seed 004): a modality-driven gate picks, per input, the identity adapter or a LoRA.

Hand-written: peft's LoRA layers route a whole batch (its mixed-adapter batches are inference-only), but here each
sample of a training batch follows its own modality; an identity-routed sample must stay bit-for-bit equal to the
base layer, so LoRA deltas are computed only for the samples routed to them and added to those rows alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

IDENTITY = "identity"


class ModalityGate:
    """Top-1 routing table: modality name → expert name ("identity" or a LoRA adapter's modality)."""

    def __init__(self, modalities: Sequence[str], identity: Sequence[str] = ("ct",)) -> None:
        self.modalities = [m.lower() for m in modalities]
        self.identity = {m.lower() for m in identity}
        self.experts = [m for m in self.modalities if m not in self.identity]  # one LoRA each

    def route(self, modality: str) -> str:
        """Expert chosen for one input's modality; ValueError for an undeclared modality."""
        key = str(modality).lower()
        if key not in self.modalities:
            raise ValueError(f"unknown modality {modality!r}; the model declares {self.modalities}")
        return IDENTITY if key in self.identity else key

    def groups(self, modalities: Sequence[str]) -> dict[str, list[int]]:
        """LoRA expert → batch indices routed to it (identity-routed samples are left out)."""
        out: dict[str, list[int]] = {}
        for i, m in enumerate(modalities):
            expert = self.route(m)
            if expert != IDENTITY:
                out.setdefault(expert, []).append(i)
        return out


class MoALinear(nn.Linear):
    """nn.Linear + one LoRA (A: in→r, B: r→out, B zero-initialised, scale alpha/r) per LoRA expert.

    Keeps nn.Linear's parameter names (`weight`, `bias`), so a base model's state dict loads into it with only the
    `lora_*` keys missing. `routes` (expert → batch indices) is set by the owning model before each forward.
    """

    def __init__(self, in_features: int, out_features: int, experts: Sequence[str], rank: int, alpha: float,
                 bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.rank, self.scale = rank, alpha / rank
        self.lora_A = nn.ParameterDict({e: nn.Parameter(torch.empty(rank, in_features)) for e in experts})
        self.lora_B = nn.ParameterDict({e: nn.Parameter(torch.zeros(out_features, rank)) for e in experts})
        for a in self.lora_A.values():
            nn.init.kaiming_uniform_(a, a=5**0.5)
        self.routes: dict[str, list[int]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, ..., in) → (B, ..., out); rows routed to a LoRA expert get + scale · B(A(x))."""
        y = super().forward(x)
        if not self.routes:
            return y  # all inputs identity-routed: exactly the base layer, no extra work
        y = y.clone()
        for expert, rows in self.routes.items():
            idx = torch.as_tensor(rows, device=x.device)
            xs = x.index_select(0, idx)
            delta = (xs @ self.lora_A[expert].t()) @ self.lora_B[expert].t()
            y.index_add_(0, idx, delta * self.scale)
        return y


def set_routes(module: nn.Module, routes: dict[str, list[int]]) -> None:
    """Give every MoALinear under `module` the batch routing of the coming forward pass."""
    for m in module.modules():
        if isinstance(m, MoALinear):
            m.routes = routes


def make_linear(in_features: int, out_features: int, experts: Sequence[str] | None, rank: int, alpha: float,
                bias: bool = True) -> nn.Linear:
    """MoALinear when `experts` is not None (MoA enabled), else a plain nn.Linear with the same parameter names."""
    if experts is None:
        return nn.Linear(in_features, out_features, bias=bias)
    return MoALinear(in_features, out_features, experts, rank, alpha, bias=bias)
