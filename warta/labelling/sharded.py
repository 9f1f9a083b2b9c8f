"""Read a sharded output folder of `warta label --engine ray` as one stream of records.

`iter_records(path)` is `warta.jsonl.iter_jsonl` for a file and, for a folder
holding a ray-engine manifest.json, the records of every shard in shard
order (JSON Lines or Parquet), numbered 1, 2, ... across the folder. A
folder whose run is unfinished is an error (resume it first): a profile of
part of the input would look complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.jsonl import iter_jsonl
from warta.labelling.shard_folder import MANIFEST


def is_shard_folder(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def read_shard_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
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
    import pyarrow.parquet as pq

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
        raise InputError(f"{path}: a folder, but not a `warta label --engine ray` output (no {MANIFEST})")
    number = 0
    for shard in shard_files(path):
        records = _parquet_records(shard) if shard.suffix == ".parquet" else (obj for _, obj in iter_jsonl(shard))
        for record in records:
            number += 1
            yield number, record
