"""`warta outlets --adjust METHOD --run RUN`: label shares per outlet corrected for the classifier's
measured errors (warta.outlets.quantify), next to the raw counts.

Calibration: RUN's held-out predictions joined to RUN's gold labels: ``cv/oof.jsonl`` (out-of-fold;
``--cv outlet`` or ``--cv K``), plus ``predictions/test.jsonl`` for test sentences the out-of-fold file
lacks. Never the sentences a model was fitted on. A run with neither is refused.

Intervals: quantify's two-source bootstrap — the outlet's articles are resampled (its sentences when
it has fewer than MIN_ARTICLES articles, where an article bootstrap collapses to a point) together with
the calibration predictions (by article when the calibration spans at least MIN_CAL_ARTICLES
articles, else by sentence) — so an interval carries both the outlet's sampling noise and the noise in
the measured error rates.

Own voice vs quoted: a sentence is "quoted" when its predicted type is ``quote``; each subset's stance
shares are corrected with the stance calibration of all held-out sentences, and the stance index
(pro − against) is derived from the corrected shares in every bootstrap replicate.

Default method (``none``) chosen by measurement: bench/quantify_sim_results.md and
bench/quantify_loo_results.md — on the seeds no correction beats the raw count for the TF-IDF model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.outlets import quantify as Q
from warta.outlets.options import ADJUST_METHODS, ALL, DEFAULTS, STANCE_SUBSETS
from warta.schema import LABELLED_ROLES, LAYERS

DEFAULT_ADJUST = DEFAULTS.adjust
EXPERIMENTAL = {"em": "experimental: biased even in the idealised simulation (bench/quantify_sim_results.md)"}
MIN_ARTICLES = 5
MIN_CAL_ARTICLES = 10


def load_calibration(run: str | Path) -> dict[str, Any]:
    """RUN's held-out prediction records with gold: {"run", "records", "gold", "sources", "scheme"}."""
    from warta.jsonl import read_jsonl
    from warta.runfolder import RunFolder

    folder = RunFolder.open(run)
    oof_path = folder.predictions_path("cv")
    test_path = folder.predictions_path("test")
    records: list[dict[str, Any]] = []
    sources = []
    if oof_path.is_file():
        records = read_jsonl(oof_path)
        sources.append(f"{oof_path} ({len(records)} out-of-fold predictions)")
    seen = {r["id"] for r in records}
    if test_path.is_file():
        extra = [r for r in read_jsonl(test_path) if r["id"] not in seen]
        if extra:
            sources.append(f"{test_path} ({len(extra)} held-out test predictions)")
        records += extra
    if not records:
        raise InputError(f"{folder.path}: no held-out predictions (cv/oof.jsonl or predictions/test.jsonl); "
                         "train it with --cv 5 or --cv outlet")
    gold = {str(g["id"]): g for g in folder.gold}
    records = [r for r in records if str(r["id"]) in gold]
    if not records:
        raise InputError(f"{folder.path}: its held-out predictions match none of its gold sentence ids")
    scheme = None
    cv = folder.cv_metrics()
    if cv is not None:
        scheme = cv.get("scheme") or f"{cv.get('k')}-fold"
    return {"run": folder.name, "path": str(folder.path), "records": records, "gold": gold,
            "sources": sources, "scheme": scheme}


def _needs_probs(method: str) -> bool:
    return method in ("cc-probs", "pacc", "em")


def _arrays(records: Sequence[dict[str, Any]], layer: str) -> tuple[np.ndarray, np.ndarray, list[str], list[dict]]:
    labels = LAYERS[layer]
    keep = [r for r in records if r.get(layer) in labels]
    pred = np.array([labels.index(r[layer]) for r in keep], int)
    probs = np.array([[float((r.get("probs") or {}).get(layer, {}).get(lab, 0.0)) for lab in labels] for r in keep],
                     float).reshape(len(keep), len(labels))
    return pred, probs, [str(r.get("article_id", r["id"])) for r in keep], keep


def _figure(value: float, interval: Sequence[float]) -> dict[str, Any]:
    return {"value": round(float(value), 4) + 0.0, "ci": [round(float(interval[0]), 4) + 0.0, round(float(interval[1]), 4) + 0.0]}


def _correct(cal: Q.Calibration, records: list[dict], layer: str, method: str, n_boot: int, seed: int) -> dict[str, Any]:
    pred, probs, articles, _ = _arrays(records, layer)
    if len(pred) == 0:
        return {"n": 0}
    n_articles = len(set(articles))
    result = Q.corrected_shares(cal, pred, probs, articles if n_articles >= MIN_ARTICLES else None,
                                methods=(method,), n_boot=n_boot, seed=seed)[method]
    out = {
        "n": int(len(pred)),
        "resampled": "articles" if n_articles >= MIN_ARTICLES else "sentences (fewer than %d articles)" % MIN_ARTICLES,
        "shares": {lab: _figure(result["shares"][lab], result["interval"][lab]) for lab in cal.labels},
        "unstable": result["unstable"], "reasons": result["reasons"], "condition_number": result["condition_number"],
    }
    if "index" in result:
        out["index"] = _figure(result["index"], result["index_interval"])
    return out


def adjust_groups(
    records: Sequence[dict[str, Any]], calibration: dict[str, Any], method: str, by: str = DEFAULTS.by,
    n_boot: int = DEFAULTS.n_boot, seed: int = DEFAULTS.seed,
) -> dict[str, Any]:
    """Corrected shares per group and ALL: {"method", "run", "calibration", "outlets": {name: {...}}}."""
    if method not in ADJUST_METHODS:
        raise InputError(f"--adjust {method}: expected one of {', '.join(ADJUST_METHODS)}")
    records = [r for r in records if r.get("role", "body") in LABELLED_ROLES]
    if _needs_probs(method) and any(not isinstance(r.get("probs"), dict) for r in records):
        raise InputError(f"--adjust {method} needs 'probs' on every record (use `warta label` output, or --adjust acc)")
    cal_records, gold = calibration["records"], calibration["gold"]
    cal_groups = len({str(r.get("article_id", r["id"])) for r in cal_records}) >= MIN_CAL_ARTICLES
    cals = {layer: Q.calibration_from_records(cal_records, gold, layer, LAYERS[layer], by_article=cal_groups)
            for layer in LAYERS}
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(str(r.get(by)), []).append(r)
    groups = {name: groups[name] for name in sorted(groups)}
    groups[ALL] = list(records)
    outlets = {}
    for name, recs in groups.items():
        entry: dict[str, Any] = {"layers": {}, "stance_index": {}}
        for i, layer in enumerate(LAYERS):
            entry["layers"][layer] = _correct(cals[layer], recs, layer, method, n_boot, seed + i)
        quoted = [r for r in recs if r.get("type") == "quote"]
        own = [r for r in recs if r.get("type") in LAYERS["type"] and r.get("type") != "quote"]
        for subset, rs in zip(STANCE_SUBSETS, (recs, own, quoted), strict=True):
            block = entry["layers"]["stance"] if subset == "all" else _correct(cals["stance"], rs, "stance", method, n_boot, seed + 7)
            entry["stance_index"][subset] = {**(block.get("index") or {"value": None, "ci": None}), "n": block.get("n", 0)}
        outlets[name] = entry
    model_ids = sorted({str(r.get("model")) for r in records if r.get("model")})
    warnings = []
    foreign = [m for m in model_ids if not m.startswith(calibration["run"] + "/")]
    if foreign:
        warnings.append(f"labels come from {', '.join(foreign)}, not from run {calibration['run']}: "
                        "its error rates may not apply")
    if not model_ids:
        warnings.append("the inputs carry no model id: if their labels are gold, there is nothing to correct")
    overlap = len({r["id"] for r in records} & {r["id"] for r in cal_records})
    if overlap:
        warnings.append(f"{overlap} input sentences are also calibration sentences (held-out for the run, "
                        "but the correction then partly fits itself)")
    if method in EXPERIMENTAL:
        warnings.append(f"--adjust {method}: {EXPERIMENTAL[method]}")
    return {
        "method": method,
        "run": calibration["run"],
        "calibration": {
            "sources": calibration["sources"], "scheme": calibration["scheme"], "sentences": len(cal_records),
            "resampled": "articles" if cal_groups else f"sentences (fewer than {MIN_CAL_ARTICLES} articles)",
            "per_layer": {layer: Q.stability(cal, method) for layer, cal in cals.items()},
        },
        "outlets": outlets,
        "warnings": warnings,
    }


def differences(raw_outlet: dict[str, Any], adjusted: dict[str, Any]) -> list[str]:
    """Plain lines where the raw figure lies outside the corrected 95% interval."""
    lines = []
    for layer, block in adjusted["layers"].items():
        for label, fig in block.get("shares", {}).items():
            raw = raw_outlet[f"{layer}_share"][label]["value"]
            lo, hi = fig["ci"]
            if raw is not None and not lo <= raw <= hi:
                lines.append(f"{layer} '{label}': counted {100 * raw:.0f}%, corrected {100 * fig['value']:.0f}% "
                             f"(95% interval {100 * lo:.0f}–{100 * hi:.0f}%): the raw count lies outside it")
    for subset, fig in adjusted["stance_index"].items():
        raw = raw_outlet["stance_index"][subset]["value"]
        if raw is not None and fig.get("ci") and not fig["ci"][0] <= raw <= fig["ci"][1]:
            lines.append(f"stance index ({subset.replace('_', ' ')}): counted {raw:+.2f}, corrected {fig['value']:+.2f} "
                         f"[{fig['ci'][0]:+.2f}, {fig['ci'][1]:+.2f}]")
    return lines


def instability_words(adjusted: dict[str, Any]) -> list[str]:
    """One line per layer whose correction is flagged unstable, with the reasons."""
    out = []
    for layer, st in adjusted["calibration"]["per_layer"].items():
        if st["unstable"]:
            out.append(f"{layer}: correction unstable — " + "; ".join(st["reasons"]))
    return out
