"""Labelled sources beyond the seed gold: imported real sentences and the written supplement.

A source file is JSONL, one labelled sentence record per line, carrying its
own sentence fields (``id``, ``text``, ``article_id``, ``outlet``, ``role``,
``index``) and ``type``/``stance``/``frame`` -- what `warta annotate import`
writes. Two kinds:

- ``extra`` (real sentences): they join the corpus; splits and near-duplicate
  groups are regenerated over seeds + extras (`warta.gold.splits.make_splits`).
- ``supplement`` (original text written for training, ``source: written`` on
  every record): training folds only -- never dev, test, or a held-out fold.

Ids must be unique across the seed gold and every source (one-line error naming
the file, line and the other source on a clash).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.jsonl import iter_jsonl
from warta.schema import LABELLED_ROLES, LAYER_NAMES, LAYERS, parse_role

RECORD_FIELDS = ("id", "article_id", "outlet", "role", "index", "text", *LAYER_NAMES, "source")
WRITTEN = "written"


def read_source(path: str | Path, *, supplement: bool = False) -> list[dict[str, Any]]:
    """The labelled sentence records of one source file (checked; one-line InputError otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: labelled source not found")
    records = []
    for line, obj in iter_jsonl(path):
        where = f"{path}:{line}"
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object")
        records.append(_checked(obj, where, supplement))
    if not records:
        raise InputError(f"{path}: no labelled sentences")
    return records


def _checked(obj: dict[str, Any], where: str, supplement: bool) -> dict[str, Any]:
    ident = obj.get("id")
    if not isinstance(ident, str) or not ident:
        raise InputError(f"{where}: missing sentence id")
    for key in ("text", "article_id", "outlet"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise InputError(f"{where} ({ident}): missing {key!r} (a labelled source carries its own sentence fields)")
    obj["role"] = parse_role(obj.get("role"), f"{where} ({ident})")  # `Body` is body
    if obj["role"] not in LABELLED_ROLES:
        raise InputError(f"{where} ({ident}): role {obj.get('role')!r} is not one of {', '.join(LABELLED_ROLES)}")
    for layer, allowed in LAYERS.items():
        if obj.get(layer) not in allowed:
            raise InputError(f"{where} ({ident}): {layer} {obj.get(layer)!r} is not one of {', '.join(allowed)}")
    if supplement and obj.get("source") != WRITTEN:
        raise InputError(f"{where} ({ident}): a supplement record needs source: {WRITTEN!r} (got {obj.get('source')!r})")
    if not supplement and obj.get("source") == WRITTEN:
        raise InputError(f"{where} ({ident}): a written record belongs in data.supplement, not data.extra")
    record = {key: obj[key] for key in RECORD_FIELDS if key in obj}
    record["index"] = int(obj.get("index") or 0)
    return record


def read_sources(paths: Sequence[str | Path], *, supplement: bool = False) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Records of several source files and where each id came from."""
    records: list[dict[str, Any]] = []
    origin: dict[str, str] = {}
    for path in paths:
        for record in read_source(path, supplement=supplement):
            records.append(record)
            origin.setdefault(record["id"], str(path))
    return records, origin


def check_unique_ids(named: Iterable[tuple[str, Sequence[dict[str, Any]]]]) -> None:
    """InputError (one line) when an id appears twice across the named record lists."""
    seen: dict[str, str] = {}
    for name, records in named:
        for record in records:
            ident = record["id"]
            if ident in seen:
                other = seen[ident]
                where = "earlier in this file" if other == name else f"already in {other}"
                raise InputError(f"{name}: sentence id {ident!r} is {where} (ids must be unique)")
            seen[ident] = name


# Fields a labelled source record may carry: the sentence fields, the layers, and the provenance
# `warta annotate import` writes (annotator, annotated_at, guideline_version, note); `source` marks
# the written supplement.
SOURCE_FIELDS = (*RECORD_FIELDS, "guideline_version", "note", "annotator", "annotated_at")


def is_source(records: Sequence[dict[str, Any]]) -> bool:
    """True when a labels file is a labelled source (records carry their own text), not seed gold."""
    return any(isinstance(r, dict) and "text" in r for r in records)


def validate_source(records: Sequence[dict[str, Any]], seed_sentences: Sequence[dict[str, Any]],
                    seed_labels: Sequence[dict[str, Any]] = ()) -> list[str]:
    """Everything wrong with a labelled source (`warta annotate import` output), one message per problem.

    Checked per record: id, sentence fields (text, article_id, outlet, a title/body role, an integer
    index), the id is the pipeline's id for that text (`sentence_id`), layer values, current guideline
    version, annotator/annotated_at/note are strings, no unknown fields; across records: duplicate ids;
    against the seeds: an id the seed gold already labels (it would clash in `data.extra`; relabels of
    seed sentences go into the seed labels file) or a seed id whose text differs. Unlike seed gold, a
    source need not cover any sentence set.
    """
    from warta.gold.labels import label_value_problems
    from warta.text.corpus import sentence_id

    seed_text = {s["id"]: s.get("text") for s in seed_sentences}
    labelled = {label.get("id") for label in seed_labels if isinstance(label, dict)}
    seen: dict[str, int] = {}
    problems: list[str] = []
    for position, record in enumerate(records, start=1):
        where = f"line {position}"
        if not isinstance(record, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        ident = record.get("id")
        if not isinstance(ident, str) or not ident:
            problems.append(f"{where}: missing sentence id")
            continue
        name = f"{where} ({ident})"
        if ident in seen:
            problems.append(f"{name}: duplicate id (first on line {seen[ident]})")
            continue
        seen[ident] = position
        for key in ("text", "article_id", "outlet"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                problems.append(f"{name}: missing {key!r} (a labelled source carries its own sentence fields)")
        role = record.get("role")
        if (role.strip().lower() if isinstance(role, str) else role) not in LABELLED_ROLES:
            problems.append(f"{name}: role {record.get('role')!r} is not one of {', '.join(LABELLED_ROLES)}")
        index = record.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            problems.append(f"{name}: index {index!r} is not a sentence position")
        elif isinstance(record.get("text"), str) and isinstance(record.get("article_id"), str) \
                and record.get("source") != WRITTEN and sentence_id(record["article_id"], index, record["text"]) != ident:
            # written records use short ids of their own; real sentences must keep the pipeline's id
            problems.append(f"{name}: id does not match its text (was the text edited?)")
        problems += label_value_problems(name, record, missing=(None, ""))
        for key in ("annotator", "annotated_at", "note"):
            if key in record and not isinstance(record[key], str):
                problems.append(f"{name}: {key} must be a string")
        if record.get("source") not in (None, WRITTEN):
            problems.append(f"{name}: source {record.get('source')!r} is not {WRITTEN!r}")
        unknown = sorted(set(record) - set(SOURCE_FIELDS))
        if unknown:
            problems.append(f"{name}: unknown field(s) {', '.join(unknown)}")
        if ident in seed_text:
            if isinstance(record.get("text"), str) and seed_text[ident] != record["text"]:
                problems.append(f"{name}: a seed sentence has this id with a different text")
            if ident in labelled:
                problems.append(f"{name}: already labelled in the seed gold (as data.extra it would clash; "
                                "correct seed labels in the seed labels file)")
    return problems
