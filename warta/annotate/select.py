"""Choose the sentences worth labelling next from `warta label` output.

Score: model uncertainty over all three layers (mean normalised entropy, or
mean 1 − margin between the two most probable labels). Diversity: candidates
are clustered (character n-gram TF-IDF, k-means) and each pick prefers the
least-used cluster, and no pick may be a near-duplicate (cosine ≥ threshold)
of an earlier pick or of an already-labelled sentence. Balance: picks go
round-robin over outlets (optionally outlet × month), so a prolific outlet
cannot fill the batch. On a large file only the max(10·n, 2000) most
uncertain candidates (shared evenly over outlets) are clustered. Headings,
sentences without probabilities and ids that already carry gold labels are
never candidates. Same inputs and seed, same batch, whatever the input order.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.schema import LABELLED_ROLES, LAYER_NAMES

UNCERTAINTY = ("entropy", "margin")
DEFAULT_THRESHOLD = 0.8
POOL_FACTOR, MIN_POOL = 10, 2000  # shortlist size: max(10·n, 2000) most uncertain candidates


@dataclass
class Selection:
    """Chosen records (in pick order, each with `uncertainty`, `cluster`, `rank`) and what was left out."""

    picked: list[dict[str, Any]]
    candidates: int
    excluded: dict[str, int] = field(default_factory=dict)
    per_group: dict[str, int] = field(default_factory=dict)
    clusters: int = 0


def uncertainty(probs: Mapping[str, Mapping[str, float]], method: str = "entropy",
                layers: Sequence[str] = LAYER_NAMES) -> float:
    """Mean over layers of normalised entropy (0 sure … 1 uniform) or of 1 − (p1 − p2)."""
    values = []
    for layer in layers:
        dist = probs.get(layer)
        if not dist:
            continue
        p = np.asarray(list(dist.values()), dtype=float)
        p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1 / len(p))
        if method == "entropy":
            nz = p[p > 0]
            values.append(float(-(nz * np.log(nz)).sum() / math.log(len(p))) if len(p) > 1 else 0.0)
        elif method == "margin":
            top = np.sort(p)[::-1]
            values.append(float(1 - (top[0] - (top[1] if len(top) > 1 else 0.0))))
        else:
            raise InputError(f"--uncertainty {method}: choose one of {', '.join(UNCERTAINTY)}")
    return float(np.mean(values)) if values else 0.0


def _tie(seed: int, ident: str) -> str:
    # seeded, stable tie-break: equal scores never fall back to input order
    return hashlib.sha1(f"{seed}:{ident}".encode()).hexdigest()


def _vectors(texts: Sequence[str], extra: Sequence[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True,
                                 dtype=np.float32)
    both = vectoriser.fit_transform(list(texts) + list(extra))
    return both[: len(texts)], (both[len(texts):] if extra else None)


def _clusters(matrix, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    n = matrix.shape[0]
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=int)
    # k-means on a 50-dimensional LSA projection: clusters only spread the picks, they need not be exact
    dims = min(50, n - 1, matrix.shape[1] - 1)
    if dims >= 2:
        dense = normalize(TruncatedSVD(dims, n_iter=2, random_state=seed).fit_transform(matrix))
    else:
        dense = matrix.toarray()
    return KMeans(n_clusters=min(k, n), random_state=seed, n_init=1).fit_predict(dense)


def group_key(record: Mapping[str, Any], by_date: bool, date_field: str = "date") -> str:
    outlet = str(record.get("outlet") or "unknown")
    if not by_date:
        return outlet
    date = str(record.get(date_field) or "")[:7] or "undated"  # month buckets
    return f"{outlet} {date}"


def candidates(records: Iterable[Mapping[str, Any]], exclude_ids: set[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Title/body records with probabilities, not yet labelled, in id order (lowest id of a duplicate text).

    Sorting by id makes the batch independent of input order, not only of the seed.
    """
    from warta.text.decode import normalised_key

    kept, seen, excluded = [], set(), defaultdict(int)
    for record in sorted(records, key=lambda r: str(r.get("id"))):
        if record.get("role") not in LABELLED_ROLES:
            excluded["heading or other role"] += 1
        elif not record.get("probs"):
            excluded["no probabilities"] += 1
        elif record.get("id") in exclude_ids:
            excluded["already labelled"] += 1
        elif not str(record.get("text") or "").strip():
            excluded["empty text"] += 1
        elif normalised_key(record["text"]) in seen:
            excluded["exact duplicate text"] += 1
        else:
            seen.add(normalised_key(record["text"]))
            kept.append(dict(record))
    return kept, dict(excluded)


def shortlist(pool: list[dict[str, Any]], limit: int, by_date: bool, ties: Mapping[str, str],
              excluded: dict[str, int]) -> list[dict[str, Any]]:
    """The most uncertain candidates, `limit` in all, shared evenly over the balance groups.

    Bounds the cost of vectorising and clustering on a large LABELLED file;
    the batch is drawn from the uncertain end anyway.
    """
    if len(pool) <= limit:
        return pool
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in pool:
        groups[group_key(record, by_date)].append(record)
    share = max(1, -(-limit // len(groups)))
    kept = []
    for members in groups.values():
        kept += sorted(members, key=lambda r: (-r["uncertainty"], ties[r["id"]]))[:share]
    excluded["below the uncertainty shortlist"] = len(pool) - len(kept)
    return sorted(kept, key=lambda r: str(r["id"]))


def select(
    records: Iterable[Mapping[str, Any]],
    n: int,
    seed: int = 0,
    exclude_ids: Iterable[str] = (),
    labelled_texts: Sequence[str] = (),
    method: str = "entropy",
    threshold: float = DEFAULT_THRESHOLD,
    clusters: int | None = None,
    per_group_cap: int | None = None,
    by_date: bool = False,
) -> Selection:
    """Pick up to `n` sentences: uncertain, diverse, balanced over outlets (see module docstring)."""
    if n < 1:
        raise InputError(f"--n {n}: must be at least 1")
    if method not in UNCERTAINTY:
        raise InputError(f"--uncertainty {method}: choose one of {', '.join(UNCERTAINTY)}")
    pool, excluded = candidates(records, set(exclude_ids))
    if not pool:
        return Selection([], 0, excluded)
    for record in pool:
        record["uncertainty"] = round(uncertainty(record["probs"], method), 6)
    ties = {r["id"]: _tie(seed, str(r["id"])) for r in pool}
    pool = shortlist(pool, max(POOL_FACTOR * n, MIN_POOL), by_date, ties, excluded)
    matrix, gold_matrix = _vectors([r["text"] for r in pool], list(labelled_texts))
    if gold_matrix is not None:
        # a near-copy of a sentence that already has gold labels teaches nothing new
        near_gold = np.asarray((matrix @ gold_matrix.T).max(axis=1).todense()).ravel() >= threshold
        keep = np.flatnonzero(~near_gold)
        if len(keep) < len(pool):
            excluded["near-duplicate of a labelled sentence"] = int(len(pool) - len(keep))
        pool, matrix = [pool[i] for i in keep], matrix[keep]
        if not pool:
            return Selection([], 0, excluded)
    k = clusters if clusters is not None else min(n, len(pool))
    labels = _clusters(matrix, k, seed)
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(pool):
        record["cluster"] = int(labels[i])
        by_group[group_key(record, by_date)].append(i)
    groups = sorted(by_group)
    rng = np.random.default_rng(seed)
    start = int(rng.integers(len(groups)))
    groups = groups[start:] + groups[:start]
    used_cluster: dict[int, int] = defaultdict(int)
    taken: dict[str, int] = defaultdict(int)
    chosen: list[int] = []
    blocked = np.zeros(len(pool), dtype=bool)
    active = list(groups)
    while len(chosen) < n and active:
        for group in list(active):
            if len(chosen) >= n:
                break
            if per_group_cap is not None and taken[group] >= per_group_cap:
                active.remove(group)
                continue
            free = [i for i in by_group[group] if not blocked[i]]
            if not free:
                active.remove(group)
                continue
            best = min(free, key=lambda i: (used_cluster[pool[i]["cluster"]], -pool[i]["uncertainty"],
                                            ties[pool[i]["id"]]))
            chosen.append(best)
            taken[group] += 1
            used_cluster[pool[best]["cluster"]] += 1
            similarity = np.asarray((matrix @ matrix[best].T).todense()).ravel()
            blocked |= similarity >= threshold  # blocks `best` itself too (cosine 1)
    picked = []
    for rank, i in enumerate(chosen, start=1):
        record = pool[i]
        record["rank"] = rank
        picked.append(record)
    return Selection(picked, len(pool), excluded, dict(taken), len(set(labels)))


def with_context(picked: Sequence[dict[str, Any]], records: Iterable[Mapping[str, Any]]) -> None:
    """Add `previous`/`next` (neighbouring sentence texts of the same article, "" at the edges)."""
    wanted = {(r.get("article_id"), r.get("index")) for r in picked}
    near = {(a, i + d) for a, i in wanted if isinstance(i, int) for d in (-1, 1)}
    texts = {}
    for record in records:
        key = (record.get("article_id"), record.get("index"))
        if key in near:
            texts[key] = str(record.get("text") or "")
    for record in picked:
        a, i = record.get("article_id"), record.get("index")
        record["previous"] = texts.get((a, i - 1), "") if isinstance(i, int) else ""
        record["next"] = texts.get((a, i + 1), "") if isinstance(i, int) else ""
