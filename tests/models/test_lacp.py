import math

import pytest
import torch

from ptal.models.lacp import LacpNetwork, lacp_losses
from ptal.models.lacp.inference import InferenceSettings, predict, upsample
from ptal.models.lacp.losses import PseudoSegments, feature_loss, focal_bce, pseudo_segments, sample_thirds, score_loss
from ptal.models.lacp.network import LacpOutput


def bce(p, y):
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_focal_bce_by_hand():
    cas = torch.tensor([0.8, 0.3])
    target = torch.tensor([1.0, 0.0])
    expected = [(1 - 0.8) ** 2 * bce(0.8, 1), 0.3 ** 2 * bce(0.3, 0)]
    assert focal_bce(cas, target).tolist() == pytest.approx(expected, rel=1e-5)


def test_video_score_top_k_and_mean():
    net = LacpNetwork(2, 1, hidden=4, r_act=2)
    scores = torch.tensor([[[0.9], [0.1], [0.5], [0.3], [0.0]]])  # the last snippet is padding
    lengths = torch.tensor([4])
    assert net.video_score(scores, lengths, None).item() == pytest.approx((0.9 + 0.5) / 2)  # k = 4 // 2
    assert net.video_score(scores, lengths, torch.zeros(1, 1)).item() == pytest.approx(1.8 / 4)  # absent: mean


def test_score_loss_by_hand():
    # One video, one class, T = 4: pseudo labels [0, 1, 1, 0] -> segments bkg [0,0], act [1,2], bkg [3,3].
    cas = torch.tensor([[[0.1, 0.0], [0.9, 0.0], [0.7, 0.0], [0.2, 0.0]]])
    segments = pseudo_segments(torch.tensor([[[0], [1], [1], [0]]], dtype=torch.uint8), torch.ones(1, 1, dtype=torch.bool),
                               torch.tensor([4]))
    assert segments.starts.tolist() == [0, 1, 3] and segments.ends.tolist() == [0, 2, 3]
    assert segments.is_action.tolist() == [False, True, False]
    # OIC: bkg [0,0] on 1 - cas: len 1, margins int(-0.25)=0 -> none left, int(0.25)=0 -> none right: 0.9.
    # act [1,2]: len 2, outer [int(0.5)=0, 1) and (2, int(2.5)=2]: {0}: mean 0.8 - 0.1 = 0.7.
    # bkg [3,3] on 1 - cas: len 1, outer [int(2.75)=2, 3) = {2}, (3, min(3, int(3.25))] empty: 0.8 - 0.3 = 0.5.
    expected = 1 - (0.9 + 0.7 + 0.5) / 3
    assert score_loss(cas, segments, torch.tensor([4])).item() == pytest.approx(expected, rel=1e-5)


def test_sample_thirds_follows_the_release_rule():
    # Segment [10, 16]: len 7, step 7/3: thirds [10, 12), [12, 14), [14, 17).
    picks = sample_thirds(torch.tensor([10]), torch.tensor([16]), torch.tensor([[0.0, 0.999, 0.5]]))
    assert picks.tolist() == [[10, 13, 15]]
    # A one-snippet segment: every third is that snippet.
    assert sample_thirds(torch.tensor([4]), torch.tensor([4]), torch.rand(1, 3)).tolist() == [[4, 4, 4]]


def test_feature_loss_by_hand():
    # Segments act, bkg, act of one (video, class); features e0 for the two actions, e1 for the background.
    embedded = torch.zeros(1, 6, 2)
    embedded[0, 0:2, 0] = 1
    embedded[0, 2:4, 1] = 1
    embedded[0, 4:6, 0] = 1
    segments = PseudoSegments(torch.tensor([0, 0, 0]), torch.tensor([0, 2, 4]), torch.tensor([1, 3, 5]),
                              torch.tensor([True, False, True]))
    loss = feature_loss(embedded, segments, torch.zeros(3, 3), num_classes=1, tau=0.5)
    # For action j: sim to the other action exp(1/0.5), to the background exp(0): q = e^2 / (e^2 + 1).
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def small_batch(seed=0):
    gen = torch.Generator().manual_seed(seed)
    features = torch.rand(3, 40, 16, generator=gen)
    lengths = torch.tensor([40, 25, 12])
    for v, length in enumerate(lengths.tolist()):
        features[v, length:] = 0
    labels, points = torch.zeros(3, 3), torch.zeros(3, 40, 3)
    for v, t, c in [(0, 5, 1), (0, 20, 1), (0, 30, 2), (1, 3, 0), (1, 15, 0), (2, 9, 2)]:
        points[v, t, c] = labels[v, c] = 1
    pseudo = torch.zeros(3, 40, 3, dtype=torch.uint8)
    for v, a, b, c in [(0, 3, 8, 1), (0, 18, 24, 1), (0, 28, 33, 2), (1, 1, 6, 0), (1, 12, 18, 0), (2, 7, 11, 2)]:
        pseudo[v, a:b, c] = 1
    return features, lengths, labels, points, pseudo


def test_batched_losses_equal_the_mean_of_per_video_losses():
    torch.manual_seed(0)
    net = LacpNetwork(16, 3, hidden=32).eval()  # no dropout: the same network output alone and in a batch
    features, lengths, labels, points, pseudo = small_batch()
    out = net(features, lengths, labels)
    uniform = torch.rand(3, 3, 40, 3)
    total, parts = lacp_losses(out, labels, points, lengths, pseudo, uniform)
    singles = []
    for v in range(3):
        length = int(lengths[v])
        one = net(features[v:v + 1, :length], lengths[v:v + 1], labels[v:v + 1])
        singles.append(lacp_losses(one, labels[v:v + 1], points[v:v + 1, :length], lengths[v:v + 1],
                                   pseudo[v:v + 1, :length], uniform[v:v + 1, :, :length])[0])
    assert total.item() == pytest.approx(torch.stack(singles).mean().item(), rel=1e-5)
    assert all(parts[k] > 0 for k in ("video", "point", "background", "score", "feature"))


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = LacpNetwork(16, 3, hidden=32)
    features, lengths, labels, points, pseudo = small_batch()
    total, _ = lacp_losses(net(features, lengths, labels), labels, points, lengths, pseudo)
    total.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_completeness_losses_are_off_before_the_first_search():
    torch.manual_seed(0)
    net = LacpNetwork(16, 3, hidden=32)
    features, lengths, labels, points, _ = small_batch()
    _, parts = lacp_losses(net(features, lengths, labels), labels, points, lengths, None)
    assert parts["score"].item() == 0 and parts["feature"].item() == 0


def test_upsampling_interpolates_and_extrapolates():
    values = torch.tensor([[[0.0], [1.0], [3.0], [0.0]]])
    up, lengths = upsample(values, torch.tensor([3]), 2)
    assert lengths.tolist() == [6]
    assert up[0, :, 0].tolist() == [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]


def test_inference_finds_a_clear_action():
    # CAS of class 1 is high on snippets [10, 19] of a 40-snippet video, background low there.
    cas = torch.full((1, 40, 3), 0.02)
    cas[0, :, 2] = 0.9
    cas[0, 10:20, 1] = 0.95
    cas[0, 10:20, 2] = 0.02
    out = LacpOutput(video_score=torch.tensor([[0.1, 0.9]]), cas=cas, embedded=torch.zeros(1, 40, 1))
    for settings, official in ((InferenceSettings(), False), (InferenceSettings(nms="hard"), False),
                               (InferenceSettings(), True)):
        found = predict(out, torch.tensor([40]), ["v"], ["a", "b"], settings, official=official,
                        seconds_per_snippet=torch.tensor([0.64]))
        best = found.score.argmax()
        assert found.label[best] == 1 and set(found.label.tolist()) == {1}
        assert found.start[best] == pytest.approx(10 * 0.64, abs=0.64) and found.end[best] == pytest.approx(20 * 0.64, abs=0.64)


def test_soft_nms_decays_what_hard_nms_drops():
    # Soft-NMS keeps every proposal of the clear action (decayed), hard NMS one of each overlapping cluster;
    # both rank the same best detection first; official mode is the release's hard NMS.
    torch.manual_seed(0)
    cas = torch.rand(1, 40, 3) * 0.1
    cas[0, :, 2] = 0.9
    cas[0, 8:22, 1] = torch.linspace(0.5, 0.98, 14)
    cas[0, 8:22, 2] = 0.02
    out = LacpOutput(video_score=torch.tensor([[0.1, 0.9]]), cas=cas, embedded=torch.zeros(1, 40, 1))
    soft, hard, official = (predict(out, torch.tensor([40]), ["v"], ["a", "b"], InferenceSettings(nms=nms),
                                    official=official, seconds_per_snippet=torch.tensor([0.64]))
                            for nms, official in (("soft", False), ("hard", False), ("soft", True)))
    assert len(soft) > len(hard) and len(official) < len(soft)
    assert soft.score.max() == pytest.approx(hard.score.max())
    assert (soft.start[soft.score.argmax()], soft.end[soft.score.argmax()]) == \
        (hard.start[hard.score.argmax()], hard.end[hard.score.argmax()])
    with pytest.raises(ValueError, match="inference.nms must be soft or hard"):
        InferenceSettings(nms="fast")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_official_losses_equal_the_release_per_video(seed):
    """ptal's batched official-mode loss equals the per-video re-implementation of the release's loss
    (its quirks included), value and gradients, with the same random draws."""
    from tests.models.lacp_release_reference import release_video_loss

    torch.manual_seed(seed)
    net = LacpNetwork(16, 3, hidden=32).eval()
    features, lengths, labels, points, pseudo = small_batch(seed)
    labels[0, 0] = 1  # a labelled class without any pseudo-label action run (the release still scores it)
    uniform = torch.rand(3, 3, 40, 3)
    total, _ = lacp_losses(net(features, lengths, labels), labels, points, lengths, pseudo, uniform, official=True)
    grads = torch.autograd.grad(total, list(net.parameters()))
    expected = []
    for v in range(3):
        length = int(lengths[v])
        one = net(features[v:v + 1, :length], lengths[v:v + 1], labels[v:v + 1])
        expected.append(release_video_loss(one.video_score[0], one.cas[0], one.embedded[0], labels[v], points[v, :length],
                                           pseudo[v, :length], uniform[v, :, :length]))
    expected_total = torch.stack(expected).mean()  # the release accumulates 16 videos and divides
    expected_grads = torch.autograd.grad(expected_total, list(net.parameters()))
    assert total.item() == pytest.approx(expected_total.item(), rel=1e-5)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_official_and_default_losses_differ_where_the_quirks_are():
    torch.manual_seed(0)
    net = LacpNetwork(16, 3, hidden=32).eval()
    features, lengths, labels, points, pseudo = small_batch()
    uniform = torch.rand(3, 3, 40, 3)
    out = net(features, lengths, labels)
    _, default = lacp_losses(out, labels, points, lengths, pseudo, uniform)
    _, official = lacp_losses(out, labels, points, lengths, pseudo, uniform, official=True)
    assert default["video"] == official["video"] and default["point"] == official["point"]
    assert default["score"] != official["score"]
