"""Fold plans for cross-validation: which sentences each fold model is fitted on, tuned on, and scores.

- K-fold (`kfold_plan`): grouped, stratified folds over train+dev (see
  `warta.train.cv`); fold i held out, fold (i+1) mod K is its dev set.
- Leave-one-outlet-out (`outlet_plan`): over ALL labelled sentences
  (train+dev+test), each fold holds out every sentence of one outlet. The dev
  set for C selection / early stopping is a grouped ~20% of the *remaining*
  outlets' sentences (whole near-duplicate groups, balanced on the labels,
  `warta.gold.splits.assign_groups`), so the held-out outlet never informs any
  choice. Near-duplicates of held-out sentences in other outlets (e.g. a
  rewritten article) stay in training by default and are counted per fold
  (``n_fit_near_duplicates``); ``purge=True`` removes them as well.

The written supplement is never in a plan: `warta.train.sources.with_supplement`
adds it to the fitted sentences only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.train.data import LabelledData

OUTLET_DEV_SHARE = 0.2
OUTLET_SCHEMES = ("outlet", "outlet-purged")  # --cv values for leave-one-outlet-out


@dataclass
class Fold:
    """One fold: held-out ids (scored), dev ids (selection) and fit ids, plus figures to record."""

    name: int | str
    held: list[str]
    dev: list[str]
    fit: list[str]
    info: dict[str, Any]


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


def kfold_plan(data: LabelledData, k: int, seed: int, stratify_layer: str) -> tuple[list[Fold], dict[str, Any]]:
    """K grouped folds over train+dev; (folds, scheme description)."""
    folds, source = fold_assignment(data, k, seed, stratify_layer)
    present = sorted(set(folds.values()))
    if len(present) != k:
        raise InputError(f"--cv {k}: only {len(present)} non-empty folds could be formed")
    plan = []
    for position, fold in enumerate(present):
        dev_fold = present[(position + 1) % len(present)]
        plan.append(Fold(
            name=fold,
            held=[i for i, f in folds.items() if f == fold],
            dev=[i for i, f in folds.items() if f == dev_fold],
            fit=[i for i, f in folds.items() if f not in (fold, dev_fold)],
            info={"dev_fold": dev_fold},
        ))
    scheme = {
        "scheme": "kfold",
        "k": k,
        "fold_source": source,
        "stratify_layer": stratify_layer,
        "procedure": "fold i held out; fold (i+1) mod K is the dev set for tuning/early stopping; the rest fit",
    }
    return plan, scheme


def grouped_dev_split(
    by_id: dict[str, dict[str, Any]], ids: list[str], groups: dict[str, str], layers: list[str], seed: int,
    dev_share: float = OUTLET_DEV_SHARE,
) -> tuple[list[str], list[str]]:
    """(fit, dev): a grouped ``dev_share`` of ``ids`` (whole near-duplicate groups, balanced on ``layers``)."""
    from warta.gold.splits import LAYER_WEIGHTS, assign_groups

    bins = assign_groups(
        {i: groups.get(i, i) for i in ids},
        {i: {layer: by_id[i][layer] for layer in layers} for i in ids},
        (1.0 - dev_share, dev_share), seed, {layer: LAYER_WEIGHTS[layer] for layer in layers},
    )
    return [i for i in ids if bins[i] == 0], [i for i in ids if bins[i] == 1]


def outlet_plan(
    data: LabelledData, seed: int, dev_share: float = OUTLET_DEV_SHARE, purge: bool = False
) -> tuple[list[Fold], dict[str, Any]]:
    """One fold per outlet over all labelled sentences; (folds, scheme description)."""
    from warta.gold.splits import LAYER_WEIGHTS

    ids = [i for name in ("train", "dev", "test") for i in getattr(data.splits, name)]
    by_id = data.by_id()
    outlets = sorted({str(by_id[i].get("outlet") or "unknown") for i in ids})
    if len(outlets) < 2:
        raise InputError(f"--cv outlet: the labelled sentences come from {len(outlets)} outlet(s); need at least 2")
    groups = dict(getattr(data.splits, "groups", None) or {})
    layers = [layer for layer in LAYER_WEIGHTS if all(by_id[i].get(layer) is not None for i in ids)]
    plan = []
    for number, outlet in enumerate(outlets):
        held = [i for i in ids if str(by_id[i].get("outlet") or "unknown") == outlet]
        held_groups = {groups.get(i, i) for i in held}
        rest = [i for i in ids if i not in set(held)]
        shared = [i for i in rest if groups.get(i, i) in held_groups]
        if purge:
            rest = [i for i in rest if groups.get(i, i) not in held_groups]
        if len({groups.get(i, i) for i in rest}) < 2:
            raise InputError(f"--cv outlet: too few sentence groups outside {outlet!r} to form a dev set")
        fit, dev = grouped_dev_split(by_id, rest, groups, layers, seed + number, dev_share)
        plan.append(Fold(
            name=outlet,
            held=held,
            dev=dev,
            fit=fit,
            info={"n_fit_near_duplicates": 0 if purge else len(set(shared) & set(fit)),
                  "n_purged": len(shared) if purge else 0},
        ))
    scheme = {
        "scheme": "outlet",
        "k": len(outlets),
        "outlets": outlets,
        "pool": "all labelled sentences (train+dev+test)",
        "fold_source": f"leave-one-outlet-out; dev = grouped {dev_share:.0%} of the other outlets' sentences "
                       f"(warta.gold.splits.assign_groups, seed {seed}+fold)",
        "purge_near_duplicates": purge,
        "procedure": "outlet o held out; a grouped share of the remaining outlets is the dev set for tuning/early "
                     "stopping; the rest fit; the held-out outlet informs no choice",
    }
    return plan, scheme
