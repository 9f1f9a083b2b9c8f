"""`warta evaluate`, `warta compare` and `warta outlets` against hostile input, one group per class of issue 14."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest
from hostile_common import REPO, cli, one_line, snapshot, warta_process

TYPES = ["fact", "quote", "opinion", "speculation"]
STANCES = ["pro", "against", "neutral"]
FRAMES = ["economic", "human_interest", "responsibility", "conflict", "morality", "none"]


def copy_run(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def sentences(n_outlets: int = 3, articles: int = 3, per_article: int = 5, outlet=lambda o: f"outlet{o}", **extra):
    records = []
    for o in range(n_outlets):
        for a in range(articles):
            for i in range(per_article):
                k = o + a + i
                records.append({
                    "id": f"o{o}-a{a}-{i}", "article_id": f"o{o}-a{a}", "outlet": outlet(o), "index": i,
                    "role": "title" if i == 0 else "body", "text": "kalimat", "type": TYPES[k % 4],
                    "stance": STANCES[k % 3], "frame": FRAMES[k % 6], **extra,
                })
    return records


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def with_probs(records, value=None):
    out = []
    for r in records:
        probs = {layer: {label: (1.0 if label == r[layer] else 0.0) for label in labels}
                 for layer, labels in (("type", TYPES), ("stance", STANCES), ("frame", FRAMES))}
        if value is not None:
            probs["type"][r["type"]] = value
        out.append({**r, "probs": probs})
    return out


# --- class 1 --------------------------------------------------------------------------------------


def test_outlets_never_writes_through_links_at_its_outputs_or_temporary_names(tmp_path, capsys):
    data = write_jsonl(tmp_path / "s.jsonl", sentences())
    out = tmp_path / "report"
    out.mkdir()
    victims = []
    for name in ("outlets.json", "outlets.csv", "distances.csv", "report.html", "compare.json", "compare.csv"):
        for link in (out / name, out / f".{name}.tmp"):
            victim = tmp_path / f"victim-{link.name}"
            victim.write_text("precious\n")
            link.symlink_to(victim)
            victims.append(victim)
    before = snapshot(victims)
    assert cli(capsys, "outlets", data, "--out", out, "--force", "--n-boot", "100")[0] == 0
    assert cli(capsys, "outlets", "--gold", data, "--pred", data, "--out", out, "--force", "--n-boot", "100")[0] == 0
    assert snapshot(victims) == before
    assert not (out / "outlets.json").is_symlink() and json.loads((out / "outlets.json").read_text())["outlets"]


def test_evaluate_and_compare_never_write_through_links(tfidf_run, tmp_path, capsys):
    run = copy_run(tfidf_run, tmp_path)
    victims = [tmp_path / "v1", tmp_path / "v2", tmp_path / "v3"]
    for victim in victims:
        victim.write_text("precious\n")
    (run / "eval-test.json").symlink_to(victims[0])
    (tmp_path / "cmp.json").symlink_to(victims[1])
    (run / ".eval-test.json.tmp").symlink_to(victims[2])
    before = snapshot(victims)
    assert cli(capsys, "evaluate", run, "--n-boot", "0")[0] == 0
    assert cli(capsys, "compare", run, run, "--n-boot", "10", "--out", tmp_path / "cmp.json", "--force")[0] == 0
    assert snapshot(victims) == before
    assert json.loads((run / "eval-test.json").read_text()) and json.loads((tmp_path / "cmp.json").read_text())


# --- class 2 --------------------------------------------------------------------------------------


def test_a_file_of_only_headings_is_refused_not_an_empty_report(tmp_path, capsys):
    data = write_jsonl(tmp_path / "h.jsonl", [{**r, "role": "heading"} for r in sentences()])
    code, _, stderr = cli(capsys, "outlets", data, "--out", tmp_path / "r")
    assert code == 2 and "no title/body sentences" in one_line(stderr)
    assert not (tmp_path / "r" / "outlets.json").exists()


def test_duplicate_ids_across_files_are_named(tmp_path, capsys):
    a = write_jsonl(tmp_path / "a.jsonl", sentences(1))
    code, _, stderr = cli(capsys, "outlets", a, a, "--out", tmp_path / "r")
    assert code == 2 and "duplicate sentence id o0-a0-0 (first at" in one_line(stderr)


def test_evaluate_data_with_only_headings_or_no_gold_is_one_line(tfidf_run, tmp_path, capsys):
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "Judul saja"}])
    code, _, stderr = cli(capsys, "evaluate", tfidf_run, "--data", data, "--out", tmp_path / "e.json")
    assert code == 2 and one_line(stderr).startswith("error: ")


# --- class 3 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (float("nan"), "field probs.type.fact: nan is not a probability"),
    (-0.5, "field probs.type.fact: -0.5 is not a probability"),
    (0.3, "probabilities sum to"),
    ("0.9", "field probs.type.fact: '0.9' is not a probability"),
    (float("inf"), "field probs.type.fact: inf is not a probability"),
])
def test_outlets_refuses_bad_probabilities_in_one_line(tmp_path, capsys, value, expected):
    data = write_jsonl(tmp_path / "p.jsonl", with_probs(sentences(), value))
    code, _, stderr = cli(capsys, "outlets", data, "--use", "probs", "--out", tmp_path / "r")
    assert code == 2 and expected in one_line(stderr)


@pytest.mark.parametrize("value", [float("nan"), -1.0, 7.0, "high", None])
def test_evaluate_cv_refuses_bad_probabilities_in_one_line(tfidf_run, tmp_path, capsys, value):
    run = copy_run(tfidf_run, tmp_path)
    records = [json.loads(line) for line in (run / "predictions" / "test.jsonl").read_text().splitlines()]
    for record in records:
        if record.get("probs"):
            record["probs"]["type"][record["type"]] = value
    (run / "cv").mkdir()
    write_jsonl(run / "cv" / "oof.jsonl", records)
    code, _, stderr = cli(capsys, "evaluate", run, "--split", "cv", "--n-boot", "0")
    assert code == 2, stderr
    assert "not a number in [0, 1]" in one_line(stderr)
    assert not (run / "eval-cv.json").exists()


def test_deep_json_and_huge_numbers_in_outlet_inputs_are_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    code, _, stderr = cli(capsys, "outlets", deep, "--out", tmp_path / "r")
    assert code == 2 and one_line(stderr) == f"error: {deep}:1: JSON nested too deeply"
    big = tmp_path / "big.jsonl"
    big.write_text('{"id": ' + "7" * 5000 + "}\n")
    code, _, stderr = cli(capsys, "outlets", big, "--out", tmp_path / "r")
    assert code == 2 and "unusable JSON value" in one_line(stderr)


def test_unusable_out_paths_are_one_line(tfidf_run, tmp_path, capsys):
    data = write_jsonl(tmp_path / "s.jsonl", sentences())
    (tmp_path / "FILE").write_text("x")
    cases = [
        ["outlets", data, "--out", tmp_path / "FILE"],
        ["outlets", data, "--out", tmp_path / "FILE" / "sub"],
        ["outlets", data, "--out", "/proc/1/r"],
        ["outlets", data, "--out", ""],
        ["outlets", data, "--out="],
        ["train", REPO / "configs" / "tfidf.yaml", "--out", "", "--force"],
        ["label", tfidf_run, data, "--out", ""],
        ["corpus", "build", "--seeds", "", "--out", tmp_path / "c.jsonl"],
        ["evaluate", tfidf_run, "--out", tmp_path / "FILE" / "e.json"],
        ["evaluate", tfidf_run, "--out", tmp_path],
        ["evaluate", tfidf_run, "--out", "/sys/e.json", "--n-boot", "0"],
        ["compare", tfidf_run, tfidf_run, "--out", tmp_path / "FILE" / "c.json"],
    ]
    for args in cases:
        code, _, stderr = cli(capsys, *args)
        assert code == 2 and one_line(stderr).startswith("error: "), (args, stderr)
    assert sorted(os.listdir(tmp_path)) == ["FILE", "s.jsonl"]


def test_full_stdout_is_one_line(tmp_path):
    data = write_jsonl(tmp_path / "s.jsonl", sentences())
    with open("/dev/full", "w") as full:
        result = warta_process("outlets", data, "--out", tmp_path / "r", "--n-boot", "100", stdout=full, stderr=-1)
    assert result.returncode == 2
    assert one_line(result.stderr.decode()) == "error: <stdout>: cannot write (No space left on device)"


# --- class 4 --------------------------------------------------------------------------------------


def test_endless_inputs_stop(tfidf_run, tmp_path, capsys):
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    for args in (["outlets", zero, "--out", tmp_path / "r"], ["evaluate", tfidf_run, "--data", zero, "--out", tmp_path / "e.json"]):
        code, _, stderr = cli(capsys, *args)
        assert code == 2 and "line longer than" in one_line(stderr)


# --- class 5 --------------------------------------------------------------------------------------


def test_outlet_names_cannot_inject_formulas_bidi_or_terminal_codes(tmp_path, capsys):
    names = ["=HYPERLINK(\"http://evil\")", "+SUM(A1)", "@cmd", "kom\u202epas\x1b[31m\u200b"]
    data = write_jsonl(tmp_path / "s.jsonl", sentences(4, outlet=lambda o: names[o]))
    code, stdout, _ = cli(capsys, "outlets", data, "--out", tmp_path / "r", "--n-boot", "100", "--min-sentences", "1")
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "r" / "outlets.csv").open(encoding="utf-8")))
    assert [row["outlet"] for row in rows] == ["'+SUM(A1)", "'=HYPERLINK(\"http://evil\")", "'@cmd", "kompas", "ALL"]
    pairs = list(csv.DictReader((tmp_path / "r" / "distances.csv").open(encoding="utf-8")))
    assert all(not row[key].startswith(("=", "+", "@", "-")) for row in pairs for key in ("outlet", "versus", "note"))
    for name in ("outlets.json", "report.html", "outlets.csv", "distances.csv"):
        text = (tmp_path / "r" / name).read_text(encoding="utf-8")
        assert not any(ch in text for ch in "\u202e\u200b\x1b")
    assert "\x1b" not in stdout and "\u202e" not in stdout
    assert json.loads((tmp_path / "r" / "outlets.json").read_text())["outlets"]["=HYPERLINK(\"http://evil\")"]
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&quot;http://evil&quot;)" in page and "=HYPERLINK(\"" not in page  # quotes escaped in HTML


def test_html_in_outlet_names_is_escaped_in_the_report(tmp_path, capsys):
    data = write_jsonl(tmp_path / "s.jsonl", sentences(2, outlet=lambda o: f"<script>alert({o})</script>"))
    assert cli(capsys, "outlets", data, "--out", tmp_path / "r", "--n-boot", "100", "--min-sentences", "1")[0] == 0
    assert "<script>alert(" not in (tmp_path / "r" / "report.html").read_text()


# --- class 6 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["outlets", "x.jsonl", "--out", "r", "--seed", "-1"], "error: Invalid value for '--seed'"),
    (["outlets", "x.jsonl", "--out", "r", "--n-boot", "5"], "error: Invalid value for '--n-boot'"),
    (["outlets", "x.jsonl", "--out", "r", "--use", "magic"], "error: Invalid value for '--use'"),
    (["outlets", "x.jsonl"], "error: Missing option '--out'"),
    (["evaluate"], "error: Missing argument 'run'"),
    (["evaluate", "r", "--seed", "-2"], "error: Invalid value for '--seed'"),
    (["compare", "a", "b", "--max-flips", "-1"], "error: Invalid value for '--max-flips'"),
    (["compare", "a", "b", "--n-boot", "0"], "error: Invalid value for '--n-boot'"),
])
def test_usage_errors_are_one_line(capsys, args, expected):
    code, stdout, stderr = cli(capsys, *args)
    assert code == 2 and stdout == "" and one_line(stderr).startswith(expected)


def test_bad_run_folders_and_splits_are_one_line(tfidf_run, tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    cases = [
        ["evaluate", tmp_path / "none"], ["evaluate", tmp_path / "FILE"], ["evaluate", tmp_path],
        ["evaluate", tfidf_run, "--split", "train"], ["evaluate", tfidf_run, "--split", "cv"],
        ["evaluate", tfidf_run, "--split", "dev", "--data", REPO / "seeds" / "labels.jsonl"],
        ["compare", tfidf_run, tmp_path], ["compare", tfidf_run, tfidf_run, "--split", "bogus"],
    ]
    for args in cases:
        code, _, stderr = cli(capsys, *args)
        assert code == 2 and one_line(stderr).startswith("error: "), (args, stderr)
    assert os.listdir(tmp_path) == ["FILE"]


def test_many_outlets_keep_only_the_null_tail_and_few_warning_lines():
    """Thousands of outlets: every pair's whole null distribution was kept (~40 GB for 1,000
    outlets) and one warning line per pair was printed; the tail is enough, and exact."""
    import numpy as np

    from warta.outlets.pairs import _MAX_PAIR_WARNINGS, _NullTail

    rng = np.random.default_rng(0)
    for n in (1, 7, 100, 2001):
        spread = rng.exponential(size=n)
        tail = _NullTail(spread)
        assert tail.tail.size <= max(1, n // 20 + 2)
        for q in (0.95, 0.97, 0.999, 1 - 0.05 / 4950, 1.0):
            assert tail.quantile(q) == np.quantile(spread, q)
    with pytest.raises(ValueError):
        _NullTail(np.arange(10.0)).quantile(0.5)
    assert _MAX_PAIR_WARNINGS == 20
