"""A LACP run's configuration: every key and its default (the release's THUMOS14 settings, except where
noted). ``ptal train --print-config model.name=lacp`` prints it as YAML."""
from __future__ import annotations

from dataclasses import dataclass, field

from ptal.models.base import DataSettings
from ptal.models.lacp.inference import InferenceSettings
from ptal.models.lacp.losses import LossWeights
from ptal.ops.optimal_sequence_search import METHODS as SEARCH_METHODS
from ptal.train import TrainSettings


@dataclass
class LacpModel:
    """The ``model`` section: Conv1d(D -> hidden, k=3) + ReLU, dropout, a Conv1d classifier; the video
    score is the mean of the top T // r_act snippet scores."""

    name: str = "lacp"
    hidden: int = 2048
    dropout: float = 0.7
    r_act: int = 8

    def __post_init__(self):
        if self.name != "lacp":
            raise ValueError(f"model.name is {self.name!r} in a LACP config")
        if self.hidden < 1 or self.r_act < 1:
            raise ValueError(f"model.hidden and model.r_act must be >= 1, got {self.hidden} and {self.r_act}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout}")


@dataclass
class SearchSettings:
    """The ``search`` section: the optimal sequence search that makes LACP's pseudo labels.

    Attributes:
        method: ``exact`` (ptal's, the optimum) or ``beam`` (the release's, with ``budget`` and ``thresh``).
        frequency: iterations between two searches (after the 10th, 20th, ... step, as the release).
        batch_videos: videos per search call.
    """

    method: str = "exact"
    frequency: int = 10
    budget: int = 25
    thresh: float = 0.1
    batch_videos: int = 16

    def __post_init__(self):
        if self.method not in SEARCH_METHODS:
            raise ValueError(f"search.method must be one of {', '.join(SEARCH_METHODS)}, got {self.method!r}")
        for name in ("frequency", "budget", "batch_videos"):
            if getattr(self, name) < 1:
                raise ValueError(f"search.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class LacpConfig:
    """Every section of a LACP run. ``official``: the release's quirks (losses, search, inference, NMS)."""

    model: LacpModel = field(default_factory=LacpModel)
    data: DataSettings = field(default_factory=DataSettings)
    loss: LossWeights = field(default_factory=LossWeights)
    search: SearchSettings = field(default_factory=SearchSettings)
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    train: TrainSettings = field(default_factory=lambda: TrainSettings(out_dir="runs/lacp"))
    official: bool = False
