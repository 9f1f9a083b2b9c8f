"""Characters that harm a reader: bidi overrides, invisible characters, terminal control codes.

- `strip_invisible(text)`: removes what no news sentence needs and what can
  disguise text: bidi embeddings/overrides/isolates and marks (U+202A-202E,
  U+2066-2069, U+200E/200F, U+061C: "Trojan Source" reordering), zero-width
  and invisible operators, Unicode tag characters (U+E0000 block, used to hide
  text), and C0/C1 control characters (ESC, BEL, ...) except tab and newline.
- `terminal_safe(message)`: a message for one line on a terminal: the same
  characters and any line break shown as visible escapes (\\x1b, \\n), so a
  file name or outlet can neither forge a second line nor drive the terminal.
- `looks_like_html(text)` / `html_to_text(text)`: a page saved as HTML becomes
  its text (block elements end lines; script/style/head dropped).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = "\u200b-\u200d\u2060-\u2064\u180e\ufeff\u00ad\ufff9-\ufffb"
_TAGS = "\U000e0000-\U000e007f"
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # keeps \t \n \r (line structure)
INVISIBLE = re.compile(f"[{_BIDI}{_ZERO_WIDTH}{_TAGS}{_CONTROLS}]")
_UNSAFE_ON_TERMINAL = re.compile(f"[{_BIDI}{_ZERO_WIDTH}{_TAGS}\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")


# Terminal escape sequences (colours, cursor moves, OSC titles) go whole, not only their ESC.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_invisible(text: str) -> str:
    """`text` without bidi controls, invisible characters, terminal escape sequences and control codes
    (tab/newline/CR kept)."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return INVISIBLE.sub("", text)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def terminal_safe(message: str) -> str:
    """One printable line: control, bidi and invisible characters and line breaks escaped."""
    return _UNSAFE_ON_TERMINAL.sub(_escape, message)


def clean_field(value: str) -> str:
    """A metadata field (id, outlet, title, url, date): invisible characters out, whitespace to single spaces."""
    return " ".join(strip_invisible(value).split())


# --- HTML -------------------------------------------------------------------------

_HTML_START = re.compile(r"\A\s*(?:<!doctype\s+html|<html[\s>]|<\?xml[^>]*>\s*<html|<head[\s>]|<body[\s>])", re.I)
_TAG = re.compile(r"</?(?:p|div|br|span|a|h[1-6]|li|ul|table|td|tr|script|style|meta|article|section)\b[^>]*>", re.I)


def looks_like_html(text: str) -> bool:
    """A page (doctype/html/head/body opening) or a text dense with HTML tags."""
    head = text[:4096]
    if _HTML_START.match(head):
        return True
    tags = len(_TAG.findall(head))
    return tags >= 5 and tags * 40 > len(head.split())


_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr "
    "li main nav ol p pre section table tbody td tfoot th thead title tr ul".split()
)
_SKIP = frozenset("script style head noscript template svg iframe object".split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.title: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        elif tag in _SKIP:
            self.skipping += 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in _SKIP and self.skipping:
            self.skipping -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data)


def html_to_text(text: str) -> str:
    """The visible text of an HTML page, one block element per line (the <title> first if the body lacks it)."""
    parser = _TextExtractor()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # html.parser is lenient; anything it still rejects falls back to stripping tags
        return re.sub(r"<[^>]*>", "\n", text)
    body = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in body.splitlines()]
    lines = [line for line in lines if line]
    title = " ".join("".join(parser.title).split())
    if title and not any(title in line for line in lines[:5]):
        lines.insert(0, title)
    return "\n".join(lines)
