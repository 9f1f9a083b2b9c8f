"""`warta train` with `--seeds N` and `--refit all`: several seeds of one run, then the shipped model.

Multi-seed: seed s, s+1, ..., s+N-1 (s = the config's seed). The first seed is
the run (its model, predictions and cv/oof.jsonl are the run's); each further
seed is a full run in ``seeds/seed-<S>/`` (metrics, predictions, cv; no model,
to save space). metrics.json gets ``"seeds"`` (figures per seed and mean ± sd
per split and layer), cv/metrics.json likewise for the pooled out-of-fold
figures. For TF-IDF only what depends on the seed varies (fold assignment,
the outlet-CV dev sets); the test figures do not.

Last, README.md: the run's model card (warta.train.model_card), from the files written above.

Refit (`--refit all`): after evaluation, the shipped model is trained on
every labelled sentence (train+dev+test, plus the written supplement) with
the hyperparameters the first seed selected on dev (TF-IDF: C per layer;
hybrid: C per head and layer and the fusion weights; transformer: the best
epoch count, no early stopping), and saved as
``model/`` -- what `warta label` loads. The model that produced the held-out
figures moves to ``model-eval/`` (`warta evaluate --split test|dev` reloads
it). Evaluation figures stay the held-out ones.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from warta import distributed
from warta.config import RunConfig
from warta.errors import InputError
from warta.runfolder import RunFolder
from warta.train.data import LabelledData
from warta.train.run import RunResult, build_model, fit_model, train

log = logging.getLogger("warta.train")

EVAL_MODEL_DIR = RunFolder.EVAL_MODEL
REFIT_CHOICES = ("all",)


def train_experiment(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    data: LabelledData | None = None,
    cv: int | str | None = None,
    seeds: int = 1,
    refit: str | None = None,
    force: bool = False,
    progress: bool = True,
    n_boot: int = 1000,
) -> RunResult:
    """`train` for the first seed, the other seeds in seeds/seed-<S>/, then the refit (see module docstring)."""
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: expected at least 1")
    if refit is not None and refit not in REFIT_CHOICES:
        raise InputError(f"--refit {refit}: expected one of {', '.join(REFIT_CHOICES)}")
    if data is None:
        from warta.train.sources import load_run_data

        data = load_run_data(config.data)
    result = train(config, out=out, data=data, cv=cv, force=force, progress=progress, n_boot=n_boot)
    if seeds > 1:
        others = []
        for offset in range(1, seeds):
            seed = config.seed + offset
            log.info("seed %d (%d of %d)", seed, offset + 1, seeds)
            other = train(config.model_copy(update={"seed": seed}), out=result.run_dir / RunFolder.SEEDS / f"seed-{seed}",
                          data=data, cv=cv, force=True, progress=False, n_boot=0)
            if distributed.is_main():  # the other ranks of a torchrun only helped to fit
                shutil.rmtree(RunFolder(other.run_dir).model_dir, ignore_errors=True)
            others.append((seed, other))
        if distributed.is_main():
            record_seeds(result, [(config.seed, result), *others])
    if refit == "all":
        result.metrics["refit"] = refit_all(config, data, result, progress=progress)
    if distributed.is_main():  # the model card, from the run's files as they now stand
        from warta.train.model_card import write_card

        write_card(result.run_dir)
    return result


# --- multi-seed ----------------------------------------------------------------------


def _figures(metrics: dict[str, Any], keys: tuple[str, ...] = ("macro_f1", "accuracy")) -> dict[str, Any]:
    return {layer: {key: m.get(key) for key in keys} for layer, m in metrics.items()}


def _mean_sd(values: list[float | None]) -> dict[str, float | None]:
    kept = np.asarray([v for v in values if v is not None], float)
    if not len(kept):
        return {"mean": None, "sd": None}
    return {"mean": float(kept.mean()), "sd": float(kept.std(ddof=1)) if len(kept) > 1 else 0.0}


def _summarise(per_seed: list[dict[str, Any]], part: str) -> dict[str, Any]:
    layers = per_seed[0].get(part, {})
    return {
        layer: {key: _mean_sd([s[part][layer][key] for s in per_seed]) for key in layers[layer]}
        for layer in layers
    }


def record_seeds(result: RunResult, runs: list[tuple[int, RunResult]]) -> None:
    """Add per-seed figures and mean ± sd to metrics.json (dev, test) and cv/metrics.json (pooled OOF)."""
    per_seed = []
    for seed, run in runs:
        row: dict[str, Any] = {"seed": seed, "folder": None if run is result else str(run.run_dir)}
        for split in ("dev", "test"):
            if split in run.metrics:
                row[split] = _figures(run.metrics[split])
        if run.cv is not None:
            row["cv"] = _figures(run.cv["pooled_oof"])
            error = run.cv.get("outlet_error", {}).get("mean_over_outlets")
            if error:
                row["cv_outlet_error"] = error
        per_seed.append(row)
    block = {
        "n": len(runs),
        "seeds": [seed for seed, _ in runs],
        "run_model": f"seed {runs[0][0]}: model/, predictions/ and cv/oof.jsonl come from the first seed",
        "summary": {split: _summarise(per_seed, split) for split in ("dev", "test") if split in per_seed[0]},
        "per_seed": per_seed,
    }
    result.metrics["seeds"] = block
    RunFolder(result.run_dir).write_metrics(result.metrics)
    if result.cv is not None:
        cv_block = {"n": len(runs), "seeds": block["seeds"], "summary": _summarise(per_seed, "cv"),
                    "per_seed": [{"seed": r["seed"], "cv": r["cv"], **({"cv_outlet_error": r["cv_outlet_error"]}
                                                                         if "cv_outlet_error" in r else {})}
                                 for r in per_seed]}
        if any("cv_outlet_error" in r for r in per_seed):
            cv_block["outlet_error_summary"] = _outlet_error_summary(per_seed)
        result.cv["seeds"] = cv_block
        RunFolder(result.run_dir).write_cv_metrics(result.cv)


def _outlet_error_summary(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [r["cv_outlet_error"] for r in per_seed if "cv_outlet_error" in r]
    layers = rows[0]["share_error_points"]
    return {
        "share_error_points": {layer: _mean_sd([r["share_error_points"][layer] for r in rows]) for layer in layers},
        "stance_index_abs_error": _mean_sd([r["stance_index_abs_error"] for r in rows]),
    }


# --- refit on everything -------------------------------------------------------------


def selected_hyperparameters(config: RunConfig, model: Any) -> dict[str, Any]:
    """What dev selection chose (the model's `selected()`: TF-IDF C per layer; hybrid C per head and layer
    and the fusion weights; transformer the best epoch count); a refit takes it as `selection=`."""
    return model.selected()


def refit_all(config: RunConfig, data: LabelledData, result: RunResult, progress: bool = True) -> dict[str, Any]:
    """Train the shipped model on every labelled sentence; model/ -> model-eval/, the refit -> model/."""
    from warta.train.sources import with_supplement

    run_dir = result.run_dir
    by_id = data.by_id()
    ids = [i for name in ("train", "dev", "test") for i in getattr(data.splits, name)]
    records = with_supplement(data, [by_id[i] for i in ids])
    chosen = distributed.broadcast(selected_hyperparameters(config, result.model))  # rank 0's choice for all
    log.info("refit on all %d labelled sentences (+%d supplement) with %s", len(ids), len(data.supplement), chosen)
    # the chosen hyperparameters, no dev: nothing is held out any more
    model = build_model(config).set_params(selection=chosen)
    model = fit_model(config, model, records, [], run_dir / "checkpoints-refit", progress=progress)
    if not distributed.is_main():  # under torchrun rank 0 alone saves and records the refit
        result.model = model
        return {}
    folder = RunFolder(run_dir)
    eval_dir = run_dir / EVAL_MODEL_DIR
    shutil.rmtree(eval_dir, ignore_errors=True)
    shutil.move(str(folder.model_dir), str(eval_dir))
    model.save(folder.model_dir)
    block = {
        "n_sentences": len(ids),
        "n_supplement": len(data.supplement),
        "hyperparameters": chosen,
        "shipped_model": "model/ (refit on train+dev+test" + (" + supplement)" if data.supplement else ")"),
        "evaluation_model": f"{EVAL_MODEL_DIR}/ (fitted on train, selected on dev; produced every figure here)",
        "figures": "all evaluation figures are the held-out ones; the refit model has no held-out score",
    }
    result.metrics["refit"] = block
    folder.write_metrics(result.metrics)
    folder.write_data({**folder.data, "refit": {**block, "ids": ids}})
    result.model = model
    return block
