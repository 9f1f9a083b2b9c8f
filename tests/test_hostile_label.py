"""`warta label` against hostile input, one group per class of issue 14 (inputs generated here)."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_common import BODY, SEED_TXT, cli, one_line, snapshot, warta_process

from warta.errors import WartaError
from warta.labelling.checkpoint import partial_paths
from warta.labelling.engine import label_articles
from warta.labelling.inputs import iter_items
from warta.labelling.items import InputOptions

# --- class 1: nothing outside the output is written --------------------------------------------

_WRITES: list[str] = []
_RECORDING = [False]


def _audit(event: str, args) -> None:
    if not _RECORDING[0] or event != "open":
        return
    path, mode, flags = args
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
    )
    if writing and isinstance(path, (str, bytes, os.PathLike)):
        _WRITES.append(os.fsdecode(path))


sys.addaudithook(_audit)


def files_written_by(function) -> set[Path]:
    """Every path opened for writing while `function` runs in this process (Python's audit hook)."""
    _WRITES.clear()
    _RECORDING[0] = True
    try:
        function()
    finally:
        _RECORDING[0] = False
    return {Path(p) for p in _WRITES}


def plant_links(paths, victims_dir: Path) -> dict[Path, Path]:
    """A symlink at each path, pointing at its own victim file outside the output; {link: victim}."""
    planted = {}
    for i, path in enumerate(sorted(set(paths))):
        if path.is_dir() and not path.is_symlink():
            continue
        victim = victims_dir / f"victim{i}"
        victim.write_text(f"precious {i}\n", encoding="utf-8")
        path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(victim)
        planted[path] = victim
    return planted


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_links_at_every_temporary_partial_and_checkpoint_path_are_never_followed(tfidf_run, tmp_path, fmt):
    out = tmp_path / "out" / f"labels.{fmt}"
    victims = tmp_path / "victims"
    victims.mkdir()
    args = dict(workers=0, checkpoint_seconds=0.0)
    # Enumerate from the code: the names it declares, the names it used to use, and every path the
    # run actually opened for writing (audit hook), then plant links there and run again with --force.
    written = files_written_by(lambda: label_articles(tfidf_run, [SEED_TXT], out, **args))
    reference = out.read_bytes()
    partial, ckpt = partial_paths(out)
    declared = {out, partial, ckpt, ckpt.with_name(ckpt.name + ".tmp"), out.with_name(out.name + ".tmp")}
    planted = plant_links(declared | {p for p in written if p.parent == out.parent}, victims)
    assert partial in planted and ckpt in planted
    before = snapshot(planted.values())
    label_articles(tfidf_run, [SEED_TXT], out, force=True, **args)
    assert snapshot(planted.values()) == before  # no target touched
    assert not out.is_symlink() and out.read_bytes() == reference
    assert not os.path.lexists(partial) and not os.path.lexists(ckpt)


def test_resume_refuses_a_link_at_the_partial_file(tfidf_run, tmp_path):
    out = tmp_path / "o.jsonl"
    partial, ckpt = partial_paths(out)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    ckpt.write_text(json.dumps({"version": 1, "run": {}, "progress": {}}))
    partial.symlink_to(victim)
    with pytest.raises(WartaError, match="symbolic link"):
        label_articles(tfidf_run, [SEED_TXT], out, workers=0, resume=True)
    assert victim.read_text() == "precious\n"


def test_a_hard_link_or_fifo_at_the_partial_file_is_replaced_not_written(tfidf_run, tmp_path):
    out = tmp_path / "o.jsonl"
    partial, _ = partial_paths(out)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.link(victim, partial)
    label_articles(tfidf_run, [SEED_TXT], out, workers=0, force=True)
    assert victim.read_text() == "precious\n"
    os.mkfifo(partial)
    label_articles(tfidf_run, [SEED_TXT], out, workers=0, force=True)  # no hang on the FIFO
    assert out.is_file()


# --- class 2: nothing lost silently ------------------------------------------------------------


def test_an_html_page_becomes_its_text_with_a_note(tfidf_run, tmp_path):
    page = tmp_path / "page.txt"
    body = "".join(f"<p>{line}</p>\n" for line in BODY.splitlines())
    page.write_text(f"<!DOCTYPE html>\n<html><head><title>PHK karena AI</title><style>p{{x:1}}</style>"
                    f"<script>alert(1)</script></head><body><h1>PHK karena AI</h1>\n{body}</body></html>\n")
    notes = []
    label_articles(tfidf_run, [page], tmp_path / "o.jsonl", workers=0, on_note=notes.append)
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    texts = [r["text"] for r in records]
    assert texts[0] == "PHK karena AI" and len([r for r in records if r["role"] == "body"]) == 3
    assert not any("<" in t or "alert" in t or "DOCTYPE" in t for t in texts)
    assert any("HTML page" in note for note in notes)


def test_short_unpunctuated_lines_are_labelled_not_dropped_as_footer(tfidf_run, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("AI dan pekerjaan\npabrik mengganti operator dengan robot\nserikat pekerja menolak\n")
    summary = label_articles(tfidf_run, [notes], tmp_path / "o.jsonl", workers=0)
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["role"] for r in records] == ["title", "body", "body"]
    assert summary.dropped_lines == 0


def test_dropped_lines_are_counted_and_a_mostly_dropped_article_gets_a_note(tfidf_run, tmp_path):
    page = tmp_path / "a.txt"
    page.write_text("Judul berita\n" + BODY + "".join(f"Baca juga: berita lain nomor {i} tentang topik lain\nIklan\n" for i in range(15)))
    notes = []
    summary = label_articles(tfidf_run, [page], tmp_path / "o.jsonl", workers=0, on_note=notes.append)
    assert summary.dropped_lines >= 4
    assert any("cleaning dropped" in note for note in notes)


def test_duplicate_article_ids_are_made_unique_at_input_time_also_on_resume(tfidf_run, tmp_path):
    feed = tmp_path / "feed.jsonl"
    lines = [{"id": "same", "text": f"Judul {i}\n{BODY}"} for i in range(3)] + [{"id": "same#2", "text": BODY}]
    feed.write_text("".join(json.dumps(r) + "\n" for r in lines))
    notes = []
    label_articles(tfidf_run, [feed, feed.with_name("feed.jsonl")], tmp_path / "o.jsonl", workers=0, on_note=notes.append)
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len({r["id"] for r in records}) == len(records)
    articles = list(dict.fromkeys(r["article_id"] for r in records))
    assert articles == ["same", "same#2", "same#3", "same#2#2", "same#4", "same#5", "same#6", "same#2#3"]
    assert sum("already used" in note for note in notes) == 7
    # --resume skips units without building them, yet claims their ids: same names from any start.
    full = [item.article_id for _, item in iter_items([feed, feed])]
    for skip in range(len(full)):
        assert [item.article_id for _, item in iter_items([feed, feed], skip=skip)] == full[skip:]
    # warta outlets accepts the output (no duplicate sentence ids two commands later).
    assert len({r["id"] for r in records}) == len(records)


# --- class 3: no tracebacks -------------------------------------------------------------------


def test_deep_json_huge_integers_and_bad_values_are_one_problem_each(tfidf_run, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "[" * 100_000 + "]" * 100_000 + "\n"
        + '{"id": ' + "9" * 5000 + ', "text": "x"}\n'
        + '{"text": {"a": [1, 2]}}\n'
        + '{"id": "' + "x" * 5000 + '", "text": "Judul. Isi."}\n'
        + json.dumps({"id": "ok", "text": BODY}) + "\n"
    )
    problems = []
    summary = label_articles(tfidf_run, [feed], tmp_path / "o.jsonl", workers=0, on_problem=problems.append)
    messages = [p.message for p in problems]
    assert messages[0] == f"{feed}:1: JSON nested too deeply"
    assert messages[1].startswith(f"{feed}:2: unusable JSON value (Exceeds the limit")
    assert messages[2] == f"{feed}:3: record has no text"
    assert messages[3].startswith(f"{feed}:4: 'id' is 5,000 characters long")
    assert (summary.articles, summary.skipped, summary.exit_code) == (1, 4, 1)


@pytest.mark.parametrize("out", ["", ".", "/", "FILE/sub/o.jsonl", "/proc/1/o.jsonl", "/sys/o.jsonl"])
def test_unusable_out_paths_are_one_line_exit_2_before_any_work(tfidf_run, tmp_path, capsys, out):
    (tmp_path / "FILE").write_text("x")
    os.chdir(tmp_path)
    code, stdout, stderr = cli(capsys, "label", tfidf_run, SEED_TXT, "--out", out, "-q", "--workers", "0")
    assert code == 2 and stdout == ""
    assert one_line(stderr).startswith("error: ")


def test_closed_stdin_is_one_problem(tfidf_run, tmp_path):
    result = warta_process("label", tfidf_run, "-", SEED_TXT, "--out", tmp_path / "o.jsonl", "-q", "--workers", "0",
                           preexec_fn=lambda: os.close(0))
    assert result.returncode == 1, result.stderr
    assert b"<stdin>: standard input is closed" in result.stderr and b"Traceback" not in result.stderr


def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_line_and_resume_afterwards_is_exact(tfidf_run, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"a{i}", "text": f"Judul {i}\n{BODY}"}) + "\n" for i in range(300)))
    reference = tmp_path / "ref.jsonl"
    label_articles(tfidf_run, [feed], reference, workers=0)
    out = tmp_path / "o.jsonl"
    args = ["label", tfidf_run, feed, "--out", out, "-q", "--workers", "0", "--batch-size", "16"]
    # The file-size limit makes write() fail with EFBIG, like a full disk fails it with ENOSPC.
    full = warta_process(*args, preexec_fn=_limit_file_size(60_000))
    assert full.returncode == 2, full.stderr
    line = one_line(full.stderr.decode())
    assert "cannot write (File too large)" in line and "rerun with --resume" in line
    resumed = warta_process(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == reference.read_bytes()


def test_a_full_stdout_at_the_summary_is_one_line_on_stderr(tfidf_run, tmp_path):
    with open("/dev/full", "w") as full:
        result = warta_process("label", tfidf_run, SEED_TXT, "--out", tmp_path / "o.jsonl", "-q", "--workers", "0",
                               stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 2
    assert one_line(result.stderr.decode()) == "error: <stdout>: cannot write (No space left on device)"
    assert (tmp_path / "o.jsonl").is_file()  # the labelling itself was done


# --- class 4: no hangs, no unbounded reads -------------------------------------------------------


def test_a_fifo_in_a_walked_folder_is_reported_not_read(tfidf_run, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text("Judul\n" + BODY)
    os.mkfifo(folder / "b.txt")
    os.mkfifo(folder / "c.jsonl")
    problems = []
    start = time.monotonic()
    summary = label_articles(tfidf_run, [folder], tmp_path / "o.jsonl", workers=0, on_problem=problems.append)
    assert time.monotonic() - start < 60
    assert [p.message for p in problems] == [
        f"{folder / 'b.txt'}: a FIFO, not a regular file; not read",
        f"{folder / 'c.jsonl'}: a FIFO, not a regular file; not read",
    ]
    assert (summary.articles, summary.skipped) == (1, 2)


def test_dev_zero_and_oversized_inputs_stop_at_the_cap(tfidf_run, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"kata " * 300_000)
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"text": "kata " * 300_000}) + "\n" + json.dumps({"id": "ok", "text": BODY}) + "\n")
    problems = []
    summary = label_articles(tfidf_run, ["/dev/zero", big, feed, SEED_TXT], tmp_path / "o.jsonl", workers=0,
                             max_article_bytes=1_000_000, on_problem=problems.append)
    messages = [p.message for p in problems]
    assert messages[0] == "/dev/zero: over the article size cap of 1,000,000 bytes (--max-article-bytes)"
    assert messages[1] == f"{big}: 1,500,000 bytes, over the article size cap of 1,000,000 (--max-article-bytes)"
    assert messages[2].startswith(f"{feed}:1: line over the article size cap of 1,000,000 bytes")
    assert (summary.articles, summary.skipped) == (2, 3)


def test_dev_zero_as_jsonl_and_as_stdin_stop(tfidf_run, tmp_path):
    link = tmp_path / "zero.jsonl"
    link.symlink_to("/dev/zero")
    problems = []
    with open("/dev/zero", "rb") as zero:
        with pytest.raises(Exception, match="nothing could be labelled"):
            label_articles(tfidf_run, [link, "-"], tmp_path / "o.jsonl", workers=0, stdin=zero,
                           max_article_bytes=100_000, on_problem=problems.append)
    assert [p.message for p in problems][1:] == ["<stdin>: over the article size cap of 100,000 bytes (--max-article-bytes)"]


# --- class 5: output that cannot harm its reader ------------------------------------------------


def test_csv_cells_are_formula_escaped_and_jsonl_keeps_the_text(tfidf_run, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "=HYPERLINK(\"http://x\")", "outlet": "@evil", "text":
                                "=1+1 judul\n-5 persen pekerja di-PHK karena AI.\n+62 nomor itu bohong.\n"}) + "\n")
    label_articles(tfidf_run, [feed], tmp_path / "o.csv", workers=0)
    label_articles(tfidf_run, [feed], tmp_path / "o.jsonl", workers=0)
    rows = list(csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8")))
    cells = [row[name] for row in rows for name in ("id", "article_id", "outlet", "text")]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert rows[1]["text"] == "'-5 persen pekerja di-PHK karena AI." and rows[0]["outlet"] == "'@evil"
    assert float(rows[1]["probs.type.fact"]) >= 0  # numbers untouched
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert records[1]["text"] == "-5 persen pekerja di-PHK karena AI." and records[0]["outlet"] == "@evil"


def test_bidi_invisible_and_control_characters_never_reach_the_output(tfidf_run, tmp_path):
    sneaky = "\u202e\u2066\u200b\U000e0041\x1b[31m\x07"
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": f"a{sneaky}1", "outlet": f"kompas{sneaky}", "title": "x",
                                "text": f"Judul{sneaky}\n{BODY.replace('itu', 'itu' + sneaky)}"}) + "\n")
    label_articles(tfidf_run, [feed], tmp_path / "o.jsonl", workers=0)
    data = (tmp_path / "o.jsonl").read_text(encoding="utf-8")
    for ch in "\u202e\u2066\u200b\U000e0041\x1b\x07":
        assert ch not in data and json.dumps(ch)[1:-1] not in data
    assert "[31m" not in data  # the whole terminal sequence, not only its ESC
    assert '"outlet": "kompas"' in data and '"article_id": "a1"' in data


def test_terminal_messages_escape_control_characters_in_file_names(tfidf_run, tmp_path, capsys):
    evil = tmp_path / "a\x1b[2J\nerror: forged.txt"
    evil.write_bytes(b"")
    code, _, stderr = cli(capsys, "label", tfidf_run, evil, SEED_TXT, "--out", tmp_path / "o.jsonl", "-q", "--workers", "0")
    assert code == 1 and "\x1b" not in stderr
    assert [line for line in stderr.splitlines() if "forged" in line] == [
        f"skipped: {tmp_path}/a\\x1b[2J\\x0aerror: forged.txt: empty file"
    ]


# --- class 6: honest messages --------------------------------------------------------------------


def test_valid_utf8_with_a_few_control_characters_is_text(tfidf_run, tmp_path):
    capture = tmp_path / "capture.txt"
    capture.write_text("Judul\x1b[0m\n" + BODY.replace("ini.", "ini.\x07"), encoding="utf-8")
    summary = label_articles(tfidf_run, [capture], tmp_path / "o.jsonl", workers=0)
    assert summary.skipped == 0 and "\x07" not in (tmp_path / "o.jsonl").read_text()


def test_utf16_jsonl_is_read_like_utf16_text(tfidf_run, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(("\ufeff" + json.dumps({"id": "u", "text": "Judul\n" + BODY}, ensure_ascii=False) + "\n").encode("utf-16-le"))
    summary = label_articles(tfidf_run, [feed], tmp_path / "o.jsonl", workers=0)
    assert (summary.articles, summary.skipped) == (1, 0)
    nobom = tmp_path / "nobom.txt"
    nobom.write_bytes(("Judul\n" + BODY).encode("utf-16-le"))
    problems = []
    label_articles(tfidf_run, [nobom, SEED_TXT], tmp_path / "p.jsonl", workers=0, on_problem=problems.append)
    assert "UTF-16 without a byte-order mark" in problems[0].message


def test_out_equal_to_an_input_says_so(tfidf_run, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"text": BODY}) + "\n")
    with pytest.raises(WartaError, match=r"feed.jsonl: is this run's own output \(--out"):
        label_articles(tfidf_run, [feed], feed, workers=0, force=True)
    assert json.loads(feed.read_text())["text"] == BODY


@pytest.mark.parametrize("args, expected", [
    (["--workers", "-3"], "error: Invalid value for '--workers'"),
    (["--batch-size", "0"], "error: Invalid value for '--batch-size'"),
    (["--max-article-bytes", "0"], "error: Invalid value for '--max-article-bytes'"),
    (["--bogus"], "error: No such option: --bogus"),
    (["--format"], "error: Option '--format' requires an argument"),
])
def test_usage_errors_are_one_line(tfidf_run, tmp_path, capsys, args, expected):
    code, stdout, stderr = cli(capsys, "label", tfidf_run, SEED_TXT, "--out", tmp_path / "o.jsonl", *args)
    assert code == 2 and stdout == ""
    assert one_line(stderr).startswith(expected)
    assert not (tmp_path / "o.jsonl").exists()


def test_library_refuses_negative_workers(tfidf_run, tmp_path):
    with pytest.raises(WartaError, match="--workers -3: must be a whole number >= 0"):
        label_articles(tfidf_run, [SEED_TXT], tmp_path / "o.jsonl", workers=-3)


def test_ctrl_c_during_model_load_promises_nothing_that_does_not_exist(tfidf_run, tmp_path):
    script = (
        "import sys, time\n"
        "import warta.labelling.labeller as fi\n"
        "def slow(*a, **k):\n"
        "    sys.stderr.write('loading\\n'); sys.stderr.flush(); time.sleep(60)\n"
        "fi.load_labeller = slow\n"
        "from warta.cli import main\n"
        "sys.argv = ['warta'] + sys.argv[1:]\n"
        "main()\n"
    )
    out = tmp_path / "o.jsonl"
    process = subprocess.Popen([sys.executable, "-c", script, "label", str(tfidf_run), str(SEED_TXT), "--out", str(out),
                                "-q", "--workers", "0"], stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stderr.readline() == b"loading\n"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert one_line(stderr.decode()) == "interrupted before any article was written; nothing to resume (rerun the command)"
    assert not partial_paths(out)[0].exists()


def test_walk_options_are_validated_in_input_options():
    assert InputOptions().max_article_bytes == 5_000_000
