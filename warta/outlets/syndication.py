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
# Without --dedupe-syndicated the check is a side note: run up to this many sentences (its cost grows with
# the square of the sentences: 6,000 took ~650 MB), so that a national profile stays fast and its memory flat; --dedupe-syndicated checks up to MAX_SENTENCES.
CHECK_MAX_SENTENCES = 5_000
BLOCK = 2000
ROW_BLOCK = 500


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
    step = min(block, ROW_BLOCK)  # rows per sparse product: bounds memory (~rows x n similarities held at once)
    for start in range(0, len(texts), step):
        sim = (vectors[start:start + step] @ vectors.T).tocoo()
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
        return list(records), _not_checked(MAX_SENTENCES)
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
        "method": "sentences compared as character 3-5-gram TF-IDF vectors, cosine >= threshold; "
                  "clusters spanning >= 2 outlets",
        "clusters": len(clusters),
        "sentences_flagged": sum(len(c) for c in clusters),
        "deduplicated": dedupe,
        "merged": len(drop),
        "groups": listed,
    }
    return [r for i, r in enumerate(records) if i not in drop], report


def _not_checked(limit: int) -> dict[str, Any]:
    return {"threshold": SYNDICATED, "method": f"not checked: more than {limit:,} sentences (--dedupe-syndicated checks "
            f"up to {MAX_SENTENCES:,})", "clusters": 0, "sentences_flagged": 0, "deduplicated": False, "merged": 0,
            "groups": [], "skipped": True}


class SyndicationCollector:
    """Streams records for the syndication check. Without dedupe it keeps a light copy of each sentence
    until CHECK_MAX_SENTENCES is passed, then drops them (the check is then reported as not made)."""

    FIELDS = ("id", "article_id", "role", "text", "date")

    def __init__(self, by: str = DEFAULTS.by, dedupe: bool = False):
        self.by, self.dedupe = by, dedupe
        self.limit = MAX_SENTENCES if dedupe else CHECK_MAX_SENTENCES
        self.buffer: list[dict[str, Any]] | None = []
        self.sentences = 0
        self._result: tuple[list[dict[str, Any]], dict[str, Any]] | None = None

    def add(self, record: dict[str, Any]) -> None:
        if record.get("role", "body") in LABELLED_ROLES:
            self.sentences += 1
        if self.buffer is None:
            return
        if self.sentences > self.limit and not self.dedupe:
            self.buffer = None
            return
        # with dedupe the records themselves (they are kept anyway): the merged ones are dropped by identity
        self.buffer.append(record if self.dedupe else {k: record.get(k) for k in (*self.FIELDS, self.by) if k in record})

    def _run(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if self._result is None:
            self._result = ([], _not_checked(self.limit)) if self.buffer is None else \
                syndication(self.buffer, self.by, dedupe=self.dedupe)
        return self._result

    def result(self) -> dict[str, Any]:
        return self._run()[1]

    def merged_away(self) -> set[int]:
        """id() of the records counted once elsewhere (with dedupe)."""
        if self.buffer is None or not self.dedupe:
            return set()
        kept = {id(r) for r in self._run()[0]}
        return {id(r) for r in self.buffer if id(r) not in kept}
