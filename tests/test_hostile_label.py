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
        # a shell that starts the suite in the background hands its children SIGINT ignored, and Python keeps it
        # so; a user's Ctrl-C reaches a default handler, which is what this test is about
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
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


# --- issue 23 class 1: --resume can never corrupt ---------------------------------------------------
#
# Property: after a kill at any point and any change to the inputs, the model, stdin, the checkpoint or the
# partial output, `--resume` either refuses (one line) or gives the bytes an uninterrupted run gives on the
# current inputs and model. Each trial kills a run at a random checkpoint (the library's on_commit hook
# raises, so no cleanup runs, as with SIGKILL; a torn half-buffer may be appended after it), applies one
# mutation, resumes, and compares with a fresh run. One more trial kills the CLI for real (SIGKILL through
# WARTA_LABEL_STOP_AFTER).

import random  # noqa: E402
import shutil  # noqa: E402

_SENTENCES = [text for units in json.loads((Path(__file__).parent / "data" / "seed_sentences.json").read_text("utf-8"))
              .values() for role, text in units if role == "body"]


_SEED = 0  # trials use seeds _SEED, _SEED + 1, ...: other values explore other kill points and changes


class _Killed(BaseException):
    """Raised from a hook: the run stops where it is, no checkpoint and no cleanup of the output."""


def _article(rng: random.Random, i: int) -> str:
    return f"Judul berita nomor {i}\n" + "\n".join(rng.sample(_SENTENCES, rng.randint(2, 6))) + "\n"


def _make_inputs(root: Path, rng: random.Random) -> tuple[list[Path], bytes]:
    """An outlet folder of .txt articles, a JSONL feed, and a JSONL stream for stdin."""
    folder = root / "news" / "kompas"
    folder.mkdir(parents=True)
    for i in range(8):
        (folder / f"a{i:02d}.txt").write_text(_article(rng, i), encoding="utf-8")
    feed = root / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"f{i}", "outlet": "tempo", "text": _article(rng, 100 + i)}) + "\n"
                            for i in range(12)), encoding="utf-8")
    stream = "".join(json.dumps({"id": f"s{i}", "text": _article(rng, 200 + i)}) + "\n" for i in range(6))
    return [root / "news", feed], stream.encode()


def _same_size_edit(path: Path, rng: random.Random) -> None:
    """Change one letter, keep the size and the modification time (what size+mtime checks miss)."""
    data = bytearray(path.read_bytes())
    stat = path.stat()
    at = rng.choice([i for i, b in enumerate(data) if chr(b).isalpha() and chr(b).islower()])
    data[at] = ord("x") if data[at] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _edit_checkpoint(ckpt: Path, change, resign: bool = False) -> None:
    saved = json.loads(ckpt.read_text())
    change(saved)
    if resign:  # a forger who knows the checksum: the output and input hashes must still catch it
        from warta.labelling.checkpoint import _checksum

        saved["checksum"] = _checksum(saved)
    ckpt.write_text(json.dumps(saved))


# name -> (mutation(trial), outcome): "same" must resume to the fresh run's bytes, "refused" must refuse,
# "either" may do either (a change after the labelled part is read fresh; inside it, it is refused).
def _mutations():
    def rewrite_txt(t):
        _same_size_edit(t.rng.choice(sorted((t.root / "news" / "kompas").glob("*.txt"))), t.rng)

    def rewrite_feed(t):
        _same_size_edit(t.root / "feed.jsonl", t.rng)

    def append_feed(t):
        with (t.root / "feed.jsonl").open("a") as handle:
            handle.write(json.dumps({"id": "late", "text": _article(t.rng, 999)}) + "\n")

    def add_file(t):
        name = t.rng.choice(["0first.txt", "a05b.txt", "zlast.txt"])
        (t.root / "news" / "kompas" / name).write_text(_article(t.rng, 500), encoding="utf-8")

    def remove_file(t):
        t.rng.choice(sorted((t.root / "news" / "kompas").glob("*.txt"))).unlink()

    def rename_file(t):
        path = t.rng.choice(sorted((t.root / "news" / "kompas").glob("*.txt")))
        path.rename(path.with_name("renamed-" + path.name))

    def retrain_model(t):  # the run retrained with --force between kill and resume: same folder, other weights
        shutil.rmtree(t.run)
        shutil.copytree(t.other_run, t.run)

    def other_stdin(t):
        t.stdin = t.stdin.replace(b"s1", b"s9")

    def ckpt(change, resign=False):
        return lambda t: _edit_checkpoint(t.ckpt, change, resign)

    def flip_partial(t):
        data = bytearray(t.partial.read_bytes())
        at = t.rng.randrange(len(data) // 2)
        data[at] ^= 0x01
        t.partial.write_bytes(bytes(data))

    def other_outlet(t):
        t.options["outlet"] = "other"

    return {
        "nothing": (lambda t: None, "same"),
        "checkpoint deleted": (lambda t: t.ckpt.unlink(), "same"),
        "feed line appended": (append_feed, "either"),
        "txt rewritten in place (same size, same mtime)": (rewrite_txt, "either"),
        "feed rewritten in place (same size, same mtime)": (rewrite_feed, "either"),
        "file added to the walked folder": (add_file, "either"),
        "file removed from the walked folder": (remove_file, "either"),
        "file renamed in the walked folder": (rename_file, "either"),
        "run retrained under the same folder name": (retrain_model, "refused"),
        "other content on stdin": (other_stdin, "either"),
        "checkpoint units: -5": (ckpt(lambda s: s["progress"].update(units=-5)), "refused"),
        "checkpoint units + 1, checksum recomputed": (ckpt(lambda s: s["progress"].update(units=s["progress"]["units"] + 1), True), "refused"),
        "checkpoint bytes - 10, checksum recomputed": (ckpt(lambda s: s["progress"].update(bytes=s["progress"]["bytes"] - 10), True), "refused"),
        "checkpoint sentences + 1": (ckpt(lambda s: s["progress"].update(sentences=s["progress"]["sentences"] + 1)), "refused"),
        "checkpoint inputs hash replaced, checksum recomputed": (ckpt(lambda s: s.update(inputs="0" * 64), True), "refused"),
        "checkpoint not JSON": (lambda t: t.ckpt.write_text("{"), "refused"),
        "checkpoint version 1": (ckpt(lambda s: s.update(version=1)), "refused"),
        "partial output byte flipped": (flip_partial, "refused"),
        "partial output truncated": (lambda t: os.truncate(t.partial, t.partial.stat().st_size // 3), "refused"),
        "partial output deleted (checkpoint kept)": (lambda t: t.partial.unlink(), "refused"),
        "resumed with another --outlet": (other_outlet, "refused"),
    }


class _Trial:
    def __init__(self, root: Path, rng: random.Random, run: Path, other_run: Path, use_stdin: bool):
        self.root, self.rng, self.other_run = root, rng, other_run
        self.run = root / "run"
        shutil.copytree(run, self.run)
        self.inputs, self.stdin = _make_inputs(root, rng)
        if use_stdin:
            self.inputs = [self.inputs[1], "-"]
        self.out = root / rng.choice(["o.jsonl", "o.csv", "o.parquet"])
        self.partial, self.ckpt = partial_paths(self.out)
        self.options = dict(workers=0, checkpoint_seconds=0, buffer_sentences=rng.choice([15, 30, 60]))

    def label(self, out: Path, **extra):
        import io

        return label_articles(self.run, self.inputs, out, stdin=io.BytesIO(self.stdin), **self.options, **extra)


@pytest.fixture(scope="module")
def other_tfidf_run(tmp_path_factory) -> Path:
    """Another TF-IDF model (other C): a run retrained between kill and resume."""
    from hostile_common import REPO

    from warta.config import load_config
    from warta.train.run import train

    config = load_config(REPO / "configs" / "tfidf.yaml", ["model.c_values=[0.05]"])
    return train(config, out=tmp_path_factory.mktemp("other") / "tfidf", progress=False, n_boot=0).run_dir


def test_resume_after_a_kill_and_any_change_is_byte_identical_or_refused(tfidf_run, other_tfidf_run, tmp_path):
    outcomes = {}
    for trial_no, (name, (mutate, expected)) in enumerate(_mutations().items()):
        rng = random.Random(_SEED + trial_no)
        trial = _Trial(tmp_path / f"t{trial_no}", rng, tfidf_run, other_tfidf_run, use_stdin="stdin" in name)
        dry = []
        trial.label(trial.root / ("dry" + trial.out.suffix), on_commit=dry.append)
        commits = {"n": 0}
        kill_at = rng.randint(1, len(dry))  # any checkpoint of the run

        def kill(units, commits=commits, kill_at=kill_at):
            commits["n"] += 1
            if commits["n"] >= kill_at:
                raise _Killed

        with pytest.raises(_Killed):
            trial.label(trial.out, on_commit=kill)
        assert trial.ckpt.exists() and not trial.out.exists()
        if rng.random() < 0.5:  # a kill in the middle of the next write leaves a torn tail
            with trial.partial.open("ab") as handle:
                handle.write(b'{"id": "torn", "te')
        mutate(trial)
        try:
            trial.label(trial.out, resume=True)
        except WartaError as exc:
            assert "\n" not in str(exc) and not trial.out.exists(), (name, str(exc))
            outcomes[name] = "refused"
        else:
            fresh = trial.root / ("fresh" + trial.out.suffix)
            trial.label(fresh)
            assert trial.out.read_bytes() == fresh.read_bytes(), name
            outcomes[name] = "same"
        assert expected in ("either", outcomes[name]), (name, outcomes[name])
    # Both outcomes occur among the changes that may go either way (the property is not vacuous).
    either = {outcomes[name] for name, (_, expected) in _mutations().items() if expected == "either"}
    assert either == {"same", "refused"}, outcomes


def test_cli_killed_for_real_then_changed_input_is_refused_and_the_same_input_resumes(tfidf_run, tmp_path):
    rng = random.Random(7)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"a{i}", "text": _article(rng, i)}) + "\n" for i in range(1500)))
    out = tmp_path / "o.jsonl"
    args = ["label", tfidf_run, feed, "--out", out, "-q", "--workers", "0", "--batch-size", "64"]
    killed = subprocess.run([sys.executable, "-m", "warta", *map(str, args)], capture_output=True, timeout=120,
                            env={**os.environ, "WARTA_LABEL_STOP_AFTER": "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    original = feed.read_bytes()
    _same_size_edit(feed, random.Random(1))  # the first article: inside the labelled part
    refused = warta_process(*args, "--resume")
    assert refused.returncode == 2 and "differ from what the interrupted run labelled" in one_line(refused.stderr.decode())
    feed.write_bytes(original)
    resumed = warta_process(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    label_articles(tfidf_run, [feed], tmp_path / "fresh.jsonl", workers=0, batch_size=64)
    assert out.read_bytes() == (tmp_path / "fresh.jsonl").read_bytes()


# --- issue 23 class 5: numbers that break readers ------------------------------------------------

_BAD_NUMBERS = {  # field -> (JSON value text, CSV cell text)
    "a 401-digit integer": ("9" * 401, "9" * 401),
    "NaN": ("NaN", "nan"),
    "infinity": ("1e999", "inf"),
    "negative": ("-0.5", "-0.5"),
    "above one": ("1.5", "1.5"),
    "a string": ('"0.5"', "half"),
    "a boolean": ("true", "true"),
}


@pytest.mark.parametrize("case", sorted(_BAD_NUMBERS))
def test_a_bad_number_in_a_label_file_is_one_line_naming_file_line_and_field(tfidf_run, tmp_path, capsys, case):
    from warta.errors import InputError
    from warta.jsonl import read_label_records

    label_articles(tfidf_run, [SEED_TXT], tmp_path / "o.jsonl", workers=0)
    label_articles(tfidf_run, [SEED_TXT], tmp_path / "o.csv", workers=0)
    json_value, csv_cell = _BAD_NUMBERS[case]
    lines = (tmp_path / "o.jsonl").read_text("utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"pro": ', f'"pro": {json_value}, "was": ', 1)  # the 3rd record: line 3
    (tmp_path / "bad.jsonl").write_text("".join(lines), encoding="utf-8")
    rows = list(csv.reader((tmp_path / "o.csv").open(encoding="utf-8", newline="")))
    column = rows[0].index("probs.stance.pro")
    rows[3][column] = csv_cell  # the 3rd record: line 4 (after the header)
    with (tmp_path / "bad.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    for bad, line in ((tmp_path / "bad.jsonl", 3), (tmp_path / "bad.csv", 4)):
        with pytest.raises(InputError) as caught:
            list(read_label_records(bad))
        message = str(caught.value)
        assert message.startswith(f"{bad}:{line}: field probs.stance.pro: ") and "\n" not in message, message
        assert len(message) < 200, message
        code, stdout, stderr = cli(capsys, "outlets", bad, "--out", tmp_path / "outlets", "--force")
        assert code == 2 and one_line(stderr) == f"error: {message}"


def test_a_huge_or_negative_index_is_refused(tmp_path):
    from warta.errors import InputError
    from warta.jsonl import read_label_records

    for value in ("1" + "0" * 30, "-1", "2.5"):
        path = tmp_path / "i.jsonl"
        path.write_text('{"id": "a", "text": "x", "index": %s}\n' % value)
        with pytest.raises(InputError, match=rf"^{path}:1: field index: "):
            list(read_label_records(path))
