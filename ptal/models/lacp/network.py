"""LACP's snippet classifier: embedded features, fused class activation sequence (CAS), video scores."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ptal.data import valid_mask


@dataclass
class LacpOutput:
    video_score: torch.Tensor  # (B, C) in [0, 1]
    cas: torch.Tensor          # (B, T, C+1) fused CAS: cas[..., c] = s_c (1 - s_bkg), cas[..., C] = s_bkg
    embedded: torch.Tensor     # (B, T, H) embedded features (before dropout), used by the feature loss


class LacpNetwork(nn.Module):
    """Conv1d(D -> H, k=3) + ReLU -> embedded; dropout -> Conv1d(H -> C+1, k=1, no bias) -> sigmoid.

    Videos of a padded batch are independent as long as the padding is zero (the k=3 convolution then
    sees the same zeros at a video's end as a video processed alone).
    """

    def __init__(self, feature_dim: int, num_classes: int, hidden: int = 2048, dropout: float = 0.7,
                 r_act: int = 8):
        super().__init__()
        self.num_classes, self.r_act = num_classes, r_act
        self.embed = nn.Sequential(nn.Conv1d(feature_dim, hidden, kernel_size=3, padding=1), nn.ReLU())
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv1d(hidden, num_classes + 1, kernel_size=1, bias=False)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor,
                video_labels: torch.Tensor | None = None) -> LacpOutput:
        """features (B, T, D) zero-padded, lengths (B,), video_labels (B, C) in training (their absent
        classes score the mean over time instead of the top-k mean, as in the release)."""
        valid = valid_mask(lengths, features.shape[1])
        embedded = self.embed((features * valid[..., None]).transpose(1, 2))
        logits = self.classifier(self.dropout(embedded)).transpose(1, 2)
        scores = torch.sigmoid(logits) * valid[..., None]
        background = scores[..., -1:]
        cas = torch.cat([scores[..., :-1] * (1 - background), background], dim=-1)
        video_score = self.video_score(scores[..., :-1], lengths, video_labels)
        return LacpOutput(video_score, cas, embedded.transpose(1, 2))

    def video_score(self, class_scores: torch.Tensor, lengths: torch.Tensor,
                    video_labels: torch.Tensor | None) -> torch.Tensor:
        """Per class, the mean of the top k = max(1, T_b // r_act) scores of each video (the release has
        k = T // r_act, which is 0, and the mean NaN, for videos shorter than r_act)."""
        top = torch.sort(class_scores, dim=1, descending=True).values  # padding is 0: sorts last
        k = (lengths // self.r_act).clamp(min=1)
        cumulative = torch.cumsum(top, dim=1)
        top_mean = torch.gather(cumulative, 1, (k - 1)[:, None, None].expand(-1, 1, top.shape[2]))[:, 0] / k[:, None]
        if video_labels is None:
            return top_mean
        time_mean = class_scores.sum(1) / lengths.clamp(min=1)[:, None]
        return top_mean * video_labels + time_mean * (1 - video_labels)
