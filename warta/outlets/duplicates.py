"""Duplicated articles inside one outlet (the same story filed twice, a page crawled under two URLs):
counted once by default, since copies are not independent evidence and would make every interval too
narrow and every between-outlet test too eager.

An article is reduced to the hashes of its sentences (lower-cased, whitespace collapsed). Two articles of
one outlet are exact duplicates when their sentence sequences are equal, near duplicates when their
sentence sets overlap by Jaccard >= NEAR (both with at least MIN_NEAR_SENTENCES sentences). Candidates
are found through the sentences they share, so the cost follows the overlap, not outlets x articles^2.
Of each group of copies the first article in input order is kept. Memory: one small integer per sentence."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from warta.schema import LABELLED_ROLES

NEAR = 0.8
MIN_NEAR_SENTENCES = 3
MAX_LISTED = 50
METHOD = (f"articles of one outlet with the same sentences (exact) or with sentence sets overlapping by Jaccard >= {NEAR} "
          f"(near; articles of at least {MIN_NEAR_SENTENCES} sentences), sentences compared lower-cased with "
          "whitespace collapsed; the first copy in input order is kept")
_SPACE = re.compile(r"\s+")


def _hash(text: str) -> int:
    normal = _SPACE.sub(" ", text.lower()).strip()
    return int.from_bytes(hashlib.blake2b(normal.encode("utf-8"), digest_size=8).digest(), "little")


class DuplicateArticles:
    """Streams (outlet, article, sentence text); `find()` returns the copies to drop."""

    def __init__(self) -> None:
        self.articles: dict[tuple[str, str], list[int]] = {}

    def add(self, group: str, article: str, record: dict[str, Any]) -> None:
        if record.get("role") not in LABELLED_ROLES:
            return
        text = record.get("text")
        self.articles.setdefault((group, article), []).append(_hash(text) if isinstance(text, str) and text else 0)

    def find(self) -> dict[str, Any]:
        """{"method", "articles_dropped", "sentences_dropped", "drop": {outlet: set of article ids}, "groups": [...]}."""
        by_outlet: dict[str, list[tuple[str, list[int]]]] = {}
        for (group, article), hashes in self.articles.items():
            if 0 not in hashes:  # an article with a sentence lacking text cannot be compared
                by_outlet.setdefault(group, []).append((article, hashes))
        drop: dict[str, set[str]] = {}
        listed: list[dict[str, Any]] = []
        sentences = 0
        for group, articles in by_outlet.items():
            first_of: dict[tuple[int, ...], str] = {}
            copies: dict[str, list[tuple[str, str]]] = {}
            survivors = []
            for article, hashes in articles:
                key = tuple(hashes)
                if key in first_of:
                    copies.setdefault(first_of[key], []).append((article, "exact"))
                else:
                    first_of[key] = article
                    survivors.append((article, hashes))
            sets = {article: set(hashes) for article, hashes in survivors if len(set(hashes)) >= MIN_NEAR_SENTENCES}
            order = {article: i for i, (article, _) in enumerate(survivors)}
            index: dict[int, list[str]] = {}
            gone: set[str] = set()
            for article, _ in survivors:  # input order: a later article is compared with earlier ones
                mine = sets.get(article)
                if mine is None:
                    continue
                candidates = {other for h in mine for other in index.get(h, ()) if other not in gone}
                match = next((other for other in sorted(candidates, key=order.__getitem__)
                              if len(mine & sets[other]) / len(mine | sets[other]) >= NEAR), None)
                if match is not None:
                    keeper = match
                    copies.setdefault(keeper, []).append((article, "near"))
                    gone.add(article)
                    continue
                for h in mine:
                    index.setdefault(h, []).append(article)
            for keeper, dropped in copies.items():
                drop.setdefault(group, set()).update(article for article, _ in dropped)
                sentences += sum(len(self.articles[(group, article)]) for article, _ in dropped)
                if len(listed) < MAX_LISTED:
                    listed.append({"outlet": group, "kept": keeper,
                                   "dropped": [{"article_id": a, "kind": kind} for a, kind in dropped]})
        return {"method": METHOD, "articles_dropped": sum(len(v) for v in drop.values()),
                "sentences_dropped": sentences, "drop": drop, "groups": listed}
