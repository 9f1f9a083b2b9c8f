"""Sentence classifiers: the registry of model kinds, `build_model` and `load_model`.

Every kind follows the convention in `warta.models.base` (SentenceClassifier) and
`warta.models.params` (hyperparameters in the constructor, which also defines the kind's
``model:`` config section; ``train:`` is its ``training_arguments``; kind facts such as
``uses_encoder`` are class attributes). Adding a kind is one module plus one line in
`KINDS` ("module:Class"). Classes are imported only when used, so a TF-IDF model never
imports torch.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any, NamedTuple

from warta.errors import InputError
from warta.models.base import Labelled, SentenceClassifier, read_model_card


class Kind(NamedTuple):
    """The old registry entry ("module:Class" of the model; the config class is now derived): an alias."""

    model: str
    config: str | None = None


KINDS: dict[str, str | Kind] = {
    "tfidf": "warta.models.tfidf:TfidfClassifier",
    "transformer": "warta.models.transformer:TransformerClassifier",
    "hybrid": "warta.models.hybrid:HybridClassifier",
    "ensemble": "warta.models.ensemble:EnsembleClassifier",
}

__all__ = ["KINDS", "Labelled", "SentenceClassifier", "build_model", "kind_facts", "load_model",
           "model_class"]


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def model_class(kind: str) -> type[SentenceClassifier]:
    """The model class registered for `kind` (imported on first use)."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
    entry = KINDS[kind]
    return _resolve(entry.model if isinstance(entry, Kind) else entry)


def kind_facts(kind_or_model: Any) -> Any:
    """The class holding a kind's facts (`uses_encoder`, `supports_quantize`, ...) for a kind name or a model.

    A model object (or kind name) outside the registry gets the defaults of `Params` (no encoder, no int8).
    """
    from warta.models.params import Params

    if isinstance(kind_or_model, str):
        return model_class(kind_or_model) if kind_or_model in KINDS else Params
    cls = type(kind_or_model)
    return cls if all(hasattr(cls, fact) for fact in ("uses_encoder", "supports_quantize")) else Params


def build_model(config: Any) -> SentenceClassifier:
    """An unfitted model from a validated run config (its `model.kind` picks the class)."""
    return model_class(config.model.kind).from_config(config)


def load_model(folder: str | Path, **options: Any) -> SentenceClassifier:
    """The saved model in `folder`, by the kind in its model.json; safe formats only.

    `options` go to the kind's `load` (``device``, ``quantize`` where the kind has them); options a
    kind does not take are dropped (a TF-IDF model always runs on the CPU).
    """
    card = read_model_card(folder)
    kind = card.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise InputError(f"{Path(folder) / 'model.json'}: unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
    cls = model_class(kind)  # its `load` validates the whole folder (warta.models.safety) before opening a file
    import inspect

    accepted = inspect.signature(cls.load).parameters
    return cls.load(folder, **{key: value for key, value in options.items() if key in accepted and value is not None})
