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
from warta.schema import LABELLED_ROLES, LAYER_NAMES, LAYERS

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
    if obj.get("role") not in LABELLED_ROLES:
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
