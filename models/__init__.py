"""Sentence classifiers: the registry of model kinds and `load_model`.

Every kind follows the convention in `warta.models.base` (SentenceClassifier).
Adding a kind is one module plus one line in `KINDS` (and its config section
in `warta.config`). Kinds are imported only when used, so a TF-IDF model never
imports torch.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from warta.models.base import Labelled, SentenceClassifier, read_model_card

from warta.errors import InputError

# kind -> "module:Class"; the kind's config section is `model.kind: <kind>` in warta.config.
KINDS: dict[str, str] = {
    "tfidf": "warta.models.tfidf:TfidfClassifier",
    "transformer": "warta.models.transformer:TransformerClassifier",
}

__all__ = ["KINDS", "Labelled", "SentenceClassifier", "build_model", "load_model", "model_class"]


def model_class(kind: str) -> type[SentenceClassifier]:
    """The class registered for `kind` (imported on first use)."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
    module, _, name = KINDS[kind].partition(":")
    return getattr(import_module(module), name)


def build_model(config: Any) -> SentenceClassifier:
    """An unfitted model from a validated run config (its `model.kind` picks the class)."""
    return model_class(config.model.kind).from_config(config)


def load_model(folder: str | Path, **options: Any) -> SentenceClassifier:
    """The saved model in `folder`, by the kind in its model.json; safe formats only.

    `options` go to the kind's `load` (transformer: ``device``, ``quantize``); options a
    kind does not take are dropped (a TF-IDF model always runs on the CPU).
    """
    card = read_model_card(folder)
    kind = card.get("kind")
    if kind not in KINDS:
        raise InputError(f"{Path(folder) / 'model.json'}: unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
    cls = model_class(kind)
    import inspect

    accepted = inspect.signature(cls.load).parameters
    return cls.load(folder, **{key: value for key, value in options.items() if key in accepted and value is not None})
