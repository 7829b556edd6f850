"""APN's losses: hand-checked small cases, a per-instance loop of paper eq. 1–2 as the reference of the
batched L_CTR, and float64 gradients."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.models.apn.losses import (ProposalTargets, bdm_loss, boundary_regions, boundary_targets, contrastive_loss,
                                    ctr_loss, pem_loss, proposal_targets, region_means, snippet_loss, snippet_targets,
                                    weighted_logistic_loss)
from ptal.models.apn.network import ProposalOutput


# ---- L_BDM --------------------------------------------------------------------------------------------
def test_boundary_targets_by_hand():
    # [10, 30]: d = 20, regions 4 snippets wide around 10 and 30; [5, 7]: d = 2, regions one snippet wide.
    instances = torch.tensor([[0, 10, 30, 3], [1, 5, 7, 0]])
    start, end = boundary_targets(instances, 2, 40)
    assert start[0, 7:14].tolist() == [0, 0.5, 1, 1, 1, 0.5, 0]
    assert end[0, 27:34].tolist() == [0, 0.5, 1, 1, 1, 0.5, 0]
    assert start[0].sum() == 4 and end[0].sum() == 4
    assert start[1].tolist() == [1.0 if t == 5 else 0.0 for t in range(40)]
    assert end[1].tolist() == [1.0 if t == 7 else 0.0 for t in range(40)]


def test_boundary_targets_take_the_largest_overlap_and_ignore_regions_outside():
    # start regions [1.4, 2.6] (d = 6, w = 1.2) and [3, 5] (d = 10, w = 2); the third instance ends before the window
    instances = torch.tensor([[0, 2, 8, 0], [0, 4, 14, 1], [0, -20, -5, 1]])
    start, end = boundary_targets(instances, 1, 7)
    assert torch.allclose(start[0], torch.tensor([0.0, 0.1, 1, 0.5, 1, 0.5, 0]))
    assert end[0].sum() == 0  # every end lies past the window, the third instance wholly before it
    assert boundary_targets(torch.zeros(0, 4, dtype=torch.int64), 3, 5)[0].shape == (3, 5)


def test_weighted_logistic_loss_by_hand():
    probability = torch.tensor([[0.8, 0.3, 0.6, 0.1, 0.5]])
    target = torch.tensor([[1.0, 0.0, 0.6, 0.2, 1.0]])
    valid = torch.tensor([[True, True, True, True, False]])
    # N = 4 valid, 2 positives, 2 negatives: both weights 0.5 * 4 / 2 = 1.
    expected = -(math.log(0.8) + math.log(0.7) + math.log(0.6) + math.log(0.9)) / 4
    assert weighted_logistic_loss(probability, target, valid).item() == pytest.approx(expected, rel=1e-6)
    # 1 positive of 4: it weighs 0.5 * 4 / 1 = 2, the negatives 0.5 * 4 / 3.
    target = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]])
    expected = -(2 * math.log(0.8) + 2 / 3 * (math.log(0.7) + math.log(0.4) + math.log(0.9))) / 4
    assert weighted_logistic_loss(probability, target, valid).item() == pytest.approx(expected, rel=1e-6)


def test_bdm_loss_is_start_plus_end_and_has_gradients():
    instances = torch.tensor([[0, 3, 9, 1]])
    valid = torch.ones(1, 12, dtype=torch.bool)
    start = torch.rand(1, 12, dtype=torch.float64).clamp(0.05, 0.95).requires_grad_()
    end = torch.rand(1, 12, dtype=torch.float64).clamp(0.05, 0.95).requires_grad_()
    start_target, end_target = boundary_targets(instances, 1, 12)
    expected = weighted_logistic_loss(start, start_target, valid) + weighted_logistic_loss(end, end_target, valid)
    assert bdm_loss(start, end, instances, valid).item() == pytest.approx(expected.item())
    assert torch.autograd.gradcheck(lambda s, e: bdm_loss(s, e, instances, valid).double(), (start, end))


# ---- L_PEM --------------------------------------------------------------------------------------------
POINTS = torch.tensor([[  # window 0's points [snippet, class, instance start, instance end], by snippet
    [10, 3, 8, 14],
    [20, 1, 18, 25],
    [30, 0, 28, 33],
    [30, 2, 28, 33],  # two classes annotated at one snippet
], [[-1, -1, -1, -1]] * 4])  # window 1: none


def test_proposal_targets_keep_proposals_holding_one_annotated_snippet():
    pairs = torch.tensor([[[5, 12], [5, 25], [0, 4], [29, 31], [10, 10], [10, 11]],
                          [[5, 12], [0, 40], [0, 0], [0, 0], [0, 0], [0, 0]]])
    valid = torch.tensor([[True] * 5 + [False], [True, True, False, False, False, False]])
    targets = proposal_targets(pairs, valid, POINTS, 4)
    assert targets.keep.tolist() == [[True, False, False, True, True, False], [False] * 6]
    kept = targets.keep
    assert targets.classes[kept].tolist() == [[0, 0, 0, 1], [1, 0, 1, 0], [0, 0, 0, 1]]
    assert targets.classes[~kept].abs().sum() == 0 and targets.confidence[~kept].abs().sum() == 0
    # IoU of the snippet spans: [5, 13] vs [8, 15] = 5 / 10; [29, 32] vs [28, 34] = 3 / 6; [10, 11] vs [8, 15] = 1 / 7.
    assert torch.allclose(targets.confidence[kept], torch.tensor([[0, 0, 0, 0.5], [0.5, 0, 0.5, 0], [0, 0, 0, 1 / 7]]))


def proposal_targets_reference(pairs, valid, points, num_classes):
    """One proposal at a time: the distinct snippets of its window's points inside it, then their classes and
    the IoU of their instance (plain loops)."""
    keep = torch.zeros(valid.shape, dtype=torch.bool)
    classes = torch.zeros(*valid.shape, num_classes)
    confidence = torch.zeros(*valid.shape, num_classes)
    for b, c in zip(*torch.nonzero(valid, as_tuple=True)):
        start, end = pairs[b, c].tolist()
        held = [p for p in points[b].tolist() if p[0] >= 0 and start <= p[0] <= end]
        if len({p[0] for p in held}) != 1:
            continue
        keep[b, c] = True
        for _, label, s, e in held:
            overlap = max(0, min(end + 1, e + 1) - max(start, s))
            classes[b, c, label] = 1
            confidence[b, c, label] = overlap / ((end + 1 - start) + (e + 1 - s) - overlap)
    return keep, classes, confidence


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_proposal_targets_equal_the_per_proposal_loops(seed):
    generator = torch.Generator().manual_seed(seed)
    windows, capacity, num_points, num_classes = 3, 12, 5, 3
    start = torch.randint(0, 30, (windows, capacity), generator=generator)
    pairs = torch.stack([start, start + torch.randint(1, 15, (windows, capacity), generator=generator)], 2)
    valid = torch.arange(capacity) < torch.randint(0, capacity + 1, (windows, 1), generator=generator)
    rows = []
    for _ in range(windows):  # points by snippet then class; some snippets hold two classes; padded with -1
        snippets = torch.randint(0, 45, (num_points,), generator=generator).sort().values
        labels = torch.randint(0, num_classes, (num_points,), generator=generator)
        unique = {(int(s), int(c)) for s, c in zip(snippets, labels)}
        table = [[s, c, s - int(torch.randint(0, 5, (), generator=generator)), s + int(torch.randint(0, 5, (), generator=generator))]
                 for s, c in sorted(unique)]
        rows.append(table + [[-1, -1, -1, -1]] * (num_points - len(table)))
    points = torch.tensor(rows)
    targets = proposal_targets(pairs, valid, points, num_classes)
    keep, classes, confidence = proposal_targets_reference(pairs, valid, points, num_classes)
    assert torch.equal(targets.keep, keep) and torch.equal(targets.classes, classes)
    assert torch.allclose(targets.confidence, confidence, rtol=1e-6, atol=0)


def test_proposal_targets_without_points_or_proposals():
    none = torch.full((1, 2, 4), -1)
    assert not proposal_targets(torch.tensor([[[1, 3], [0, 9]]]), torch.ones(1, 2, dtype=torch.bool), none, 4).keep.any()
    assert proposal_targets(torch.zeros(2, 0, 2, dtype=torch.int64), torch.zeros(2, 0, dtype=torch.bool), POINTS,
                            4).keep.shape == (2, 0)


def test_chosen_targets_gather_each_windows_proposals():
    targets = ProposalTargets(torch.tensor([[True, False, True], [False, True, False]]),
                              torch.arange(18.0).reshape(2, 3, 3), -torch.arange(18.0).reshape(2, 3, 3))
    chosen = targets.chosen(torch.tensor([[2, 0], [1, 2]]))
    assert chosen.keep.tolist() == [True, True, True, False]
    assert chosen.classes.tolist() == [[6, 7, 8], [0, 1, 2], [12, 13, 14], [15, 16, 17]]
    assert torch.equal(chosen.confidence, -chosen.classes)


def test_pem_loss_by_hand():
    class_prob = torch.tensor([[0.7, 0.2], [0.4, 0.5], [0.1, 0.1]])  # the third proposal is not kept
    confidence = torch.tensor([[0.6, 0.9], [0.3, 0.8], [0.1, 0.1]])
    targets = ProposalTargets(torch.tensor([True, True, False]), torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]]),
                              torch.tensor([[0.5, 0.0], [0.25, 1.0], [0.5, 0.5]]))
    bce = lambda p, t: -(t * math.log(p) + (1 - t) * math.log(1 - p))  # noqa: E731
    first = (bce(0.7, 1) + bce(0.2, 0)) / 2 + bce(0.6, 0.5)
    second = (bce(0.4, 1) + bce(0.5, 1)) / 2 + (bce(0.3, 0.25) + bce(0.8, 1.0)) / 2
    loss = pem_loss(ProposalOutput(class_prob, confidence), targets)
    assert loss.item() == pytest.approx((first + second) / 2, rel=1e-6)


def test_pem_loss_without_proposals_is_zero_with_a_gradient():
    for count in (0, 2):  # no proposals; none kept
        output = ProposalOutput(torch.full((count, 3), 0.5, requires_grad=True),
                                torch.full((count, 3), 0.5, requires_grad=True))
        loss = pem_loss(output, ProposalTargets(torch.zeros(count, dtype=torch.bool), torch.ones(count, 3),
                                                torch.ones(count, 3)))
        loss.backward()
        assert loss.item() == 0


def test_pem_loss_gradients():
    targets = ProposalTargets(torch.tensor([True, True, True]), torch.tensor([[1.0, 0, 0], [0, 1, 1], [0, 0, 1]]),
                              torch.tensor([[0.3, 0, 0], [0, 0.7, 0.7], [0, 0, 0.1]]))
    class_prob = torch.rand(3, 3, dtype=torch.float64).clamp(0.05, 0.95).requires_grad_()
    confidence = torch.rand(3, 3, dtype=torch.float64).clamp(0.05, 0.95).requires_grad_()
    assert torch.autograd.gradcheck(lambda c, s: pem_loss(ProposalOutput(c, s), targets).double(),
                                    (class_prob, confidence))


# ---- L_CTR --------------------------------------------------------------------------------------------
def test_region_means_by_hand_and_clipped():
    embedded = torch.arange(2 * 6 * 2, dtype=torch.float64).reshape(2, 6, 2)
    lengths = torch.tensor([6, 4])
    regions = torch.tensor([[0, 1, 3], [1, 2, 9], [1, -3, 0], [1, 5, 7], [0, 4, 2]])
    means, ok = region_means(embedded, lengths, regions)
    assert ok.tolist() == [True, True, True, False, False]
    assert means[0].tolist() == embedded[0, 1:4].mean(0).tolist()
    assert means[1].tolist() == embedded[1, 2:4].mean(0).tolist()  # clipped to the window's length 4
    assert means[2].tolist() == embedded[1, 0].tolist()
    assert means[3:].abs().sum() == 0


def test_boundary_regions_reach_a_tenth_of_the_length():
    instances = torch.tensor([[0, 10, 30, 1], [1, 4, 13, 0], [2, 6, 6, 0]])
    start, end = boundary_regions(instances)
    assert start.tolist() == [[0, 8, 12], [1, 4, 4], [2, 6, 6]]
    assert end.tolist() == [[0, 28, 32], [1, 13, 13], [2, 6, 6]]


def test_contrastive_loss_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])   # unit vectors, one group of three
    b = torch.tensor([[0.8, 0.6]])
    tau = 0.5
    expected = 0.0
    for i in range(3):
        positives = sum(math.exp(float(x[i] @ x[p]) / tau) for p in range(3) if p != i)
        expected -= math.log(positives / (positives + math.exp(float(x[i] @ b[0]) / tau)))
    loss, anchors = contrastive_loss(x, torch.tensor([0, 0, 0]), b, torch.tensor([0]), torch.tensor([0, 0, 0]), tau)
    assert loss.item() == pytest.approx(expected, rel=1e-6) and anchors == 3


def test_contrastive_loss_needs_two_of_a_class_and_is_zero_without_background():
    x = torch.randn(3, 4)
    alone, anchors = contrastive_loss(x, torch.tensor([0, 1, 2]), torch.randn(2, 4), torch.tensor([0, 0]),
                                      torch.zeros(3, dtype=torch.int64))
    assert alone.item() == 0 and anchors == 0
    no_background, anchors = contrastive_loss(x, torch.tensor([0, 0, 1]), torch.zeros(0, 4),
                                              torch.zeros(0, dtype=torch.int64), torch.zeros(3, dtype=torch.int64))
    assert no_background.item() == pytest.approx(0, abs=1e-6) and anchors == 2
    other_window, _ = contrastive_loss(x, torch.tensor([0, 0, 1]), torch.randn(1, 4), torch.tensor([1]),
                                       torch.zeros(3, dtype=torch.int64))
    assert other_window.item() == pytest.approx(0, abs=1e-6)  # background of another window does not count


def ctr_loss_reference(embedded, lengths, instances, background, tau):
    """Paper eq. 1–2 one window, one instance at a time (the spec's definitions, plain loops)."""
    total = 0.0
    for window in range(len(embedded)):
        x = embedded[window, :int(lengths[window])]
        length = len(x)

        def mean(lo, hi):
            lo, hi = max(lo, 0), min(hi, length - 1)
            return None if lo > hi else torch.nn.functional.normalize(x[lo:hi + 1].mean(0), dim=0)

        backgrounds = [mean(s, e) for w, s, e in background.tolist() if w == window]
        backgrounds = [f for f in backgrounds if f is not None]
        rows = [r for r in instances.tolist() if r[0] == window]
        for side in (0, 1):
            features = []
            for _, s, e, c in rows:
                boundary, reach = (s, e)[side], (e - s) // 10
                features.append((c, mean(boundary - reach, boundary + reach)))
            features = [(c, f) for c, f in features if f is not None]
            for i, (c, anchor) in enumerate(features):
                positives = [f for p, (cp, f) in enumerate(features) if cp == c and p != i]
                if not positives:
                    continue
                numerator = sum(torch.exp(anchor @ f / tau) for f in positives)
                total = total - torch.log(numerator / (numerator + sum(torch.exp(anchor @ f / tau) for f in backgrounds)))
    return total / len(embedded)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_ctr_loss_equals_the_per_instance_loops(seed):
    generator = torch.Generator().manual_seed(seed)
    windows, snippets = 3, 40
    embedded = torch.rand(windows, snippets, 5, generator=generator, dtype=torch.float64)
    lengths = torch.randint(1, snippets + 1, (windows,), generator=generator)
    count = int(torch.randint(0, 9, (), generator=generator))
    window = torch.randint(0, windows, (count,), generator=generator)
    start = torch.randint(-10, snippets, (count,), generator=generator)
    end = start + torch.randint(0, 30, (count,), generator=generator)
    label = torch.randint(0, 2, (count,), generator=generator)
    instances = torch.stack([window, start, end, label], 1)
    bkg_window = torch.randint(0, windows, (4,), generator=generator)
    bkg_start = torch.randint(-5, snippets, (4,), generator=generator)
    background = torch.stack([bkg_window, bkg_start, bkg_start + torch.randint(0, 20, (4,), generator=generator)], 1)
    batched = ctr_loss(embedded, lengths, instances, background, tau=0.1)
    assert float(batched) == pytest.approx(float(ctr_loss_reference(embedded, lengths, instances, background, 0.1)),
                                           rel=1e-5, abs=1e-5)


def test_ctr_loss_mean_divides_the_sum_by_the_anchors():
    generator = torch.Generator().manual_seed(3)
    embedded = torch.rand(2, 20, 6, generator=generator)
    lengths = torch.tensor([20, 16])
    instances = torch.tensor([[0, 2, 4, 1], [0, 9, 12, 1], [0, 15, 17, 1], [1, 1, 3, 0], [1, 8, 9, 0], [1, 12, 13, 2]])
    background = torch.tensor([[0, 5, 8], [0, 18, 19], [1, 4, 7], [1, 14, 15]])
    summed = ctr_loss(embedded, lengths, instances, background)
    averaged = ctr_loss(embedded, lengths, instances, background, mean=True)
    # Anchors: window 0's three class-1 instances and window 1's two class-0 ones, start and end: 10.
    assert float(averaged) == pytest.approx(float(summed) * 2 / 10)


def test_ctr_loss_gradients():
    generator = torch.Generator().manual_seed(0)
    embedded = torch.rand(2, 30, 4, generator=generator, dtype=torch.float64).requires_grad_()
    lengths = torch.tensor([30, 25])
    instances = torch.tensor([[0, 2, 12, 1], [0, 15, 27, 1], [0, 5, 8, 0], [1, 0, 10, 0], [1, 12, 20, 0]])
    background = torch.tensor([[0, 13, 14], [0, 28, 29], [1, 21, 24]])
    assert torch.autograd.gradcheck(lambda e: ctr_loss(e, lengths, instances, background, tau=0.1).double(),
                                    (embedded,))
    assert ctr_loss(embedded, lengths, instances, background).item() > 0


# ---- L_SNIP -------------------------------------------------------------------------------------------
def test_snippet_targets_by_hand():
    # window 0 (length 6): instance [1, 2] of class 0, instance [2, 3] of class 1, background [3, 7] (clipped);
    # window 1 (length 3): instance [-1, 0] of class 1, nothing else labelled.
    instances = torch.tensor([[0, 1, 2, 0, 9], [0, 2, 3, 1, 9], [1, -1, 0, 1, 9]])
    background = torch.tensor([[0, 3, 7]])
    target = snippet_targets(instances, background, torch.tensor([6, 3]), 6, 2)
    assert target[0].tolist() == [[0, 0, 0], [1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]]
    assert target[1].tolist() == [[0, 1, 0]] + [[0, 0, 0]] * 5


def test_snippet_loss_is_the_cross_entropy_over_labelled_snippets():
    logits = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    instances, background, lengths = torch.tensor([[0, 1, 2, 0], [1, 0, 0, 1]]), torch.tensor([[0, 4, 5]]), torch.tensor([6, 3])
    loss = snippet_loss(logits, lengths, instances, background)
    log_p = torch.log_softmax(logits.float(), -1)
    expected = -(log_p[0, 1, 0] + log_p[0, 2, 0] + log_p[0, 4, 2] + log_p[0, 5, 2] + log_p[1, 0, 1]) / 5
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert logits.grad[0, 0].abs().sum() == 0 and logits.grad[0, 1].abs().sum() > 0  # unlabelled snippets: no gradient
    empty = snippet_loss(logits, lengths, torch.zeros(0, 4, dtype=torch.int64), torch.zeros(0, 3, dtype=torch.int64))
    assert float(empty.detach()) == 0
