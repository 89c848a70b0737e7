"""The vectorised dynamic head equals a naive per-sample, per-class loop of three 1x1x1 convolutions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medvlseg.models.heads.dynamic_head import DynamicHead, apply_dynamic_convs, num_dynamic_params


def naive_dynamic_convs(features: torch.Tensor, theta: torch.Tensor, c: int = 8) -> torch.Tensor:
    """Reference: for each sample b and class k, split θ[b, k] and run three F.conv3d calls."""
    out = torch.empty(features.shape[0], theta.shape[1], *features.shape[2:])
    for b in range(features.shape[0]):
        for k in range(theta.shape[1]):
            p = theta[b, k]
            w1, p = p[: c * c].view(c, c, 1, 1, 1), p[c * c :]
            w2, p = p[: c * c].view(c, c, 1, 1, 1), p[c * c :]
            w3, p = p[:c].view(1, c, 1, 1, 1), p[c:]
            b1, b2, b3 = p[:c], p[c : 2 * c], p[2 * c :]
            assert b3.numel() == 1
            h = F.relu(F.conv3d(features[b : b + 1], w1, b1))
            h = F.relu(F.conv3d(h, w2, b2))
            out[b, k] = F.conv3d(h, w3, b3)[0, 0]
    return out


def test_controller_emits_153_numbers_per_class() -> None:
    assert num_dynamic_params(8) == 153
    head = DynamicHead(in_channels=16, fused_dim=32)
    assert head.controller.out_features == 153


def test_vectorised_equals_naive_loop() -> None:
    g = torch.Generator().manual_seed(0)
    features = torch.randn(3, 8, 6, 7, 5, generator=g)
    theta = torch.randn(3, 4, 153, generator=g) * 0.5
    torch.testing.assert_close(apply_dynamic_convs(features, theta), naive_dynamic_convs(features, theta))


def test_head_module_equals_naive_loop_on_preprocessed_features() -> None:
    torch.manual_seed(1)
    head = DynamicHead(in_channels=16, fused_dim=32, controller_hidden=20).eval()
    features, fused = torch.randn(2, 16, 8, 8, 8), torch.randn(2, 5, 32)
    logits = head(features, fused)
    assert logits.shape == (2, 5, 8, 8, 8)
    expected = naive_dynamic_convs(head.pre(features), head.controller(fused))
    torch.testing.assert_close(logits, expected)
    # the second class's map depends only on the second class's fused feature
    fused2 = fused.clone()
    fused2[:, 1] += 1.0
    changed = head(features, fused2)
    torch.testing.assert_close(changed[:, 0], logits[:, 0])
    assert not torch.allclose(changed[:, 1], logits[:, 1])
