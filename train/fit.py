"""One model of a run: build it from the config, fit it on train (selecting on dev), predict, score.

Shared by a training run (warta.train.run) and each fold of cross-validation
(warta.train.cv), so neither imports the other.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from warta.config import RunConfig, TfidfRunConfig, TransformerRunConfig
from warta.records import Prediction, predictions_from_matrices
from warta.train.data import targets

log = logging.getLogger("warta.train")


# --- models --------------------------------------------------------------------------


def build_model(config: RunConfig) -> Any:
    """An unfitted model of the config's kind (a transformer loads its pretrained encoder here)."""
    layers = list(config.layers)
    if isinstance(config, TfidfRunConfig):
        from warta.models.tfidf import TfidfClassifier

        m = config.model
        return TfidfClassifier(
            layers=layers,
            word_ngrams=m.word_ngrams,
            char_ngrams=m.char_ngrams,
            min_df=m.min_df,
            max_features=m.max_features,
            sublinear_tf=m.sublinear_tf,
            cue_features=m.cue_features,
            cue_weight=m.cue_weight,
            cue_layers=m.cue_layers,
            class_weight=m.class_weight,
            c_values=m.c_values,
            max_iter=m.max_iter,
        )
    if isinstance(config, TransformerRunConfig):
        import torch

        from warta.models.transformer import TransformerClassifier

        m, t = config.model, config.train
        if t.cpu_threads:
            torch.set_num_threads(t.cpu_threads)
        model = TransformerClassifier.from_pretrained(
            m.name_or_path, layers=layers, pooling=m.pooling, dropout=m.dropout, max_length=m.max_length,
            lowercase=m.lowercase, seed=config.seed,
        )
        log.info("transformer %s: lowercase=%s, pooling=%s", m.name_or_path, model.lowercase, m.pooling)
        return model
    raise TypeError(f"unknown config type {type(config).__name__}")


def fit_model(
    config: RunConfig,
    model: Any,
    train_records: Sequence[dict[str, Any]],
    dev_records: Sequence[dict[str, Any]],
    work_dir: Path,
    progress: bool = True,
) -> Any:
    """Fit `model` (from build_model) on train, tuning C / early-stopping on dev."""
    layers = list(config.layers)
    train_texts = [r["text"] for r in train_records]
    dev_texts = [r["text"] for r in dev_records]
    train_targets, dev_targets = targets(list(train_records), layers), targets(list(dev_records), layers)
    if isinstance(config, TfidfRunConfig):
        model.fit(train_texts, train_targets, dev_texts, dev_targets)
        for layer in layers:
            by_c = " ".join(f"{c}:{f1:.3f}" for c, f1 in model.tuning_.get(layer, {}).items())
            log.info("tfidf %s: C=%s (dev macro-F1 by C: %s)", layer, model.best_c_[layer], by_c or "not tuned")
        return model
    t = config.train
    try:
        model.fit(
            train_texts, train_targets, dev_texts, dev_targets,
            work_dir=work_dir, epochs=t.epochs, max_steps=t.max_steps, batch_size=t.batch_size,
            eval_batch_size=t.eval_batch_size, learning_rate=t.learning_rate, weight_decay=t.weight_decay,
            warmup_ratio=t.warmup_ratio, early_stopping_patience=t.early_stopping_patience,
            class_weighted=t.class_weighted, group_by_length=t.group_by_length, bf16=t.bf16,
            logging_steps=t.logging_steps, dataloader_workers=t.dataloader_workers, seed=config.seed,
            progress=progress,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # checkpoints: the best one is already loaded
    return model


def predict_batch_size(config: RunConfig) -> int:
    return config.train.predict_batch_size if isinstance(config, TfidfRunConfig) else config.train.eval_batch_size


def prediction_records(
    model: Any, records: Sequence[Mapping[str, Any]], model_id: str, batch_size: int
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


def training_summary(model: Any) -> dict[str, Any]:
    """What model selection chose (C per layer, or the best epoch's dev score)."""
    if getattr(model, "kind", None) == "tfidf":
        return {"best_c": model.best_c_, "dev_macro_f1_by_c": model.tuning_}
    return {
        "best_dev_macro_f1_mean": getattr(model, "best_dev_macro_f1_", None),
        "history": getattr(model, "history_", []),
    }
