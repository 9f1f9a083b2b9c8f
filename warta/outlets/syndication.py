"""Wire copy: sentences printed (near-)verbatim by several outlets, flagged and optionally counted once.

Similarity is the splits' machinery (warta.gold.groups.similarity_matrix: character 3-5-gram TF-IDF
cosine), with a far stricter threshold than the splits' leakage grouping: SYNDICATED picks pairs that
read as the same sentence, lightly edited. A cluster of such sentences (connected pairs) is syndicated
when it spans at least two outlets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from warta.outlets.options import DEFAULTS
from warta.schema import LABELLED_ROLES

SYNDICATED = 0.8
MAX_SENTENCES = 200_000  # pairs are found in row blocks; beyond this even the sparse products get slow
BLOCK = 2000


def similar_pairs(texts: list[str], threshold: float, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) with cosine >= threshold; the same similarity as
    warta.gold.groups.similarity_matrix (for n <= block it is called as is), computed in row blocks
    on the sparse vectors beyond that so memory stays O(block x n)."""
    from warta.gold.groups import similarity_matrix

    if len(texts) <= block:
        return np.nonzero(np.triu(similarity_matrix(texts) >= threshold, k=1))
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)
    rows, cols = [], []
    for start in range(0, len(texts), block):
        sim = (vectors[start:start + block] @ vectors.T).tocoo()
        keep = (sim.data >= threshold) & (sim.row + start < sim.col)
        rows.append(sim.row[keep] + start)
        cols.append(sim.col[keep])
    return np.concatenate(rows), np.concatenate(cols)


def syndicated_clusters(records: Sequence[dict[str, Any]], by: str = DEFAULTS.by, threshold: float = SYNDICATED) -> list[list[int]]:
    """Clusters (lists of record positions, input order) of near-identical sentences from >= 2 outlets."""
    from warta.errors import InputError

    idx = [i for i, r in enumerate(records) if r.get("role", "body") in LABELLED_ROLES and r.get("text")]
    if len(idx) < 2:
        return []
    if len(idx) > MAX_SENTENCES:
        raise InputError(f"syndication check: {len(idx)} sentences; at most {MAX_SENTENCES} supported")
    rows, cols = similar_pairs([records[i]["text"] for i in idx], threshold)
    parent = list(range(len(idx)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(rows.tolist(), cols.tolist()):
        parent[find(a)] = find(b)
    members: dict[int, list[int]] = {}
    for pos in range(len(idx)):
        members.setdefault(find(pos), []).append(idx[pos])
    return [sorted(m) for m in members.values()
            if len(m) > 1 and len({str(records[i].get(by)) for i in m}) > 1]


def _keeper(records: Sequence[dict[str, Any]], cluster: list[int]) -> int:
    """The earliest article by date where every member's date is known, else the first in input order."""
    dates = [records[i].get("date") for i in cluster]
    if all(isinstance(d, str) and d for d in dates):
        return min(cluster, key=lambda i: (records[i]["date"], i))
    return cluster[0]


def syndication(records: Sequence[dict[str, Any]], by: str = DEFAULTS.by, dedupe: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(records to profile, report). With ``dedupe`` each syndicated sentence counts once, for the
    outlet of its earliest copy; the report lists the clusters and how many copies were merged."""
    n = sum(1 for r in records if r.get("role", "body") in LABELLED_ROLES)
    if n > MAX_SENTENCES and not dedupe:
        return list(records), {"threshold": SYNDICATED, "method": f"not checked: more than {MAX_SENTENCES} sentences",
                               "clusters": 0, "sentences_flagged": 0, "deduplicated": False, "merged": 0,
                               "groups": [], "skipped": True}
    clusters = syndicated_clusters(records, by)
    drop: set[int] = set()
    listed = []
    for cluster in clusters:
        keep = _keeper(records, cluster)
        if dedupe:
            drop.update(i for i in cluster if i != keep)
        listed.append({
            "kept": records[keep]["id"] if dedupe else None,
            "outlets": sorted({str(records[i].get(by)) for i in cluster}),
            "sentences": [{"id": records[i]["id"], "article_id": records[i].get("article_id"),
                           "outlet": records[i].get(by), "text": records[i].get("text", "")} for i in cluster],
        })
    report = {
        "threshold": SYNDICATED,
        "method": "character 3-5-gram TF-IDF cosine >= threshold (warta.gold.groups.similarity_matrix); "
                  "clusters spanning >= 2 outlets",
        "clusters": len(clusters),
        "sentences_flagged": sum(len(c) for c in clusters),
        "deduplicated": dedupe,
        "merged": len(drop),
        "groups": listed,
    }
    return [r for i, r in enumerate(records) if i not in drop], report
