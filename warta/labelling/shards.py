"""Plan `warta label --engine ray` inputs into fixed-size shards, and read one shard's units back.

The local engine numbers input units in one deterministic stream (see
warta.labelling.inputs): a `.txt` file is one unit, each non-blank line of a
`.jsonl` file is one unit, a file that cannot be used at all is one unit.
The planner walks the same stream in the driver without reading article text
(a `.txt` file is not opened; a `.jsonl` file is scanned for line breaks only)
and cuts it into shards of `shard_units` consecutive units. A shard is a list
of segments, each a run of units inside one file, with the byte offset and
line number where it starts, so a worker reads its shard directly (no
re-walking from the top). Shard boundaries depend on the inputs alone: a
resumed run plans the same shards.

A worker turns a segment back into units with the local engine's own walker
(`Walker`): same article ids, outlets, metadata and problem messages.
Parquet files (a row is a unit, like a JSONL line) are read here too; the
local engine does not read Parquet.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from warta.errors import WartaError
from warta.labelling.inputs import Walker
from warta.labelling.items import (
    JSONL_SUFFIXES,
    STDIN,
    TEXT_SUFFIXES,
    InputOptions,
    Item,
    Problem,
    WalkStats,
    file_digest,
)
from warta.labelling.reading import BINARY_SNIFF_BYTES, parse_record, walk_folder
from warta.text.corpus import UniqueIds

PARQUET_SUFFIXES = (".parquet", ".pq")
DEFAULT_SHARD_UNITS = 500
# The local walker's folder order and suffixes, plus Parquet; any file kind (as before: not only regular files).
_SHARD_SUFFIXES = TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES


@dataclass
class Segment:
    """`units` consecutive units of one file (kind txt, jsonl, parquet) or one problem found while planning."""

    kind: str
    path: str = ""
    name: str = ""  # id base: the path relative to the folder walked (as the local walker names it)
    units: int = 1
    offset: int = 0  # jsonl: byte offset of the first line; parquet: first row
    lineno: int = 0  # jsonl: line number of the line before `offset`
    message: str = ""  # kind "problem"


@dataclass
class Plan:
    """Shards (lists of segments) in input order, and what the walk ignored.

    `renames`: unit position -> (article id, note) for each article whose id an earlier unit already
    used, made unique over the whole input stream as the local walker does (warta.text.corpus.UniqueIds),
    so no two shards write the same article or sentence id.
    """

    shards: list[list[Segment]] = field(default_factory=list)
    units: int = 0
    ignored_files: int = 0
    renames: dict[int, tuple[str, str]] = field(default_factory=dict)

    def shard_renames(self, index: int) -> dict[int, tuple[str, str]]:
        """The renames of one shard, by unit position within the shard."""
        if not self.renames:
            return {}
        if getattr(self, "_starts", None) is None:  # first unit of every shard, and the renamed positions, once
            self._starts = [0, *itertools.accumulate(sum(seg.units for seg in shard) for shard in self.shards)]
            self._renamed = sorted(self.renames)
        start, end = self._starts[index], self._starts[index + 1]
        found = self._renamed[bisect.bisect_left(self._renamed, start):bisect.bisect_left(self._renamed, end)]
        return {at - start: self.renames[at] for at in found}

    def fingerprint(self, extra: dict[str, Any]) -> str:
        """A hash of every planned segment, the content of every file planned, and `extra`.

        Content, not size and time: a file rewritten in place (same size, time reset) is another input.
        A FIFO or device is not read here (it could block or never end); its kind stands in.
        """
        digest = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
        seen: set[str] = set()
        for shard in self.shards:
            for seg in shard:
                digest.update(json.dumps(asdict(seg), sort_keys=True).encode())
                if seg.path and seg.path not in seen:
                    seen.add(seg.path)
                    digest.update(_content_digest(seg.path).encode())
        return digest.hexdigest()[:32]


def _content_digest(path: str) -> str:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not a regular file"
        return file_digest(path)
    except OSError:
        return "unreadable"


def _jsonl_starts(path: Path) -> Iterator[tuple[int, int]] | None:
    """(byte offset, line number before it) of every non-blank line; None when the file is one problem unit
    (unreadable, binary by the local walker's sniff, or without any non-blank line)."""
    try:
        handle = path.open("rb")
    except OSError:
        return None
    with handle:
        size = 0
        for line in handle:
            if b"\x00" in line:
                return None
            size += len(line)
            if size >= BINARY_SNIFF_BYTES:
                break
        handle.seek(0)
        starts = []
        offset = 0
        for lineno, line in enumerate(handle):
            if line.strip():
                starts.append((offset, lineno))
            offset += len(line)
    return iter(starts) if starts else None


class _Planner:
    def __init__(self, options: InputOptions, shard_units: int, skip_dirs: set[Path]):
        self.walker = Walker(options, 0, WalkStats(), None)
        self.ids = UniqueIds()
        self.options = options
        self.shard_units = shard_units
        self.skip_dirs = skip_dirs
        self.plan = Plan()
        self.current: list[Segment] = []
        self.filled = 0

    def _add(self, segment: Segment, starts: Iterator[tuple[int, int]] | None = None) -> None:
        """Add a segment, splitting it at shard boundaries (jsonl/parquet segments span many units)."""
        remaining = segment.units
        first_row = segment.offset
        while remaining:
            take = min(remaining, self.shard_units - self.filled)
            part = Segment(**{**asdict(segment), "units": take})
            if segment.kind == "jsonl":
                part.offset, part.lineno = next(starts)
                for _ in range(take - 1):
                    next(starts)
            elif segment.kind == "parquet":
                part.offset = first_row
                first_row += take
            self.current.append(part)
            self.filled += take
            self.plan.units += take
            remaining -= take
            if self.filled == self.shard_units:
                self.plan.shards.append(self.current)
                self.current, self.filled = [], 0

    def _problem(self, message: str) -> None:
        self._add(Segment("problem", message=message))

    def file(self, path: Path, name: str) -> None:
        if path.resolve() in self.options.exclude or any(p in self.skip_dirs for p in path.resolve().parents):
            return
        lowered = path.name.lower()
        if lowered.endswith(JSONL_SUFFIXES):
            starts = _jsonl_starts(path)
            if starts is None:  # the local walker turns such a file into exactly one problem unit
                (_, problem), = self.walker._jsonl_file(path, name)
                self._problem(problem.message)
                return
            starts = list(starts)
            self._claim_jsonl(path, name, starts)
            self._add(Segment("jsonl", str(path), name, len(starts)), iter(starts))
        elif lowered.endswith(PARQUET_SUFFIXES):
            try:
                import pyarrow.parquet as pq

                rows = pq.ParquetFile(path).metadata.num_rows
            except Exception as exc:  # noqa: BLE001 (any unreadable Parquet file is one problem unit)
                self._problem(f"{path}: cannot read as Parquet ({type(exc).__name__})")
                return
            if rows == 0:
                self._problem(f"{path}: empty file")
                return
            segment = Segment("parquet", str(path), name, rows)
            self._claim_all(self.plan.units, read_segment(segment, self.walker))
            self._add(segment)
        else:
            stem = Path(name).with_suffix("").as_posix()
            # Read here like the local walker reads it: an unreadable or binary file claims no id.
            self._claim_all(self.plan.units, iter([self.walker._text_article(path, stem)]))
            self._add(Segment("txt", str(path), stem))

    def _claim(self, position: int, article_id: str, where: str) -> None:
        """Reserve an article id in stream order; a repeated one is renamed (with the local walker's note)."""
        final, renamed = self.ids.claim(article_id)
        if renamed:
            base = final.rsplit("#", 1)[0]
            self.plan.renames[position] = (final, f"{where}: article id {base!r} already used; this article is {final!r}")

    def _claim_all(self, position: int, items: Iterator[Item]) -> None:
        for offset, item in enumerate(items):
            if not isinstance(item, Problem):
                self._claim(position + offset, item.article_id, item.source)

    def _claim_jsonl(self, path: Path, name: str, starts: list[tuple[int, int]]) -> None:
        segment = Segment("jsonl", str(path), name, len(starts), *(starts[0] if starts else (0, 0)))
        self._claim_all(self.plan.units, read_segment(segment, self.walker))

    def walk(self, inputs: Sequence[str | Path]) -> Plan:
        stats = WalkStats()
        for given in inputs:
            if str(given) == STDIN:
                raise WartaError("--engine ray reads files and folders, not stdin (-)")
            path = Path(given)
            if path.is_dir():
                for found in walk_folder(path, stats, _SHARD_SUFFIXES, self.skip_dirs, regular_only=False):
                    if isinstance(found, Problem):
                        self._problem(found.message)
                    else:
                        self.file(found, found.relative_to(path).as_posix())
            elif path.exists():
                self.file(path, path.name)
            else:
                self._problem(f"{path}: not found")
        if self.current:
            self.plan.shards.append(self.current)
        self.plan.ignored_files = stats.ignored_files
        return self.plan


def plan_shards(
    inputs: Sequence[str | Path], options: InputOptions, shard_units: int = DEFAULT_SHARD_UNITS,
    skip_dirs: Sequence[Path] = (),
) -> Plan:
    """Cut the input stream into shards of `shard_units` units; nothing under `skip_dirs` is read."""
    if shard_units < 1:
        raise WartaError(f"--shard-units {shard_units}: must be at least 1")
    return _Planner(options, shard_units, {Path(p).resolve() for p in skip_dirs}).walk(inputs)


def read_segment(segment: Segment, walker: Walker) -> Iterator[Item]:
    """The units of one segment, made by the local engine's walker."""
    if segment.kind == "problem":
        yield Problem(segment.message, segment.message.split(": ", 1)[0])
        return
    path = Path(segment.path)
    source = str(path)
    if segment.kind == "txt":
        yield walker._text_article(path, segment.name)
        return
    outlet, _ = walker._defaults(path)
    if segment.kind == "jsonl":
        with path.open("rb") as handle:
            handle.seek(segment.offset)
            lineno, done = segment.lineno, 0
            for raw in handle:
                lineno += 1
                if not raw.strip():
                    continue
                yield parse_record(raw, lineno, source, segment.name, outlet)
                done += 1
                if done == segment.units:
                    return
        return
    yield from _parquet_units(segment, walker, source, outlet)


def _parquet_units(segment: Segment, walker: Walker, source: str, outlet: str) -> Iterator[Item]:
    """Rows offset .. offset+units of a Parquet file, read by row group, each handled like a JSONL record."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(segment.path)
    start, end = segment.offset, segment.offset + segment.units
    first = 0
    for group in range(parquet.num_row_groups):
        count = parquet.metadata.row_group(group).num_rows
        if first + count > start and first < end:
            rows = parquet.read_row_group(group).to_pylist()
            for i in range(max(start, first), min(end, first + count)):
                raw = json.dumps(rows[i - first], ensure_ascii=False, default=str).encode("utf-8")
                yield parse_record(raw, i + 1, source, segment.name, outlet)
        first += count
        if first >= end:
            return


def shard_items(segments: Sequence[Segment], options: InputOptions,
                renames: dict[int, tuple[str, str]] | None = None) -> Iterator[Item]:
    """Every unit of a shard, in input order; `renames` (Plan.shard_renames) applied."""
    walker = Walker(options, 0, WalkStats(), None)
    position = 0
    for segment in segments:
        for item in read_segment(segment, walker):
            if renames and position in renames and not isinstance(item, Problem):
                item.article_id, note = renames[position]
                item.notes.append(note)
            position += 1
            yield item
