"""APN's dense pseudo labels: ``ptal.ops.constrained_kmedoids`` on the embedded features of whole videos,
and their cut into training windows."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ptal.data.activitynet import Segments
from ptal.models.apn.inference import to_seconds
from ptal.ops.internal import constrained_kmedoids


@dataclass
class PseudoLabels:
    """Pseudo labels of V videos (snippet indices of the whole video, ends inclusive).

    instances: (K, 5) int64 ``[video, start, end, class, point]``: one per annotated (snippet, class)
        point, the action cluster of its snippet; by video, then time.
    background: (Q, 3) int64 ``[video, start, end]``, the non-empty background clusters.
    """

    instances: torch.Tensor
    background: torch.Tensor

    def of_video(self, video: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of one video (instances, background)."""
        return self.instances[self.instances[:, 0] == video], self.background[self.background[:, 0] == video]

    def labels(self, video: int, length: int, num_classes: int) -> torch.Tensor:
        """(T, C) uint8 dense labels of one video: 1 on each instance's snippets for its class."""
        dense = torch.zeros(length, num_classes, dtype=torch.uint8)
        for _, start, end, label, _ in self.of_video(video)[0].tolist():
            dense[start:end + 1, label] = 1
        return dense

    def as_segments(self, video_ids: list[str], class_names: list[str], seconds_per_snippet: list[float]) -> Segments:
        """The action instances as detections in seconds (snippets of ``seconds_per_snippet[video]``), every
        score 1 (for their mAP against the truth)."""
        rows = self.instances
        step = torch.tensor(seconds_per_snippet, dtype=torch.float64)[rows[:, 0]]
        seconds = to_seconds(rows[:, 1], rows[:, 2], step).numpy()
        return Segments(list(video_ids), list(class_names), rows[:, 0].numpy(), seconds[:, 0], seconds[:, 1],
                        rows[:, 3].numpy(), np.ones(len(rows)))

    def state_dict(self) -> dict:
        return {"instances": self.instances, "background": self.background}


def point_rows(point_labels: torch.Tensor) -> torch.Tensor:
    """(Q, 2) int64 ``[snippet, class]`` of a video's (T, C) point labels, by snippet then class."""
    return torch.nonzero(point_labels > 0)


def kmedoids_pseudo_labels(embedded: torch.Tensor, lengths: torch.Tensor, points: list[torch.Tensor],
                           first_video: int, **clustering) -> PseudoLabels:
    """Pseudo labels of a batch of videos ``first_video, first_video + 1, …``.

    embedded (B, T, E) zero-padded, lengths (B,), points: per video its (Q_b, 2) ``[snippet, class]``
    rows (:func:`point_rows`); ``clustering``: keyword arguments of ``constrained_kmedoids`` (distance,
    max_iter, background, …). Points sharing a snippet (several classes annotated at one moment) are one
    point of the clustering, and each of their classes gets that snippet's action cluster.
    """
    snippets = [torch.unique(rows[:, 0]) for rows in points]
    width = max([len(s) for s in snippets] + [1])
    padded = torch.full((len(points), width), -1, dtype=torch.int64)
    for video, s in enumerate(snippets):
        padded[video, :len(s)] = s
    device = embedded.device
    result = constrained_kmedoids(embedded, padded.to(device), torch.zeros_like(padded).to(device), lengths,
                                  **clustering)
    clusters = result.instances[:, :3].cpu()  # one per distinct point snippet, by video then time
    first_row = np.cumsum([0] + [len(s) for s in snippets])
    instances = []
    for video, rows in enumerate(points):
        cluster = first_row[video] + torch.searchsorted(snippets[video], rows[:, 0])
        spans = clusters[cluster, 1:3]
        instances.append(torch.stack([torch.full_like(rows[:, 0], first_video + video), spans[:, 0], spans[:, 1],
                                      rows[:, 1], rows[:, 0]], 1))
    background = result.background.cpu()
    background[:, 0] += first_video
    return PseudoLabels(torch.cat(instances).to(torch.int64) if instances else torch.zeros(0, 5, dtype=torch.int64),
                        background)


def concatenate(parts: list[PseudoLabels]) -> PseudoLabels:
    return PseudoLabels(torch.cat([p.instances for p in parts]), torch.cat([p.background for p in parts]))


@dataclass
class WindowTargets:
    """One training window's pseudo labels, in its coordinates (snippet 0 = its first), on the device.

    instances: (K, 2) ``[start, end]`` every instance overlapping the window (not clipped), the BDM targets.
    points: (Q, 4) ``[snippet, class, start, end]`` the points inside the window with their instance, by
        snippet then class (PEM's targets; L_CTR contrasts these instances).
    background: (R, 2) ``[start, end]`` the background clusters overlapping the window.
    """

    instances: torch.Tensor
    points: torch.Tensor
    background: torch.Tensor


def cut_into_windows(pseudo: PseudoLabels, windows: list[tuple[int, int, int]],
                     device: torch.device) -> list[WindowTargets]:
    """The pseudo labels of each window ``(video, start, stop)``, made on the host and copied to the device in
    one copy per kind (a training step then assembles its batch without reading or copying anything)."""
    overlapping = lambda rows, start, stop: rows[(rows[:, 2] >= start) & (rows[:, 1] < stop)]  # noqa: E731
    # Each video's rows as a slice of its table sorted by video, found once: a mask over the whole table per window
    # grew with windows x rows (ActivityNet's 10 024 videos: half the time, and linear).
    videos = 1 + max([video for video, _, _ in windows], default=-1)
    by_video = []
    for table in (pseudo.instances, pseudo.background):
        table = table[torch.argsort(table[:, 0], stable=True)]
        bounds = torch.searchsorted(table[:, 0].contiguous(), torch.arange(videos + 1)).tolist()
        by_video.append((table, bounds))
    parts: list[list[torch.Tensor]] = [[], [], []]
    for video, start, stop in windows:
        rows, gaps = (overlapping(table[bounds[video]:bounds[video + 1]], start, stop) for table, bounds in by_video)
        parts[0].append(rows[:, 1:3] - start)
        inside = rows[(rows[:, 4] >= start) & (rows[:, 4] < stop)]
        parts[1].append(torch.stack([inside[:, 4] - start, inside[:, 3], inside[:, 1] - start, inside[:, 2] - start], 1))
        parts[2].append(gaps[:, 1:3] - start)
    on_device = [torch.cat(kind).to(device).split([len(t) for t in kind]) for kind in parts]
    return [WindowTargets(*tables) for tables in zip(*on_device)]
