"""From the lines of a web page to the article's paragraphs, each with its role.

Rules look at features of a line (length, final punctuation, URLs, dates,
credit prefixes, interface vocabulary, capitals), not at the seeds' exact
strings, so they carry over to pages from other outlets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from warta.text.decode import normalised_key

# --- line features -----------------------------------------------------------

_WEEKDAYS = "senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = (
    "januari|februari|maret|april|mei|juni|juli|agustus|september|oktober|november|desember|"
    "january|february|march|may|june|july|august|october|december|"
    "jan|feb|mar|apr|jun|jul|agu|aug|sep|okt|oct|nov|des|dec"
)
_DATE_WORD = re.compile(rf"\b(?:{_WEEKDAYS}|{_MONTHS})\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b(?:\s*(?:WIB|WITA|WIT|GMT|UTC))?")
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b")
# The lookbehinds start a match only at the start of a run of name characters (same matches as a
# leading \b here): a bare \b retries from every position of a long run, quadratic on "a.a.a...".
_URL = re.compile(r"https?://|www\.|(?<![\w-])[\w-]+\.(?:com|co\.id|id|net|org)/", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+\b")
# Credit and byline prefixes: "Sumber: ...", "Penulis | ...", "Editor - ...".
_CREDIT = re.compile(
    r"^(?:sumber|source|penulis|editor|penyunting|reporter|wartawan|kontributor|foto|"
    r"ilustrasi|credit|kredit|oleh|ditulis oleh|written by|by)\s*[:|–—-]",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^(?:oleh|ditulis oleh|by|written by)\s+[A-Z]", re.IGNORECASE)
# "Baca Juga: ...", "Lihat juga", "Simak selengkapnya" link teasers.
_TEASER = re.compile(r"^(?:baca|lihat|simak|cek)\s+(?:juga|pula|selengkapnya|artikel)\b", re.IGNORECASE)
_SUBSCRIBE = re.compile(
    r"\b(?:newsletter|berlangganan|langganan|subscribe|sign up|daftar sekarang|follow us|ikuti kami)\b",
    re.IGNORECASE,
)
_COMMENT_FORM = re.compile(
    r"^(?:tinggalkan (?:komentar|balasan)|leave a (?:reply|comment)|silakan masukkan|silahkan masukkan|"
    r"tulis komentar|kirim komentar|post comment|\d+\s+(?:komentar|comments?)\s*$)",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"(?:konten pihak ketiga|third[- ]party content|\bdisclaimer\b|\bpenafian\b|"
    r"bukan (?:merupakan )?nasihat (?:keuangan|investasi)|not (?:financial|investment) advice)",
    re.IGNORECASE,
)
# Breadcrumbs: a navigation word glued to the next crumb ("BerandaUncategorized...")
# or a line of crumbs separated by arrows or pipes.
_BREADCRUMB = re.compile(r"^(?:beranda|home|index|indeks)(?:[A-Z]|\s*[›»>|/])", re.IGNORECASE)
_CRUMB_SEPARATORS = re.compile(r"\s[›»>|]\s")
# Interface labels that stand alone on a line of a scraped page.
_UI_LABELS = frozenset(
    """new post|new posts|most popular|popular posts|related articles|related posts|latest news|
    recommended|read more|share|tags|tag|trending|terpopuler|terkini|berita terkait|artikel terkait|
    bagikan|baca selengkapnya|lihat asli|view original|komentar|comments|advertisement|iklan|
    scroll to continue with content|load more|lihat semua|berita populer|pilihan editor""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)
# Lines after which the page stops being the article: the related-links box,
# the comment form, "view original" links and publisher disclaimers.
_END_MARKER = re.compile(
    r"^(?:lihat asli|view original|related articles|related posts|artikel terkait|berita terkait|"
    r"tinggalkan komentar|leave a reply|baca artikel sumber)\b",
    re.IGNORECASE,
)
# Dateline openers: "JAKARTA, KOMPAS.com - ", "Telset.id – ", "JAKARTA - ".
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Za-z.]+(?:\s[A-Z][A-Za-z.]+)*,\s*)?"
    r"(?:[A-Za-z][\w-]*\.(?:com|co\.id|id|net|org|news|tv)|[A-Z]{3,}(?:\s[A-Z]{3,})*)"
    r"\s*[–—-]\s+(?=\S)"
)
_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*$")

_WORDS = re.compile(r"\w+")

HEADING_MAX_WORDS = 12
# After an end marker only paragraph-length text can still be article text
# (republishers append a second copy, which de-duplication then drops).
ZONE_MIN_WORDS = 20
# Word-trigram Jaccard: one changed word in a 15-word paragraph already
# gives ~0.6, while different paragraphs of one article stay below ~0.1.
NEAR_DUPLICATE_JACCARD = 0.5


def word_count(line: str) -> int:
    return len(line.split())


def ends_like_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line))


# One anchored pass tells whether any line-start rule can apply at all; most
# article lines fail it at the first character, which keeps cleaning cheap.
_ANY_PREFIX = re.compile(
    "|".join(p.pattern for p in (_CREDIT, _BYLINE, _TEASER, _COMMENT_FORM, _END_MARKER, _BREADCRUMB)),
    re.IGNORECASE,
)
# Substrings without which no disclaimer rule can match: `in` tests run in C
# at memchr speed, a case-insensitive alternation search does not.
_DISCLAIMER_HINTS = ("ketiga", "third", "disclaimer", "penafian", "nasihat", "advice")
_CRUMB_MARKS = ("›", "»", " > ", " | ")


def boilerplate_reason(line: str) -> str | None:
    """Why a line is page furniture rather than article text, or None if it is text."""
    words = word_count(line)
    if words > 15:
        # Sentence-length lines are article text unless they open like
        # furniture, are a disclaimer, or a trail of crumbs: the other rules
        # apply to short lines only.
        lowered = line.casefold()
        if any(hint in lowered for hint in _DISCLAIMER_HINTS) and _DISCLAIMER.search(line):
            return "disclaimer"
        if not _ANY_PREFIX.match(line) and not any(mark in line for mark in _CRUMB_MARKS):
            return None
    if _END_MARKER.match(line):
        return "end of article"
    lowered = line.casefold().strip(" :.!")
    if lowered in _UI_LABELS:
        return "interface label"
    if _BREADCRUMB.match(line) or len(_CRUMB_SEPARATORS.findall(line)) >= 2:
        return "breadcrumb"
    if _DISCLAIMER.search(line):
        return "disclaimer"
    if _COMMENT_FORM.match(line):
        return "comment form"
    if _TEASER.match(line) and words <= 25:
        return "link teaser"
    if words <= 15 and _SUBSCRIBE.search(line):
        return "subscription prompt"
    if words <= 12 and (_CREDIT.match(line) or _BYLINE.match(line) and not ends_like_sentence(line)):
        return "credit or byline"
    if words <= 12 and (_URL.search(line) or _EMAIL.search(line)):
        return "link or address"
    if (
        words <= 8
        and len(line) <= 200  # a date line is short; bounds the date-word search on hostile lines
        and not ends_like_sentence(line)
        and re.search(r"\d", line)
        and (_DATE_WORD.search(line) or _CLOCK.search(line) or _NUMERIC_DATE.search(line))
    ):
        return "date line"
    if 2 <= words <= 5 and line.isupper() and sum(ch.isalpha() for ch in line) >= 4:
        return "interface label"
    return None


# --- paragraphs --------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """A kept line of the article and its structural role (title, heading, body)."""

    text: str
    role: str


@dataclass(frozen=True)
class Dropped:
    """A line removed from the article, with the reason (for inspection and tests)."""

    text: str
    reason: str


def _is_heading_like(line: str) -> bool:
    """Short and not closed like a sentence: a headline or section line."""
    if word_count(line) > HEADING_MAX_WORDS:
        return False
    if line.endswith("?"):
        # "Solusi atau Masalah Baru?" under a "Topic: question?" pattern is a heading.
        return ":" in line
    return not ends_like_sentence(line) and not line.endswith((",", ";", ":"))


def _shingles(words: list[str]) -> frozenset[tuple[str, ...]]:
    if len(words) < 3:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(zip(words, words[1:], words[2:]))


class _NearDuplicateIndex:
    """Paragraphs seen so far, indexed by word trigram, for Jaccard look-ups.

    An inverted index costs one dict probe per trigram of the new paragraph
    instead of one set intersection per earlier paragraph.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.sizes: list[int] = []
        self.postings: dict[tuple[str, ...], list[int]] = {}

    def is_duplicate(self, shingles: frozenset) -> bool:
        common: dict[int, int] = {}
        for shingle in shingles:
            for j in self.postings.get(shingle, ()):
                common[j] = common.get(j, 0) + 1
        size = len(shingles)
        return any(c / (size + self.sizes[j] - c) >= self.threshold for j, c in common.items())

    def add(self, shingles: frozenset) -> None:
        j = len(self.sizes)
        self.sizes.append(len(shingles))
        for shingle in shingles:
            self.postings.setdefault(shingle, []).append(j)


def strip_dateline(text: str) -> str:
    return _DATELINE.sub("", text, count=1)


def _drop_before_title(lines: list[str], title: str | None, dropped: list[Dropped]) -> list[str]:
    """Lines from the known headline on; what stands above it is page chrome."""
    if not title:
        return lines
    title_key = normalised_key(title)
    for i, line in enumerate(lines):
        if normalised_key(line) == title_key:
            dropped.extend(Dropped(text, "before the headline") for text in lines[:i])
            return lines[i:]
    return lines


def _drop_boilerplate(lines: list[str], dropped: list[Dropped]) -> list[str]:
    """Furniture lines, and short lines once an end-of-article marker has been seen."""
    kept: list[str] = []
    in_tail_zone = False
    for line in lines:
        reason = boilerplate_reason(line)
        if reason == "end of article" or reason == "disclaimer":
            in_tail_zone = True
        if reason is None and in_tail_zone and word_count(line) < ZONE_MIN_WORDS:
            reason = "after the end of the article"
        if reason:
            dropped.append(Dropped(line, reason))
        else:
            kept.append(line)
    # Footer: author boxes, site names and slogans trail the last real sentence.
    # Without any line closed like a sentence there is no "last sentence" to
    # trail (a text written without final punctuation): nothing is a footer then.
    if any(ends_like_sentence(line) for line in kept[1:]):
        while len(kept) > 1 and not ends_like_sentence(kept[-1]) and word_count(kept[-1]) < ZONE_MIN_WORDS:
            dropped.append(Dropped(kept.pop(), "footer after the last sentence"))
    return kept


def _drop_duplicates(lines: list[str], dropped: list[Dropped]) -> list[str]:
    """Exact and near-duplicate paragraphs (republished pages repeat the article); the first copy stays."""
    unique: list[str] = []
    seen = _NearDuplicateIndex(NEAR_DUPLICATE_JACCARD)
    seen_keys: set[str] = set()
    for line in lines:
        words = _WORDS.findall(line.casefold())
        key = " ".join(words)  # == normalised_key(line)
        shingles = _shingles(words)
        if key in seen_keys or seen.is_duplicate(shingles):
            dropped.append(Dropped(line, "duplicate paragraph"))
            continue
        seen_keys.add(key)
        seen.add(shingles)
        unique.append(line)
    return unique


def _assign_roles(lines: list[str], title: str | None) -> list[Paragraph]:
    """First line headline-like (or the known title) → title; short unclosed lines → heading; else body."""
    paragraphs: list[Paragraph] = []
    title_key = normalised_key(title) if title else None
    # A text with no line closed like a sentence (notes, a chat, a feed without
    # punctuation) has no headings to tell apart: its lines after the first are body.
    unpunctuated = not any(ends_like_sentence(line) for line in lines[1:])
    for i, line in enumerate(lines):
        if i == 0 and (title_key is not None and normalised_key(line) == title_key or _is_heading_like(line)):
            paragraphs.append(Paragraph(line, "title"))
        elif _is_heading_like(line) and not unpunctuated:
            paragraphs.append(Paragraph(line, "heading"))
        else:
            # Datelines ("JAKARTA, KOMPAS.com - ") open the lead, right after the title if any.
            body = strip_dateline(line) if len(paragraphs) <= 1 else line
            paragraphs.append(Paragraph(body, "body"))
    return paragraphs


def structure_article(
    lines: Sequence[str], title: str | None = None
) -> tuple[list[Paragraph], list[Dropped]]:
    """Split cleaned lines into kept paragraphs with roles, and dropped lines with reasons.

    `title`, when known (manifest, JSONL record), anchors the headline: lines
    before its first appearance are page chrome (site blurbs, navigation).
    """
    dropped: list[Dropped] = []
    lines = _drop_before_title(list(lines), title, dropped)
    lines = _drop_duplicates(_drop_boilerplate(lines, dropped), dropped)
    return _assign_roles(lines, title), dropped
