"""Shrinkage of small outlets toward the pool: an outlet with three sentences and a stance index of
+1.00 is mostly noise; ranked raw it would top every list of "most pro" outlets.

Normal empirical Bayes per figure (stance index of each subset, each label share): an outlet's figure
v with standard error s (its 95% interval's half-width / 1.96) is pulled toward the pooled figure p:
shrunk = p + w (v - p), w = tau^2 / (tau^2 + s^2), where tau^2, the spread of the outlets' true figures,
is estimated by the method of moments: max(0, mean((v - p)^2) - mean(s^2)) over the outlets. Outlets
with many articles keep their figure (w near 1); the noisiest move most. Raw figures stay the headline;
shrunk figures rank outlets (the most and least extreme) and sit beside the raw ones in the JSON/CSV."""

from __future__ import annotations

from typing import Any

import numpy as np

from warta.outlets.options import ALL, STANCE_SUBSETS
from warta.outlets.statistics import rounded
from warta.schema import LAYERS

SHRINKAGE_METHOD = (
    "normal empirical Bayes toward the pooled figure: shrunk = pooled + w (raw - pooled), "
    "w = tau^2 / (tau^2 + se^2), se = 95% interval half-width / 1.96, tau^2 = max(0, mean (raw - pooled)^2 - mean se^2)"
)
Z = 1.959963984540054


def _shrink(figures: dict[str, dict[str, Any] | None], pooled: float | None) -> dict[str, tuple[float, float]]:
    """{outlet: (shrunk value, weight)} for the outlets whose figure has a value and an interval."""
    rows = [(name, f["value"], (f["ci"][1] - f["ci"][0]) / (2 * Z)) for name, f in figures.items()
            if f and f.get("value") is not None and f.get("ci")]
    if pooled is None or len(rows) < 2:
        return {name: (value, 1.0) for name, value, _ in rows}
    values = np.array([v for _, v, _ in rows])
    se2 = np.array([s for _, _, s in rows]) ** 2
    tau2 = max(0.0, float(np.mean((values - pooled) ** 2) - np.mean(se2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = np.where(tau2 + se2 > 0, tau2 / (tau2 + se2), 1.0)
    return {name: (pooled + w * (v - pooled), float(w)) for (name, v, _), w in zip(rows, weights)}


def add_shrunk(outlets: dict[str, dict[str, Any]]) -> None:
    """Add "shrunk" ({"stance_index": {subset: value}, "<layer>_share": {label: value}, "weight": w of the
    stance index over all sentences}) to every outlet but ALL (in place)."""
    names = [n for n in outlets if n != ALL]
    pooled = outlets[ALL]
    for name in names:
        outlets[name]["shrunk"] = {"weight": None, "stance_index": {}, **{f"{layer}_share": {} for layer in LAYERS}}
    for subset in STANCE_SUBSETS:
        shrunk = _shrink({n: outlets[n]["stance_index"][subset] for n in names}, pooled["stance_index"][subset]["value"])
        for name in names:
            value, weight = shrunk.get(name, (None, None))
            outlets[name]["shrunk"]["stance_index"][subset] = rounded(value)
            if subset == "all":
                outlets[name]["shrunk"]["weight"] = rounded(weight)
    for layer, labels in LAYERS.items():
        for label in labels:
            shrunk = _shrink({n: outlets[n][f"{layer}_share"][label] for n in names},
                             pooled[f"{layer}_share"][label]["value"])
            for name in names:
                outlets[name]["shrunk"][f"{layer}_share"][label] = rounded(shrunk.get(name, (None, None))[0])


def extreme_outlets(outlets: dict[str, dict[str, Any]], k: int) -> list[str]:
    """The k most pro and k most against outlets by shrunk stance index (all sentences), most pro first;
    every outlet (input order) when there are at most 2k."""
    names = [n for n in outlets if n != ALL]
    if len(names) <= 2 * k:
        return names
    ranked = sorted((n for n in names if (outlets[n].get("shrunk") or {}).get("stance_index", {}).get("all") is not None),
                    key=lambda n: (-outlets[n]["shrunk"]["stance_index"]["all"], n))
    chosen = ranked[:k] + [n for n in ranked[-k:] if n not in ranked[:k]]
    return chosen
