"""The units of the `warta label` input walk and the options that shape it: Article or Problem, walk stats, run summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

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
