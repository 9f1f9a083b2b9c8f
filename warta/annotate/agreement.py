"""Inter-annotator agreement between label files on the sentences they share.

Each file is one annotator (named by its records' common `annotator`, else
by the file name). On the overlap — ids labelled in at least two files —
per layer: Krippendorff's α (nominal; every annotator of the overlap, missing
values allowed), Cohen's κ and observed agreement for every pair, the pair's
confusion matrix (rows the first annotator, columns the second) with
per-label specific agreement, and the sentences on which annotators differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.jsonl import read_jsonl
from warta.schema import LAYER_NAMES, LAYERS


def annotator_name(path: Path, records: Sequence[Mapping[str, Any]], taken: set[str]) -> str:
    names = {r.get("annotator") for r in records}
    name = str(names.pop()) if len(names) == 1 and None not in names and "" not in names else path.stem
    return name if name not in taken else f"{name} ({path.name})"


def load_annotations(paths: Sequence[str | Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """annotator -> id -> label record, one annotator per file; duplicate ids within a file are an error."""
    if len(paths) < 2:
        raise InputError("agreement needs at least two label files")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for path in map(Path, paths):
        records = read_jsonl(path)
        by_id: dict[str, dict[str, Any]] = {}
        for n, record in enumerate(records, start=1):
            ident = record.get("id")
            if not isinstance(ident, str) or not ident:
                raise InputError(f"{path}: record {n}: missing sentence id")
            if ident in by_id:
                raise InputError(f"{path}: duplicate id {ident}")
            by_id[ident] = record
        out[annotator_name(path, records, set(out))] = by_id
    return out


def krippendorff_alpha(matrix: Sequence[Sequence[str | None]], labels: Sequence[str]) -> float | None:
    """Nominal α of an annotators × units matrix of labels (None = not labelled); None when undefined."""
    from warta.errors import require_extra

    krippendorff = require_extra("krippendorff", "Krippendorff's alpha (warta annotate agreement)")

    code = {label: i for i, label in enumerate(labels)}
    data = np.array([[np.nan if v is None else code[v] for v in row] for row in matrix], dtype=float)
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    values = set(data[:, pairable][~np.isnan(data[:, pairable])].tolist())
    if not pairable.any() or len(values) < 2:
        return None  # α needs variation: one value everywhere leaves expected disagreement at 0
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                     value_domain=list(range(len(labels)))))


def cohen_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if not a:
        return None
    if len(set(a) | set(b)) < 2:
        return None  # both annotators used one label: κ is 0/0
    return float(cohen_kappa_score(a, b, labels=list(labels)))


def pair_figures(a: Sequence[str], b: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    for x, y in zip(a, b):
        confusion[index[x], index[y]] += 1
    specific = {}
    for i, label in enumerate(labels):
        total = confusion[i, :].sum() + confusion[:, i].sum()
        specific[label] = float(2 * confusion[i, i] / total) if total else None
    return {
        "n": len(a),
        "observed": float(np.trace(confusion) / len(a)) if len(a) else None,
        "kappa": cohen_kappa(a, b, labels),
        "confusion": confusion.tolist(),
        "specific_agreement": specific,
    }


def agreement(annotations: Mapping[str, Mapping[str, Mapping[str, Any]]],
              texts: Mapping[str, str] | None = None,
              layers: Sequence[str] = LAYER_NAMES) -> dict[str, Any]:
    """Agreement figures per layer on the overlap (see module docstring); a plain dict for JSON."""
    names = list(annotations)
    counts: dict[str, int] = {}
    for by_id in annotations.values():
        for ident in by_id:
            counts[ident] = counts.get(ident, 0) + 1
    overlap = sorted(i for i, c in counts.items() if c >= 2)
    texts = dict(texts or {})
    for by_id in annotations.values():
        for ident, record in by_id.items():
            if record.get("text") and ident not in texts:
                texts[ident] = record["text"]
    result: dict[str, Any] = {"annotators": names, "overlap": len(overlap),
                              "labelled": {n: len(annotations[n]) for n in names}, "layers": {}}
    for layer in layers:
        labels = list(LAYERS[layer])
        matrix = []
        for name in names:
            row = []
            for ident in overlap:
                value = annotations[name].get(ident, {}).get(layer)
                if value is not None and value not in labels:
                    raise InputError(f"{name}: {ident}: {layer} {value!r} is not one of {', '.join(labels)}")
                row.append(value)
            matrix.append(row)
        units = [i for i, ident in enumerate(overlap) if sum(row[i] is not None for row in matrix) >= 2]
        pairs = {}
        for (i, a), (j, b) in combinations(enumerate(names), 2):
            both = [u for u in range(len(overlap)) if matrix[i][u] is not None and matrix[j][u] is not None]
            figures = pair_figures([matrix[i][u] for u in both], [matrix[j][u] for u in both], labels)
            pairs[f"{a} | {b}"] = {"a": a, "b": b, **figures}
        result["layers"][layer] = {
            "labels": labels,
            "n": len(units),
            "alpha": krippendorff_alpha(matrix, labels),
            "pairs": pairs,
        }
    disagreements = []
    for ident in overlap:
        given = {name: {layer: annotations[name][ident].get(layer) for layer in layers}
                 for name in names if ident in annotations[name]}
        differs = [layer for layer in layers if len({g[layer] for g in given.values() if g[layer] is not None}) > 1]
        if differs:
            disagreements.append({"id": ident, "text": texts.get(ident), "layers": differs, "labels": given})
    result["disagreements"] = disagreements
    return result


def seed_texts() -> dict[str, str]:
    """id -> text of the bundled seed corpus (to show seed sentences that label files list by id only)."""
    from warta.gold.labels import seed_sentences

    return {s["id"]: s["text"] for s in seed_sentences()}
