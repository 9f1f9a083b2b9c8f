"""Read annotations back: a Label Studio JSON export or the batch CSV -> warta label records.

A label record: id, type, stance, frame, note?, annotator, annotated_at,
guideline_version, and the sentence fields (text, article_id, outlet, role,
index) so sentences from new articles carry their text into the corpus.
Each record is checked the way `warta corpus validate` checks gold labels
(layer values in the schema, labelled roles only, current guideline
version, one label per id) and, for a sentence with text, that its id is
the pipeline's id for that text. Problems never raise: each item is skipped
with one message, and the caller decides the exit code.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.records import SENTENCE_FIELDS
from warta.schema import GUIDELINE_VERSION, LABELLED_ROLES, LAYER_NAMES, LAYERS

# The sentence fields an imported record carries besides its id (one definition: warta.records).
CARRIED_FIELDS = tuple(name for name in SENTENCE_FIELDS if name != "id")


@dataclass
class ImportResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line per skipped or conflicting item
    unannotated: int = 0  # tasks/rows nobody has labelled yet (not an error)
    by_annotator: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # every valid label, per person


def _annotator(completed_by: Any) -> str | None:
    # Label Studio exports the user id; some versions expand it to a user object.
    if isinstance(completed_by, Mapping):
        return str(completed_by.get("email") or completed_by.get("username") or completed_by.get("id") or "") or None
    if completed_by is None or completed_by == "":
        return None
    return f"ls-user-{completed_by}"


def _iso(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def check_record(record: Mapping[str, Any], where: str) -> str | None:
    """The first problem with one label record, or None."""
    from warta.text.corpus import sentence_id

    ident = record.get("id")
    if not isinstance(ident, str) or not ident:
        return f"{where}: missing sentence id"
    for layer, allowed in LAYERS.items():
        value = record.get(layer)
        if value in (None, ""):
            return f"{where} ({ident}): missing layer {layer!r}"
        if value not in allowed:
            return f"{where} ({ident}): {layer} {value!r} is not one of {', '.join(allowed)}"
    role = record.get("role")
    if role not in (None, "") and role not in LABELLED_ROLES:
        return f"{where} ({ident}): sentence is a {role}; only title/body sentences carry labels"
    if record.get("guideline_version") != GUIDELINE_VERSION:
        return (f"{where} ({ident}): labelled under guideline {record.get('guideline_version')!r}, "
                f"current is {GUIDELINE_VERSION!r} (re-check it)")
    if not record.get("annotator"):
        return f"{where} ({ident}): no annotator (pass --annotator NAME)"
    text, article, index = record.get("text"), record.get("article_id"), record.get("index")
    if text and article not in (None, "") and isinstance(index, int) and sentence_id(str(article), index, text) != ident:
        return f"{where} ({ident}): id does not match its text (was the text edited?)"
    return None


def _finish(candidates: list[tuple[str, dict[str, Any]]], result: ImportResult) -> ImportResult:
    """Validate, then resolve several labels for one id: identical ones merge, different ones conflict."""
    by_id: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    order: list[str] = []
    for where, record in candidates:
        problem = check_record(record, where)
        if problem:
            result.skipped.append(problem)
            continue
        if record["id"] not in by_id:
            order.append(record["id"])
        by_id[record["id"]].append((where, record))
        result.by_annotator.setdefault(record["annotator"], []).append(record)
    for ident in order:
        items = by_id[ident]
        distinct = {tuple(r[layer] for layer in LAYER_NAMES) for _, r in items}
        if len(distinct) > 1:
            detail = "; ".join(f"{where} {r['annotator']}: " + "/".join(r[layer] for layer in LAYER_NAMES)
                               for where, r in items)
            result.skipped.append(f"{ident}: conflicting labels ({detail}); resolve and re-import")
            continue
        record = dict(max((r for _, r in items), key=lambda r: str(r.get("annotated_at") or "")))
        annotators = sorted({r["annotator"] for _, r in items})
        record["annotator"] = ",".join(annotators)
        result.records.append(record)
    return result


def _record(data: Mapping[str, Any], labels: Mapping[str, Any], annotator: str | None, at: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": data.get("id")}
    for layer in LAYER_NAMES:
        record[layer] = labels.get(layer)
    if labels.get("note"):
        record["note"] = labels["note"]
    record.update(annotator=annotator, annotated_at=at, guideline_version=data.get("guideline_version") or GUIDELINE_VERSION)
    for name in CARRIED_FIELDS:
        value = data.get(name)
        if value not in (None, ""):
            record[name] = value
    if isinstance(record.get("index"), str) and record["index"].strip().lstrip("-").isdigit():
        record["index"] = int(record["index"])
    return record


def _result_labels(result: Any, where: str) -> tuple[dict[str, Any], str | None]:
    """layer -> label (plus note) from one annotation's `result` list, or a problem."""
    if not isinstance(result, list):
        return {}, f"{where}: `result` is not a list"
    labels: dict[str, Any] = {}
    for item in result:
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), Mapping):
            return {}, f"{where}: malformed result item {json.dumps(item, ensure_ascii=False)[:80]}"
        name, value = item.get("from_name"), item["value"]
        if name in LAYERS:
            choices = value.get("choices")
            if not isinstance(choices, list) or len(choices) != 1:
                return {}, f"{where}: {name} needs exactly one choice, got {choices!r}"
            labels[name] = choices[0]
        elif name == "note":
            text = value.get("text")
            text = " ".join(text) if isinstance(text, list) else text
            if text:
                labels["note"] = str(text).strip()
    return labels, None


def read_labelstudio(path: str | Path, annotator: str | None = None) -> ImportResult:
    """Label records from a Label Studio JSON export (`[{data, annotations: [{result, completed_by, …}]}]`)."""
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable Label Studio export ({exc})") from None
    if not isinstance(tasks, list):
        raise InputError(f"{path}: expected a JSON list of tasks (Label Studio 'JSON' export)")
    result, candidates = ImportResult(), []
    for position, task in enumerate(tasks):
        where = f"{path.name}: task {position + 1}"
        if not isinstance(task, Mapping) or not isinstance(task.get("data"), Mapping):
            result.skipped.append(f"{where}: not a task with `data`")
            continue
        where = f"{path.name}: task {task.get('id', position + 1)}"
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, Mapping)]
        done = [a for a in annotations if not a.get("was_cancelled")]
        if not done:
            result.unannotated += 1
            continue
        latest: dict[str, Mapping[str, Any]] = {}
        for a in done:  # one annotator who saved twice: the latest counts
            who = _annotator(a.get("completed_by")) or ""
            at = str(a.get("updated_at") or a.get("created_at") or "")
            if who not in latest or at >= str(latest[who].get("updated_at") or latest[who].get("created_at") or ""):
                latest[who] = a
        for who, a in sorted(latest.items()):
            labels, problem = _result_labels(a.get("result"), f"{where} annotation {a.get('id', '?')}")
            if problem:
                result.skipped.append(problem)
                continue
            at = _iso(a.get("updated_at") or a.get("created_at"))
            candidates.append((where, _record(task["data"], labels, annotator or who or None, at)))
    return _finish(candidates, result)


def read_csv(path: str | Path, annotator: str | None = None) -> ImportResult:
    """Label records from the batch CSV; rows with all three layers empty are not annotated yet."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline()
            handle.seek(0)
            # spreadsheets in an Indonesian locale save with ';' (the comma is the decimal mark there)
            delimiter = max(",;\t", key=header.count)
            rows = list(csv.DictReader(handle, delimiter=delimiter))
        modified = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat(timespec="seconds")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: unreadable CSV ({exc})") from None
    if rows and "id" not in rows[0]:
        raise InputError(f"{path}: no `id` column (expected the batch.csv written by `warta annotate select`)")
    result, candidates = ImportResult(), []
    for line, row in enumerate(rows, start=2):
        row = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.get(layer) for layer in LAYER_NAMES):
            result.unannotated += 1
            continue
        labels = {layer: row.get(layer) for layer in LAYER_NAMES}
        labels["note"] = row.get("note")
        who = annotator or row.get("annotator") or None
        candidates.append((f"{path.name}:{line}", _record(row, labels, who, row.get("annotated_at") or modified)))
    return _finish(candidates, result)


def join_to_corpus(result: ImportResult, sentences: Sequence[Mapping[str, Any]] | None = None) -> ImportResult:
    """Skip records that cannot join the corpus: no text of their own and no seed sentence with that id.

    A record for a seed sentence must also be a title/body sentence there
    (the checks `warta corpus validate` applies to gold labels).
    """
    if all(r.get("text") for r in result.records):
        return result
    if sentences is None:
        from warta.gold.labels import seed_sentences

        sentences = seed_sentences()
    roles = {s["id"]: s.get("role") for s in sentences}
    kept, dropped = [], set()
    for record in result.records:
        ident = record["id"]
        if not record.get("text") and ident not in roles:
            result.skipped.append(f"{ident}: no text and no seed sentence with this id (segmentation changed?)")
        elif ident in roles and roles[ident] not in LABELLED_ROLES:
            result.skipped.append(f"{ident}: sentence is a {roles[ident]}; only title/body sentences carry labels")
        else:
            kept.append(record)
            continue
        dropped.add(ident)
    result.records = kept
    result.by_annotator = {k: [r for r in v if r["id"] not in dropped] for k, v in result.by_annotator.items()}
    return result


def read_annotations(path: str | Path, annotator: str | None = None) -> ImportResult:
    """Dispatch on the suffix: .json (Label Studio export) or .csv (batch spreadsheet); then join to the corpus."""
    if not Path(path).is_file():
        raise InputError(f"{path}: file not found")
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return join_to_corpus(read_labelstudio(path, annotator))
    if suffix == ".csv":
        return join_to_corpus(read_csv(path, annotator))
    raise InputError(f"{path}: expected a Label Studio .json export or a .csv batch")


def label_order(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records with their fields in a fixed order (layers, note, provenance, sentence fields)."""
    keys = ("id", *LAYER_NAMES, "note", "annotator", "annotated_at", "guideline_version", *CARRIED_FIELDS)
    return [{k: r[k] for k in keys if k in r} for r in records]
