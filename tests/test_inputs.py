"""warta.labelling.inputs: the lazy walk over `warta label` inputs, outlets, problems and resume positions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from warta.errors import InputError
from warta.labelling.inputs import iter_items
from warta.labelling.items import InputOptions, Problem, WalkStats
from warta.text.corpus import Article

ARTICLE = "Judul Berita\nKlarna kembali merekrut karyawan manusia. Perusahaan itu menyesal.\n"


def walk(inputs, **kwargs):
    return list(iter_items([str(i) for i in inputs], **kwargs))


def messages(items):
    return [item.message for _, item in items if isinstance(item, Problem)]


def articles(items):
    return [item for _, item in items if isinstance(item, Article)]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_folders_are_walked_recursively_sorted_without_hidden_entries(tmp_path):
    root = tmp_path / "news"
    (root / "b-outlet").mkdir(parents=True)
    (root / "a-outlet" / "deep").mkdir(parents=True)
    (root / ".cache").mkdir()
    (root / "b-outlet" / "2.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "b-outlet" / "10.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "a-outlet" / "deep" / "z.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "a-outlet" / "y.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "a-outlet" / ".hidden.txt").write_text(ARTICLE, encoding="utf-8")
    (root / ".cache" / "x.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "a-outlet" / "notes.md").write_text("not an article", encoding="utf-8")
    stats = WalkStats()
    items = walk([root], stats=stats)
    found = [(Path(a.source).relative_to(root).as_posix(), a.article_id, a.outlet) for a in articles(items)]
    assert found == [
        ("a-outlet/deep/z.txt", "a-outlet/deep/z", "deep"),
        ("a-outlet/y.txt", "a-outlet/y", "a-outlet"),
        ("b-outlet/10.txt", "b-outlet/10", "b-outlet"),
        ("b-outlet/2.txt", "b-outlet/2", "b-outlet"),
    ]
    assert [position for position, _ in items] == [0, 1, 2, 3]
    assert stats.ignored_files == 1  # notes.md; hidden entries are not even counted


def test_outlet_precedence_record_then_option_then_manifest_then_folder(tmp_path):
    folder = tmp_path / "kompas"
    folder.mkdir()
    (folder / "one.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "two.txt").write_text(ARTICLE, encoding="utf-8")
    write_jsonl(folder / "batch.jsonl", [{"text": ARTICLE, "outlet": "tempo.co"}, {"text": ARTICLE}])
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "article_id,file,outlet,url,title,date\n"
        "k-001,kompas/one.txt,kompas.com,https://kompas.com/1,Judul Berita,2025-01-02\n"
        "k-jl,kompas/batch.jsonl,detik.com,,,\n",
        encoding="utf-8",
    )

    def outlets(options):
        return [(a.article_id, a.outlet) for a in articles(walk([folder], options=options))]

    assert outlets(InputOptions()) == [("batch.jsonl:1", "tempo.co"), ("batch.jsonl:2", "kompas"), ("one", "kompas"), ("two", "kompas")]
    assert outlets(InputOptions(manifest=manifest)) == [
        ("batch.jsonl:1", "tempo.co"),
        ("batch.jsonl:2", "detik.com"),
        ("k-001", "kompas.com"),
        ("two", "kompas"),
    ]
    assert outlets(InputOptions(outlet="cnn", manifest=manifest)) == [
        ("batch.jsonl:1", "tempo.co"),
        ("batch.jsonl:2", "cnn"),
        ("k-001", "cnn"),
        ("two", "cnn"),
    ]
    one = next(a for a in articles(walk([folder / "one.txt"], options=InputOptions(manifest=manifest))))
    assert (one.title, one.url, one.date) == ("Judul Berita", "https://kompas.com/1", "2025-01-02")


def test_jsonl_records_carry_their_fields_and_ids(tmp_path):
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "abc", "text": ARTICLE, "outlet": "tempo.co", "url": "https://t.co/1", "title": "Judul", "date": "2025"},
            {"id": 17, "text": ARTICLE},
            "",
            {"text": ARTICLE},
        ],
    )
    found = articles(walk([path]))
    assert [(a.article_id, a.outlet, a.url, a.title, a.date, a.source) for a in found] == [
        ("abc", "tempo.co", "https://t.co/1", "Judul", "2025", f"{path}:1"),
        ("17", tmp_path.name, "", "", "", f"{path}:2"),
        ("in.jsonl:4", tmp_path.name, "", "", "", f"{path}:4"),
    ]


def test_every_bad_input_is_one_problem_and_the_walk_goes_on(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 50)
    (tmp_path / "controls.txt").write_bytes(bytes(range(1, 32)) * 20)
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    (tmp_path / "binary.jsonl").write_bytes(b'{"text": "a"}\n\x00\x00\x00\n')
    bad = tmp_path / "lines.jsonl"
    bad.write_bytes(
        b'{"text": "Klarna merekrut lagi."}\n'
        b'{"text": "broken\n'
        b"[1, 2]\n"
        b'{"title": "no text here"}\n'
        b'{"text": "   "}\n'
        b'{"text": "caf\xe9"}\n'
        b'{"text": "Salesforce memangkas 4.000 pekerjaan."}\n'
    )
    items = walk([tmp_path, tmp_path / "missing.txt"])
    assert messages(items) == [
        f"{tmp_path / 'binary.jsonl'}: binary file (contains NUL bytes), not JSON Lines",
        f"{tmp_path / 'binary.txt'}: binary file (contains NUL bytes), not text",
        f"{tmp_path / 'controls.txt'}: valid UTF-8 but 87% control characters (binary?), not text",
        f"{tmp_path / 'empty.jsonl'}: empty file",
        f"{tmp_path / 'empty.txt'}: empty file",
        f"{bad}:2: malformed JSON (Unterminated string starting at column 10)",
        f"{bad}:3: expected a JSON object with a \"text\" field",
        f"{bad}:4: record has no text",
        f"{bad}:5: record has no text",
        f"{bad}:6: not valid UTF-8",
        f"{tmp_path / 'missing.txt'}: not found",
    ]
    assert [a.article_id for a in articles(items)] == ["good", "lines.jsonl:1", "lines.jsonl:7"]
    assert [p.source for _, p in items if isinstance(p, Problem)][5:10] == [str(bad)] * 5
    assert [position for position, _ in items] == list(range(len(items)))


def test_skip_resumes_at_the_same_unit_without_reading_skipped_text_files(tmp_path, monkeypatch):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(ARTICLE.replace("Judul", name), encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    write_jsonl(tmp_path / "d.jsonl", [{"text": ARTICLE}, "{bad", "", {"text": ARTICLE, "id": "x"}])
    inputs = [tmp_path, tmp_path / "nope.txt", tmp_path / "a.txt"]
    full = walk(inputs)
    assert len(full) == 9
    reads: list[str] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self.name) or original(self))
    for skip in range(len(full) + 1):
        reads.clear()
        rest = walk(inputs, skip=skip)
        assert [(p, getattr(i, "article_id", None), getattr(i, "message", None)) for p, i in rest] == [
            (p, getattr(i, "article_id", None), getattr(i, "message", None)) for p, i in full[skip:]
        ]
        due = {Path(i.source).name for p, i in full[skip:] if isinstance(i, Article) and i.source.endswith(".txt")}
        assert set(reads) <= due | {"empty.txt"}
    reads.clear()
    walk(inputs, skip=len(full))
    assert reads == []


def test_stdin_is_jsonl_when_it_starts_with_a_brace_else_one_article():
    jsonl = io.BytesIO(b'\n{"text": "Klarna merekrut lagi.", "outlet": "x"}\nnot json\n')
    items = walk(["-"], stdin=jsonl)
    assert [(a.article_id, a.outlet) for a in articles(items)] == [("<stdin>:2", "x")]
    assert messages(items) == ["<stdin>:3: malformed JSON (Expecting value at column 1)"]
    plain = walk(["-"], stdin=io.BytesIO(ARTICLE.encode("utf-8")))
    assert [(a.article_id, a.outlet, a.text) for a in articles(plain)] == [("stdin", "unknown", ARTICLE)]
    assert messages(walk(["-"], stdin=io.BytesIO(b""))) == ["<stdin>: empty file"]


def test_a_non_utf8_text_file_is_decoded_with_a_note(tmp_path):
    (tmp_path / "old.txt").write_bytes("Judul\nPerusahaan itu menyesal – kata CEO.\n".encode("cp1252"))
    (found,) = articles(walk([tmp_path / "old.txt"]))
    assert "menyesal – kata" in found.text
    assert found.notes == [f"{tmp_path / 'old.txt'}: not valid UTF-8, decoded as cp1252"]


def test_a_bad_manifest_is_an_error_not_a_skip(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("outlet\nx\n", encoding="utf-8")
    with pytest.raises(InputError, match="manifest lacks column"):
        walk([tmp_path], options=InputOptions(manifest=manifest))


def test_same_file_name_in_two_folders_gives_two_article_ids(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "1.txt").write_text("Judul\nKlarna merekrut lagi.\n", encoding="utf-8")
    ids = [a.article_id for a in articles(iter_items([tmp_path], InputOptions()))]
    assert ids == ["a/1", "b/1"]
