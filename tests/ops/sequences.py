"""Score sequences and point patterns like LACP's: smooth random CAS, points as LACP's training videos
have them (random, adjacent, at both ends, several classes at one snippet, none), the real THUMOS14 ones,
and the 24x-upsampled CAS of LACP's inference; snippet features around points for APN's clustering. Used by
the tests and the benchmarks of the LACP and APN ops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ptal.data.annotations import PACKAGED_THUMOS14, load_point_labels, read_fps

POINT_PATTERNS = ("random", "adjacent", "ends", "one", "dense", "stacked", "none")
# LACP's inference thresholds: 0:0.025:0.225 on the class CAS, 0.5:0.025:0.7 on the agnostic score.
LACP_THRESHOLDS = [*np.arange(0, 0.25, 0.025), *np.arange(0.5, 0.725, 0.025)]


def smooth_scores(gen: torch.Generator, shape: tuple[int, ...], dtype=torch.float32, levels: int = 0) -> torch.Tensor:
    """Sigmoid of a smooth random process along dimension 1 of ``shape`` (B, T, ...): stretches near 0 and
    near 1 of ~10 snippets, as a trained CAS (an AR(1) process of correlation 0.9). ``levels`` > 0 rounds
    to multiples of 1/levels, so that ties and values exactly at thresholds such as 0.95 = 19/20 are
    common."""
    noise = torch.randn(shape, generator=gen, dtype=torch.float64) * (1 - 0.9**2) ** 0.5
    process = torch.empty_like(noise)
    previous = torch.randn((shape[0], *shape[2:]), generator=gen, dtype=torch.float64)
    for t in range(shape[1]):
        previous = process[:, t] = 0.9 * previous + noise[:, t]
    values = torch.sigmoid(4 * process)
    if levels:
        values = torch.round(values * levels) / levels
    return values.to(dtype)


def point_pattern(gen: torch.Generator, pattern: str, length: int, classes: int) -> torch.Tensor:
    """(length, classes) 0/1 points of one video following ``pattern`` (one of POINT_PATTERNS)."""
    points = torch.zeros((length, classes))
    if length == 0 or pattern == "none":
        return points
    count = {"random": max(1, length // 25), "adjacent": 3, "ends": 2, "one": 1, "dense": max(1, length // 3),
             "stacked": max(1, length // 20)}[pattern]
    snippets = torch.randint(0, length, (count,), generator=gen)
    if pattern == "adjacent":  # runs of neighbouring points
        snippets = (snippets[:, None] + torch.arange(3)).flatten().clamp(max=length - 1)
    if pattern == "ends":
        snippets = torch.cat([torch.tensor([0, length - 1]), snippets])
    points[snippets, torch.randint(0, classes, (snippets.numel(),), generator=gen)] = 1
    if pattern == "stacked":  # several classes at one snippet
        points[snippets, torch.randint(0, classes, (snippets.numel(),), generator=gen)] = 1
    return points


def seed_batch(gen: torch.Generator, lengths: list[int], classes: int, patterns: list[str], dtype=torch.float32,
               levels: int = 0, padding: float = 0.0):
    """(cas (B, T, C + 1), points (B, T, C), lengths (B,)) padded to the longest video with ``padding``."""
    time = max(lengths, default=0)
    cas = smooth_scores(gen, (len(lengths), time, classes + 1), dtype, levels)
    points = torch.zeros((len(lengths), time, classes), dtype=dtype)
    for video, (length, pattern) in enumerate(zip(lengths, patterns)):
        points[video, :length] = point_pattern(gen, pattern, length, classes)
        cas[video, length:] = padding
    return cas, points, torch.tensor(lengths, dtype=torch.int64)


def thumos14_train_points(directory: Path = PACKAGED_THUMOS14, margin: float = 0.2):
    """The real point positions of the THUMOS14 train videos: [(length, snippets (n,), classes (n,))] with
    length = last point's snippet + ``margin`` of it (+ 1), the videos' true lengths not being recorded."""
    labels = load_point_labels(directory / "point_labels.csv", read_fps(directory / "fps_dict.json"))
    videos = []
    for index in range(len(labels.video_ids)):
        rows = labels.video == index
        snippets, classes = labels.snippet[rows], labels.label[rows]
        videos.append((int(np.ceil(snippets.max() * (1 + margin))) + 1, snippets, classes))
    return videos


def thumos14_seed_batch(gen: torch.Generator, directory: Path = PACKAGED_THUMOS14, margin: float = 0.2,
                        classes: int = 20, dtype=torch.float32):
    """LACP's select_seed input for the THUMOS14 train videos in one padded batch: smooth random CAS, the
    real points. -> (cas (B, T, 21), points (B, T, 20), lengths (B,))."""
    videos = thumos14_train_points(directory, margin)
    lengths = [length for length, _, _ in videos]
    cas = smooth_scores(gen, (len(videos), max(lengths), classes + 1), dtype)
    points = torch.zeros((len(videos), max(lengths), classes), dtype=dtype)
    for video, (length, snippets, labels) in enumerate(videos):
        points[video, torch.from_numpy(snippets), torch.from_numpy(labels)] = 1
        cas[video, length:] = 0
    return cas, points, torch.tensor(lengths, dtype=torch.int64)


def upsampled_cas(gen: torch.Generator, time: int, channels: int, scale: int = 24) -> torch.Tensor:
    """(1, time * scale, channels) float64: a smooth CAS linearly interpolated ``scale`` times finer,
    extrapolating past the last snippet as LACP's inference does (clipped to [0, 1] here)."""
    cas = smooth_scores(gen, (1, time, channels), torch.float64)[0]
    position = torch.arange(time * scale, dtype=torch.float64) / scale
    left = position.floor().long().clamp(max=time - 2)
    weight = (position - left)[:, None]
    return (cas[left] * (1 - weight) + cas[left + 1] * weight).clamp(0, 1)[None]


def action_features(gen: torch.Generator, lengths: list[int], points: list[list[int]], dim: int,
                    dtype=torch.float32) -> torch.Tensor:
    """(B, T, dim) snippet features as APN's clustering sees them, padded with zeros: a smooth background
    process (AR(1), correlation 0.9, around a per-video mean) and, around every point, an action stretch of
    5-40 snippets shifted towards a mean of its own."""
    batch, time = len(lengths), max(lengths, default=0)
    features = torch.zeros(batch, time, dim, dtype=torch.float64)
    previous = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
    for t in range(time):
        previous = features[:, t] = 0.9 * previous + (1 - 0.9**2) ** 0.5 * torch.randn(batch, dim, generator=gen,
                                                                                         dtype=torch.float64)
    features += 2 * torch.randn(batch, 1, dim, generator=gen, dtype=torch.float64)
    for video, (length, video_points) in enumerate(zip(lengths, points)):
        for p in video_points:
            before, after = torch.randint(2, 20, (2,), generator=gen).tolist()
            features[video, max(0, p - before):p + after + 1] += 3 * torch.randn(dim, generator=gen,
                                                                                 dtype=torch.float64)
        features[video, length:] = 0
    return features.to(dtype)
