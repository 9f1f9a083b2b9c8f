"""`warta train --cv K|outlet`: grouped, stratified K-fold CV on train+dev, or leave-one-outlet-out.

Leave-one-outlet-out (``--cv outlet``) is described in `warta.train.folds`;
it also writes ``cv/outlet_error.json`` (`warta.train.profile_error`).

K-fold: the stored assignment (``splits.folds``) when K equals its ``k``;
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
from warta.records import model_id
from warta.runfolder import RunFolder
from warta.train.data import LabelledData
from warta.train.fit import build_model, fit_model, predict_batch_size, prediction_records, score
from warta.train.folds import OUTLET_SCHEMES, Fold, fold_assignment, kfold_plan, outlet_plan  # noqa: F401  (fold_assignment: public here too)
from warta.train.profile_error import outlet_profile_error
from warta.train.sources import with_supplement

log = logging.getLogger("warta.train")


def _summary(values: list[float]) -> dict[str, float | None]:
    array = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(array):
        return {"mean": None, "std": None}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0}


def cross_validate(
    config: RunConfig,
    data: LabelledData,
    run_dir: RunFolder | Path,
    k: int | str,
    progress: bool = True,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """K-fold (`k` an int) or leave-one-outlet-out (`k` "outlet", or "outlet-purged": near-duplicates of the
    held-out outlet's sentences removed from fit and dev) CV; writes cv/, returns cv/metrics.json."""
    if k in OUTLET_SCHEMES:
        plan, scheme = outlet_plan(data, config.seed, purge=k == "outlet-purged")
    else:
        if not isinstance(k, int) or k < 2:
            raise InputError(f"--cv {k}: K must be at least 2")
        plan, scheme = kfold_plan(data, k, config.seed, list(config.layers)[0])
    return run_folds(config, data, run_dir, plan, scheme, progress=progress, n_boot=n_boot)


def run_folds(
    config: RunConfig,
    data: LabelledData,
    run_dir: RunFolder | Path,
    plan: list[Fold],
    scheme: dict[str, Any],
    progress: bool = True,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Fit one model per fold of `plan` (warta.train.folds.Fold), write cv/metrics.json and cv/oof.jsonl."""
    layers = list(config.layers)
    by_id = data.by_id()
    folder = run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)
    cv_dir = folder.cv_dir
    main = distributed.is_main()  # in a multi-process run the other ranks only help to fit
    if main:
        cv_dir.mkdir(parents=True, exist_ok=True)
    oof: list[dict[str, Any]] = []
    per_fold: list[dict[str, Any]] = []
    labels = None
    for position, fold in enumerate(plan):
        held = [by_id[i] for i in fold.held]
        inner_dev = [by_id[i] for i in fold.dev]
        fit = with_supplement(data, [by_id[i] for i in fold.fit])
        log.info("cv fold %s (%d of %d): fit %d, dev %d, held out %d",
                 fold.name, position + 1, len(plan), len(fit), len(inner_dev), len(held))
        started = time.perf_counter()
        model = fit_model(config, build_model(config), fit, inner_dev, cv_dir / f"checkpoints-{position}",
                          progress=progress)
        if not main:
            continue
        labels = {layer: list(model.labels[layer]) for layer in layers}
        fold_model = model_id(folder.name, config.model.kind, f"cv-fold-{fold.name}")
        predictions = prediction_records(model, held, fold_model, predict_batch_size(config))
        for record in predictions:
            record["fold"] = fold.name
        oof.extend(predictions)
        figures = score(held, predictions, config, labels, n_boot=0)
        per_fold.append({
            "fold": fold.name,
            **fold.info,
            "n_fit": len(fit),
            "n_dev": len(inner_dev),
            "n_held_out": len(held),
            "fit_s": round(time.perf_counter() - started, 3),
            "layers": {layer: {"macro_f1": m["macro_f1"], "accuracy": m["accuracy"], "n": m["n"]}
                       for layer, m in figures.items()},
        })
        log.info("cv fold %s macro-F1: %s", fold.name, ", ".join(
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
        **scheme,
        "n_supplement": len(getattr(data, "supplement", []) or []),
        "summary": summary,
        "folds": per_fold,
        "pooled_oof": pooled,
    }
    if scheme.get("scheme") == "outlet":
        result["outlet_error"] = outlet_profile_error(gold, oof, layers, seed=config.seed)
        folder.write_outlet_error(result["outlet_error"])
    folder.write_cv_metrics(result)
    folder.write_predictions("cv", sorted(oof, key=lambda r: r["id"]))
    log.info("cv macro-F1 mean ± std: %s", ", ".join(
        f"{layer} {s['macro_f1']['mean']:.3f} ± {s['macro_f1']['std']:.3f}" for layer, s in summary.items()))
    return result
