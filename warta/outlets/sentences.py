"""Reading and validating sentence records into per-outlet groups; option checks."""


import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.jsonl import read_label_records
from warta.outlets.options import ALL
from warta.schema import LABELLED_ROLES, LAYERS, parse_role
from warta.text.sanitise import clean_field

QUOTE = LAYERS["type"].index("quote")
PRO = LAYERS["stance"].index("pro")
AGAINST = LAYERS["stance"].index("against")
# Matrices kept per article: the three layers plus stance split by voice.
PARTS = ("type", "stance", "frame", "own", "quoted")

# --- reading and validating records ------------------------------------------------


def _where(path: str | Path | None, lineno: int) -> str:
    return f"{path}:{lineno}" if path is not None else f"record {lineno}"


def _label_vector(record: dict[str, Any], layer: str, use: str, where: str) -> np.ndarray:
    """One-hot of the label, or the normalised probabilities under --use probs."""
    labels = LAYERS[layer]
    if use == "probs":
        probs = record.get("probs")
        if not isinstance(probs, dict):
            raise InputError(
                f"{where}: no 'probs' in the record (--use probs needs prediction files, "
                "e.g. `warta label` output or cv/oof.jsonl)"
            )
        layer_probs = probs.get(layer)
        if not isinstance(layer_probs, dict):
            raise InputError(f"{where}: no probabilities for layer '{layer}' in 'probs'")
        vector = np.zeros(len(labels))
        for label, p in layer_probs.items():
            if label not in labels:
                raise InputError(f"{where}: unknown {layer} label '{label}' in probs (expected one of {', '.join(labels)})")
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not np.isfinite(p) or p < 0:
                raise InputError(f"{where}: probability of {layer} '{label}' is not a number >= 0: {p!r}")
            vector[labels.index(label)] = float(p)
        total = vector.sum()
        if abs(total - 1.0) > 0.01:
            raise InputError(f"{where}: {layer} probabilities sum to {total:.4f}, not 1")
        return vector / total
    label = record.get(layer)
    if label is None or label == "":
        raise InputError(
            f"{where}: sentence {record.get('id', '?')} has no '{layer}' label "
            "(warta outlets needs type, stance and frame on every title/body sentence)"
        )
    if label not in labels:
        raise InputError(f"{where}: unknown {layer} label '{label}' (expected one of {', '.join(labels)})")
    vector = np.zeros(len(labels))
    vector[labels.index(label)] = 1.0
    return vector


@dataclass
class Sentence:
    """A labelled title/body sentence reduced to what profiles need."""

    id: str
    group: str
    article: str
    vectors: dict[str, np.ndarray]


def voice_vectors(record: dict[str, Any], use: str, where: str) -> dict[str, np.ndarray]:
    """Label vectors per layer plus the stance split into own voice and quoted (weighted by P(quote))."""
    vectors = {layer: _label_vector(record, layer, use, where) for layer in LAYERS}
    quoted = vectors["type"][QUOTE]
    vectors["own"] = vectors["stance"] * (1.0 - quoted)
    vectors["quoted"] = vectors["stance"] * quoted
    return vectors


def read_sentence(record: dict[str, Any], by: str, use: str, where: str) -> Sentence | None:
    """Validate one record; None for headings (they carry no labels)."""
    record["role"] = parse_role(record.get("role"), where)  # `Body` is body (for every later reader); `bdy` is refused
    if record["role"] not in LABELLED_ROLES:
        return None
    for name in ("id", "article_id"):
        if record.get(name) in (None, ""):
            raise InputError(f"{where}: record has no '{name}' field")
    group = record.get(by)
    # Bidi overrides, invisible and control characters in a name would reorder or hide
    # text in the report, the CSV and the terminal table: they are removed here.
    group = clean_field(str(group)) if group is not None else ""
    if group == "":
        raise InputError(f"{where}: record has no '{by}' field (--by {by})")
    if len(group) > 200:
        raise InputError(f"{where}: '{by}' is {len(group):,} characters long (at most 200)")
    if group == ALL:
        raise InputError(f"{where}: '{ALL}' is reserved for the all-outlets row; rename that {by}")
    return Sentence(str(record["id"]), group, str(record["article_id"]), voice_vectors(record, use, where))


def located(records: Iterable[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, record in enumerate(records, start=1):
        yield _where(None, i), record


def located_files(paths: Iterable[str | Path], progress: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in paths:
        lines = read_label_records(path)  # any format `warta label` writes (JSONL, CSV, Parquet, a shard folder)
        if progress:
            from tqdm import tqdm

            # disable=None: the bar shows on a terminal only, never in logs or pipes
            lines = tqdm(lines, desc=f"reading {Path(path).name}", unit=" records", file=sys.stderr, disable=None, leave=False)
        for lineno, record in lines:
            yield _where(path, lineno), record


def with_labels(located: Iterable[tuple[str, dict[str, Any]]], labels_path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Gold label lines (seeds/labels.jsonl layout) merged onto sentence records by id."""
    from warta.gold.labels import load_labels, merge_labels

    located = list(located)
    try:
        merged = merge_labels([record for _, record in located], load_labels(labels_path))
    except InputError as exc:
        if str(exc).startswith(str(labels_path)):
            raise
        raise InputError(f"{labels_path}: {exc}") from None
    except KeyError as exc:  # a sentence record without an id
        raise InputError(f"{labels_path}: cannot merge, a sentence record has no {exc} field") from None
    return [(where, record) for (where, _), record in zip(located, merged)]


# --- per-article sums ---------------------------------------------------------------


@dataclass
class Group:
    """Per-article sums of label vectors for one outlet (or ALL)."""

    name: str
    articles: list[str] = field(default_factory=list)
    sums: dict[str, list[np.ndarray]] = field(default_factory=lambda: {part: [] for part in PARTS})
    sentences: int = 0
    counts: list[int] = field(default_factory=list)  # sentences per article
    _index: dict[str, int] = field(default_factory=dict)

    def add(self, article: str, vectors: dict[str, np.ndarray]) -> None:
        i = self._index.get(article)
        if i is None:
            i = self._index[article] = len(self.articles)
            self.articles.append(article)
            self.counts.append(0)
            for part in PARTS:
                self.sums[part].append(np.zeros_like(vectors[part]))
        for part in PARTS:
            self.sums[part][i] += vectors[part]
        self.counts[i] += 1
        self.sentences += 1

    def drop(self, articles: set[str]) -> None:
        """Forget these articles (duplicates counted once); the others keep their order."""
        keep = [i for i, article in enumerate(self.articles) if article not in articles]
        self.articles = [self.articles[i] for i in keep]
        self.sums = {part: [rows[i] for i in keep] for part, rows in self.sums.items()}
        self.counts = [self.counts[i] for i in keep]
        self.sentences = sum(self.counts)
        self._index = {article: i for i, article in enumerate(self.articles)}

    def matrices(self) -> dict[str, np.ndarray]:
        return {part: np.vstack(rows) for part, rows in self.sums.items()}


def collect_groups(
    located: Iterable[tuple[str, dict[str, Any]]], by: str, use: str,
    on_sentence: Callable[[Sentence, dict[str, Any]], None] | None = None,
) -> dict[str, Group]:
    """Stream records into per-group, per-article sums; ALL last. `on_sentence(sentence, record)` sees
    every labelled sentence (e.g. to find duplicated articles)."""
    groups: dict[str, Group] = {}
    everything = Group(ALL)
    seen: dict[str, str] = {}
    for where, record in located:
        sentence = read_sentence(record, by, use, where)
        if sentence is None:
            continue
        if sentence.id in seen:
            raise InputError(f"{where}: duplicate sentence id {sentence.id} (first at {seen[sentence.id]})")
        seen[sentence.id] = where
        if on_sentence is not None:
            on_sentence(sentence, record)
        groups.setdefault(sentence.group, Group(sentence.group)).add(sentence.article, sentence.vectors)
        everything.add(f"{sentence.group}\x00{sentence.article}", sentence.vectors)
    if not groups:
        raise InputError("no title/body sentences to profile")
    ordered = {name: groups[name] for name in sorted(groups)}
    ordered[ALL] = everything
    return ordered
