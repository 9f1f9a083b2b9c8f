"""What every warta model offers, and loading a saved one by folder.

Both model kinds label all layers over raw sentence texts:
- ``labels``: layer -> ordered list of class names (column order of probabilities);
- ``predict(texts)`` -> {layer: [label, ...]};
- ``predict_proba(texts)`` -> {layer: float array of shape (len(texts), len(labels[layer]))};
- ``save(folder)`` writes the model, ``model.json`` (kind, layers, labels) beside it;
- ``load(folder)`` (classmethod) reads it back using safe formats only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

MODEL_CARD = "model.json"


@runtime_checkable
class SentenceClassifier(Protocol):
    labels: dict[str, list[str]]

    def predict(self, texts: Sequence[str]) -> dict[str, list[str]]: ...

    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]: ...

    def save(self, folder: str | Path) -> None: ...


def read_model_card(folder: str | Path) -> dict:
    """The kind/layers/labels record saved beside every model."""
    from warta.errors import InputError
    from warta.jsonl import read_json

    path = Path(folder) / MODEL_CARD
    if not path.is_file():
        raise InputError(f"{folder}: not a warta model folder (no {MODEL_CARD})")
    return read_json(path)
