"""Context priors (seed 004, after HERMES): a learnable prior pool (tokens per task = class, and per modality),
a prior-fusion layer (self- then cross-attention) with learnable source-type embeddings, and an MLP that turns
the decoded prior tokens into a posterior prototype added to the mask decoder's hypernetwork weights.

Hand-written: no library implements HERMES-style context priors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medvlseg.models.segevolution.decoder import MLP

TASK, MODALITY, IMAGE, SPATIAL = 0, 1, 2, 3  # rows of the source-type embedding


class ContextPriors(nn.Module):
    """Prior pool + fusion: (B, K) prior tokens, conditioned on image, text and spatial prompts → (B, K, 2n, D)."""

    def __init__(self, num_tasks: int, num_modalities: int, tokens: int, dim: int, heads: int, out_channels: int,
                 temperature: float = 0.1) -> None:
        super().__init__()
        self.tokens, self.temperature = tokens, temperature
        self.task_pool = nn.Parameter(torch.randn(num_tasks, tokens, dim) * 0.02)
        self.modality_pool = nn.Parameter(torch.randn(num_modalities, tokens, dim) * 0.02)
        self.source = nn.Parameter(torch.randn(4, dim) * 0.02)  # task, modality, image, spatial prompt
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = MLP(dim, 4 * dim, dim)
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.posterior = MLP(dim, dim, out_channels)
        nn.init.zeros_(self.posterior.layers[-1].weight)  # at initialisation the prototype adds nothing
        nn.init.zeros_(self.posterior.layers[-1].bias)

    def task_priors(self, text: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        """(K, n, D): the trained classes' priors (classes None), or for free-text prompts a softmax mixture of
        them weighted by cosine similarity between prompt and class embeddings (temperature `temperature`)."""
        if classes is None:
            return self.task_pool
        sim = F.normalize(text.float(), dim=-1) @ F.normalize(classes.float(), dim=-1).t()  # (K', K)
        weights = torch.softmax(sim / self.temperature, dim=-1).to(self.task_pool)
        return torch.einsum("pk,knd->pnd", weights, self.task_pool)

    def forward(self, task: torch.Tensor, modality_index: torch.Tensor, image_tokens: torch.Tensor,
                image_pe: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        """task (K, n, D), modality_index (B,), image_tokens (B, N, D), image_pe (N, D), prompt tokens
        (B, K, T, D) (text first, then box/point tokens) → fused prior tokens (B*K, 2n, D)."""
        b, k, t, d = prompts.shape
        n = self.tokens
        task_q = task.unsqueeze(0).expand(b, k, n, d) + self.source[TASK]
        mod_q = self.modality_pool[modality_index].unsqueeze(1).expand(b, k, n, d) + self.source[MODALITY]
        q = torch.cat([task_q, mod_q], dim=2).reshape(b * k, 2 * n, d)
        q = self.norms[0](q + self.self_attn(q, q, q, need_weights=False)[0])
        src = torch.full((t,), SPATIAL, device=prompts.device)
        src[0] = TASK  # the text prompt names the task
        prompt_kv = (prompts + self.source[src]).reshape(b * k, t, d)
        image_kv = (image_tokens + image_pe + self.source[IMAGE]).repeat_interleave(k, dim=0)
        kv = torch.cat([prompt_kv, image_kv], dim=1)
        q = self.norms[1](q + self.cross_attn(q, kv, kv, need_weights=False)[0])
        return self.norms[2](q + self.mlp(q))

    def prototype(self, decoded: torch.Tensor) -> torch.Tensor:
        """Decoded prior tokens (B*K, 2n, D) → posterior prototype (B*K, C_up): MLP per token, mean over tokens."""
        return self.posterior(decoded).mean(dim=1)
