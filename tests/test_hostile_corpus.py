"""`warta corpus build|stats|split` against hostile input, one group per class of issue 14."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hostile_common import BODY, SEEDS, cli, one_line, snapshot, warta_process

from warta.text.corpus import build_corpus


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def manifest(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = folder / "manifest.csv"
    path.write_text("article_id,file,outlet,url,title,date\n" + "".join(f"{a},{f},{o},,,\n" for a, f, o in rows))
    return path


# --- class 1 --------------------------------------------------------------------------------------


def test_links_at_the_output_and_its_temporary_names_are_never_followed(tmp_path, capsys):
    victims = {name: tmp_path / f"victim-{name}" for name in ("out", "tmp", "splits")}
    for victim in victims.values():
        victim.write_text("precious\n")
    out = tmp_path / "out" / "c.jsonl"
    out.parent.mkdir()
    out.symlink_to(victims["out"])
    (out.parent / ".c.jsonl.tmp").symlink_to(victims["tmp"])
    splits = tmp_path / "splits.json"
    splits.symlink_to(victims["splits"])
    before = snapshot(victims.values())
    assert cli(capsys, "corpus", "build", "--out", out, "--force")[0] == 0
    assert cli(capsys, "corpus", "split", "--out", splits, "--force")[0] == 0
    assert snapshot(victims.values()) == before
    assert not out.is_symlink() and len(read(out)) > 100
    assert not splits.is_symlink() and json.loads(splits.read_text())


# --- class 2 --------------------------------------------------------------------------------------


def test_html_duplicate_ids_and_unpunctuated_text_are_kept_and_reported(tmp_path, capsys):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "page.txt").write_text(
        "<!DOCTYPE html><html><head><title>PHK karena AI</title></head><body><h1>PHK karena AI</h1>"
        + "".join(f"<p>{line}</p>" for line in BODY.splitlines()) + "</body></html>"
    )
    (seeds / "a.txt").write_text("Judul A\n" + BODY)
    (seeds / "notes.txt").write_text("Catatan rapat\nrobot menggantikan operator gudang\nserikat pekerja menolak\n")
    manifest(seeds, [("x", "page.txt", "o1"), ("x", "a.txt", "o2"), ("n", "notes.txt", "o3")])
    code, stdout, stderr = cli(capsys, "corpus", "build", "--seeds", seeds, "--out", tmp_path / "c.jsonl")
    assert code == 0, stderr
    records = read(tmp_path / "c.jsonl")
    assert len({r["id"] for r in records}) == len(records)
    assert [a for a in dict.fromkeys(r["article_id"] for r in records)] == ["x", "x#2", "n"]
    page = [r["text"] for r in records if r["article_id"] == "x"]
    assert page[0] == "PHK karena AI" and len(page) == 4 and not any("<" in t for t in page)
    assert [r["role"] for r in records if r["article_id"] == "n"] == ["title", "body", "body"]
    assert "HTML page, its text extracted" in stderr and "article id 'x' already used" in stderr


def test_dropped_lines_are_counted_in_the_summary(tmp_path, capsys):
    code, stdout, _ = cli(capsys, "corpus", "build", "--out", tmp_path / "c.jsonl")
    assert code == 0 and "line(s) dropped by cleaning" in stdout


# --- class 3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["", "FILE/c.jsonl", "/proc/1/c.jsonl", "/sys/c.jsonl", "."])
def test_unusable_out_is_one_line(tmp_path, capsys, out):
    (tmp_path / "FILE").write_text("x")
    os.chdir(tmp_path)
    code, stdout, stderr = cli(capsys, "corpus", "build", "--out", out)
    assert code == 2 and one_line(stderr).startswith("error: ")


def test_stats_on_hostile_jsonl_is_one_line_or_a_table(tmp_path, capsys):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    code, _, stderr = cli(capsys, "corpus", "stats", deep)
    assert code == 2 and one_line(stderr) == f"error: {deep}:1: JSON nested too deeply"
    digits = tmp_path / "digits.jsonl"
    digits.write_text('{"id": ' + "1" * 5000 + "}\n")
    code, _, stderr = cli(capsys, "corpus", "stats", digits)
    assert code == 2 and "unusable JSON value" in one_line(stderr)
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({"outlet": ["a", 1], "role": 3, "type": {"x": 1}}) + "\n")
    code, stdout, _ = cli(capsys, "corpus", "stats", odd)
    assert code == 0 and "['a', 1]" in stdout
    utf16 = tmp_path / "u16.jsonl"
    utf16.write_bytes('{"outlet": "a"}\n'.encode("utf-16"))
    code, _, stderr = cli(capsys, "corpus", "stats", utf16)
    assert code == 2 and "UTF-16 encoded; JSON Lines must be UTF-8" in one_line(stderr)


def test_a_bad_manifest_is_one_line(tmp_path, capsys):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "manifest.csv").write_bytes(b"article_id,file\n\"" + b"x" * 200_000 + b"\n")
    code, _, stderr = cli(capsys, "corpus", "build", "--seeds", seeds, "--out", tmp_path / "c.jsonl")
    assert code == 2 and "unreadable manifest" in one_line(stderr)


def test_full_stdout_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        result = warta_process("corpus", "stats", SEEDS / "labels.jsonl", stdout=full, stderr=-1)
    assert result.returncode == 2
    assert one_line(result.stderr.decode()) == "error: <stdout>: cannot write (No space left on device)"


# --- class 4 --------------------------------------------------------------------------------------


def test_fifos_devices_and_huge_files_in_the_seeds_folder_are_reported_not_read(tmp_path, capsys):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Judul A\n" + BODY)
    os.mkfifo(seeds / "b.txt")
    (seeds / "c.txt").symlink_to("/dev/zero")
    (seeds / "d.txt").write_bytes(b"kata " * 50_000)
    start = time.monotonic()
    code, stdout, stderr = cli(capsys, "corpus", "build", "--seeds", seeds, "--out", tmp_path / "c.jsonl",
                               "--max-article-bytes", "100000")
    assert time.monotonic() - start < 60
    assert code == 1 and "from 1 articles" in stdout
    skipped = [line for line in stderr.splitlines() if line.startswith("skipped:")]
    assert skipped == [
        f"skipped: {seeds / 'b.txt'}: not a regular file (a FIFO), not read",
        f"skipped: {seeds / 'c.txt'}: not a regular file (a character device), not read",
        f"skipped: {seeds / 'd.txt'}: 250,000 bytes, over the article size cap of 100,000 (--max-article-bytes)",
    ]


def test_a_config_or_labels_file_that_never_ends_is_refused(tmp_path, capsys):
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    code, _, stderr = cli(capsys, "corpus", "stats", zero)
    assert code == 2 and "line longer than 16,000,000 bytes" in one_line(stderr)


# --- class 5 --------------------------------------------------------------------------------------


def test_bidi_and_control_characters_are_removed_from_text_and_outlets(tmp_path, capsys):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Judul\u202e A\x1b[1m\n" + BODY.replace("itu", "itu\u2067\u200b"))
    manifest(seeds, [("a\u200b", "a.txt", "kom\u202epas\x07")])
    assert cli(capsys, "corpus", "build", "--seeds", seeds, "--out", tmp_path / "c.jsonl")[0] == 0
    data = (tmp_path / "c.jsonl").read_text()
    assert not any(ch in data for ch in "\u202e\u2067\u200b\x1b\x07") and '"outlet": "kompas"' in data
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"outlet": "evil\x1b]0;pwned\x07\u202e", "role": "body"}) + "\n")
    code, stdout, _ = cli(capsys, "corpus", "stats", raw)
    assert code == 0 and "\x1b" not in stdout and "\u202e" not in stdout and "evil\\x1b]0;pwned\\x07\\u202e" in stdout


# --- class 6 --------------------------------------------------------------------------------------


def test_utf8_with_a_few_control_characters_is_text(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("Judul\x07\n" + BODY + "\x1b[0m")
    report = build_corpus(seeds, tmp_path / "c.jsonl")
    assert report.articles == 1 and not report.errors


@pytest.mark.parametrize("args, expected", [
    (["corpus", "build"], "error: Missing option '--out'"),
    (["corpus", "split", "--k", "0"], "error: Invalid value for '--k'"),
    (["corpus", "split", "--seed", "-1"], "error: Invalid value for '--seed'"),
    (["corpus", "build", "--out", "x", "--max-article-bytes", "-5"], "error: Invalid value for '--max-article-bytes'"),
    (["corpus", "nope"], "error: No such command 'nope'"),
])
def test_usage_errors_are_one_line(capsys, args, expected):
    code, stdout, stderr = cli(capsys, *args)
    assert code == 2 and stdout == "" and one_line(stderr).startswith(expected)


def test_pathological_lines_are_cleaned_in_linear_time():
    from warta.text.clean import boilerplate_reason
    from warta.text.corpus import Article, article_sentences

    for unit in ("a.", "a-", "a+", "1.", "1-", "a@"):
        start = time.monotonic()
        boilerplate_reason(unit * 20_000)  # the URL/e-mail rules were quadratic: ~60 s here before
        assert time.monotonic() - start < 2, unit
    start = time.monotonic()
    article_sentences(Article("a", "Judul\n" + "a-" * 50_000 + "\nIsi kalimat ini.\n"))
    assert time.monotonic() - start < 10
