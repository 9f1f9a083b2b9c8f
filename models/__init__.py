"""Sentence classifiers: the TF-IDF baseline and the multi-head transformer.

`load_model(folder)` reads any saved warta model by the "kind" in its model.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.models.base import read_model_card

KINDS = ("tfidf", "transformer")


def load_model(folder: str | Path, device: Any = None) -> Any:
    """The saved model in `folder` (TfidfClassifier or TransformerClassifier), safe formats only.

    `device` places a transformer ("cpu", "cuda", ...; default: CUDA when available);
    the TF-IDF model always runs on the CPU.
    """
    card = read_model_card(folder)
    kind = card.get("kind")
    if kind == "tfidf":
        from warta.models.tfidf import TfidfClassifier

        return TfidfClassifier.load(folder)
    if kind == "transformer":
        from warta.models.transformer import TransformerClassifier

        return TransformerClassifier.load(folder, device=device)
    raise InputError(f"{Path(folder) / 'model.json'}: unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
