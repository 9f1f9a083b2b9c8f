"""JSON and JSON Lines files, with errors that name the file (and line); label files in every format
`warta label` writes (read_label_records).

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
    from warta.errors import MissingExtra

    try:
        import pyarrow.parquet as pq  # only for Parquet files
    except ImportError:
        raise MissingExtra(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            yield from parquet.read_row_group(group).to_pylist()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise InputError(f"{path}: unreadable Parquet ({' '.join(str(exc).split())[:160]})") from None


# --- label files: every format `warta label` writes --------------------------------------
#
# JSON Lines, CSV (one column per probability, `probs.<layer>.<label>`, cells
# formula-escaped), Parquet (nested `probs`), and a ray-engine shard folder of
# JSONL or Parquet shards. `read_label_records` reads them all into the record
# a JSONL line holds, so every command that reads labels (`warta outlets`,
# `warta evaluate --data`) reads what `warta label` writes. Numbers are parsed
# with limits: a probability is a finite number from 0 to 1, an index a whole
# number that fits; anything else is one InputError naming file, line and field.

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
MAX_INDEX = 1_000_000_000
_NUMBER_CHARS = 40  # longest numeric text parsed: a probability is "0.123456", an index a few digits
_LAYERS = ("type", "stance", "frame")


def label_file_kind(path: str | Path) -> str:
    """jsonl, csv, parquet or shards (a folder): by the name, and Parquet also by its magic bytes."""
    path = Path(path)
    if path.is_dir():
        return "shards"
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    try:
        with path.open("rb") as handle:
            if handle.read(4) == PARQUET_MAGIC:
                return "parquet"
    except OSError:
        pass  # iter_jsonl names the problem
    return "jsonl"


def read_label_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, record) of a label or prediction file in any format `warta label` writes
    (JSON Lines, CSV, Parquet, a ray-engine shard folder), numbers checked; InputError names file and line."""
    path = Path(path)
    kind = label_file_kind(path)
    if kind == "shards":
        if not is_shard_folder(path):
            raise InputError(f"{path}: a folder, but not a `warta label --engine ray` output (no {SHARD_MANIFEST})")
        number = 0
        for shard in shard_files(path):
            for _, record in read_label_records(shard):
                number += 1
                yield number, record
        return
    records = {"csv": _csv_records, "parquet": lambda p: enumerate(_parquet_records(p), start=1)}.get(kind, iter_jsonl)
    for number, record in records(path):
        check_numbers(record, f"{path}:{number}")
        yield number, record


iter_records = read_label_records  # the earlier name


def _number_text(value: Any) -> str:
    # repr for anything that is not a number, so a quoted "0.9" reads as the string it is
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    text = str(value) if number else repr(value)
    return text if len(text) <= _NUMBER_CHARS else f"a {len(text):,}-character {'number' if number else 'value'}"


def check_numbers(record: dict[str, Any], where: str) -> None:
    """Every probability a finite number from 0 to 1, `index` a whole number from 0 to MAX_INDEX."""
    index = record.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX):
        raise InputError(f"{where}: field index: {_number_text(index)} is not a whole number from 0 to {MAX_INDEX:,}")
    probs = record.get("probs")
    if not isinstance(probs, dict):
        return
    for layer, values in probs.items():
        if not isinstance(values, dict):
            continue
        for label, p in values.items():
            try:
                ok = not isinstance(p, bool) and isinstance(p, (int, float)) and 0.0 <= float(p) <= 1.0
            except OverflowError:
                ok = False
            if not ok:
                raise InputError(f"{where}: field probs.{layer}.{label}: {_number_text(p)} is not a probability "
                                 "(a number from 0 to 1)")


def _csv_number(text: str, where: str, field: str, whole: bool) -> float | int:
    if len(text) > _NUMBER_CHARS:
        raise InputError(f"{where}: field {field}: {_number_text(text)} is not a number warta writes")
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise InputError(f"{where}: field {field}: {text!r} is not {kind}") from None


def _csv_text(cell: str) -> str:
    """A text cell as written before formula escaping (warta.safe_io.csv_safe adds one leading apostrophe)."""
    from warta.safe_io import _FORMULA_START

    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a CSV label file as the records a JSONL line holds (probs nested, empty cells None)."""
    import csv

    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if not header:
                raise InputError(f"{path}: empty CSV file (no header row)")
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if len(row) != len(header):
                    raise InputError(f"{where}: {len(row)} cells, the header has {len(header)}")
                yield reader.line_num, _csv_record(header, row, where)
        except UnicodeDecodeError:
            raise InputError(f"{path}: not valid UTF-8") from None
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: unreadable CSV ({exc})") from None


def _csv_record(header: list[str], row: list[str], where: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    probs: dict[str, dict[str, float]] | None = None
    for column, cell in zip(header, row):
        if column.startswith("probs."):
            if "probs" not in record:
                record["probs"] = None  # key order as in JSON Lines: probs before model
            layer, _, label = column[len("probs."):].partition(".")
            if cell != "":
                probs = probs or {}
                probs.setdefault(layer, {})[label] = _csv_number(cell, where, column, whole=False)
        elif column == "index":
            record[column] = _csv_number(cell, where, column, whole=True) if cell != "" else None
        elif column in _LAYERS:
            record[column] = _csv_text(cell) if cell != "" else None
        else:
            record[_csv_text(column)] = _csv_text(cell)
    if "probs" in record:
        record["probs"] = probs
    return record
