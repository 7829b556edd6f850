"""Comparing post-processed detections with the originals'."""
import torch


def assert_same_detections(ours, theirs, where: str, segment_tolerance: float = 1e-6, score_tolerance: float = 1e-6):
    """The same detections: count, classes, segments (to ``segment_tolerance`` relative and absolute: voting
    sums in another precision) and scores (to ``score_tolerance``), in the same order except within runs of
    scores closer than ``score_tolerance`` (ptal decays soft-NMS scores in float64, the originals in float32, so
    two nearly equal scores may come out in either order); within such a run both are compared sorted by
    (class, start, end)."""
    (segments, scores, labels), (their_segments, their_scores, their_labels) = ours, theirs
    assert scores.shape == their_scores.shape, f"{where}: {scores.shape[0]} detections, theirs {their_scores.shape[0]}"
    order, their_order = _within_close_scores(their_scores, segments, labels, score_tolerance), _within_close_scores(
        their_scores, their_segments, their_labels, score_tolerance)
    assert torch.equal(labels[order], their_labels[their_order]), f"{where}: classes differ"
    torch.testing.assert_close(segments[order], their_segments[their_order], rtol=segment_tolerance,
                               atol=segment_tolerance, msg=lambda m: f"{where}: {m}")
    torch.testing.assert_close(scores[order], their_scores[their_order], rtol=0, atol=score_tolerance,
                               msg=lambda m: f"{where}: {m}")


def _within_close_scores(reference_scores, segments, labels, tolerance):
    """A permutation of 0..K-1 that sorts each run of consecutive ``reference_scores`` closer than ``tolerance``
    by (class, start, end) and leaves the runs in place."""
    k = reference_scores.shape[0]
    if k == 0:
        return torch.arange(0)
    run = torch.cumsum(torch.cat([torch.zeros(1, dtype=torch.long),
                                  ((reference_scores[1:] - reference_scores[:-1]).abs() > tolerance).long()]), 0)
    keys = [segments[:, 1].double(), segments[:, 0].double(), labels.double(), run.double()]
    order = torch.arange(k)
    for key in keys:  # least significant first, stable
        order = order[torch.sort(key[order], stable=True).indices]
    return order
