"""One model of a run: build it from the config, fit it on train (selecting on dev), predict, score.

Shared by a training run (warta.train.run) and each fold of cross-validation
(warta.train.cv), so neither imports the other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from warta import models
from warta.config import RunConfig
from warta.models.base import Labelled, SentenceClassifier
from warta.records import Prediction, predictions_from_matrices
from warta.train.data import targets

log = logging.getLogger("warta.train")


# --- models --------------------------------------------------------------------------


def build_model(config: RunConfig) -> SentenceClassifier:
    """An unfitted model of the config's kind, from the registry (a transformer loads its encoder here)."""
    return models.build_model(config)


def fit_model(
    config: RunConfig,
    model: SentenceClassifier,
    train_records: Sequence[Mapping[str, Any]],
    dev_records: Sequence[Mapping[str, Any]],
    work_dir: Path,
    progress: bool = True,
) -> SentenceClassifier:
    """Fit `model` on train; the model selects on dev (TF-IDF: C per layer; transformer: early stopping).

    `work_dir` holds the transformer's checkpoints while it trains (removed by the model).
    """
    layers = list(config.layers)
    dev = Labelled([r["text"] for r in dev_records], targets(list(dev_records), layers)) if dev_records else None
    return model.fit([r["text"] for r in train_records], targets(list(train_records), layers), dev=dev,
                     work_dir=work_dir, progress=progress)


def predict_batch_size(config: RunConfig) -> int | None:
    """Batch size of the run's own predictions, from the kind's training arguments."""
    return config.train.prediction_batch_size


def prediction_records(
    model: SentenceClassifier, records: Sequence[Mapping[str, Any]], model_id: str, batch_size: int
) -> list[Prediction]:
    """Prediction records (warta.records) of `records` from one predict_proba call."""
    probs = model.predict_proba([r["text"] for r in records], batch_size=batch_size)
    return predictions_from_matrices(records, probs, model.labels, model_id)


def score(
    gold: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]], config: RunConfig, labels: dict,
    n_boot: int = 1000,
) -> dict[str, Any]:
    from warta.metrics import evaluate_predictions

    return evaluate_predictions(gold, predictions, list(config.layers), labels, n_boot=n_boot, seed=config.seed)


def training_summary(model: SentenceClassifier) -> dict[str, Any]:
    """What model selection chose (C per layer, or the best epoch's dev score)."""
    return model.selection_summary()
