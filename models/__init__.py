"""Sentence classifiers: the registry of model kinds, `build_model` and `load_model`.

Every kind follows the convention in `warta.models.base` (SentenceClassifier).
Adding a kind is one module plus one line in `KINDS`, naming the model class
and its run-config class (the validated `model`/`train` sections that
`from_config` takes). Both are imported only when used, so a TF-IDF model
never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.models.base import Labelled, SentenceClassifier, read_model_card


@dataclass(frozen=True)
class Kind:
    """Where a model kind lives: "module:Class" of the model and of its run config (`model.kind: <kind>`)."""

    model: str
    config: str


KINDS: dict[str, Kind] = {
    "tfidf": Kind("warta.models.tfidf:TfidfClassifier", "warta.config:TfidfRunConfig"),
    "transformer": Kind("warta.models.transformer:TransformerClassifier", "warta.config:TransformerRunConfig"),
    "hybrid": Kind("warta.models.hybrid:HybridClassifier", "warta.config:HybridRunConfig"),
}

__all__ = ["KINDS", "Kind", "Labelled", "SentenceClassifier", "build_model", "config_class", "load_model",
           "model_class"]


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
    return KINDS[kind]


def model_class(kind: str) -> type[SentenceClassifier]:
    """The model class registered for `kind` (imported on first use)."""
    return _resolve(_kind(kind).model)


def config_class(kind: str) -> type:
    """The run-config class (pydantic) whose `model`/`train` sections configure `kind`."""
    return _resolve(_kind(kind).config)


def build_model(config: Any) -> SentenceClassifier:
    """An unfitted model from a validated run config (its `model.kind` picks the class)."""
    return model_class(config.model.kind).from_config(config)


def load_model(folder: str | Path, **options: Any) -> SentenceClassifier:
    """The saved model in `folder`, by the kind in its model.json; safe formats only.

    `options` go to the kind's `load` (transformer: ``device``, ``quantize``); options a
    kind does not take are dropped (a TF-IDF model always runs on the CPU).
    """
    from warta.models.safety import check_model_folder

    card = read_model_card(folder)
    if not isinstance(card, dict):
        raise InputError(f"{Path(folder) / 'model.json'}: expected a JSON object")
    check_model_folder(folder, card)  # before anything in the folder is opened by a loader
    kind = card.get("kind")
    if kind not in KINDS:
        raise InputError(f"{Path(folder) / 'model.json'}: unknown model kind {kind!r} (expected one of {', '.join(KINDS)})")
    cls = model_class(kind)
    import inspect

    accepted = inspect.signature(cls.load).parameters
    return cls.load(folder, **{key: value for key, value in options.items() if key in accepted and value is not None})
