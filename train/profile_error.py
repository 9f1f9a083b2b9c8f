"""Per-outlet profile error of out-of-fold predictions: what a user gets wrong about an unseen outlet.

For each held-out outlet (leave-one-outlet-out CV), over its title/body
sentences: the mean over a layer's labels of |predicted share - gold share|,
in percentage points, and the stance-index error, (pro - against)/n predicted
minus gold, with a 95% paired sentence-bootstrap interval (gold and
prediction resampled together). The same quantities as `warta outlets
--gold/--pred` (which adds article-cluster intervals, and sits above
warta.train in the import layers, so it is not imported here); run that on
``cv/oof.jsonl`` for the full per-outlet report. Means over outlets are
unweighted and leave out the ALL row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from warta.resampling import bootstrap_indices, percentile_interval, stance_index
from warta.schema import LAYERS

POINTS = 100.0
ALL = "ALL"


def _onehot(records: Sequence[dict[str, Any]], layer: str) -> np.ndarray:
    labels = LAYERS[layer]
    return np.eye(len(labels))[[labels.index(r[layer]) for r in records]]


def _outlet(gold: list[dict[str, Any]], pred: list[dict[str, Any]], layers: Sequence[str], rng: np.random.Generator,
            n_boot: int) -> dict[str, Any]:
    n = len(gold)
    row: dict[str, Any] = {"sentences": n, "share_error": {}, "gold_share": {}, "pred_share": {}}
    for layer in layers:
        g, p = _onehot(gold, layer).mean(axis=0), _onehot(pred, layer).mean(axis=0)
        row["share_error"][layer] = {"points": round(float(np.abs(p - g).mean() * POINTS), 2)}
        row["gold_share"][layer] = dict(zip(LAYERS[layer], np.round(g, 4).tolist()))
        row["pred_share"][layer] = dict(zip(LAYERS[layer], np.round(p, 4).tolist()))
    g_stance, p_stance = _onehot(gold, "stance"), _onehot(pred, "stance")
    gold_index, pred_index = float(stance_index(g_stance.sum(0))), float(stance_index(p_stance.sum(0)))
    ci = None
    if n_boot:  # paired: gold and prediction of the same resampled sentences
        diff = np.concatenate([stance_index(p_stance[picks].sum(1)) - stance_index(g_stance[picks].sum(1))
                               for picks in bootstrap_indices(n, n_boot, rng)])
        ci = [round(float(v), 4) for v in percentile_interval(diff)]
    row["stance_index"] = {"gold": round(gold_index, 4), "pred": round(pred_index, 4),
                           "error": round(pred_index - gold_index, 4), "ci": ci}
    return row


def outlet_profile_error(
    gold: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]], layers: Sequence[str],
    seed: int = 0, n_boot: int = 1000,
) -> dict[str, Any]:
    """{"outlets": {outlet: {...}, "ALL": {...}}, "mean_over_outlets": {...}, "method": ...}; joined by id."""
    if "stance" not in layers:
        return {"skipped": "profile error needs the stance layer"}
    pred_by_id = {p["id"]: p for p in predictions}
    pairs = [(g, pred_by_id[g["id"]]) for g in gold if g["id"] in pred_by_id and g.get("role") != "heading"]
    rng = np.random.default_rng(seed)
    by_outlet: dict[str, list[tuple[dict, dict]]] = {}
    for g, p in pairs:
        by_outlet.setdefault(str(g.get("outlet") or "unknown"), []).append((g, p))
    names = sorted(by_outlet)
    outlets = {
        name: _outlet([g for g, _ in rows], [p for _, p in rows], layers, rng, n_boot)
        for name, rows in [*((n, by_outlet[n]) for n in names), (ALL, pairs)]
    }
    # how far the mean |error| could move with other outlets like these: the outlets resampled (each keeps its
    # observed error). Resampling sentences instead would inflate it: |error + noise| is biased upwards.
    abs_errors = np.array([abs(outlets[n]["stance_index"]["error"]) for n in names])
    abs_ci = None
    if n_boot and len(names) > 1:
        picks = rng.integers(0, len(names), size=(n_boot, len(names)))
        abs_ci = [round(float(v), 4) for v in percentile_interval(abs_errors[picks].mean(axis=1))]
    mean = {
        "share_error_points": {
            layer: round(float(np.mean([outlets[n]["share_error"][layer]["points"] for n in names])), 2)
            for layer in layers
        },
        "stance_index_abs_error": round(float(abs_errors.mean()), 4),
        "stance_index_abs_error_ci": abs_ci,
        "stance_index_error": round(float(np.mean([outlets[n]["stance_index"]["error"] for n in names])), 4),
        "outlets": len(names),
    }
    return {
        "outlets": outlets,
        "mean_over_outlets": mean,
        "method": "share_error = mean over a layer's labels of |pred share - gold share| x 100 (points); "
                  "stance_index.error = (pro - against)/n predicted - gold, 95% paired sentence-bootstrap interval "
                  f"({n_boot} resamples); means unweighted over held-out outlets (ALL excluded); the 95% interval of the "
                  "mean |error| resamples the outlets (other outlets like these). "
                  "`warta outlets --gold RUN/sentences.jsonl --labels LABELS --pred RUN/cv/oof.jsonl` gives the "
                  "full report with article-cluster intervals",
    }


def render_outlet_error(error: dict[str, Any], row_heading: str = "outlet") -> list[str]:
    """Table lines, in points: one row per outlet (share error per layer, stance index gold/pred/error), then the mean."""
    if "outlets" not in error:
        return [f"profile error: {error.get('skipped', 'not computed')}"]
    rows = {name: row for name, row in error["outlets"].items() if name != ALL}
    layers = list(next(iter(rows.values()))["share_error"])
    width = max(len("mean over outlets"), len(row_heading), *(len(name) for name in rows)) + 2
    lines = [
        "share error = mean |predicted - gold share| per layer; stance index = (pro - against)/n; points",
        f"{row_heading:<{width}}{'n':>4}" + "".join(f"{layer:>9}" for layer in layers)
        + f"{'index gold':>12}{'pred':>7}{'error':>7}  95% CI of error",
    ]
    for name, row in rows.items():
        index = row["stance_index"]
        ci = f"  [{index['ci'][0] * POINTS:+.0f}, {index['ci'][1] * POINTS:+.0f}]" if index.get("ci") else ""
        lines.append(
            f"{name:<{width}}{row['sentences']:>4}"
            + "".join(f"{row['share_error'][layer]['points']:>9.1f}" for layer in layers)
            + f"{index['gold'] * POINTS:>12.0f}{index['pred'] * POINTS:>7.0f}{index['error'] * POINTS:>+7.0f}{ci}"
        )
    mean = error["mean_over_outlets"]
    lines.append(
        f"{'mean over outlets':<{width}}{'':>4}"
        + "".join(f"{mean['share_error_points'][layer]:>9.1f}" for layer in layers)
        + f"{'mean |error| ' + format(mean['stance_index_abs_error'] * POINTS, '.1f'):>26}"
        + (f"  [{interval[0] * POINTS:.0f}, {interval[1] * POINTS:.0f}]"
           if (interval := mean.get("stance_index_abs_error_ci")) else "")
    )
    return lines
