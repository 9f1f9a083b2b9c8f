"""Walk `warta label` inputs lazily: files, folders and stdin become articles or problems.

Every input unit has a position in one deterministic stream: a `.txt` file is
one unit, each non-blank line of a `.jsonl` file is one unit, and a file that
cannot be used at all (missing, empty, binary, unreadable) is one unit. A unit
is either an `Article` or a `Problem` (one line naming the input and what is
wrong with it); problems never stop the walk. Positions are what `--resume`
counts: `iter_items(..., skip=n)` goes past the first n units without reading
or parsing them where it can (a skipped `.txt` file is not even opened).

Outlet, in order of precedence: the JSONL record's `outlet`, `--outlet`, the
manifest row of the file, the name of the file's parent folder.

Units and options: warta.labelling.items; folder walk, lines and JSONL records:
warta.labelling.reading. This module imports no model code: it runs in the
preparation workers.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from warta.errors import InputError
from warta.labelling.items import (
    JSONL_SUFFIXES,
    STDIN,
    STDIN_NAME,
    InputOptions,
    Item,
    Problem,
    UnitLedger,
    WalkStats,
)
from warta.labelling.reading import (
    BINARY_SNIFF_BYTES,
    ManifestIndex,
    folder_outlet,
    parse_record,
    utf8_lines,
    walk_folder,
)
from warta.text.corpus import UNKNOWN_OUTLET, Article, UniqueIds, decoding_note, read_article_bytes
from warta.text.decode import decode_bytes
from warta.text.sanitise import clean_field


class Walker:
    """Numbers every input unit in one stream and builds the units from position `skip` on (also used by shards)."""

    def __init__(self, options: InputOptions, skip: int, stats: WalkStats, stdin: BinaryIO | None,
                 ledger: UnitLedger | None = None):
        self.options = options
        self.skip = skip
        self.ledger = ledger
        self.stats = stats
        self.stdin = stdin
        self.position = 0
        self.manifest = ManifestIndex(options.manifest) if options.manifest else None
        self.ids = UniqueIds()

    # Each unit goes through _emit, which numbers it and drops it while skipping.
    def walk(self, inputs: Sequence[str | Path]) -> Iterator[tuple[int, Item]]:
        yield from self._walk(inputs)
        if self.ledger is not None:
            self.ledger.end(self.position)

    def _walk(self, inputs: Sequence[str | Path]) -> Iterator[tuple[int, Item]]:
        for given in inputs:
            if str(given) == STDIN:
                yield from self._stdin()
                continue
            if str(given) == "":  # an unset shell variable: never "the current folder"
                yield from self._unit(lambda: Problem("'': empty input path", ""))
                continue
            path = Path(given)
            if path.is_dir():
                for found in walk_folder(path, self.stats):
                    if isinstance(found, Problem):
                        yield from self._unit(lambda found=found: found)
                    else:
                        # Ids relative to the folder walked, so a/1.txt and b/1.txt stay apart.
                        yield from self._file(found, found.relative_to(path))
            elif path.exists():
                yield from self._file(path)
            else:
                yield from self._unit(lambda path=path: Problem(f"{path}: not found", str(path)))

    def _unit(self, make, claim=None, data: bytes | None = None, name: str = "") -> Iterator[tuple[int, Item]]:
        """Number a unit; build it (make) when due. `claim` runs for skipped units too: it
        reserves the unit's article id, so ids are made unique the same way on --resume.

        `data`, `name`: the unit's bytes as read and what names it, for the ledger; a unit
        without data is a problem, known by its message (make is then called either way)."""
        position = self.position
        self.position += 1
        item = None
        if self.ledger is not None:
            if data is None:
                item = make()
                data = str(getattr(item, "message", "")).encode("utf-8", "surrogateescape")
            self.ledger.add(position, name, data)
        if position >= self.skip:
            yield position, item if item is not None else make()
        elif claim is not None:
            claim()

    def _unique(self, article: Item, where: str) -> Item:
        if isinstance(article, Article):
            article.article_id, renamed = self.ids.claim(article.article_id)
            if renamed:
                base = article.article_id.rsplit("#", 1)[0]
                article.notes.append(f"{where}: article id {base!r} already used; this article is {article.article_id!r}")
        return article

    def _file(self, path: Path, relative: Path | None = None) -> Iterator[tuple[int, Item]]:
        """One input file; article ids derive from its path relative to the folder walked, if any."""
        if self.options.exclude and path.resolve() in self.options.exclude:
            self.stats.excluded_files += 1
            return
        relative = relative or Path(path.name)
        if path.name.lower().endswith(JSONL_SUFFIXES):
            yield from self._jsonl_file(path, relative.as_posix())  # ids "batch.jsonl:<line>"
            return
        stem = relative.with_suffix("").as_posix()
        data = self._text_bytes(path)
        if isinstance(data, Problem):
            yield from self._unit(lambda: data)
            return
        yield from self._unit(
            lambda: self._unique(self._text_article_from(data, path, str(path), stem), str(path)),
            claim=lambda: self.ids.claim(self._text_id(path, stem)),
            data=data, name=f"{path}\0{stem}",
        )

    def _text_id(self, path: Path, stem: str) -> str:
        row = self.manifest.lookup(path) if self.manifest else None
        return clean_field((row or {}).get("article_id") or "") or stem

    def _defaults(self, path: Path | None) -> tuple[str, dict[str, str] | None]:
        """(outlet, manifest row) for records of `path` that do not name their outlet."""
        row = self.manifest.lookup(path) if self.manifest and path is not None else None
        if self.options.outlet:
            return self.options.outlet, row
        if row and row.get("outlet"):
            return row["outlet"], row
        return (folder_outlet(path) if path is not None else UNKNOWN_OUTLET), row

    def _text_bytes(self, path: Path) -> bytes | Problem:
        try:
            # A FIFO or device named on the command line is read (process substitution), capped.
            return read_article_bytes(path, self.options.max_article_bytes, regular_only=False)
        except InputError as exc:
            return Problem(str(exc), str(path))

    def _text_article(self, path: Path, name: str) -> Item:
        data = self._text_bytes(path)
        return data if isinstance(data, Problem) else self._text_article_from(data, path, str(path), name)

    def _text_article_from(self, data: bytes, path: Path | None, source: str, stem: str) -> Item:
        try:
            decoded = decode_bytes(data, source)
        except InputError as exc:
            return Problem(str(exc), source)
        text = decoded.text
        note = decoding_note(source, decoded)
        outlet, row = self._defaults(path)
        row = row or {}
        return Article(
            notes=[note] if note else [],
            article_id=clean_field(row.get("article_id") or "") or stem,
            text=text,
            outlet=outlet,
            title=row.get("title", ""),
            url=row.get("url", ""),
            date=row.get("date", ""),
            source=source,
        )

    def _jsonl_file(self, path: Path, name: str) -> Iterator[tuple[int, Item]]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            problem = Problem(f"{path}: cannot read ({exc.strerror})", str(path))
            yield from self._unit(lambda: problem)
            return
        with handle:
            yield from self._jsonl_lines(utf8_lines(handle, self.options.max_article_bytes), path, str(path), name)

    def _jsonl_lines(
        self, lines: Iterator[bytes], path: Path | None, source: str, id_prefix: str
    ) -> Iterator[tuple[int, Item]]:
        """One unit per non-blank line; an empty or binary stream is a single unit."""
        head: list[bytes | None] = []
        size = 0
        try:
            for line in lines:
                head.append(line)
                size += len(line) if line is not None else BINARY_SNIFF_BYTES
                if size >= BINARY_SNIFF_BYTES:
                    break
        except OSError as exc:
            problem = Problem(f"{source}: cannot read ({exc.strerror})", source)
            yield from self._unit(lambda: problem)
            return
        if any(line is not None and b"\x00" in line for line in head):
            yield from self._unit(lambda: Problem(f"{source}: binary file (contains NUL bytes), not JSON Lines", source))
            return
        outlet, _ = self._defaults(path)
        seen_any = False
        cap = self.options.max_article_bytes
        lineno = 0
        try:
            for lineno, raw in enumerate(itertools.chain(head, lines), start=1):
                if raw is None:
                    seen_any = True
                    problem = Problem(f"{source}:{lineno}: line over the article size cap of {cap:,} bytes "
                                      "(--max-article-bytes); skipped", source)
                    yield from self._unit(lambda problem=problem: problem)
                    continue
                if not raw.strip():
                    continue
                seen_any = True

                def make(raw=raw, lineno=lineno):
                    return self._unique(parse_record(raw, lineno, source, id_prefix, outlet), f"{source}:{lineno}")

                def claim(raw=raw, lineno=lineno):
                    record = parse_record(raw, lineno, source, id_prefix, outlet)
                    if isinstance(record, Article):
                        self.ids.claim(record.article_id)

                yield from self._unit(make, claim, data=raw, name=f"{source}:{lineno}\0{id_prefix}")
        except OSError as exc:
            problem = Problem(f"{source}:{lineno + 1}: cannot read ({exc.strerror})", source)
            yield from self._unit(lambda: problem)
            return
        if not seen_any:
            yield from self._unit(lambda: Problem(f"{source}: empty file", source))

    def _stdin(self) -> Iterator[tuple[int, Item]]:
        """stdin is JSON Lines when its first non-blank byte is '{', else one plain-text article."""
        handle = self.stdin if self.stdin is not None else getattr(sys.stdin, "buffer", None)
        if handle is None:  # started with stdin closed (`<&-`)
            yield from self._unit(lambda: Problem(f"{STDIN_NAME}: standard input is closed; nothing to read", STDIN_NAME))
            return
        cap = self.options.max_article_bytes
        try:
            lines = utf8_lines(handle, cap)
            head: list[bytes | None] = []
            for line in lines:
                head.append(line)
                if line is None or line.strip():
                    break
        except (OSError, ValueError) as exc:  # EBADF, or a closed file object
            problem = Problem(f"{STDIN_NAME}: cannot read ({getattr(exc, 'strerror', None) or exc})", STDIN_NAME)
            yield from self._unit(lambda: problem)
            return
        if all(line is not None for line in head) and b"".join(head).lstrip().startswith(b"{"):
            yield from self._jsonl_lines(itertools.chain(head, lines), None, STDIN_NAME, STDIN_NAME)
        else:
            data = self._stdin_bytes(head, lines, cap)
            if isinstance(data, Problem):
                yield from self._unit(lambda: data)
                return
            yield from self._unit(
                lambda: self._unique(self._text_article_from(data, None, STDIN_NAME, "stdin"), STDIN_NAME),
                claim=lambda: self.ids.claim("stdin"), data=data, name=STDIN_NAME,
            )

    def _stdin_bytes(self, head: list[bytes | None], lines: Iterator[bytes | None], cap: int) -> bytes | Problem:
        """The rest of stdin (one plain-text article), at most `cap` bytes."""
        size = 0
        chunks: list[bytes] = []
        try:
            for line in itertools.chain(head, lines):
                size += len(line) if line is not None else cap + 1
                if size > cap:
                    return Problem(f"{STDIN_NAME}: over the article size cap of {cap:,} bytes (--max-article-bytes)", STDIN_NAME)
                chunks.append(line)
        except OSError as exc:
            return Problem(f"{STDIN_NAME}: cannot read ({exc.strerror})", STDIN_NAME)
        return b"".join(chunks)


def iter_items(
    inputs: Sequence[str | Path],
    options: InputOptions | None = None,
    skip: int = 0,
    stats: WalkStats | None = None,
    stdin: BinaryIO | None = None,
    ledger: UnitLedger | None = None,
) -> Iterator[tuple[int, Item]]:
    """(position, Article or Problem) for every input unit from position `skip` on, lazily, in input order.

    A bad manifest is the one error raised (InputError) rather than reported:
    without it no outlet can be trusted. With a `ledger`, every unit (skipped
    ones too) is hashed as read, and skipped units that differ from the
    ledger's expectation raise WartaError before any later unit is yielded.
    """
    walker = Walker(options or InputOptions(), skip, stats if stats is not None else WalkStats(), stdin, ledger)
    return walker.walk(inputs)
