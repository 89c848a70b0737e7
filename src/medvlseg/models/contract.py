"""The part of the model contract every architecture shares (SegModel, Med-VLM, SegEVOLution): storing the
frozen class embeddings (K, E) and counting parameters. docs/architecture.md, Models."""

from __future__ import annotations

import torch


class ModelContract:
    """Mixin for nn.Module models with a `class_embeddings` (K, E) buffer or parameter."""

    class_embeddings: torch.Tensor

    def set_class_embeddings(self, embeddings: torch.Tensor) -> None:
        """Store class embeddings (K, E) (one row per trained class) in the checkpointed buffer/parameter."""
        expected = tuple(self.class_embeddings.shape)
        if tuple(embeddings.shape) != expected:
            raise ValueError(f"class embeddings must have shape {expected}, got {tuple(embeddings.shape)}")
        with torch.no_grad():
            self.class_embeddings.copy_(embeddings.detach().to(self.class_embeddings))

    def parameter_counts(self) -> dict[str, int]:
        """Number of trainable and frozen parameters (a buffer such as frozen class_embeddings is not counted)."""
        params = list(self.parameters())  # type: ignore[attr-defined]
        return {"trainable": sum(p.numel() for p in params if p.requires_grad),
                "frozen": sum(p.numel() for p in params if not p.requires_grad)}
