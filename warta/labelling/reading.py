"""Reading `warta label` inputs: folder walk, manifest lookup, capped UTF-8/UTF-16 lines, one JSONL record.

This module imports no model code: it runs in the preparation workers.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from warta.errors import InputError
from warta.jsonl import parse_json_line
from warta.labelling.items import JSONL_SUFFIXES, MAX_FIELD_CHARS, TEXT_SUFFIXES, Item, Problem, WalkStats
from warta.safe_io import capped_lines
from warta.text.corpus import UNKNOWN_OUTLET, Article, file_kind, read_manifest
from warta.text.sanitise import clean_field

# Same sniff window as warta.text.decode_bytes uses for whole files.
BINARY_SNIFF_BYTES = 8192
_RECORD_FIELDS = ("title", "url", "date")


class ManifestIndex:
    """Manifest rows looked up by a file's resolved path, else by its unique file name."""

    def __init__(self, path: Path):
        rows = read_manifest(path)
        self.by_path: dict[Path, dict[str, str]] = {}
        by_name: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            file = row.get("file", "")
            if not file:
                continue
            self.by_path[(path.parent / file).resolve()] = row
            by_name.setdefault(Path(file).name, []).append(row)
        # A bare file name only identifies a row when no other row shares it.
        self.by_name = {name: found[0] for name, found in by_name.items() if len(found) == 1}

    def lookup(self, path: Path) -> dict[str, str] | None:
        return self.by_path.get(path.resolve()) or self.by_name.get(path.name)


def folder_outlet(path: Path) -> str:
    return path.resolve().parent.name or UNKNOWN_OUTLET


def walk_folder(
    folder: Path,
    stats: WalkStats,
    suffixes: tuple[str, ...] = TEXT_SUFFIXES + JSONL_SUFFIXES,
    skip: frozenset[Path] | set[Path] = frozenset(),
    regular_only: bool = True,
) -> Iterator[Path | Problem]:
    """Article files under `folder`: recursive, sorted by name, hidden entries and symlinked folders skipped.

    `skip`: resolved folders not entered; `regular_only`: a FIFO, socket or device is a Problem, not a path.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        yield Problem(f"{folder}: cannot list folder ({exc.strerror})", str(folder))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if not skip or path.resolve() not in skip:
                yield from walk_folder(path, stats, suffixes, skip, regular_only)
        elif entry.name.lower().endswith(suffixes):
            if not regular_only:
                yield path
                continue
            # Only regular files: a FIFO would block the walk forever, a device never ends.
            try:
                mode = entry.stat().st_mode
            except OSError as exc:
                yield Problem(f"{path}: cannot read ({exc.strerror})", str(path))
                continue
            if stat.S_ISREG(mode):
                yield path
            else:
                yield Problem(f"{path}: {file_kind(mode)}, not a regular file; not read", str(path))
        else:
            stats.ignored_files += 1


def _text_field(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return clean_field(str(value))
    return ""


def utf8_lines(handle: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Lines as UTF-8 bytes (None: over `limit`); a UTF-16 stream with a byte-order mark is transcoded."""
    peek = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
    if peek not in (b"\xff\xfe", b"\xfe\xff"):
        yield from capped_lines(handle, limit)
        return
    text = io.TextIOWrapper(handle, encoding="utf-16", newline=None)
    try:
        while True:
            line = text.readline(limit + 1)
            if not line:
                return
            data = line.encode("utf-8", "surrogatepass")
            if len(line) > limit and not line.endswith("\n"):
                yield None
                while line and not line.endswith("\n"):
                    line = text.readline(1 << 20)
                continue
            yield data
    except UnicodeDecodeError:
        raise OSError(errno.EILSEQ, "not valid UTF-16") from None
    finally:
        text.detach()


def parse_record(raw: bytes, lineno: int, source: str, id_prefix: str, outlet: str) -> Item:
    """One JSONL line -> an Article, or a Problem naming source:line (never raises)."""
    where = f"{source}:{lineno}"
    try:
        line = raw.rstrip(b"\r\n").decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError:
        return Problem(f"{where}: not valid UTF-8", source)
    try:
        obj = parse_json_line(line, where)  # depth, digit-count and syntax errors: one line each
    except InputError as exc:
        return Problem(str(exc), source)
    if not isinstance(obj, dict):
        return Problem(f"{where}: expected a JSON object with a \"text\" field", source)
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return Problem(f"{where}: record has no text", source)
    fields = {name: _text_field(obj.get(name)) for name in ("id", "outlet", *_RECORD_FIELDS)}
    for name, value in fields.items():
        if len(value) > MAX_FIELD_CHARS:
            return Problem(f"{where}: '{name}' is {len(value):,} characters long (at most {MAX_FIELD_CHARS:,})", source)
    return Article(
        article_id=fields.pop("id") or f"{id_prefix}:{lineno}",
        text=text,
        outlet=fields.pop("outlet") or outlet,
        source=where,
        **fields,
    )
