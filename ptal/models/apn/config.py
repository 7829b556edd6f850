"""An APN run's configuration: every key and its default (the paper's settings, and docs/apn.md's
choices where it is silent). ``ptal train --print-config model.name=apn`` prints it as YAML."""
from __future__ import annotations

from dataclasses import dataclass, field

from ptal.models.apn.inference import InferenceSettings, ProposalSettings
from ptal.models.apn.losses import LossWeights
from ptal.models.apn.text import TEXT_BACKENDS
from ptal.models.base import DataSettings
from ptal.ops.constrained_kmedoids import ACTION_MEDOIDS, BACKGROUND_LAYOUTS, DISTANCES
from ptal.train import TrainSettings

# What pseudo labels are clustered on (ApnMethod.refresh_pseudo_labels).
PSEUDO_FEATURES = ("mixed", "embedded", "ema", "input", "classes")


@dataclass
class ApnModel:
    """The ``model`` section: embedding X = ReLU(Conv1d(D -> embed_dim, k=3)); the BDM, two Conv1d(E ->
    bdm_hidden, k=3) + ReLU and Conv1d(-> 2, k=1), sigmoid; ``num_samples`` features sampled per proposal
    over [t_s - expand·d, t_e + expand·d]; the PEM, a pre-norm GELU Transformer (pem_dim, pem_layers,
    pem_heads, pem_dropout); ``snippet_classifier``: a class + background classifier per snippet of X, trained
    on the pseudo labels (ptal's addition; ``inference.class_source`` says how proposals use it)."""

    name: str = "apn"
    embed_dim: int = 512
    bdm_hidden: int = 256
    num_samples: int = 32
    expand: float = 0.1
    pem_dim: int = 256
    pem_layers: int = 2
    pem_heads: int = 4
    pem_dropout: float = 0.0
    snippet_classifier: bool = False

    def __post_init__(self):
        if self.name != "apn":
            raise ValueError(f"model.name is {self.name!r} in an APN config")
        for name in ("embed_dim", "bdm_hidden", "num_samples", "pem_dim", "pem_layers", "pem_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.pem_dim % self.pem_heads:
            raise ValueError(f"model.pem_dim ({self.pem_dim}) must be a multiple of model.pem_heads ({self.pem_heads})")


@dataclass
class TextSettings:
    """The ``text`` section: the class embeddings the PEM matches. ``learned``: one learned vector per
    class (no download); ``sentence``: all-MiniLM-L6-v2 embeddings of the prompts (``{}`` takes the class
    name as words), averaged, frozen, projected by a learned layer (``pip install 'ptal[text]'``)."""

    backend: str = "learned"
    prompts: list[str] = field(default_factory=lambda: ["a video of a person doing {}."])

    def __post_init__(self):
        if self.backend not in TEXT_BACKENDS:
            raise ValueError(f"text.backend must be one of {', '.join(TEXT_BACKENDS)}, got {self.backend!r}")
        if not self.prompts:
            raise ValueError("text.prompts must hold at least one prompt")


@dataclass
class ApnData(DataSettings):
    """The ``data`` section: as LACP's, with ``batch_size`` in windows of ``window`` snippets every
    ``stride`` (``window = 0``: whole videos)."""

    window: int = 256
    stride: int = 128

    def __post_init__(self):
        super().__post_init__()
        if self.window < 0:
            raise ValueError(f"data.window must be an integer >= 0, got {self.window}")
        if self.stride < 1:
            raise ValueError(f"data.stride must be an integer >= 1, got {self.stride}")


@dataclass
class PseudoSettings:
    """The ``pseudo`` section: constrained k-medoids pseudo labels before iteration 1, then every
    ``frequency`` iterations.

    Attributes:
        features: what is clustered: ``mixed``, the input features and the current embedded X together
            (the mean of the two cosine distances; stops the L_CTR collapse, README); ``embedded``, X alone
            (the paper's loop); ``ema``, X of a moving average of the embedding (decay ``ema_decay`` per
            iteration); ``input``, the input features (fixed labels); ``classes``, as ``mixed`` with the snippet
            classifier's probabilities as a third space (``model.snippet_classifier``).
        distance: cosine or euclidean. max_iter: assignments per clustering.
        background: ``gap``, a background medoid per gap between points (``background_span`` k > 0: one
            per k snippets of a gap), or ``video``, one per video.
        action_medoids: ``points`` (they stay at the points, the paper) or ``update``.
        background_sample, seed: a background medoid is chosen among at most this many snippets, drawn
            with this seed.
        batch_videos: videos per clustering call.
    """

    frequency: int = 10
    features: str = "mixed"
    distance: str = "cosine"
    max_iter: int = 10
    background: str = "gap"
    background_span: int = 0
    action_medoids: str = "points"
    background_sample: int = 512
    seed: int = 0
    batch_videos: int = 16
    ema_decay: float = 0.99

    def __post_init__(self):
        for key, options in (("features", PSEUDO_FEATURES), ("background", BACKGROUND_LAYOUTS),
                             ("action_medoids", ACTION_MEDOIDS), ("distance", DISTANCES)):
            if getattr(self, key) not in options:
                raise ValueError(f"pseudo.{key} must be one of {', '.join(options)}, got {getattr(self, key)!r}")
        for key, low in (("frequency", 1), ("max_iter", 1), ("background_sample", 1), ("batch_videos", 1),
                         ("background_span", 0), ("seed", 0)):
            if getattr(self, key) < low:
                raise ValueError(f"pseudo.{key} must be an integer >= {low}, got {getattr(self, key)!r}")
        if self.background == "video" and self.background_span:
            raise ValueError(f"pseudo.background_span applies to pseudo.background=gap only, got "
                             f"{self.background_span} with background=video")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"pseudo.ema_decay must be in [0, 1), got {self.ema_decay!r}")

    def clustering(self) -> dict:
        """The keys that are ``constrained_kmedoids``' arguments."""
        return {key: getattr(self, key) for key in ("distance", "max_iter", "background", "background_span",
                                                    "action_medoids", "background_sample", "seed")}


@dataclass
class ApnConfig:
    """Every section of an APN run (``train``: 840 iterations = 30 epochs of the 438 THUMOS14 training
    windows that hold a point, 16 per batch; no weight decay, the paper gives none)."""

    model: ApnModel = field(default_factory=ApnModel)
    text: TextSettings = field(default_factory=TextSettings)
    data: ApnData = field(default_factory=ApnData)
    proposals: ProposalSettings = field(default_factory=ProposalSettings)
    pseudo: PseudoSettings = field(default_factory=PseudoSettings)
    loss: LossWeights = field(default_factory=LossWeights)
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    train: TrainSettings = field(default_factory=lambda: TrainSettings(iterations=840, weight_decay=0.0,
                                                                       out_dir="runs/apn"))

    def __post_init__(self):
        if self.inference.class_source != "pem" and not self.model.snippet_classifier:
            raise ValueError(f"inference.class_source={self.inference.class_source} needs "
                             f"model.snippet_classifier=true")
        if self.pseudo.features == "classes" and not self.model.snippet_classifier:
            raise ValueError("pseudo.features=classes needs model.snippet_classifier=true")
        if self.inference.snippet_contrast and self.inference.class_source == "pem":
            raise ValueError("inference.snippet_contrast applies to inference.class_source=snippets or both, "
                             "got class_source=pem")
