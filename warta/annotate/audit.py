"""Likely gold-label errors, from a run's out-of-fold probabilities (cleanlab).

Only out-of-fold predictions are used (`RUN/cv/oof.jsonl`, written by
`warta train --cv K`): each sentence was scored by a fold model that never
trained on it or on its near-duplicate group (`--cv outlet`: the fold is the
held-out outlet's name). A record without a fold, or a
sentence of the run's test split, is never audited. Per layer,
`cleanlab.filter.find_label_issues` flags sentences whose given label the
out-of-fold model finds implausible (confident learning), ranked by
self-confidence (the probability of the given label, lowest first). Labels
are never changed: this is a list for a person to check against the
guidelines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.jsonl import iter_jsonl
from warta.runfolder import RunFolder
from warta.schema import LAYER_NAMES


def out_of_fold(folder: RunFolder) -> list[dict[str, Any]]:
    """The run's out-of-fold prediction records; InputError (one line) when the run has none."""
    path = folder.predictions_path("cv")
    if not path.is_file():
        raise InputError(f"{folder.path}: no out-of-fold predictions ({path.relative_to(folder.path)}); "
                         "retrain with `warta train CONFIG --cv K` to audit")
    return [record for _, record in iter_jsonl(path)]


def held_out_only(oof: Sequence[Mapping[str, Any]], test_ids: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Records safe to audit, and why the others were refused."""
    safe, refused = [], []
    for record in oof:
        fold = record.get("fold")
        model = str(record.get("model") or "")
        # K-fold runs number their folds; `--cv outlet` names them by the held-out outlet
        match = re.search(r"cv-fold-(.+)$", model)
        valid = (isinstance(fold, int) and not isinstance(fold, bool)) or (isinstance(fold, str) and fold != "")
        if not valid or (match and match.group(1) != str(fold)):
            refused.append(f"{record.get('id')}: not an out-of-fold prediction (fold {fold!r}, model {model!r})")
        elif record.get("id") in test_ids:
            refused.append(f"{record.get('id')}: in the run's test split")
        elif not record.get("probs"):
            refused.append(f"{record.get('id')}: no probabilities")
        else:
            safe.append(dict(record))
    return safe, refused


def find_issues(
    given: Sequence[str], probs: Sequence[Mapping[str, float]], labels: Sequence[str]
) -> list[tuple[int, float, int]]:
    """(row, self-confidence, suggested label index) of flagged rows, most suspicious first."""
    from warta.errors import require_extra

    find_label_issues = require_extra("cleanlab.filter", "the label audit (warta corpus audit)").find_label_issues

    if not given:
        return []
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[g] for g in given], dtype=int)
    p = np.array([[float(row.get(label, 0.0)) for label in labels] for row in probs], dtype=float)
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
    present = np.unique(y)
    # cleanlab wants every column to be a class with examples; drop the absent ones and renormalise
    keep = present if len(present) < len(labels) else np.arange(len(labels))
    remap = {old: new for new, old in enumerate(keep)}
    p_kept = p[:, keep]
    p_kept = p_kept / np.clip(p_kept.sum(axis=1, keepdims=True), 1e-12, None)
    y_kept = np.array([remap[v] for v in y], dtype=int)
    if len(keep) < 2:
        return []
    ranked = find_label_issues(labels=y_kept, pred_probs=p_kept, return_indices_ranked_by="self_confidence")
    return [(int(i), float(p[i, y[i]]), int(np.argmax(p[i]))) for i in ranked]


def _notes(sources: Mapping[str, Any]) -> dict[str, str]:
    """id -> the labeller's note (the rule that decided a hard case), to show beside a suspect."""
    from warta.gold.labels import default_labels_path, load_labels

    path = sources.get("labels") or default_labels_path(sources.get("seeds"))
    try:
        return {str(line.get("id")): line["note"] for line in load_labels(path) if line.get("note")}
    except InputError:
        return {}


def audit(run_dir: str | Path, layers: Sequence[str] | None = None) -> dict[str, Any]:
    """Per layer, the likely label errors among the run's out-of-fold predictions."""
    folder = RunFolder.open(run_dir)
    oof = out_of_fold(folder)
    test_ids = set(folder.split_ids("test", missing_ok=True))
    safe, refused = held_out_only(oof, test_ids)
    gold = {record["id"]: record for record in folder.gold}
    sources = (folder.data.get("sources") if folder.has_data() else None) or {}
    notes = _notes(sources)
    run_label_lists = folder.labels()
    layers = [layer for layer in (layers or LAYER_NAMES) if layer in run_label_lists]
    missing = [r["id"] for r in safe if r["id"] not in gold]
    safe = [r for r in safe if r["id"] in gold]
    result: dict[str, Any] = {
        "run": str(folder.path),
        "labels_changed_since_run": folder.labels_changed_since_run(),
        "audited": len(safe),
        "refused": refused,
        "no_gold": missing,
        "test_sentences_not_audited": len(test_ids),
        "method": "cleanlab.filter.find_label_issues on out-of-fold probabilities, ranked by self-confidence",
        "layers": {},
    }
    for layer in layers:
        labels = run_label_lists[layer]
        rows = [r for r in safe if gold[r["id"]].get(layer) in labels and (r["probs"] or {}).get(layer)]
        issues = find_issues([gold[r["id"]][layer] for r in rows], [r["probs"][layer] for r in rows], labels)
        listed = []
        for rank, (i, self_conf, suggested) in enumerate(issues, start=1):
            record, label = rows[i], gold[rows[i]["id"]]
            listed.append({
                "rank": rank,
                "id": record["id"],
                "text": record.get("text") or label.get("text"),
                "given": label[layer],
                "suggested": labels[suggested],
                "self_confidence": round(self_conf, 6),
                "model_confidence": round(float(record["probs"][layer].get(labels[suggested], 0.0)), 6),
                "fold": record.get("fold"),
                "note": notes.get(record["id"]),
            })
        result["layers"][layer] = {"n": len(rows), "flagged": len(listed), "issues": listed}
    return result
