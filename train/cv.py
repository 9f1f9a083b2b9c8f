"""`warta train --cv K`: grouped, stratified K-fold cross-validation on train+dev.

Folds: the stored assignment (``splits.folds``) when K equals its ``k``;
otherwise scikit-learn's StratifiedGroupKFold over ``splits.groups``,
stratified on the first configured layer (``type`` by default), shuffled
with the config's seed. Near-duplicate groups never straddle folds.

Each fold i is scored by a model fitted exactly as a normal run fits one:
trained on the remaining folds except fold (i+1) mod K, which serves as its
dev set (C tuning / early stopping). So every train+dev sentence gets one
out-of-fold prediction, made by a model that never saw it or its group.

Writes ``cv/metrics.json`` (per-fold figures, mean ± std per layer, pooled
out-of-fold metrics with bootstrap CIs) and ``cv/oof.jsonl`` (prediction
records with a "fold" field; model "<run>/<kind>/cv-fold-<i>").
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from warta import distributed
from warta.config import RunConfig
from warta.errors import InputError
from warta.jsonl import write_json, write_jsonl
from warta.records import model_id
from warta.runfolder import RunFolder
from warta.train.data import LabelledData
from warta.train.fit import build_model, fit_model, predict_batch_size, prediction_records, score

log = logging.getLogger("warta.train")


def fold_assignment(data: LabelledData, k: int, seed: int, stratify_layer: str) -> tuple[dict[str, int], str]:
    """(fold number for every train+dev id, where the folds came from); see module docstring."""
    splits = data.splits
    pool = list(splits.train) + list(splits.dev)
    stored = getattr(splits, "folds", None) or {}
    if k == getattr(splits, "k", None) and all(i in stored for i in pool):
        return {i: int(stored[i]) for i in pool}, "splits.folds"
    from sklearn.model_selection import StratifiedGroupKFold

    by_id = data.by_id()
    groups = getattr(splits, "groups", None) or {}
    group_of = [groups.get(i, i) for i in pool]
    n_groups = len(set(group_of))
    if k > n_groups:
        raise InputError(f"--cv {k}: train+dev hold only {n_groups} sentence groups; choose K <= {n_groups}")
    y = [str(by_id[i].get(stratify_layer)) for i in pool]
    folds: dict[str, int] = {}
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, held) in enumerate(splitter.split(np.zeros(len(pool)), y, group_of)):
        for index in held:
            folds[pool[index]] = fold
    return folds, f"StratifiedGroupKFold(shuffle, seed={seed}) on splits.groups"


def _summary(values: list[float]) -> dict[str, float | None]:
    array = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(array):
        return {"mean": None, "std": None}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0}


def cross_validate(
    config: RunConfig,
    data: LabelledData,
    run_dir: RunFolder | Path,
    k: int,
    progress: bool = True,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Fit K fold models, write cv/metrics.json and cv/oof.jsonl, return the metrics dict."""
    if k < 2:
        raise InputError(f"--cv {k}: K must be at least 2")
    layers = list(config.layers)
    folds, fold_source = fold_assignment(data, k, config.seed, layers[0])
    present = sorted(set(folds.values()))
    if len(present) != k:
        raise InputError(f"--cv {k}: only {len(present)} non-empty folds could be formed")
    by_id = data.by_id()
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    cv_dir = folder.cv_dir
    main = distributed.is_main()  # in a multi-process run the other ranks only help to fit
    if main:
        cv_dir.mkdir(parents=True, exist_ok=True)
    oof: list[dict[str, Any]] = []
    per_fold: list[dict[str, Any]] = []
    labels = None
    for fold in present:
        dev_fold = present[(present.index(fold) + 1) % len(present)]
        held = [by_id[i] for i, f in folds.items() if f == fold]
        inner_dev = [by_id[i] for i, f in folds.items() if f == dev_fold]
        fit = [by_id[i] for i, f in folds.items() if f not in (fold, dev_fold)]
        log.info("cv fold %d (%d of %d): fit %d, dev %d (fold %d), held out %d",
                 fold, present.index(fold) + 1, k, len(fit), len(inner_dev), dev_fold, len(held))
        started = time.perf_counter()
        model = fit_model(config, build_model(config), fit, inner_dev, cv_dir / f"checkpoints-{fold}", progress=progress)
        if not main:
            continue
        labels = {layer: list(model.labels[layer]) for layer in layers}
        fold_model = model_id(folder.name, config.model.kind, f"cv-fold-{fold}")
        predictions = prediction_records(model, held, fold_model, predict_batch_size(config))
        for record in predictions:
            record["fold"] = fold
        oof.extend(predictions)
        figures = score(held, predictions, config, labels, n_boot=0)
        per_fold.append({
            "fold": fold,
            "dev_fold": dev_fold,
            "n_fit": len(fit),
            "n_dev": len(inner_dev),
            "n_held_out": len(held),
            "fit_s": round(time.perf_counter() - started, 3),
            "layers": {layer: {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"], "n": m["n"]}
                       for layer, m in figures.items()},
        })
        log.info("cv fold %d macro-F1: %s", fold, ", ".join(
            f"{layer} {m['macro_f1']:.3f}" for layer, m in figures.items()))
    if not main:
        return {}
    summary = {
        layer: {
            "macro_f1": _summary([f["layers"].get(layer, {}).get("macro_f1") for f in per_fold]),
            "accuracy": _summary([f["layers"].get(layer, {}).get("accuracy") for f in per_fold]),
        }
        for layer in layers
    }
    gold = [by_id[record["id"]] for record in oof]
    pooled = score(gold, oof, config, labels, n_boot=n_boot)
    result = {
        "k": k,
        "fold_source": fold_source,
        "stratify_layer": layers[0],
        "procedure": "fold i held out; fold (i+1) mod K is the dev set for tuning/early stopping; the rest fit",
        "summary": summary,
        "folds": per_fold,
        "pooled_oof": pooled,
    }
    write_json(cv_dir / "metrics.json", result)
    write_jsonl(folder.predictions_path("cv"), sorted(oof, key=lambda r: r["id"]))
    log.info("cv macro-F1 mean ± std: %s", ", ".join(
        f"{layer} {s['macro_f1']['mean']:.3f} ± {s['macro_f1']['std']:.3f}" for layer, s in summary.items()))
    return result
