"""JSON Lines reading and writing with errors that name file and line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from warta.errors import InputError


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; bad lines raise InputError."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None
    with handle:
        lineno = 0
        try:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise InputError(f"{path}:{lineno}: expected a JSON object per line")
                yield lineno, obj
        except UnicodeDecodeError:
            raise InputError(f"{path}:{lineno + 1}: not valid UTF-8") from None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a whole JSONL file into a list of objects."""
    return [obj for _, obj in iter_jsonl(path)]


def dumps(record: dict[str, Any]) -> str:
    """One JSON line, UTF-8 kept readable."""
    return json.dumps(record, ensure_ascii=False)


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records to path (parents created); return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(dumps(record) + "\n")
            n += 1
    return n
