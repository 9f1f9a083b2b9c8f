"""Articles in, sentence records out: the one text path for seeds and new articles."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.records import Sentence, make_sentence
from warta.safe_io import TooLarge, read_capped
from warta.text.clean import Dropped, structure_article
from warta.text.decode import DecodedText, clean_lines, decode_bytes, normalised_key
from warta.text.sanitise import html_to_text, looks_like_html
from warta.text.segment import split_paragraphs

_HAS_LETTER = re.compile(r"[^\W\d_]")
MANIFEST_FIELDS = ("article_id", "file", "outlet", "url", "title", "date")
UNKNOWN_OUTLET = "unknown"
# Largest article read (a .txt file, a JSONL line, stdin): news articles are
# tens of kilobytes; this stops /dev/zero or a mislabelled dump. --max-article-bytes.
DEFAULT_MAX_ARTICLE_BYTES = 5_000_000
# An article losing more than this share of its characters to cleaning gets a note.
DROPPED_NOTE_SHARE = 0.5


@dataclass
class Article:
    """One article's raw text and what is known about it."""

    article_id: str
    text: str
    outlet: str = UNKNOWN_OUTLET
    title: str = ""
    url: str = ""
    date: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)


def sentence_id(article_id: str, index: int, text: str) -> str:
    """Stable id: article, position, and a short hash of the normalised text."""
    digest = hashlib.sha1(normalised_key(text).encode("utf-8")).hexdigest()[:8]
    return f"{article_id}-{index:03d}-{digest}"


def article_sentences(article: Article, dropped: list[Dropped] | None = None) -> list[Sentence]:
    """Clean, de-duplicate and segment one article into sentence records.

    Titles and headings are one unit each; body paragraphs are split into
    sentences. Dropped lines are appended to `dropped` when given.
    """
    where = article.source or article.article_id
    text = article.text
    if looks_like_html(text):
        text = html_to_text(text)
        article.notes.append(f"{where}: HTML page, its text extracted (tags, scripts and styles removed)")
    lines = clean_lines(text)
    paragraphs, removed = structure_article(lines, title=article.title or None)
    if dropped is not None:
        dropped.extend(removed)
    note = dropped_note(where, lines, removed)
    if note:
        article.notes.append(note)
    body_sentences = iter(split_paragraphs([p.text for p in paragraphs if p.role == "body"]))
    records: list[Sentence] = []
    for paragraph in paragraphs:
        units = next(body_sentences) if paragraph.role == "body" else [paragraph.text]
        for text in units:
            if not _HAS_LETTER.search(text):
                continue
            index = len(records)
            records.append(
                make_sentence(
                    id=sentence_id(article.article_id, index, text),
                    article_id=article.article_id,
                    outlet=article.outlet,
                    role=paragraph.role,
                    index=index,
                    text=text,
                )
            )
    return records


def dropped_note(where: str, lines: list[str], removed: list[Dropped]) -> str | None:
    """A note when cleaning removed most of an article (so a loss is never silent), else None."""
    if not removed:
        return None
    lost = sum(len(d.text) for d in removed)
    total = sum(len(line) for line in lines) or 1
    if lost / total <= DROPPED_NOTE_SHARE:
        return None
    reasons = Counter(d.reason for d in removed)
    detail = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common(3))
    return (f"{where}: cleaning dropped {len(removed)} of {len(lines)} lines ({lost / total:.0%} of the text; "
            f"{detail}); check that this is page furniture")


class UniqueIds:
    """Article ids made unique at input time: a repeated id becomes ID#2, ID#3, ... with a note."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def claim(self, article_id: str) -> tuple[str, bool]:
        """(the id to use, whether it was renamed)."""
        if article_id not in self.seen:
            self.seen[article_id] = 1
            return article_id, False
        n = self.seen[article_id]
        while True:
            n += 1
            candidate = f"{article_id}#{n}"
            if candidate not in self.seen:
                break
        self.seen[article_id] = n
        self.seen[candidate] = 1
        return candidate, True


# --- reading articles --------------------------------------------------------


def decoding_note(path: Path | str, decoded: DecodedText) -> str | None:
    """A one-line warning when a file was not UTF-8 and a fallback decoded it."""
    if decoded.encoding in ("utf-8", "utf-16"):
        return None
    return f"{path}: not valid UTF-8, decoded as {decoded.encoding}"


def read_article_bytes(path: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, regular_only: bool = True) -> bytes:
    """A file's bytes, at most `max_bytes`; InputError names the file (missing, not a file, too large)."""
    import os
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory")
    if regular_only and not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file ({file_kind(st.st_mode)}), not read")
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raise InputError(f"{path}: {st.st_size:,} bytes, over the article size cap of {max_bytes:,} (--max-article-bytes)")
    try:
        with path.open("rb") as handle:
            return read_capped(handle, max_bytes)
    except TooLarge:
        raise InputError(f"{path}: over the article size cap of {max_bytes:,} bytes (--max-article-bytes)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def file_kind(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def read_decoded(path: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> DecodedText:
    """Read and decode a text file, keeping which encoding worked."""
    return decode_bytes(read_article_bytes(path, max_bytes), str(path))


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Read a manifest CSV (article_id, file, outlet, url, title, date)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"article_id", "file"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(f"{path}: manifest lacks column(s) {', '.join(sorted(missing))}")
            rows = [{key: (value or "").strip() for key, value in row.items() if key} for row in reader]
    except FileNotFoundError:
        raise InputError(f"{path}: manifest not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc})") from None
    return rows


def default_seeds_dir() -> Path:
    """The bundled seeds folder (package data in a wheel, the repository's `seeds/` in a checkout)."""
    from warta.resources import bundled_dir

    return bundled_dir("seeds")


def seed_article_files(seeds_dir: Path, manifest: Path | None = None) -> list[tuple[dict[str, str], Path]]:
    """(manifest row, article path) of every seed article, checked before any work.

    A manifest given explicitly must exist (a mistyped --manifest is an error, never
    a silent fall-back to "every .txt, outlet unknown"); without one, SEEDS/manifest.csv
    is used when present, else every .txt in the folder.
    """
    if manifest is not None:
        if not Path(manifest).is_file():
            raise InputError(f"{manifest}: manifest not found" if not Path(manifest).exists()
                             else f"{manifest}: not a file (--manifest names a CSV file)")
    elif not seeds_dir.is_dir():
        raise InputError(f"{seeds_dir}: seeds folder not found" if not seeds_dir.exists()
                         else f"{seeds_dir}: not a folder (--seeds names a folder of .txt articles)")
    manifest = manifest or seeds_dir / "manifest.csv"
    if manifest.exists():
        return [(row, manifest.parent / row["file"]) for row in read_manifest(manifest)]
    return [({"article_id": p.stem, "file": p.name}, p) for p in sorted(seeds_dir.glob("*.txt"))]


def iter_seed_articles(
    seeds_dir: Path,
    manifest: Path | None = None,
    on_error: Callable[[InputError], None] | None = None,
    max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
) -> Iterator[Article]:
    """Articles listed in the manifest (or every .txt in the folder, outlet unknown).

    A file that cannot be read (missing, not a regular file, over `max_bytes`,
    undecodable) is passed to `on_error` (or raised without one) and the rest
    go on. A repeated article id is made unique (ID#2) with a note.
    """
    from warta.text.sanitise import clean_field

    ids = UniqueIds()
    for row, path in seed_article_files(seeds_dir, manifest):
        try:
            decoded = read_decoded(path, max_bytes)
        except InputError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        note = decoding_note(path, decoded)
        notes = [note] if note else []
        article_id, renamed = ids.claim(clean_field(row["article_id"]) or path.stem)
        if renamed:
            notes.append(f"{path}: article id {row['article_id']!r} already used; this article is {article_id!r}")
        yield Article(
            article_id=article_id,
            text=decoded.text,
            notes=notes,
            outlet=clean_field(row.get("outlet") or "") or UNKNOWN_OUTLET,
            title=row.get("title", ""),
            url=row.get("url", ""),
            date=row.get("date", ""),
            source=str(path),
        )


@dataclass
class BuildReport:
    """What `build_corpus` did: counts and the inputs it had to skip."""

    articles: int = 0
    sentences: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dropped_lines: int = 0


def iter_corpus(
    articles: Iterable[Article], report: BuildReport, on_error: Callable[[InputError], None] | None = None
) -> Iterator[Sentence]:
    """Sentence records of each article; an article with no sentences is an error, not a crash."""
    for article in articles:
        dropped: list[Dropped] = []
        records = article_sentences(article, dropped)
        report.warnings.extend(article.notes)
        report.dropped_lines += len(dropped)
        if not any(r["role"] != "heading" for r in records):
            exc = InputError(f"{article.source or article.article_id}: no sentences found after cleaning")
            report.errors.append(str(exc))
            if on_error:
                on_error(exc)
            continue
        report.articles += 1
        report.sentences += len(records)
        yield from records


def build_corpus(
    seeds_dir: Path,
    out: Path,
    manifest: Path | None = None,
    on_error: Callable[[InputError], None] | None = None,
    max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    force: bool = False,
) -> BuildReport:
    """Write the sentence table of every seed article to `out` (JSONL).

    `out` follows warta.safe_io.claim_output: an existing file needs `force`; the
    manifest or an article file is refused even with it.
    """
    from warta.jsonl import write_jsonl
    from warta.safe_io import claim_output

    if max_bytes < 1:
        raise InputError(f"--max-article-bytes {max_bytes}: must be at least 1")
    files = seed_article_files(seeds_dir, manifest)
    default_manifest = seeds_dir / "manifest.csv"
    claim_output(out, force=force, inputs=[manifest or default_manifest, *(path for _, path in files)])
    report = BuildReport()

    def record_error(exc: InputError) -> None:
        report.errors.append(str(exc))
        if on_error:
            on_error(exc)

    articles = iter_seed_articles(seeds_dir, manifest, on_error=record_error, max_bytes=max_bytes)
    records = list(iter_corpus(articles, report, on_error=on_error))
    if not records:
        problems = "; ".join(report.errors) or "no articles found"
        raise InputError(f"{seeds_dir}: nothing could be processed ({problems})")
    write_jsonl(out, records)
    return report


def corpus_stats(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts per outlet and role, articles per outlet, and label counts where present."""
    from warta.schema import LAYERS

    by_outlet: dict[str, Counter] = {}
    articles: dict[str, set] = {}
    labels: dict[str, dict[str, Counter]] = {layer: {} for layer in LAYERS}
    total = Counter()
    for record in records:
        # Values from user files may be any JSON (a list as outlet, a number as label): counted by their text.
        outlet = str(record.get("outlet", UNKNOWN_OUTLET))
        role = str(record.get("role", "body"))
        by_outlet.setdefault(outlet, Counter())[role] += 1
        articles.setdefault(outlet, set()).add(str(record.get("article_id")))
        total[role] += 1
        for layer in LAYERS:
            value = record.get(layer)
            if value is not None:
                labels[layer].setdefault(outlet, Counter())[str(value)] += 1
    return {
        "outlets": {
            outlet: {"articles": len(articles[outlet]), "roles": dict(counts), "sentences": sum(counts.values())}
            for outlet, counts in sorted(by_outlet.items())
        },
        "total": {"articles": sum(len(a) for a in articles.values()), "roles": dict(total), "sentences": sum(total.values())},
        "labels": {
            layer: {outlet: dict(counts) for outlet, counts in sorted(per_outlet.items())}
            for layer, per_outlet in labels.items()
            if per_outlet
        },
    }
