"""`warta train` against hostile configs, data paths and run folders, one group per class of issue 14."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hostile_common import REPO, SEEDS, cli, one_line, snapshot

from warta.runfolder import RunFolder

TFIDF = REPO / "configs" / "tfidf.yaml"
FAST = "model.c_values=[1.0]"


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- class 1 --------------------------------------------------------------------------------------


def test_force_over_a_run_folder_with_links_at_every_run_file_touches_no_target(tmp_path, capsys):
    run = tmp_path / "run"
    victims = tmp_path / "victims"
    victims.mkdir()
    run.mkdir()
    (run / "keep.txt").write_text("not a run file\n")  # makes the folder non-empty: --force needed
    # Every name the run folder owns (RunFolder.FILES) plus the trainer's checkpoints folder:
    # files become links to victim files, folders links to victim folders.
    for name in (*RunFolder.FILES, "checkpoints"):
        target = victims / name
        if "." in name:
            target.write_text(f"precious {name}\n")
        else:
            target.mkdir()
            (target / "inside.txt").write_text(f"precious {name}\n")
        (run / name).symlink_to(target)
    before = tree(victims)
    code, _, stderr = cli(capsys, "train", TFIDF, "--set", FAST, "--out", run, "--force", "-q")
    assert code == 0, stderr
    assert tree(victims) == before
    assert all(not (run / name).is_symlink() for name in RunFolder.FILES if (run / name).exists())
    assert (run / "model" / "model.json").is_file() and (run / "keep.txt").read_text() == "not a run file\n"


def test_a_run_name_cannot_leave_the_output_root(tmp_path, capsys):
    for name in ("../../escape", "/abs", "a/b", "\u202eevil", "=cmd()"):
        code, _, stderr = cli(capsys, "train", TFIDF, "--set", f"name={name}", "--set", f"output.root={tmp_path}")
        assert code == 2 and "name" in one_line(stderr)
    assert list(tmp_path.iterdir()) == []
    code, _, stderr = cli(capsys, "train", TFIDF, "--set", "name=" + "9" * 5000)
    assert code == 2 and one_line(stderr).startswith("error: --set name=...: unusable value")


# --- class 2 --------------------------------------------------------------------------------------


def test_labels_for_sentences_that_do_not_exist_are_refused_not_dropped(tmp_path, capsys):
    labels = tmp_path / "labels.jsonl"
    labels.write_text((SEEDS / "labels.jsonl").read_text() + '{"id": "ghost-000-deadbeef", "type": "fact", '
                      '"stance": "neutral", "frame": "none", "guideline_version": 1}\n')
    code, _, stderr = cli(capsys, "train", TFIDF, "--set", FAST, "--set", f"data.labels={labels}",
                          "--out", tmp_path / "run")
    assert code == 2 and "ghost-000-deadbeef" in one_line(stderr)
    assert not (tmp_path / "run").exists()


# --- class 3 --------------------------------------------------------------------------------------


def test_yaml_tags_are_refused_and_never_executed(tmp_path, capsys):
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\nmodel: {{kind: tfidf}}\n")
    code, _, stderr = cli(capsys, "train", config)
    assert code == 2 and "invalid YAML" in one_line(stderr)
    code, _, stderr = cli(capsys, "train", TFIDF, "--set", f"name=!!python/object/apply:os.system ['touch {marker}']")
    assert code == 2 and one_line(stderr).startswith("error: --set")
    assert not marker.exists()


@pytest.mark.parametrize("text, expected", [
    ("model: {kind: tfidf}\nseed: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("a: &a [*a, *a]\nmodel: {kind: tfidf}\n", "a: "),
    ("model: {kind: tfidf}\nname: 1" + "0" * 5000 + "\n", "invalid YAML value (Exceeds the limit"),
    ("\x00\x01\x02", "invalid YAML (unacceptable character #x0000"),
    ("- just\n- a list\n", "expected a mapping"),
], ids=["deep", "recursive-alias", "5000-digits", "binary", "list"])
def test_malformed_configs_are_one_line(tmp_path, capsys, text, expected):
    config = tmp_path / "c.yaml"
    config.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    code, _, stderr = cli(capsys, "train", config)
    assert code == 2 and expected in one_line(stderr)


def test_paths_that_are_folders_files_or_devices_are_one_line(tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    cases = [
        ([tmp_path], "is a folder, not a config file"),
        (["/dev/zero"], "cannot read config"),
        ([TFIDF, "--set", f"data.labels={tmp_path}"], "a folder, but not"),
        ([TFIDF, "--set", f"data.splits={tmp_path}"], str(tmp_path)),
        ([TFIDF, "--set", f"data.labels={tmp_path / 'none.jsonl'}"], "not found"),
        ([TFIDF, "--set", FAST, "--out", tmp_path / "FILE" / "run"], "FILE"),
        ([TFIDF, "--set", FAST, "--out", tmp_path / "FILE"], "exists and is not a folder"),
    ]
    for args, expected in cases:
        code, _, stderr = cli(capsys, "train", *args)
        assert code == 2 and expected in one_line(stderr), (args, stderr)


# --- class 4 --------------------------------------------------------------------------------------


def test_a_fifo_config_does_not_block(tmp_path, capsys):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    code, _, stderr = cli(capsys, "train", fifo)
    assert time.monotonic() - start < 10
    assert code == 2 and "not a regular file" in one_line(stderr)


def test_a_huge_config_is_refused_without_reading_it_all(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("model: {kind: tfidf}\n" + "# padding\n" * 200_000)
    code, _, stderr = cli(capsys, "train", config)
    assert code == 2 and "larger than 1000000 bytes" in one_line(stderr)


# --- class 5 --------------------------------------------------------------------------------------


def test_names_that_would_harm_a_reader_are_refused(capsys):
    for name in ("a\x1b[2Jb", "x\u202ey", "=HYPERLINK(1)", "+cmd", "-x", "@sum"):
        code, _, stderr = cli(capsys, "train", TFIDF, "--set", f"name={name}")
        assert code == 2 and "\x1b" not in stderr and "\u202e" not in stderr
        assert one_line(stderr).startswith("error: --set name=") or "name" in stderr


# --- class 6 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("override", [
    "train.predict_batch_size=0", "train.predict_batch_size=10000000000", "model.c_values=[.inf]",
    "model.c_values=[.nan]", "model.c_values=[-1]", "model.max_iter=1e12", "seed=-1", "seed=99999999999999999999",
    "model.word_ngrams=[3, 1]", "model.min_df=-4", "layers=[]", "layers=[type, type]",
])
def test_absurd_numbers_are_one_line_naming_the_key(capsys, override):
    code, _, stderr = cli(capsys, "train", TFIDF, "--set", override)
    key = override.split("=")[0]
    assert code == 2 and key in one_line(stderr), stderr


@pytest.mark.parametrize("override", ["train.epochs=1e12", "train.batch_size=-1", "train.learning_rate=.nan",
                                      "train.batch_size=100000000", "model.max_length=10000000"])
def test_absurd_transformer_numbers_are_one_line(capsys, override):
    code, _, stderr = cli(capsys, "train", REPO / "configs" / "indobert.yaml", "--set", override)
    assert code == 2 and override.split("=")[0] in one_line(stderr), stderr


@pytest.mark.parametrize("args, expected", [
    (["--cv", "1"], "error: --cv 1: K must be at least 2"),
    (["--cv", "1000"], "error: --cv 1000: K must be at most 100"),
    (["--cv", "abc"], "error: --cv abc: expected an integer K >= 2"),
    (["--set"], "error: Option '--set' requires an argument"),
    (["--set", "novalue"], "error: --set novalue: expected key.path=value"),
    (["--set", "model.kind=bert"], "model.kind"),
])
def test_usage_errors_are_one_line(capsys, args, expected):
    code, stdout, stderr = cli(capsys, "train", TFIDF, *args)
    assert code == 2 and stdout == "" and one_line(stderr).startswith(expected) or expected in stderr


def test_snapshot_helper_reads_bytes(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    assert snapshot([tmp_path / "a"]) == {tmp_path / "a": b"x"}
