"""The output folder of `warta label --engine ray`: shard files, completion markers, manifest.json.

A shard is committed by writing its file through a temporary file and a
rename, then its marker `part-NNNNN.done` the same way: a marker always means
a whole shard. The marker records the run fingerprint, the file's size and
content hash, and a checksum of itself, so `--resume` keeps exactly the shards
of the same run that are intact and labels any other (edited, torn) again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from warta.errors import WartaError
from warta.jsonl import SHARD_MANIFEST
from warta.labelling.items import file_digest
from warta.labelling.shards import Plan

MANIFEST = SHARD_MANIFEST  # the name readers look for (warta.jsonl.read_label_records)
MANIFEST_VERSION = 1
SHARD_PREFIX = "part-"
MARKER_SUFFIX = ".done"
_MANIFEST_EVERY_SECONDS = 2.0


def shard_name(index: int, fmt: str) -> str:
    return f"{SHARD_PREFIX}{index:05d}.{fmt}"


def marker_name(index: int) -> str:
    return f"{SHARD_PREFIX}{index:05d}{MARKER_SUFFIX}"


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def complete_shards(out: Path, fingerprint: str, fmt: str, count: int) -> dict[int, dict[str, Any]]:
    """Shards whose marker is valid: unedited (checksum), same run fingerprint, whole numbers, and the shard
    file has the recorded size and content hash. Any other shard is labelled again."""
    done = {}
    for index in range(count):
        marker = read_json(out / marker_name(index))
        if not _valid_marker(marker, fingerprint):
            continue
        path = out / shard_name(index, fmt)
        if path.is_file() and path.stat().st_size == marker["bytes"] and file_digest(path) == marker["sha256"]:
            done[index] = marker
    return done


def _marker_checksum(marker: dict[str, Any]) -> str:
    body = {key: value for key, value in marker.items() if key != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _valid_marker(marker: Any, fingerprint: str) -> bool:
    if not isinstance(marker, dict) or marker.get("fingerprint") != fingerprint:
        return False
    if marker.get("checksum") != _marker_checksum(marker) or not isinstance(marker.get("skipped"), list):
        return False
    counts = [marker.get(key) for key in ("bytes", "units", "articles", "sentences", "predicted")]
    return all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)


def check_out(out: Path, manifest: dict[str, Any] | None, fingerprints: dict[str, str], resume: bool,
               force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise WartaError(f"{out}: is a file; --engine ray writes a folder of shards (--out DIR)")
    if manifest is None:
        if resume and out.is_dir() and any(out.iterdir()):
            raise WartaError(f"{out}: no readable {MANIFEST}, nothing to resume (use --force to start over)")
        if not force and out.is_dir() and any(p.name.startswith(SHARD_PREFIX) for p in out.iterdir()):
            raise WartaError(f"{out}: holds shard files but no {MANIFEST} (use --force to start over)")
        return
    if force:
        return
    if not resume:
        state = "complete" if manifest.get("status") == "complete" else "unfinished"
        raise WartaError(f"{out}: holds an {state} ray-engine run (use --resume to continue it, or --force to start over)")
    for key in ("model", "inputs", "options"):
        if manifest.get("fingerprints", {}).get(key) != fingerprints[key]:
            what = {"model": "another model", "inputs": "other inputs", "options": "other options"}[key]
            raise WartaError(f"{out}: was labelled with {what} than this run ({key} fingerprint differs); "
                             "resume with the same arguments, or use --force to start over")


def clear(out: Path) -> None:
    """--force: remove this engine's files only (shards, markers, temporaries, manifest)."""
    for path in out.iterdir():
        if path.is_file() and (path.name.startswith(SHARD_PREFIX) or path.name.startswith(MANIFEST)):
            path.unlink()


class ManifestBook:
    def __init__(self, out: Path, head: dict[str, Any], plan: Plan, fmt: str):
        self.path = out / MANIFEST
        self.head = head
        self.fmt = fmt
        self.shards = [{"shard": i, "file": shard_name(i, fmt), "units": sum(s.units for s in shard),
                        "complete": False} for i, shard in enumerate(plan.shards)]
        self.last = 0.0

    def mark(self, index: int, marker: dict[str, Any]) -> None:
        self.shards[index].update(complete=True, **{k: marker[k] for k in ("articles", "sentences", "predicted")},
                                  skipped=len(marker["skipped"]))

    def write(self, status: str, extra: dict[str, Any] | None = None, force: bool = True) -> None:
        now = time.monotonic()
        if not force and now - self.last < _MANIFEST_EVERY_SECONDS:
            return
        self.last = now
        body = {**self.head, "status": status, **(extra or {}), "shards": self.shards}
        atomic_write(self.path, (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


def commit_shard(out: Path, index: int, fmt: str, data: bytes, meta: dict[str, Any], run_fingerprint: str,
                  labels: dict[str, list[str]]) -> dict[str, Any]:
    """Write a shard's file, then its marker (both atomically): a marker always means a whole shard."""
    path = out / shard_name(index, fmt)
    if fmt == "parquet":
        from warta.labelling.output import jsonl_to_parquet

        staging = out / f"{SHARD_PREFIX}{index:05d}.jsonl.tmp"
        staging.write_bytes(data)
        tmp = path.with_name(path.name + ".tmp")
        jsonl_to_parquet(staging, tmp, labels)
        staging.unlink()
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    else:
        atomic_write(path, data)
    marker = {"shard": index, "fingerprint": run_fingerprint, "file": path.name, "bytes": path.stat().st_size,
              "sha256": file_digest(path), "units": meta["units"], "articles": meta["articles"],
              "sentences": meta["sentences"], "predicted": meta["predicted"], "skipped": meta["problems"],
              "notes": meta["notes"]}
    marker["checksum"] = _marker_checksum(marker)
    atomic_write(out / marker_name(index), json.dumps(marker, ensure_ascii=False).encode("utf-8"))
    return marker
