"""Bytes to clean text: decoding, mojibake repair, whitespace normalisation (docs/text-cleaning.md)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import ftfy

from warta.errors import InputError
from warta.text.sanitise import strip_invisible

# Files are expected in UTF-8; old CMS exports and Windows editors give cp1252.
# latin-1 decodes any byte string, so it is only a last resort and its result
# must still look like text (see _looks_like_text).
FALLBACK_ENCODINGS = ("cp1252", "latin-1")


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def _control_share(text: str) -> float:
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    return controls / len(text) if text else 0.0


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    if "\x00" in text:
        return False
    return _control_share(text) < 0.01


# Valid UTF-8 is text even with a few stray control codes (ESC, BEL from a terminal
# capture): they are removed by cleaning. Only a text that is mostly control codes is refused.
UTF8_MAX_CONTROL_SHARE = 0.3


def _utf16_without_bom(head: bytes) -> bool:
    """NUL in every other byte of mostly-ASCII text: UTF-16 LE or BE saved without a BOM."""
    if len(head) < 4:
        return False
    even, odd = head[0::2], head[1::2]

    def printable(half: bytes) -> float:
        return sum(1 for b in half if 32 <= b < 127 or b in (9, 10, 13)) / len(half)

    return (even.count(0) / len(even) > 0.9 and printable(odd) > 0.9) or (
        odd.count(0) / len(odd) > 0.9 and printable(even) > 0.9
    )


def decode_bytes(data: bytes, source: str) -> DecodedText:
    """Decode file bytes; raise InputError naming `source` for empty, binary or undecodable input."""
    if not data.strip():
        raise InputError(f"{source}: empty file")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if _utf16_without_bom(data[:8192]):
            raise InputError(f"{source}: looks like UTF-16 without a byte-order mark; save it as UTF-8 (or UTF-16 with BOM)")
        raise InputError(f"{source}: binary file (contains NUL bytes), not text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", *FALLBACK_ENCODINGS)
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" and "\x00" not in text:
            share = _control_share(text)
            if share >= UTF8_MAX_CONTROL_SHARE:
                raise InputError(f"{source}: valid UTF-8 but {share:.0%} control characters (binary?), not text")
            return DecodedText(text, "utf-8")
        if _looks_like_text(text):
            return DecodedText(text, "utf-8" if encoding == "utf-8-sig" else encoding)
    raise InputError(f"{source}: cannot decode as UTF-8, cp1252 or latin-1 text (binary?)")


# ftfy runs at ~3 M chars/s, slower than everything else in the pipeline put
# together, so it only runs on text holding a character that mojibake leaves
# behind (UTF-8 read as cp1252/latin-1 always produces one of these).
_MOJIBAKE_HINT = re.compile("[\u00c2\u00c3\u00c5\u00e2\u00ef\u0080-\u009f\ufffd]")

# A UTF-8 curly quote (E2 80 9C / E2 80 9D) read as latin-1 whose two
# continuation bytes were then dropped leaves a lone "â". ftfy cannot undo
# that (the bytes are gone), so a lone â at a word edge becomes a quote:
# opening before a word, closing after one. An â inside a word (château) stays.
_ORPHAN_OPEN = re.compile(r"(?<![\w\u00e2])\u00e2(?=\w)")
_ORPHAN_CLOSE = re.compile(r"(?<=[\w.,!?;:)\]])\u00e2(?![\w])")


def repair_mojibake(text: str) -> str:
    """Undo double-encoding damage (ftfy), then the lost-byte quote damage ftfy cannot see."""
    if not _MOJIBAKE_HINT.search(text):
        return text
    # Only the encoding repair: ftfy's other fixes (ligatures, full-width forms, quotes, HTML entities)
    # would change characters the user wrote, and only in texts that happen to hold a mojibake hint;
    # users join labels back to their articles by text (docs/text-cleaning.md).
    text = ftfy.fix_text(text, uncurl_quotes=False, fix_latin_ligatures=False, fix_character_width=False,
                         unescape_html=False, normalization="NFC")
    if "\u00e2" in text:
        text = _ORPHAN_OPEN.sub("\u201c", text)
        text = _ORPHAN_CLOSE.sub("\u201d", text)
    return text


_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# Line and page breaks other than \n become \n before invisible/control characters are stripped.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Quotes are kept as written (straight, curly, guillemets): users join labels back to their
# articles by text. What cleaning does change is listed in docs/text-cleaning.md.


def normalise_line(line: str) -> str:
    """One line: NFC, invisible characters out, spaces collapsed (docs/text-cleaning.md)."""
    line = unicodedata.normalize("NFC", line)
    line = strip_invisible(_LINE_BREAKS.sub(" ", line))
    return _SPACES.sub(" ", line).strip()


def clean_lines(text: str) -> list[str]:
    """Repaired, normalised, non-empty lines of an article (normalise_line on each line)."""
    # The substitutions run once over the whole text, which is the same as
    # running them line by line, only cheaper.
    text = unicodedata.normalize("NFC", repair_mojibake(text))
    # Bidi overrides, zero-width and control characters out (warta.text.sanitise).
    text = strip_invisible(_LINE_BREAKS.sub("\n", text))
    text = _SPACES.sub(" ", text)
    return [line for line in (raw.strip() for raw in text.splitlines()) if line]


def normalised_key(text: str) -> str:
    """Case- and space-insensitive form used for hashing and duplicate checks."""
    return " ".join(re.findall(r"\w+", text.casefold()))
