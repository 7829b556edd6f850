"""Reference optimal sequence search (LACP's OSS), exact method, in plain Python.

For one video and one class, the action seeds and background seeds define a *transcript*: an alternating
list of segments (0 = background, 1 = action), each with a seed range [lo, hi] it must cover. A labelling
is admissible when its segments follow the transcript, tile [0, T) and cover their seed ranges; its score
is the mean outer-inner contrast (OIC) of its segments (on cas for action, 1 - cas for background).
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import torch

from ptal_core.runs import runs

BACKGROUND, ACTION = 0, 1


class TranscriptError(ValueError):
    """Two action runs of a class with no background seed between them (LACP's release asserts)."""


@dataclass(frozen=True)
class Transcript:
    labels: list[int]       # per segment: BACKGROUND or ACTION, alternating
    lo: list[int]           # segment k must cover [lo[k], hi[k]]
    hi: list[int]

    def __len__(self) -> int:
        return len(self.labels)


def build_transcript(action: list[bool], background: list[bool]) -> Transcript:
    """Transcript of one video·class from its action seeds and background seeds (both length T, with
    at least one action seed). The background seeds here include the snippets that are action seeds of
    other classes only. Raises TranscriptError when two action runs have no background seed between them.
    """
    length = len(action)
    action_runs = runs(torch.tensor(action, dtype=torch.bool)).tolist()
    bkg = [t for t in range(length) if background[t]]
    labels, lo, hi = [], [], []

    def add(label, first, last):
        labels.append(label)
        lo.append(first)
        hi.append(last)

    first_start = action_runs[0][0]
    leading = [t for t in bkg if t < first_start]
    if leading:
        add(BACKGROUND, 0, leading[-1])
    for i, (start, end) in enumerate(action_runs):
        if i > 0:
            gap = [t for t in bkg if action_runs[i - 1][1] < t < start]
            if not gap:
                raise TranscriptError(f"no background seed between the action runs ending at {action_runs[i - 1][1]} "
                                      f"and starting at {start}")
            add(BACKGROUND, gap[0], gap[-1])
        add(ACTION, 0 if i == 0 and not leading else start, end)
    trailing = [t for t in bkg if t > action_runs[-1][1]]
    if trailing:
        add(BACKGROUND, trailing[0], length - 1)
    else:
        hi[-1] = length - 1
    return Transcript(labels, lo, hi)


def prefix_sums(values: list[float]) -> list[float]:
    """[0, v0, v0 + v1, ...], summed left to right in float64 (as the C++/CUDA kernels do)."""
    return [0.0, *itertools.accumulate(values)]


def oic_parts(prefix: list[float], start: int, end: int, length: int, outer_ratio: float) -> tuple[float, float]:
    """Inner mean and outer mean of [start, end] (inclusive) of a sequence of ``length`` values given its
    prefix sums; the rule of csrc/common/oic.h: outer margins [int(start - r*len), start) and
    (end, int(end + r*len)] clipped to the sequence (int() truncates toward zero); an empty outer set has
    mean 0."""
    size = end - start + 1
    outer_start = max(0, int(start - outer_ratio * size))
    outer_end = min(length - 1, int(end + outer_ratio * size))
    inner = (prefix[end + 1] - prefix[start]) / size
    outer_count = (start - outer_start) + (outer_end - end)
    if outer_count == 0:
        return inner, 0.0
    return inner, ((prefix[start] - prefix[outer_start]) + (prefix[outer_end + 1] - prefix[end + 1])) / outer_count


def oic(prefix: list[float], start: int, end: int, length: int, outer_ratio: float) -> float:
    """Outer-inner contrast: inner mean - outer mean (see :func:`oic_parts`)."""
    inner, outer = oic_parts(prefix, start, end, length, outer_ratio)
    return inner - outer


def start_ranges(transcript: Transcript) -> list[range]:
    """Admissible start positions of each segment: segment 0 starts at 0; segment k > 0 starts after
    hi[k - 1] and at or before lo[k]."""
    return [range(0, 1)] + [range(transcript.hi[k - 1] + 1, transcript.lo[k] + 1) for k in range(1, len(transcript))]


def exact_search(cas: list[float], transcript: Transcript, outer_ratio: float) -> tuple[list[int], float]:
    """Admissible labelling of maximal total OIC, by dynamic programming over segment starts.

    ``best[k][b]`` is the best total OIC of segments k..n-1 when segment k starts at b, summed from the
    last segment backwards: OIC_k + best[k + 1][b']. Ties go to the earliest boundaries: the boundary
    vector (b_1, ..., b_{n-1}) is the lexicographically smallest among the optimal ones.
    Returns the segment starts (n,) and the mean OIC.
    """
    length, n = len(cas), len(transcript)
    prefix = {ACTION: prefix_sums(cas), BACKGROUND: prefix_sums([1.0 - value for value in cas])}
    starts = start_ranges(transcript)

    def segment_oic(k, start, end):
        return oic(prefix[transcript.labels[k]], start, end, length, outer_ratio)

    best = [dict() for _ in range(n)]
    next_start = [dict() for _ in range(n)]
    for b in starts[n - 1]:
        best[n - 1][b] = segment_oic(n - 1, b, length - 1)
    for k in range(n - 2, -1, -1):
        for b in starts[k]:
            for b_next in starts[k + 1]:
                total = segment_oic(k, b, b_next - 1) + best[k + 1][b_next]
                if b not in best[k] or total > best[k][b]:  # strict: the earliest b_next wins ties
                    best[k][b], next_start[k][b] = total, b_next
    boundaries = [0]
    for k in range(n - 1):
        boundaries.append(next_start[k][boundaries[-1]])
    return boundaries, best[0][0] / n


@dataclass(frozen=True)
class Hypothesis:
    """A labelling of snippets [0, t) in LACP's beam search: the lengths of its completed segments, the
    length of its current segment, and the running mean OIC of the completed segments (+inf before the
    first boundary, a quirk of the release: nothing is pruned before it)."""
    completed: tuple[int, ...]
    length: int
    score: float

    @property
    def segment(self) -> int:
        return len(self.completed)


@functools.total_ordering
class _KeyPart:
    """One element of the release's hypothesis key; ints and the history string compare as in Python,
    and an int orders before a string (where the release's sort would raise TypeError)."""

    def __init__(self, value):
        self.value = value

    def _rank(self):
        return (isinstance(self.value, str), self.value)

    def __eq__(self, other):
        return self._rank() == other._rank()

    def __lt__(self, other):
        return self._rank() < other._rank()


def release_key(hypothesis: Hypothesis, transcript: Transcript) -> tuple:
    """The release's dictionary key of a hypothesis, which orders hypotheses of equal score when pruning:
    (start symbol -1, labels of the segments so far, current segment length, history "0,d1,d2,...")."""
    history = ",".join(["0", *map(str, hypothesis.completed)])
    labels = transcript.labels[:hypothesis.segment + 1]
    return tuple(_KeyPart(v) for v in (-1, *labels, hypothesis.length, history))


def _switch(hypothesis: Hypothesis, prefix, transcript: Transcript, length: int, outer_ratio: float) -> Hypothesis:
    """Close the current segment at t = sum(completed) + length and start the next one; the running mean
    is updated as the release does: ((score * (m - 1) + inner) - outer) / m for the m-th segment."""
    end = sum(hypothesis.completed) + hypothesis.length - 1
    inner, outer = oic_parts(prefix[transcript.labels[hypothesis.segment]], end - hypothesis.length + 1, end,
                             length, outer_ratio)
    m = hypothesis.segment + 1
    score = inner - outer if m == 1 else ((hypothesis.score * (m - 1)) + inner - outer) / m
    return Hypothesis(hypothesis.completed + (hypothesis.length,), 1, score)


def _prune(hypotheses: list[Hypothesis], transcript: Transcript, thresh: float, budget: int) -> list[Hypothesis]:
    """Drop hypotheses scoring below ``thresh`` except the best one (best by score, then release key); then,
    beyond ``budget``, the lowest-scoring ones, keeping every hypothesis tied with the score at the cut.
    Survivors keep their order."""
    def ranked(hyps):
        return sorted(hyps, key=lambda h: (h.score, release_key(h, transcript)))

    dropped = set()
    for h in ranked(hypotheses)[:-1]:
        if h.score >= thresh:
            break
        dropped.add(id(h))
    kept = [h for h in hypotheses if id(h) not in dropped]
    if len(kept) > budget:
        order = ranked(kept)
        cut = len(kept) - budget
        while cut > 0 and order[cut - 1].score == order[cut].score:
            cut -= 1
        dropped = {id(h) for h in order[:cut]}
        kept = [h for h in kept if id(h) not in dropped]
    return kept


def beam_search(cas: list[float], transcript: Transcript, outer_ratio: float, budget: int,
                thresh: float) -> tuple[list[int], float]:
    """LACP's beam search (the release's ``decode.py``), over the same transcript and OIC as
    :func:`exact_search`. From snippet t = 1 on, a hypothesis in segment k must switch to segment k+1 at
    t = lo[k+1], must stay while t <= hi[k], and otherwise does both (stay first). After each snippet the
    beam is pruned (:func:`_prune`). Every survivor is then scored by the mean OIC of all its segments
    (action segments summed first, then background ones) and the last best one in beam order wins.
    Returns the segment starts and that mean.
    """
    length, n = len(cas), len(transcript)
    prefix = {ACTION: prefix_sums(cas), BACKGROUND: prefix_sums([1.0 - value for value in cas])}
    beam = [Hypothesis((), 1, float("inf"))]
    for t in range(1, length):
        grown = []
        for h in beam:
            next_lo = transcript.lo[h.segment + 1] if h.segment + 1 < n else length
            if t == next_lo:
                grown.append(_switch(h, prefix, transcript, length, outer_ratio))
            elif t <= transcript.hi[h.segment]:
                grown.append(Hypothesis(h.completed, h.length + 1, h.score))
            else:
                grown.append(Hypothesis(h.completed, h.length + 1, h.score))
                if h.segment + 1 < n:
                    grown.append(_switch(h, prefix, transcript, length, outer_ratio))
        beam = _prune(grown, transcript, thresh, budget)
    best_starts, best_score = None, -float("inf")
    for h in beam:
        starts = [0, *itertools.accumulate(h.completed)]
        ends = [*starts[1:], length]
        scores = {ACTION: [], BACKGROUND: []}
        for label, start, end in zip(transcript.labels, starts, ends):
            scores[label].append(oic(prefix[label], start, end - 1, length, outer_ratio))
        score = sum(scores[ACTION] + scores[BACKGROUND]) / n
        if score >= best_score:
            best_starts, best_score = starts, score
    return best_starts, best_score


def labels_from_starts(starts: list[int], transcript: Transcript, length: int) -> list[int]:
    """Per-snippet action indicator (T,) of the labelling whose segments start at ``starts``."""
    ends = starts[1:] + [length]
    out = [0] * length
    for label, start, end in zip(transcript.labels, starts, ends):
        if label == ACTION:
            out[start:end] = [1] * (end - start)
    return out


def not_finite_error(video: int, cls: int) -> ValueError:
    return ValueError(f"cas must be finite (no NaN or inf) where it is searched: video {video}, class {cls} is not")


def optimal_sequence_search(cas, act_seed, bkg_seed, any_action, searched, lengths, method, budget, thresh,
                            outer_ratio, check):
    """Pseudo labels (B, T, C) uint8 and sequence scores (B,) for every video; see ptal.ops.

    act_seed (B, T, C), bkg_seed and any_action (B, T) are 0/1 bytes (any_action: act_seed's any over the
    classes), searched (B, C) 0/1 bytes the [video, class] pairs to search: a video's score is the mean over its
    pairs. Failures raise whatever ``check``.
    """
    pseudo_labels = torch.zeros(act_seed.shape, dtype=torch.uint8)
    scores = [[] for _ in range(act_seed.shape[0])]
    for v, c in torch.nonzero(searched).tolist():
        length = int(lengths[v])
        action = act_seed[v, :length, c].bool()
        background = bkg_seed[v, :length].bool() | (any_action[v, :length].bool() & ~action)
        try:
            transcript = build_transcript(action.tolist(), background.tolist())
        except TranscriptError as error:
            raise ValueError(f"act_seed/bkg_seed: video {v}, class {c}: {error}") from None
        probabilities = cas[v, :length, c].double().tolist()
        if not all(map(math.isfinite, probabilities)):
            raise not_finite_error(v, c)
        if method == "exact":
            starts, score = exact_search(probabilities, transcript, outer_ratio)
        else:
            starts, score = beam_search(probabilities, transcript, outer_ratio, budget, thresh)
        pseudo_labels[v, :length, c] = torch.tensor(labels_from_starts(starts, transcript, length), dtype=torch.uint8)
        scores[v].append(score)
    sequence_score = torch.tensor([sum(s) / len(s) if s else 0.0 for s in scores], dtype=torch.float64)
    return pseudo_labels.to(cas.device), sequence_score.to(device=cas.device, dtype=cas.dtype)
