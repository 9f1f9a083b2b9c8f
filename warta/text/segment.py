"""Indonesian sentence segmentation.

blingfire's rule-based model is the segmenter: on the seeds it keeps
thousands separators (3.800), decimals (Rp 32,7 miliar), abbreviations
(Prof., Jl., dll. mid-sentence) and quotations that close after the full stop
together, and runs at ~195,000 sentences/s against ~2,500/s for spaCy's
sentencizer — batch labelling needs 20,000 sentences/s end to end, so the
segmenter must take a small share of that budget. Two Indonesian repairs
follow it: footnote digits glued to a word ("pelanggan2.") are dropped, and
a split after an abbreviation that blingfire does not know is undone.
"""

from __future__ import annotations

import re

import blingfire

# Citation residue from copied web pages: a footnote number glued to the last
# word of a sentence ("kepuasan pelanggan2."). Lower-case words of four or
# more letters only, so model names (G20, Web3) and units survive.
_FOOTNOTE = re.compile(r"\b([a-z]{4,})\d{1,2}(?=[.,;:!?](?:\s|$))")

# Abbreviations that end in a full stop inside Indonesian sentences; a split
# right after one of them is a false boundary.
_ABBREVIATIONS = frozenset(
    """a.n. bpk. bu. dkk. dll. dsb. dst. dr. drs. hlm. ir. jl. kab. kec. kel. no. nomor. pak. prof.
    pt. rp. sdr. tbk. tsb. ybs. yth. vs. st. h. hj. kol. let. mayjen. brigjen. kombes. irjen. jend.
    s.h. s.e. s.t. s.kom. m.m. m.si. ph.d. mr. mrs. ms. inc. ltd. co. corp. approx. etc. e.g. i.e.""".split()
)
_LAST_TOKEN = re.compile(r"(\S+)$")


def remove_footnote_marks(text: str) -> str:
    """Drop footnote digits glued to a word before punctuation."""
    return _FOOTNOTE.sub(r"\1", text)


def _ends_with_abbreviation(sentence: str) -> bool:
    match = _LAST_TOKEN.search(sentence)
    return bool(match) and match.group(1).casefold() in _ABBREVIATIONS


def _join_pieces(pieces: list[str]) -> list[str]:
    """Trim blingfire's pieces and undo splits after a mid-sentence abbreviation."""
    sentences: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        # Rejoin after a known abbreviation, except the ones that usually end
        # a sentence ("dll.", "dsb.").
        if sentences and _ends_with_abbreviation(sentences[-1]) and not (
            sentences[-1].casefold().endswith(("dll.", "dsb.", "dst.", "dkk.", "etc."))
        ):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences (text is kept as written, spaces trimmed)."""
    paragraph = remove_footnote_marks(paragraph.strip())
    if not paragraph:
        return []
    return _join_pieces(blingfire.text_to_sentences(paragraph).split("\n"))


# blingfire ends a sentence at U+2029 PARAGRAPH SEPARATOR and keeps the mark,
# so a whole article's paragraphs go through one call (one ctypes round trip
# instead of one per paragraph) and still split back per paragraph.
_PARAGRAPH_MARK = "\u2029"


def split_paragraphs(paragraphs: list[str]) -> list[list[str]]:
    """split_sentences for many paragraphs at once; one list of sentences per paragraph."""
    if not paragraphs:
        return []
    # One substitution over the joined text instead of one per paragraph; the
    # mark counts as whitespace for the footnote rule, as a paragraph end does.
    cleaned = [p.replace(_PARAGRAPH_MARK, " ").strip() for p in paragraphs]
    joined = remove_footnote_marks(_PARAGRAPH_MARK.join(cleaned) + _PARAGRAPH_MARK)
    result: list[list[str]] = []
    current: list[str] = []
    for piece in blingfire.text_to_sentences(joined).split("\n"):
        # A piece may end with the mark (end of paragraph) or, defensively,
        # contain it: each mark closes the paragraph in progress.
        parts = piece.split(_PARAGRAPH_MARK)
        for i, part in enumerate(parts):
            current.append(part)
            if i < len(parts) - 1:
                result.append(_join_pieces(current))
                current = []
    if current and any(part.strip() for part in current):
        result.append(_join_pieces(current))
    if len(result) != len(paragraphs):
        # Never seen, but if a model update ever swallowed a mark the per-paragraph path is still right.
        return [split_sentences(p) for p in paragraphs]
    return result
