"""JSON and JSON Lines files, with errors that name the file (and line).

Every whole-file write goes through `write_text_atomic` (a temporary file in
the same folder, then a rename), so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from warta.errors import InputError

# Largest record line read from a JSONL file (sentence records are well under a kilobyte;
# a labelled article line of `warta label` input has its own cap, --max-article-bytes).
MAX_RECORD_BYTES = 16_000_000
MAX_JSON_FILE_BYTES = 256_000_000


def parse_json_line(text: str | bytes, where: str) -> Any:
    """json.loads with every failure as one InputError naming `where` (depth and digit limits included)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg
        raise InputError(f"{where}: malformed JSON ({reason} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not valid UTF-8") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{where}: unusable JSON value ({' '.join(str(exc).split())[:120]})") from None


def _encoding_problem(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 encoded; JSON Lines must be UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)"
    if b"\x00" in head:
        return "binary file (contains NUL bytes), not JSON Lines"
    return None


def iter_jsonl(path: str | Path, max_line_bytes: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; bad lines raise InputError."""
    import stat

    from warta.safe_io import capped_lines

    path = Path(path)
    try:
        handle = path.open("rb")
        kind = os.fstat(handle.fileno()).st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a JSONL file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None
    with handle:
        if stat.S_ISDIR(kind):
            raise InputError(f"{path}: is a folder, not a JSONL file")
        lineno = 0
        for lineno, raw in enumerate(capped_lines(handle, max_line_bytes), start=1):
            if raw is None:
                raise InputError(f"{path}:{lineno}: line longer than {max_line_bytes:,} bytes")
            if lineno == 1:
                problem = _encoding_problem(raw[:4096])
                if problem:
                    raise InputError(f"{path}: {problem}")
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{path}:{lineno}: not valid UTF-8") from None
            obj = parse_json_line(line, f"{path}:{lineno}")
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{lineno}: expected a JSON object per line")
            yield lineno, obj


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a whole JSONL file into a list of objects."""
    return [obj for _, obj in iter_jsonl(path)]


def dumps(record: dict[str, Any]) -> str:
    """One JSON line, UTF-8 kept readable."""
    return json.dumps(record, ensure_ascii=False)


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records to path atomically (parents created; streamed into an exclusively created
    temporary file, then renamed); return how many were written."""
    from warta.safe_io import atomic_writer

    n = 0
    with atomic_writer(path, fsync=False) as out:
        for record in records:
            out.write(dumps(record) + "\n")
            n += 1
    return n


def write_text_atomic(path: str | Path, text: str, fsync: bool = False) -> Path:
    """Write UTF-8 text via a fresh, exclusively created temporary file beside `path` and a rename
    (parents created): a link planted at `path` or at any temporary name is never written through.

    `fsync`: flush the file to disk before the rename (a checkpoint must survive a power cut).
    OutputError (an InputError) names the path when it cannot be written.
    """
    from warta.safe_io import atomic_write

    return atomic_write(path, text, fsync=fsync)


def _json_default(value: Any) -> Any:
    # numpy scalars and paths turn up in metrics and configs.
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_json(path: str | Path) -> Any:
    """One JSON document; InputError names the file when it is missing or unreadable."""
    from warta.safe_io import read_small_file

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        data = read_small_file(path, MAX_JSON_FILE_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return parse_json_line(data.decode("utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: unreadable JSON ({exc})") from None
    except InputError as exc:
        raise InputError(str(exc).replace(f"{path}: malformed JSON", f"{path}: unreadable JSON", 1)) from None


def json_text(obj: Any, indent: int | None = 2) -> str:
    """The JSON document warta writes: UTF-8 kept readable, numpy scalars and paths converted."""
    return json.dumps(obj, indent=indent, ensure_ascii=False, default=_json_default) + ("\n" if indent is not None else "")


def write_json(path: str | Path, obj: Any, indent: int | None = 2, fsync: bool = False) -> Path:
    """Write a JSON document atomically (see write_text_atomic); InputError if it cannot be written."""
    return write_text_atomic(path, json_text(obj, indent), fsync=fsync)


# --- sharded output folders ----------------------------------------------------------
#
# `warta label --engine ray` writes a folder of shard files (JSON Lines or
# Parquet) and a manifest.json listing them in order (warta.labelling.shard_folder).
# iter_records reads such a folder as one stream, so every reader of prediction
# files (`warta outlets`, `warta evaluate --data`) takes one too. An unfinished
# run is an error: a profile of part of the input would look complete.

SHARD_MANIFEST = "manifest.json"


def is_shard_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / SHARD_MANIFEST).is_file()


def read_shard_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / SHARD_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("engine") != "ray" or "shards" not in manifest:
        raise InputError(f"{path}: not a manifest of `warta label --engine ray`")
    return manifest


def shard_files(folder: str | Path) -> list[Path]:
    """The shard files of a finished run, in shard order."""
    folder = Path(folder)
    manifest = read_shard_manifest(folder)
    if manifest.get("status") != "complete":
        raise InputError(f"{folder}: unfinished `warta label --engine ray` run (rerun it with --resume first)")
    missing = [s["file"] for s in manifest["shards"] if not s.get("complete") or not (folder / s["file"]).is_file()]
    if missing:
        raise InputError(f"{folder}: shard {missing[0]} is missing or incomplete (rerun with --resume)")
    return [folder / s["file"] for s in manifest["shards"]]


def _parquet_records(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq  # only for Parquet shards

    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        yield from parquet.read_row_group(group).to_pylist()


def iter_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(record number, record) of a JSONL file, or of every shard of a ray-engine output folder."""
    path = Path(path)
    if not path.is_dir():
        yield from iter_jsonl(path)
        return
    if not is_shard_folder(path):
        raise InputError(f"{path}: a folder, but not a `warta label --engine ray` output (no {SHARD_MANIFEST})")
    number = 0
    for shard in shard_files(path):
        records = _parquet_records(shard) if shard.suffix == ".parquet" else (obj for _, obj in iter_jsonl(shard))
        for record in records:
            number += 1
            yield number, record
