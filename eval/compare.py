"""Two runs on the same sentences: macro-F1 difference with a paired bootstrap, and the flips.

The paired bootstrap resamples sentence indices once per replicate and scores
both runs on the SAME resample, so sentence difficulty cancels out of the
difference. For each layer, with d_b = macroF1_B(resample b) - macroF1_A(resample b):

- the 95% CI is the 2.5th-97.5th percentile of d_b;
- the two-sided p-value is the bootstrap sign test
  ``p = min(1, 2 * (min(#{d_b <= 0}, #{d_b >= 0}) + 1) / (n_boot + 1))``:
  twice the smaller share of resamples on either side of zero, with the +1
  correction so an estimate from finitely many resamples is never exactly 0
  (the smallest reportable value is 2 / (n_boot + 1)). Identical runs give
  d_b = 0 everywhere and p = 1. p < 0.05 matches the 95% CI excluding 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.eval.evaluate import (
    check_out_path,
    run_gold,
    run_labels,
    stored_predictions,
    write_json,
)
from warta.metrics import (
    bootstrap_scores,
    encode_labels,
    index_by_id,
    joined_layer,
    layer_metrics,
    percentile_ci,
)
from warta.schema import LAYER_NAMES


def paired_bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap sign-test p-value of replicate differences (see module docstring)."""
    n_boot = differences.size
    below = int((differences <= 0).sum())
    above = int((differences >= 0).sum())
    return float(min(1.0, 2 * (min(below, above) + 1) / (n_boot + 1)))


def compare_predictions(
    gold_records: Iterable[Mapping[str, Any]],
    pred_a: Iterable[Mapping[str, Any]],
    pred_b: Iterable[Mapping[str, Any]],
    layers: Sequence[str] | None,
    labels: Mapping[str, Sequence[str]],
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per layer: macro-F1 of A and B on the sentences both predicted, B - A with paired CI and p, flips.

    Only gold sentences that both prediction sets cover are compared (the
    intersection of ids); a layer no shared gold sentence carries is left out.
    """
    gold_by_id = index_by_id(gold_records, "gold")
    a_by_id = index_by_id(pred_a, "predictions A")
    b_by_id = index_by_id(pred_b, "predictions B")
    shared = {record_id: gold_by_id[record_id] for record_id in gold_by_id if record_id in a_by_id and record_id in b_by_id}
    if not shared:
        raise InputError("no gold sentence was predicted by both runs (no shared sentence ids)")
    requested = list(labels) if layers is None else list(layers)
    results: dict[str, dict[str, Any]] = {}
    for layer in requested:
        ids, gold, guess_a = joined_layer(shared, a_by_id, layer)
        if not ids:
            continue
        _, _, guess_b = joined_layer(shared, b_by_id, layer)
        layer_labels = list(labels[layer])
        gold_codes = encode_labels(gold, layer_labels, "gold", ids)
        a_codes = encode_labels(guess_a, layer_labels, "predictions A", ids)
        b_codes = encode_labels(guess_b, layer_labels, "predictions B", ids)
        score_a = layer_metrics(gold, guess_a, layer_labels, n_boot=0)
        score_b = layer_metrics(gold, guess_b, layer_labels, n_boot=0)
        entry: dict[str, Any] = {
            "n": len(ids),
            "macro_f1_a": score_a["macro_f1"],
            "macro_f1_b": score_b["macro_f1"],
            "diff": score_b["macro_f1"] - score_a["macro_f1"],
            "diff_ci": None,
            "p_value": None,
            "accuracy_a": score_a["accuracy"],
            "accuracy_b": score_b["accuracy"],
        }
        if n_boot > 0:
            _, macro = bootstrap_scores(gold_codes, [a_codes, b_codes], len(layer_labels), n_boot, seed)
            differences = macro[1] - macro[0]
            entry["diff_ci"] = percentile_ci(differences)
            entry["p_value"] = paired_bootstrap_p(differences)
        right_a = a_codes == gold_codes
        right_b = b_codes == gold_codes
        flips = []
        for i in np.flatnonzero(right_a != right_b):
            record = shared[ids[i]]
            flips.append(
                {
                    "id": ids[i],
                    "text": record.get("text") or a_by_id[ids[i]].get("text") or "",
                    "gold": gold[i],
                    "pred_a": guess_a[i],
                    "pred_b": guess_b[i],
                    "fixed_by_b": bool(right_b[i]),
                }
            )
        entry["fixed_by_b"] = sum(flip["fixed_by_b"] for flip in flips)
        entry["broken_by_b"] = len(flips) - entry["fixed_by_b"]
        entry["flips"] = flips
        results[layer] = entry
    if not results:
        raise InputError(f"no shared gold sentence carries a label for {', '.join(requested)}")
    return results


def _format_ci(ci: Sequence[float] | None, digits: int = 3) -> str:
    return "n/a" if ci is None else f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]"


def render_comparison(result: Mapping[str, Any], max_flips: int | None = 20) -> str:
    """Terminal text: one row per layer, then the sentences whose correctness flips."""
    layers = result["layers"]
    lines = [
        f"A: {result['run_a']}",
        f"B: {result['run_b']}",
        f"split: {result['split']}  (paired bootstrap, {result['n_boot']} resamples, seed {result['seed']})",
        "",
        f"{'layer':<8}{'n':>5}{'F1 A':>8}{'F1 B':>8}{'B-A':>8}  {'95% CI':<18}{'p':>7}{'fixed':>7}{'broken':>7}",
    ]
    for layer, entry in layers.items():
        p_text = "n/a" if entry["p_value"] is None else f"{entry['p_value']:.3f}"
        lines.append(
            f"{layer:<8}{entry['n']:>5}{entry['macro_f1_a']:>8.3f}{entry['macro_f1_b']:>8.3f}{entry['diff']:>+8.3f}  "
            f"{_format_ci(entry['diff_ci']):<18}{p_text:>7}{entry['fixed_by_b']:>7}{entry['broken_by_b']:>7}"
        )
    for layer, entry in layers.items():
        flips = entry["flips"]
        if not flips:
            continue
        lines.append("")
        if max_flips == 0:
            lines.append(f"{layer}: {len(flips)} sentence(s) flip (listed in the JSON output)")
            continue
        lines.append(f"{layer}: {len(flips)} sentence(s) flip (+ B right, A wrong; - A right, B wrong)")
        shown = flips if max_flips is None else flips[:max_flips]
        for flip in shown:
            text = flip["text"] if len(flip["text"]) <= 90 else flip["text"][:87] + "..."
            mark = "+" if flip["fixed_by_b"] else "-"
            lines.append(f"  {mark} {flip['id']}  gold={flip['gold']}  A={flip['pred_a']}  B={flip['pred_b']}  {text}")
        if len(shown) < len(flips):
            lines.append(f"  ... {len(flips) - len(shown)} more (all in the JSON output)")
    return "\n".join(lines)


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    split: str = "test",
    n_boot: int = 2000,
    seed: int = 0,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """Compare two run folders on the stored predictions of `split` for the sentences both were tested on.

    Uses each run's saved predictions (``predictions/<split>.jsonl``, or
    ``cv/oof.jsonl`` for split "cv") — exactly what each run was scored on —
    and the gold labels of the corpus the runs were trained from. Writes the
    JSON to `out` when given; returns the dict either way.
    """
    run_a, run_b = Path(run_a), Path(run_b)
    if out is not None:
        check_out_path(out)
    labels_a, labels_b = run_labels(run_a), run_labels(run_b)
    shared_layers = [layer for layer in labels_a if layer in labels_b]
    for layer in shared_layers:
        if list(labels_a[layer]) != list(labels_b[layer]):
            raise InputError(
                f"{run_b}: layer {layer!r} has labels {labels_b[layer]}, {run_a} has {labels_a[layer]}: not comparable"
            )
    if not shared_layers:
        raise InputError(f"{run_a}, {run_b}: the runs share no label layer")
    pred_a = stored_predictions(run_a, split)
    pred_b = stored_predictions(run_b, split)
    gold = _shared_gold(run_a, run_b)
    layers = compare_predictions(gold, pred_a, pred_b, shared_layers, labels_a, n_boot=n_boot, seed=seed)
    result = {
        "run_a": str(run_a),
        "run_b": str(run_b),
        "split": split,
        "n_boot": n_boot,
        "seed": seed,
        "layers": layers,
    }
    if out is not None:
        write_json(out, result)
    return result


def _shared_gold(run_a: Path, run_b: Path) -> list[dict[str, Any]]:
    """Gold records of run A; if run B was trained from different gold, the labels must agree where both have them."""
    gold_a = run_gold(run_a)
    gold_b = {record["id"]: record for record in run_gold(run_b)}
    for record in gold_a:
        other = gold_b.get(record["id"])
        if other is None:
            continue
        for layer in LAYER_NAMES:
            if record.get(layer) is not None and other.get(layer) is not None and record[layer] != other[layer]:
                raise InputError(
                    f"{run_b}: gold {layer} of {record['id']!r} is {other[layer]!r}, {run_a} has {record[layer]!r}: "
                    "the runs were scored against different labels"
                )
    return gold_a
