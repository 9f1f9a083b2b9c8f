"""The one model convention every warta model kind follows, and the card saved beside each model.

scikit-learn style:
- hyperparameters in ``__init__`` (``from_config(config)`` builds one from a validated run config);
- ``fit(texts, targets, dev=Labelled(texts, targets))`` -> self: ``targets`` is {layer: [label or None]};
  ``dev`` drives model selection (TF-IDF: C per layer; transformer: early stopping);
- ``labels``: layer -> ordered list of class names (column order of probabilities);
- ``predict(texts)`` -> {layer: [label, ...]};
- ``predict_proba(texts, batch_size=None)`` -> {layer: float array (len(texts), len(labels[layer]))};
- ``save(folder)`` writes the model and ``model.json`` (kind, layers, labels); ``load(folder)``
  (classmethod) reads it back using safe formats only;
- ``selection_summary()``: what dev-based selection chose (recorded in metrics.json).

The registry of kinds lives in `warta.models` (``KINDS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

MODEL_CARD = "model.json"

Targets = Mapping[str, Sequence[str | None]]


class Labelled(NamedTuple):
    """Texts with their gold labels per layer (None where a sentence has no label for a layer)."""

    texts: Sequence[str]
    targets: Targets


@runtime_checkable
class SentenceClassifier(Protocol):
    kind: str

    @property
    def labels(self) -> dict[str, list[str]]: ...

    @classmethod
    def from_config(cls, config: Any) -> SentenceClassifier: ...

    def fit(
        self,
        texts: Sequence[str],
        targets: Targets,
        *,
        dev: Labelled | None = None,
        work_dir: str | Path | None = None,
        progress: bool = True,
    ) -> SentenceClassifier: ...

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, list[str]]: ...

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, np.ndarray]: ...

    def selection_summary(self) -> dict[str, Any]: ...

    def save(self, folder: str | Path) -> None: ...

    @classmethod
    def load(cls, folder: str | Path) -> SentenceClassifier: ...


def labels_from_proba(probs: Mapping[str, np.ndarray], labels: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The winning label per row of each layer's probabilities (what every `predict` returns)."""
    return {layer: [labels[layer][i] for i in p.argmax(axis=1)] for layer, p in probs.items()}


def read_model_card(folder: str | Path) -> dict:
    """The kind/layers/labels record saved beside every model."""
    from warta.errors import InputError
    from warta.jsonl import read_json

    path = Path(folder) / MODEL_CARD
    if not path.is_file():
        raise InputError(f"{folder}: not a warta model folder (no {MODEL_CARD})")
    card = read_json(path)
    if not isinstance(card, dict):
        raise InputError(f"{path}: expected a JSON object (kind, layers, labels)")
    return card
