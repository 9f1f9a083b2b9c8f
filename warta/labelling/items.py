"""The units of the `warta label` input walk and the options that shape it: Article or Problem, walk stats, run summary."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from warta.errors import WartaError
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES, Article

STDIN = "-"
STDIN_NAME = "<stdin>"
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TEXT_SUFFIXES = (".txt",)
# Longest id/outlet/title/url/date kept: each is repeated on every sentence of the article.
MAX_FIELD_CHARS = 1000


@dataclass(frozen=True)
class Problem:
    """An input unit that was skipped; `message` names the input (file or file:line), `source` the file."""

    message: str
    source: str = ""


Item = Union[Article, Problem]


@dataclass
class WalkStats:
    """What the walk saw besides units: files in folders that are not articles."""

    ignored_files: int = 0
    excluded_files: int = 0  # this run's own output files met in a walked folder


@dataclass(frozen=True)
class InputOptions:
    """Where articles get their outlet and metadata when the input does not say."""

    outlet: str | None = None
    manifest: Path | None = None
    # Files never read as input (the run's own output, so a rerun into a folder it walks does not label itself).
    exclude: frozenset[Path] = frozenset()
    # Largest article read: a .txt file, a JSONL line, a stdin article.
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES


@dataclass
class LabelSummary:
    """What a labelling run did, whichever engine ran it (counts include work done before a resume)."""

    out: Path
    format: str
    model_id: str
    engine: str = "local"
    units: int = 0
    articles: int = 0
    sentences: int = 0
    predicted: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored_files: int = 0
    dropped_lines: int = 0  # lines removed by cleaning (page furniture, duplicates)
    resumed_units: int = 0  # local engine: input units done before a resume
    shards: int = 0  # ray engine: shard files of the output folder
    resumed_shards: int = 0  # ray engine: shards complete from an earlier run
    ray_start_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0: every input labelled; 1: some inputs skipped (a run that labels nothing raises instead)."""
        return 1 if self.skipped else 0

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class UnitLedger:
    """A running content hash of the input units in walk order: what `--resume` verifies before it skips.

    Each unit adds its name (path, line, id base) and its bytes as read (a
    problem unit: its message). `digest_after(n)` is the hash of the first n
    units, recorded in the checkpoint; a resumed walk hashes the units it
    skips and refuses to go on when they differ from what was labelled.
    """

    def __init__(self, skip: int = 0, expected: str | None = None):
        self._hash = hashlib.sha256()
        self.skip = skip
        self.expected = expected
        self._after: deque[tuple[int, str]] = deque([(0, self._hash.hexdigest())])

    def add(self, position: int, name: str, data: bytes) -> None:
        name_bytes = name.encode("utf-8", "surrogateescape")
        self._hash.update(b"%d:%b%d:" % (len(name_bytes), name_bytes, len(data)))
        self._hash.update(data)
        if position + 1 >= self.skip:
            self._after.append((position + 1, self._hash.hexdigest()))
        if position + 1 == self.skip:
            self._check()

    def end(self, units: int) -> None:
        """The walk is over after `units` units: fewer than a resume skips is a change too."""
        if units < self.skip:
            raise WartaError(
                f"--resume: the inputs now hold {units} unit(s), fewer than the {self.skip} the interrupted run "
                "already labelled; resume with the same inputs, or use --force to start over"
            )

    def _check(self) -> None:
        if self.expected is not None and self._hash.hexdigest() != self.expected:
            raise WartaError(
                f"--resume: the first {self.skip} input unit(s) differ from what the interrupted run labelled "
                "(a file changed, was added, removed or renamed, or stdin differs); resume with the same inputs, "
                "or use --force to start over"
            )

    def digest_after(self, units: int) -> str:
        """The hash of the first `units` units (walked already); older entries are dropped."""
        if units == self.skip and self.expected is not None:  # nothing new since the resume point
            return self.expected
        while len(self._after) > 1 and self._after[1][0] <= units:
            self._after.popleft()
        at, digest = self._after[0]
        if at != units:
            raise ValueError(f"no input digest recorded after {units} units (walked: {at})")
        return digest
