"""End-to-end checks of the `warta` command line (the library is tested directly elsewhere)."""

from __future__ import annotations

from cli_runner import run_warta


def test_corpus_build_and_stats(tmp_path):
    out = tmp_path / "seeds.jsonl"
    built = run_warta("corpus", "build", "--out", str(out))
    assert built.returncode == 0, built.stderr
    assert "wrote 148 sentences from 5 articles" in built.stdout
    stats = run_warta("corpus", "stats", str(out))
    assert stats.returncode == 0
    lines = stats.stdout.splitlines()
    assert lines[0].split() == ["outlet", "articles", "title", "heading", "body", "total"]
    assert any(line.split() == ["ALL", "5", "3", "11", "134", "148"] for line in lines)


def test_bad_file_in_folder_is_reported_in_one_line_and_exit_is_nonzero(tmp_path):
    seeds = tmp_path / "in"
    seeds.mkdir()
    (seeds / "ok.txt").write_text("Judul\nKlarna merekrut lagi.\n", encoding="utf-8")
    (seeds / "bad.txt").write_bytes(b"\x00\x01\x02" * 30)
    (seeds / "old.txt").write_bytes("Judul Lama\nHarga naik – kata ekonom.\n".encode("cp1252"))
    result = run_warta("corpus", "build", "--seeds", str(seeds), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"skipped: {seeds / 'bad.txt'}: binary file (contains NUL bytes), not text" in result.stderr
    assert f"warning: {seeds / 'old.txt'}: not valid UTF-8, decoded as cp1252" in result.stderr
    assert "wrote 4 sentences from 2 articles" in result.stdout


def test_nothing_to_process_exits_2_without_traceback(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run_warta("corpus", "build", "--seeds", str(tmp_path), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path}: nothing could be processed")


def test_missing_stats_file_is_one_line(tmp_path):
    result = run_warta("corpus", "stats", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.jsonl'}: file not found"


def test_audit_counts_the_records_it_left_out_per_reason():
    from warta.cli.annotate import refused_summary

    refused = [f"s{i}: in the run's test split" for i in range(30)] + ["x: no probabilities"]
    assert refused_summary(refused) == [
        "30 record(s) in the run's test split (e.g. s0; all listed in --out)",
        "x: no probabilities",
    ]
