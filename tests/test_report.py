"""The outlet report page: self-contained, embedded plots, sample sizes and an honest reading."""

from __future__ import annotations

import base64
import binascii
import struct
from html.parser import HTMLParser

import pytest

from warta.outlets.profile import profile_outlets
from warta.outlets.report import plain_reading, render_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def records_for(outlet, articles, rows, prefix=None):
    """`articles` copies of one article made of (count, type, stance, frame) runs."""
    out = []
    for a in range(articles):
        name = f"{prefix or outlet}{a}"
        i = 0
        for count, type_, stance, frame in rows:
            for _ in range(count):
                out.append({"id": f"{name}-{i}", "article_id": name, "outlet": outlet, "role": "body", "index": i,
                            "text": f"kalimat {i} {name}", "type": type_, "stance": stance, "frame": frame})
                i += 1
    return out


@pytest.fixture(scope="module")
def profile():
    records = (
        records_for("kompas.com", 6, [(5, "fact", "pro", "economic"), (2, "quote", "neutral", "none")])
        + records_for("detik.com", 6, [(5, "opinion", "against", "conflict"), (2, "quote", "against", "none")])
        + records_for("<b>odd & name</b>", 1, [(3, "fact", "neutral", "economic")], prefix="odd")
    )
    return profile_outlets(records, n_boot=400, min_sentences=10)


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)


def parse(page: str) -> Collector:
    collector = Collector()
    collector.feed(page)
    collector.close()
    return collector


def test_report_is_self_contained_with_embedded_plots(profile):
    page = parse(render_report(profile))
    names = [tag for tag, _ in page.tags]
    assert "link" not in names and "iframe" not in names and "object" not in names
    # one inline script (sorting, filtering): no source file, no network call
    assert names.count("script") == 1 and all("src" not in attrs for tag, attrs in page.tags if tag == "script")
    script = render_report(profile).split("<script>")[1].split("</script>")[0]
    assert not any(word in script for word in ("fetch", "XMLHttpRequest", "http", "import", "WebSocket"))
    for tag, attrs in page.tags:
        for attr in ("src", "href", "srcset", "data", "poster", "background"):
            value = (attrs.get(attr) or "").strip().lower()
            assert not value or value.startswith("data:") or value.startswith("#"), (tag, attr, value[:60])
        assert "url(" not in (attrs.get("style") or "")
    assert "@import" not in page.style and "url(" not in page.style and "@font-face" not in page.style
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 3  # type mix, stance index, frame heatmap
    for attrs in images:
        assert attrs["alt"]
        header, payload = attrs["src"].split(",", 1)
        assert header == "data:image/png;base64"
        png = base64.b64decode(payload, validate=True)
        assert png.startswith(PNG_MAGIC)
        width, height = struct.unpack(">II", png[16:24])
        assert width > 300 and height > 150
        # every chunk's CRC is intact: the image is whole, not truncated
        pos = 8
        while pos < len(png):
            (length,) = struct.unpack(">I", png[pos:pos + 4])
            chunk = png[pos + 4:pos + 8 + length]
            assert struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0] == binascii.crc32(chunk)
            pos += 12 + length
        assert pos == len(png)


def test_report_shows_sample_sizes_names_escaped_and_flags(profile):
    page = render_report(profile)
    parsed = parse(page)
    text = " ".join(parsed.text)
    assert "<b>odd & name</b>" in text  # shown as text ...
    assert "&lt;b&gt;odd &amp; name&lt;/b&gt;" in page  # ... because it was escaped
    rows = [line for line in page.split("<tr") if "kompas.com</th>" in line]
    assert rows and "<td>6</td><td>42</td>" in rows[0]  # 6 articles, 42 sentences
    assert "Not compared (fewer than 10 sentences)" in text
    assert "95% interval" in text and "article-cluster bootstrap" in text


def test_reading_says_what_differs_and_what_cannot_be_told_apart(profile):
    reading = plain_reading(profile)
    between = " ".join(reading["between"])
    assert "Differs:" in between and "detik.com: differs from the other outlets in type mix" in between
    assert "single article" in " ".join(reading["summary"])
    kompas = next(line for line in reading["outlets"] if "kompas.com" in line)
    assert "own voice leans pro" in kompas and "mostly fact" in kompas


def test_reading_of_single_article_outlets_refuses_to_compare():
    records = (records_for("A", 1, [(20, "fact", "pro", "economic")])
               + records_for("B", 1, [(20, "opinion", "against", "conflict")]))
    reading = plain_reading(profile_outlets(records, n_boot=300))
    assert "Every outlet is represented by a single article" in " ".join(reading["summary"])
    between = " ".join(reading["between"])
    assert "Differs" not in between
    assert "None of the 2 outlets differs from the others by more than chance" in between
    assert "one article each" in between
