"""Partial-label losses: unannotated classes give exactly zero gradient; marginal CE; hand-computed Dice."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medvlseg.train.losses import (masked_batch_dice_loss, one_hot_foreground, partial_sigmoid_loss,
                                   partial_softmax_loss)


def _batch(seed: int = 0, k: int = 4):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, k, 6, 6, 6, generator=g, requires_grad=True)
    label = torch.randint(0, k + 1, (2, 6, 6, 6), generator=g)
    return logits, label


def test_sigmoid_unannotated_classes_get_exactly_zero_gradient() -> None:
    logits, label = _batch()
    annotated = torch.tensor([[True, True, False, False], [True, True, True, True]])
    partial_sigmoid_loss(logits, label, annotated).backward()
    grad = logits.grad
    assert torch.count_nonzero(grad[0, 2:]) == 0  # right-lung classes of the left-only sample
    assert torch.count_nonzero(grad[0, :2]) > 0
    assert torch.count_nonzero(grad[1]) > 0


def test_sigmoid_loss_ignores_what_the_unannotated_channels_say() -> None:
    logits, label = _batch(1)
    annotated = torch.tensor([[True, True, False, False], [True, True, False, False]])
    other = logits.detach().clone()
    other[:, 2:] = 50.0  # confidently "vessel" where nothing is annotated
    a = partial_sigmoid_loss(logits.detach(), label, annotated)
    b = partial_sigmoid_loss(other, label, annotated)
    assert torch.allclose(a, b)
    naive = partial_sigmoid_loss(other, label, torch.ones(2, 4, dtype=torch.bool))
    assert naive > a + 1.0  # the same prediction is punished when those classes count as background


def test_sigmoid_loss_is_small_for_a_perfect_prediction() -> None:
    _, label = _batch(2)
    target = one_hot_foreground(label, 4)
    perfect = (target * 2 - 1) * 20.0
    annotated = torch.ones(2, 4, dtype=torch.bool)
    assert partial_sigmoid_loss(perfect, label, annotated) < 1e-3
    assert partial_sigmoid_loss(-perfect, label, annotated) > 5.0


def test_masked_batch_dice_hand_computed() -> None:
    probs = torch.zeros(2, 1, 2, 2, 2)
    target = torch.zeros(2, 1, 2, 2, 2)
    probs[0, 0, 0, 0, 0] = 1.0
    target[0, 0, 0, 0, :] = 1.0  # sample 0: |P| 1, |G| 2, |P∩G| 1 → Dice 2/3
    probs[1, 0] = 1.0  # sample 1 is unannotated: ignored whatever it predicts
    both = masked_batch_dice_loss(probs, target, torch.tensor([[True], [False]]))
    assert abs(float(both) - (1 - 2 / 3)) < 1e-4
    none = masked_batch_dice_loss(probs, target, torch.tensor([[False], [False]]))
    assert float(none) == 0.0


def test_softmax_fully_annotated_ce_matches_torch() -> None:
    logits, label = _batch(3)
    annotated = torch.ones(2, 4, dtype=torch.bool)
    loss = partial_softmax_loss(torch.cat([torch.zeros(2, 1, 6, 6, 6), logits.detach()], 1), label, annotated)
    full = torch.cat([torch.zeros(2, 1, 6, 6, 6), logits.detach()], 1)
    ce = F.cross_entropy(full, label)
    probs = torch.softmax(full, 1)[:, 1:]
    dice = masked_batch_dice_loss(probs, one_hot_foreground(label, 4), annotated)
    assert torch.allclose(loss, 0.5 * (ce + dice), atol=1e-6)


def test_softmax_marginal_loss_merges_unannotated_into_background() -> None:
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(1, 5, 6, 6, 6, generator=g)
    label = torch.randint(0, 3, (1, 6, 6, 6), generator=g)  # left-only case: labels 0, 1, 2
    annotated = torch.tensor([[True, True, False, False]])
    # Move probability mass between background and the unannotated channels, keeping their sum.
    moved = logits.clone()
    lse = torch.logsumexp(logits[:, [0, 3, 4]], dim=1)
    moved[:, 0] = lse - torch.log(torch.tensor(3.0))
    moved[:, 3] = lse - torch.log(torch.tensor(3.0))
    moved[:, 4] = lse - torch.log(torch.tensor(3.0))
    a = partial_softmax_loss(logits, label, annotated)
    b = partial_softmax_loss(moved, label, annotated)
    assert torch.allclose(a, b, atol=1e-5)
    naive_a = partial_softmax_loss(logits, label, torch.ones(1, 4, dtype=torch.bool))
    naive_b = partial_softmax_loss(moved, label, torch.ones(1, 4, dtype=torch.bool))
    assert not torch.allclose(naive_a, naive_b, atol=1e-3)


def test_skeleton_recall_loss_counts_only_the_centreline() -> None:
    from medvlseg.train.skeleton_recall import skeleton_recall_loss, tubed_skeletons

    label = torch.zeros(1, 16, 16, 16, dtype=torch.long)
    label[0, 2:14, 5:10, 5:10] = 1  # a 5x5 rod along x: class 1
    skel = tubed_skeletons(label, 2)
    assert skel[0, 0].sum() > 0 and skel[0, 1].sum() == 0
    assert skel[0, 0, :, 7, 7].sum() >= 10 and skel[0, 0, :, 5, 5].sum() == 0  # the centre line, not the rim
    annotated = torch.ones(1, 2, dtype=torch.bool)
    centre = torch.full((1, 2, 16, 16, 16), -20.0)
    centre[0, 0][skel[0, 0] > 0] = 20.0  # predicting only the tubed centreline is a perfect recall
    assert float(skeleton_recall_loss(centre, label, annotated, "sigmoid")) < 1e-3
    rim = torch.full((1, 2, 16, 16, 16), -20.0)
    rim[0, 0][(label[0] == 1) & (skel[0, 0] == 0)] = 20.0  # everything but the centreline: recall 0
    assert float(skeleton_recall_loss(rim, label, annotated, "sigmoid")) > 0.99
    logits = torch.zeros(1, 2, 16, 16, 16, requires_grad=True)
    skeleton_recall_loss(logits, label, torch.tensor([[False, True]]), "sigmoid").backward()
    assert logits.grad is not None and torch.count_nonzero(logits.grad) == 0  # unannotated class: no gradient
