"""The sentences behind each figure: per outlet, layer and label, the top-k sentences carrying that label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from warta.outlets.options import DEFAULTS
from warta.schema import LABELLED_ROLES, LAYERS

DEFAULT_K = DEFAULTS.evidence


def evidence(records: Sequence[dict[str, Any]], k: int = DEFAULT_K, by: str = DEFAULTS.by) -> dict[str, Any]:
    """{outlet: {layer: {label: [{"id", "article_id", "text", "p"}]}}}.

    A sentence supports the label it carries; ranked by the model's probability of that label when
    the records have ``probs`` (most confident first), else in input order (``p`` None: gold labels).
    """
    if k <= 0:
        return {}
    out: dict[str, Any] = {}
    for order, r in enumerate(records):
        if r.get("role", "body") not in LABELLED_ROLES:
            continue
        outlet = out.setdefault(str(r.get(by)), {layer: {lab: [] for lab in labels} for layer, labels in LAYERS.items()})
        for layer, labels in LAYERS.items():
            label = r.get(layer)
            if label not in labels:
                continue
            probs = r.get("probs") if isinstance(r.get("probs"), dict) else None
            p = probs.get(layer, {}).get(label) if probs else None
            outlet[layer][label].append((-(p if p is not None else 0.0), order, {
                "id": r["id"], "article_id": r.get("article_id"), "text": r.get("text", ""),
                "p": None if p is None else round(float(p), 4)}))
    return {name: {layer: {lab: [item for *_, item in sorted(cands, key=lambda c: c[:2])[:k]]
                           for lab, cands in block.items()} for layer, block in layers.items()}
            for name, layers in sorted(out.items())}
