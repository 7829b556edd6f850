"""APN's network (docs/apn.md): embedding, boundary detection (BDM), proposal features (PGM,
through ``ptal.ops``) and proposal evaluation (PEM, a Transformer vision encoder with a [CLS] token, a
classifier and a cosine confidence against class text embeddings)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ptal.models.apn.text import ClassTextEmbeddings
from ptal.data import valid_mask
from ptal.ops.internal import sample_proposal_features


@dataclass
class BoundaryOutput:
    embedded: torch.Tensor    # (B, T, E) embedded features X, zero past each length
    start_prob: torch.Tensor  # (B, T) p_s, zero past each length
    end_prob: torch.Tensor    # (B, T) p_e
    snippet_logits: torch.Tensor | None = None  # (B, T, M + 1) the snippet classifier's, background last


@dataclass
class ProposalOutput:
    class_prob: torch.Tensor  # (P, M) sigmoid per class
    confidence: torch.Tensor  # (P, M) (cos(W_v h_cls, c_j) + 1) / 2, in [0, 1]


@dataclass
class ApnOutput:
    boundary: BoundaryOutput
    proposals: torch.Tensor | None = None        # (P, 3) int64 [batch, start, end], when asked for
    evaluation: ProposalOutput | None = None     # PEM on them


class ProposalEvaluator(nn.Module):
    """PEM: N sampled features (E) projected to ``dim``, a learned [CLS] token and positional embeddings,
    a pre-norm GELU Transformer encoder; an MLP classifier on [CLS] and the cosine confidence of
    ``W_v h_cls`` against each class's text embedding."""

    def __init__(self, embed_dim: int, num_classes: int, text: ClassTextEmbeddings, num_samples: int = 32,
                 dim: int = 256, layers: int = 2, heads: int = 4, dropout: float = 0.1):
        super().__init__()
        self.input = nn.Linear(embed_dim, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.randn(1, num_samples + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.classifier = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, num_classes))
        self.vision = nn.Linear(dim, dim)
        self.text = text

    def forward(self, sampled: torch.Tensor) -> ProposalOutput:
        """sampled (P, N, E) -> class probabilities and confidences (P, M)."""
        tokens = torch.cat([self.cls.expand(len(sampled), -1, -1), self.input(sampled)], 1) + self.position
        cls = self.norm(self.encoder(tokens))[:, 0]
        similarity = F.normalize(self.vision(cls), dim=-1) @ F.normalize(self.text(), dim=-1).T
        return ProposalOutput(torch.sigmoid(self.classifier(cls)), (similarity + 1) / 2)


def embed_padded(embed: nn.Module, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """X = embed(features) (B, T, D) -> (B, T, E), the features and X zeroed past each length."""
    valid = valid_mask(lengths, features.shape[1])[:, :, None]
    return (embed((features * valid).transpose(1, 2)).transpose(1, 2)) * valid


class ApnNetwork(nn.Module):
    """Embedding ``X = ReLU(Conv1d(D -> E, k=3))``; BDM: two Conv1d(E -> H, k=3) + ReLU, Conv1d(H -> 2, k=1),
    sigmoid; PEM on the proposals' sampled features; with ``snippet_classifier``, also Conv1d(E -> M + 1, k=1)
    class logits per snippet (M classes and background; ptal's addition, docs/apn.md).

    Videos of a padded batch are independent: the features, X and the BDM's hidden layers are zeroed past
    each length, so every k=3 convolution sees at a video's end the zeros it would see alone.
    """

    def __init__(self, feature_dim: int, num_classes: int, text: ClassTextEmbeddings, embed_dim: int = 512,
                 bdm_hidden: int = 256, num_samples: int = 32, expand: float = 0.1, pem_dim: int = 256,
                 pem_layers: int = 2, pem_heads: int = 4, pem_dropout: float = 0.1, snippet_classifier: bool = False):
        super().__init__()
        self.num_samples, self.expand = num_samples, expand
        self.embed = nn.Sequential(nn.Conv1d(feature_dim, embed_dim, 3, padding=1), nn.ReLU())
        self.bdm = nn.ModuleList([nn.Conv1d(embed_dim, bdm_hidden, 3, padding=1),
                                  nn.Conv1d(bdm_hidden, bdm_hidden, 3, padding=1), nn.Conv1d(bdm_hidden, 2, 1)])
        self.pem = ProposalEvaluator(embed_dim, num_classes, text, num_samples, pem_dim, pem_layers, pem_heads,
                                     pem_dropout)
        self.snippet_classifier = nn.Conv1d(embed_dim, num_classes + 1, 1) if snippet_classifier else None

    def forward(self, features: torch.Tensor, lengths: torch.Tensor,
                choose_proposals: Callable[[BoundaryOutput], torch.Tensor] | None = None) -> ApnOutput:
        """features (B, T, D) -> X and the boundary probabilities; with ``choose_proposals`` (boundary
        output -> (P, 3) proposals), also PEM on the proposals it returns, in the same forward (one
        DistributedDataParallel call)."""
        valid = valid_mask(lengths, features.shape[1])[:, None, :]
        embedded = embed_padded(self.embed, features, lengths).transpose(1, 2)
        hidden = embedded
        for layer in self.bdm[:-1]:
            hidden = torch.relu(layer(hidden)) * valid
        probabilities = torch.sigmoid(self.bdm[-1](hidden)) * valid
        snippet_logits = (None if self.snippet_classifier is None
                          else self.snippet_classifier(embedded).transpose(1, 2))
        boundary = BoundaryOutput(embedded.transpose(1, 2), probabilities[:, 0], probabilities[:, 1], snippet_logits)
        if choose_proposals is None:
            return ApnOutput(boundary)
        proposals = choose_proposals(boundary)
        return ApnOutput(boundary, proposals, self.evaluate_proposals(boundary.embedded, proposals, lengths))

    def evaluate_proposals(self, embedded: torch.Tensor, proposals: torch.Tensor,
                           lengths: torch.Tensor) -> ProposalOutput:
        """PEM on proposals (P, 3) ``[batch, start, end]`` (integer snippets) of ``embedded`` (B, T, E)."""
        embedded = embedded.float()  # float16 under autocast; the op takes float32/float64
        sampled = sample_proposal_features(embedded, proposals.to(embedded.dtype), num_samples=self.num_samples,
                                           expand=self.expand, lengths=lengths)
        return self.pem(sampled)
