"""The sentences behind each figure: per outlet, layer and label, the top-k sentences carrying that label."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from warta.outlets.options import DEFAULTS
from warta.schema import LABELLED_ROLES, LAYERS

DEFAULT_K = DEFAULTS.evidence


class EvidenceCollector:
    """Streams records, keeping only the top k candidates per outlet, layer and label (memory flat in sentences).

    A sentence supports the label it carries; ranked by the model's probability of that label when
    the records have ``probs`` (most confident first), else in input order (``p`` None: gold labels)."""

    def __init__(self, k: int = DEFAULT_K, by: str = DEFAULTS.by):
        self.k, self.by, self.order = k, by, 0
        self.kept: dict[str, dict[str, dict[str, list]]] = {}

    def add(self, r: dict[str, Any]) -> None:
        order, self.order = self.order, self.order + 1
        if self.k <= 0 or r.get("role", "body") not in LABELLED_ROLES:
            return
        outlet = self.kept.setdefault(str(r.get(self.by)), {layer: {lab: [] for lab in labels} for layer, labels in LAYERS.items()})
        probs = r.get("probs") if isinstance(r.get("probs"), dict) else None
        for layer, labels in LAYERS.items():
            label = r.get(layer)
            if label not in labels:
                continue
            p = probs.get(layer, {}).get(label) if probs else None
            rank = (-(p if p is not None else 0.0), order)
            heap = outlet[layer][label]  # max-heap on rank via negation: the worst kept candidate on top
            if len(heap) == self.k and (-heap[0][0][0], -heap[0][0][1]) <= rank:
                continue
            item = {"id": r["id"], "article_id": r.get("article_id"), "text": r.get("text", ""),
                    "p": None if p is None else round(float(p), 4)}
            entry = ((-rank[0], -rank[1]), item)
            if len(heap) < self.k:
                heapq.heappush(heap, entry)
            else:
                heapq.heapreplace(heap, entry)

    def result(self) -> dict[str, Any]:
        """{outlet: {layer: {label: [{"id", "article_id", "text", "p"}]}}}, best first, outlets sorted."""
        if self.k <= 0:
            return {}
        return {name: {layer: {lab: [item for _, item in sorted(heap, key=lambda e: (-e[0][0], -e[0][1]))]
                               for lab, heap in block.items()} for layer, block in layers.items()}
                for name, layers in sorted(self.kept.items())}


def evidence(records: Iterable[dict[str, Any]], k: int = DEFAULT_K, by: str = DEFAULTS.by) -> dict[str, Any]:
    """{outlet: {layer: {label: [{"id", "article_id", "text", "p"}]}}} (see EvidenceCollector)."""
    collector = EvidenceCollector(k, by)
    for record in records:
        collector.add(record)
    return collector.result()
