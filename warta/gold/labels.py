"""Gold labels: read them, check them against the sentence table, merge them in.

Labels live apart from the text pipeline (`seeds/labels.jsonl`), one line per
title/body sentence, keyed by the stable sentence id:
``{"id", "type", "stance", "frame", "guideline_version", "note"?}``.
A segmentation change that alters a sentence id must surface as a problem
("label for an id the corpus no longer has"), never as a silently lost label,
so every consumer goes through `validate_labels` or `merge_labels`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.jsonl import read_label_records
from warta.schema import GUIDELINE_VERSION, LABELLED_ROLES, LAYER_NAMES, LAYERS
from warta.text.corpus import (
    BuildReport,
    default_seeds_dir,
    iter_corpus,
    iter_seed_articles,
)

LABELS_FILE = "labels.jsonl"
LABEL_FIELDS = ("id", *LAYER_NAMES, "guideline_version", "note")


def default_labels_path(seeds_dir: str | Path | None = None) -> Path:
    """`labels.jsonl` beside the seed articles."""
    return Path(seeds_dir or default_seeds_dir()) / LABELS_FILE


def load_labels(path: str | Path) -> list[dict[str, Any]]:
    """Every label record of a labels file, in file order (duplicates kept for `validate_labels`): JSON Lines,
    or any other format `warta label` writes (CSV, Parquet, a shard folder; warta.jsonl.read_label_records).

    Malformed JSON raises InputError naming file and line; the content of a
    line is checked by `validate_labels`, not here.
    """
    return [obj for _, obj in read_label_records(path)]


def seed_sentences(seeds_dir: str | Path | None = None, manifest: str | Path | None = None) -> list[dict[str, Any]]:
    """The sentence table of the seed articles, built in memory by the corpus pipeline."""
    seeds_dir = Path(seeds_dir or default_seeds_dir())
    articles = iter_seed_articles(seeds_dir, Path(manifest) if manifest else None)
    records = list(iter_corpus(articles, BuildReport()))
    if not records:
        raise InputError(f"{seeds_dir}: no sentences found")
    return records


def _label_name(label: dict[str, Any], position: int) -> str:
    ident = label.get("id")
    return f"label for {ident}" if isinstance(ident, str) and ident else f"label #{position + 1} (no id)"


def label_value_problems(name: str, record: dict[str, Any], missing: tuple[Any, ...] = (None,)) -> list[str]:
    """Missing (a value in `missing`) or out-of-schema layer values; a missing or outdated guideline version."""
    problems = []
    for layer, allowed in LAYERS.items():
        value = record.get(layer)
        if value in missing:
            problems.append(f"{name}: missing layer {layer!r}")
        elif value not in allowed:
            problems.append(f"{name}: {layer} {value!r} is not one of {', '.join(allowed)}")
    version = record.get("guideline_version")
    if version is None:
        problems.append(f"{name}: missing guideline_version")
    elif version != GUIDELINE_VERSION:
        problems.append(f"{name}: labelled under guideline {version!r}, current is {GUIDELINE_VERSION!r} (re-check it)")
    return problems


def validate_labels(sentences: Iterable[dict[str, Any]], labels: Sequence[dict[str, Any]]) -> list[str]:
    """Everything wrong with `labels` as gold for `sentences`, one message per problem.

    Checked: label lines without an id, duplicate ids, labels for ids the
    corpus does not have (segmentation changed), labels on headings, missing
    or out-of-schema layer values, missing or outdated guideline version,
    unknown fields, and title/body sentences that carry no label at all.
    """
    sentences = list(sentences)
    by_id = {s["id"]: s for s in sentences}
    counts = Counter(label.get("id") for label in labels if isinstance(label.get("id"), str))
    problems: list[str] = []
    reported_duplicates: set[str] = set()
    for position, label in enumerate(labels):
        name = _label_name(label, position)
        ident = label.get("id")
        if not isinstance(ident, str) or not ident:
            problems.append(f"{name}: missing sentence id")
            continue
        if counts[ident] > 1:
            if ident not in reported_duplicates:
                problems.append(f"{name}: duplicate id ({counts[ident]} label lines)")
                reported_duplicates.add(ident)
            continue
        sentence = by_id.get(ident)
        if sentence is None:
            problems.append(f"{name}: no such sentence in the corpus (segmentation changed? re-label it)")
            continue
        if sentence.get("role") not in LABELLED_ROLES:
            problems.append(f"{name}: sentence is a {sentence.get('role')}; only title/body sentences carry labels")
            continue
        problems += label_value_problems(name, label)
        note = label.get("note")
        if note is not None and not isinstance(note, str):
            problems.append(f"{name}: note must be a string")
        unknown = sorted(set(label) - set(LABEL_FIELDS))
        if unknown:
            problems.append(f"{name}: unknown field(s) {', '.join(unknown)}")
    for sentence in sentences:
        if sentence.get("role") in LABELLED_ROLES and counts[sentence["id"]] == 0:
            problems.append(f"sentence {sentence['id']} ({sentence['role']}): no label")
    return problems


def merge_labels(sentences: Iterable[dict[str, Any]], labels: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sentence records with their label layers added (copies; unlabelled sentences stay as they are).

    A label whose id is duplicated or matches no sentence raises InputError:
    merging must never drop a label silently. Values are not checked here
    (`validate_labels` does that).
    """
    sentences = list(sentences)
    known = {s["id"] for s in sentences}
    by_id: dict[str, dict[str, Any]] = {}
    for position, label in enumerate(labels):
        ident = label.get("id")
        if not isinstance(ident, str) or not ident:
            raise InputError(f"{_label_name(label, position)}: missing sentence id")
        if ident in by_id:
            raise InputError(f"label for {ident}: duplicate id")
        if ident not in known:
            raise InputError(f"label for {ident}: no such sentence in the corpus (run `warta corpus validate`)")
        by_id[ident] = label
    merged = []
    for sentence in sentences:
        record = dict(sentence)
        label = by_id.get(sentence["id"])
        if label is not None:
            record.update({layer: label[layer] for layer in LAYER_NAMES if layer in label})
        merged.append(record)
    return merged


def load_gold(
    seeds_dir: str | Path | None = None,
    labels_path: str | Path | None = None,
    sentences: Iterable[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The labelled seed corpus: every title/body sentence record with type, stance and frame.

    The sentences are rebuilt from the seed articles by the corpus pipeline
    (or given: a run folder's cached sentence table) and the labels must
    validate against them; any problem raises InputError (details:
    `warta corpus validate`).
    """
    seeds_dir = Path(seeds_dir or default_seeds_dir())
    labels_path = Path(labels_path) if labels_path else default_labels_path(seeds_dir)
    sentences = list(sentences) if sentences is not None else seed_sentences(seeds_dir)
    labels = load_labels(labels_path)
    problems = validate_labels(sentences, labels)
    if problems:
        more = f" (and {len(problems) - 1} more; run `warta corpus validate`)" if len(problems) > 1 else ""
        raise InputError(f"{labels_path}: {problems[0]}{more}")
    merged = merge_labels(sentences, labels)
    return [record for record in merged if record["role"] in LABELLED_ROLES]


def label_counts(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per layer, how many records carry each label (schema order, zero counts kept)."""
    counts = {layer: Counter() for layer in LAYER_NAMES}
    for record in records:
        for layer in LAYER_NAMES:
            if record.get(layer) is not None:
                counts[layer][record[layer]] += 1
    return {
        layer: {**{label: counts[layer][label] for label in LAYERS[layer]},
                **{label: n for label, n in counts[layer].items() if label not in LAYERS[layer]}}
        for layer in LAYER_NAMES
    }
