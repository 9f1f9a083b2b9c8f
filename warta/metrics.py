"""Scores of predicted labels against gold labels, with bootstrap uncertainty and calibration.

Definitions (the same for every caller: `warta train`, `warta evaluate`, `warta compare`):

- Records are joined by ``"id"``. For each layer, a gold record whose value is
  missing or None is skipped; every remaining gold record must have a
  prediction (a missing one is an error, never silently dropped).
- macro-F1 is the unweighted mean of per-class F1 over the layer's FULL label
  list (``labels[layer]``), with ``zero_division=0``: a class with no gold and
  no predicted sentence counts as F1 = 0. This is ``sklearn.metrics.f1_score(...,
  labels=labels[layer], average="macro", zero_division=0)``. On a small test set
  that lacks a class, the ceiling is therefore below 1; such classes are listed
  under ``"absent_labels"``.
- Confidence intervals are 95% bootstrap percentile intervals: ``n_boot``
  resamples of the sentences with replacement (warta.resampling, numpy
  ``default_rng(seed)``, drawn per layer, so a layer's interval does not depend
  on which other layers were requested).
- ECE is the expected calibration error of the predicted label: confidence =
  the probability the model gave to the label it predicted (the top-label
  probability for both warta models, which predict the argmax), 10 equal-width
  bins (lo, hi] over [0, 1], ECE = sum over bins of |bin| / n * |accuracy -
  mean confidence|. None when the predictions carry no probabilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.resampling import LEVEL as CI_LEVEL
from warta.resampling import bootstrap_indices, percentile_interval

ECE_BINS = 10


def index_by_id(records: Iterable[Mapping[str, Any]], what: str) -> dict[str, Mapping[str, Any]]:
    """Records keyed by their "id"; a record without one or a repeated id is an InputError."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for position, record in enumerate(records, start=1):
        record_id = record.get("id")
        if record_id is None:
            raise InputError(f"{what}: record {position} has no \"id\"")
        record_id = str(record_id)
        if record_id in by_id:
            raise InputError(f"{what}: id {record_id!r} appears more than once")
        by_id[record_id] = record
    return by_id


def encode_labels(values: Sequence[Any], labels: Sequence[str], what: str, ids: Sequence[str]) -> np.ndarray:
    """Label strings to column indices of `labels`; an unknown label names the record."""
    code = {label: i for i, label in enumerate(labels)}
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        if value not in code:
            raise InputError(f"{what}: id {ids[i]!r}: label {value!r} is not one of {', '.join(labels)}")
        out[i] = code[value]
    return out


def confusion_counts(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Matrix [gold, pred] of counts."""
    return np.bincount(gold * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _f1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Per-class F1 = 2TP / (2TP + FP + FN), 0 where undefined; works on (..., K, K) stacks."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1).astype(float)
    gold_totals = confusion.sum(axis=-1)
    pred_totals = confusion.sum(axis=-2)
    denominator = gold_totals + pred_totals  # = 2TP + FN + FP
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)
    return f1


def bootstrap_scores(gold: np.ndarray, preds: Sequence[np.ndarray], n_classes: int, n_boot: int, seed: int):
    """Accuracy and macro-F1 of each prediction vector on the same bootstrap resamples.

    Returns two arrays of shape (len(preds), n_boot). Used alone for CIs and
    paired (two prediction vectors, same rows) for comparisons.
    """
    n = len(gold)
    accuracy = np.empty((len(preds), n_boot))
    macro_f1 = np.empty((len(preds), n_boot))
    start = 0
    for rows in bootstrap_indices(n, n_boot, seed):
        size = rows.shape[0]
        offsets = (np.arange(size) * n_classes * n_classes)[:, None]
        gold_rows = gold[rows]
        for k, pred in enumerate(preds):
            pred_rows = pred[rows]
            accuracy[k, start : start + size] = (gold_rows == pred_rows).mean(axis=1)
            cells = (offsets + gold_rows * n_classes + pred_rows).ravel()
            stacks = np.bincount(cells, minlength=size * n_classes * n_classes).reshape(size, n_classes, n_classes)
            macro_f1[k, start : start + size] = _f1_from_confusion(stacks).mean(axis=1)
        start += size
    return accuracy, macro_f1


def percentile_ci(samples: np.ndarray, level: float = CI_LEVEL) -> list[float]:
    """[lo, hi] percentile interval of bootstrap samples (warta.resampling.percentile_interval as a list)."""
    lo, hi = percentile_interval(samples, level)
    return [float(lo), float(hi)]


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE over equal-width bins (lo, hi]; a confidence of exactly 0 falls in the first bin."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if confidence.size == 0:
        return 0.0
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        count = int(in_bin.sum())
        if count:
            ece += count / confidence.size * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def _predicted_confidence(pred_records: Sequence[Mapping[str, Any]], layer: str, predicted: Sequence[str]):
    """Probability each prediction gave its own label, or None if any record lacks probs for the layer."""
    confidence = np.empty(len(pred_records))
    for i, record in enumerate(pred_records):
        probs = record.get("probs")
        layer_probs = probs.get(layer) if isinstance(probs, Mapping) else None
        if not isinstance(layer_probs, Mapping):
            return None
        value = layer_probs.get(predicted[i], 0.0)
        # NaN, negative, > 1 or non-numeric probabilities would turn ECE into NaN (invalid JSON) or crash.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            from warta.errors import InputError

            raise InputError(
                f"prediction {record.get('id', i)!s}: probability of {layer} {predicted[i]!r} is {value!r}, "
                "not a number in [0, 1]"
            )
        confidence[i] = float(value)
    return confidence


def layer_metrics(
    gold: Sequence[str],
    pred: Sequence[str],
    labels: Sequence[str],
    confidence: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """All figures for one layer from aligned gold and predicted label strings."""
    labels = list(labels)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(gold))]
    gold_codes = encode_labels(gold, labels, "gold", ids)
    pred_codes = encode_labels(pred, labels, "prediction", ids)
    k = len(labels)
    confusion = confusion_counts(gold_codes, pred_codes, k)
    tp = np.diagonal(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = _f1_from_confusion(confusion)
    n = len(gold_codes)
    result: dict[str, Any] = {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "accuracy_ci": None,
        "macro_f1": float(f1.mean()),
        "macro_f1_ci": None,
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": {"labels": labels, "matrix": confusion.tolist()},
        "absent_labels": [label for i, label in enumerate(labels) if support[i] == 0 and predicted[i] == 0],
        "ece": None,
    }
    if n and n_boot > 0:
        accuracy_samples, f1_samples = bootstrap_scores(gold_codes, [pred_codes], k, n_boot, seed)
        result["accuracy_ci"] = percentile_ci(accuracy_samples[0])
        result["macro_f1_ci"] = percentile_ci(f1_samples[0])
    if confidence is not None and n:
        result["ece"] = expected_calibration_error(confidence, gold_codes == pred_codes)
    return result


def joined_layer(
    gold_by_id: Mapping[str, Mapping[str, Any]],
    pred_by_id: Mapping[str, Mapping[str, Any]],
    layer: str,
) -> tuple[list[str], list[str], list[str]]:
    """(ids, gold labels, predicted labels) for the gold records that carry this layer."""
    ids = [record_id for record_id, record in gold_by_id.items() if record.get(layer) is not None]
    missing = [record_id for record_id in ids if record_id not in pred_by_id]
    if missing:
        raise InputError(
            f"predictions: {len(missing)} gold sentence(s) have no prediction (first: id {missing[0]!r})"
        )
    unpredicted = [record_id for record_id in ids if pred_by_id[record_id].get(layer) is None]
    if unpredicted:
        raise InputError(f"predictions: id {unpredicted[0]!r} has no {layer!r} label")
    gold = [gold_by_id[record_id][layer] for record_id in ids]
    pred = [pred_by_id[record_id][layer] for record_id in ids]
    return ids, gold, pred


def evaluate_predictions(
    gold_records: Iterable[Mapping[str, Any]],
    pred_records: Iterable[Mapping[str, Any]],
    layers: Sequence[str] | None,
    labels: Mapping[str, Sequence[str]],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per-layer accuracy, macro-F1 (with 95% bootstrap CIs), per-class scores, confusion and ECE.

    `layers` None means every layer in `labels`. A requested layer that no gold
    record carries is left out of the result; if that leaves nothing, InputError.
    """
    gold_by_id = index_by_id(gold_records, "gold")
    pred_by_id = index_by_id(pred_records, "predictions")
    requested = list(labels) if layers is None else list(layers)
    unknown = [layer for layer in requested if layer not in labels]
    if unknown:
        raise InputError(f"layer {unknown[0]!r}: no label list for it (known: {', '.join(labels)})")
    results: dict[str, dict[str, Any]] = {}
    for layer in requested:
        ids, gold, pred = joined_layer(gold_by_id, pred_by_id, layer)
        if not ids:
            continue
        confidence = _predicted_confidence([pred_by_id[i] for i in ids], layer, pred)
        results[layer] = layer_metrics(gold, pred, labels[layer], confidence, n_boot=n_boot, seed=seed, ids=ids)
    if not results:
        raise InputError(f"gold: no record carries a label for {', '.join(requested) or 'any layer'}")
    return results
