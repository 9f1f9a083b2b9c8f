"""`warta corpus audit`: cleanlab over out-of-fold probabilities finds a planted label flip."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from warta.annotate.audit import audit
from warta.errors import InputError
from warta.schema import LAYERS


def _planted() -> str:
    """The first seed sentence whose gold type is `fact` (the flip plants `speculation` on it)."""
    for line in (SEEDS / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["type"] == "fact":
            return label["id"]
    raise AssertionError("no fact sentence in the seed labels")


PLANTED = _planted()


def make_run(tmp_path: Path, with_oof: bool = True) -> tuple[Path, Path]:
    """A run folder whose out-of-fold model agrees confidently with the true seed labels."""
    lines = [json.loads(line) for line in (SEEDS / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    truth = {line["id"]: line for line in lines}
    assert truth[PLANTED]["type"] == "fact"
    planted = [dict(line, type="speculation") if line["id"] == PLANTED else line for line in lines]
    labels_path = tmp_path / "labels.jsonl"
    labels_path.write_text("".join(json.dumps(line) + "\n" for line in planted), encoding="utf-8")
    ids = sorted(truth)
    test = [i for n, i in enumerate(ids) if n % 5 == 0 and i != PLANTED]
    pool = [i for i in ids if i not in test]
    run = tmp_path / "run"
    (run / "cv").mkdir(parents=True)
    (run / "labels.json").write_text(json.dumps({k: list(v) for k, v in LAYERS.items()}), encoding="utf-8")
    (run / "data.json").write_text(json.dumps({
        "ids": {"train": pool[10:], "dev": pool[:10], "test": test},
        "sources": {"labels": str(labels_path), "seeds": None, "splits": None},
    }), encoding="utf-8")
    if with_oof:
        oof = []
        for n, ident in enumerate(pool + test[:1]):  # one test sentence sneaks in: it must be refused
            probs = {layer: {label: (0.8 if label == truth[ident][layer] else 0.2 / (len(labels) - 1))
                             for label in labels} for layer, labels in LAYERS.items()}
            fold = n % 3
            record = {"id": ident, "text": "…", "probs": probs, "model": f"run/tfidf/cv-fold-{fold}", "fold": fold,
                      **{layer: truth[ident][layer] for layer in LAYERS}}
            if n == 1:
                del record["fold"]  # not an out-of-fold prediction: refused
            oof.append(record)
        (run / "cv" / "oof.jsonl").write_text("".join(json.dumps(r) + "\n" for r in oof), encoding="utf-8")
    return run, labels_path


def test_planted_flip_is_top_suspect(tmp_path):
    run, labels_path = make_run(tmp_path)
    before = hashlib.sha256(labels_path.read_bytes()).hexdigest()
    result = audit(run)
    issues = result["layers"]["type"]["issues"]
    assert issues[0]["id"] == PLANTED
    assert (issues[0]["given"], issues[0]["suggested"]) == ("speculation", "fact")
    assert issues[0]["model_confidence"] == pytest.approx(0.8)
    assert issues[0]["self_confidence"] == pytest.approx(0.2 / 3, abs=1e-6)
    assert result["layers"]["type"]["flagged"] == 1
    assert result["layers"]["stance"]["flagged"] == result["layers"]["frame"]["flagged"] == 0
    # the test-split sentence and the record without a fold are refused, never audited
    assert len(result["refused"]) == 2
    assert any("in the run's test split" in line for line in result["refused"])
    assert any("not an out-of-fold prediction" in line for line in result["refused"])
    assert hashlib.sha256(labels_path.read_bytes()).hexdigest() == before  # labels never change


def test_refuses_run_without_out_of_fold_predictions(tmp_path):
    run, _ = make_run(tmp_path, with_oof=False)
    with pytest.raises(InputError, match=r"no out-of-fold predictions \(cv/oof.jsonl\)"):
        audit(run)


def test_cli(tmp_path):
    from typer.testing import CliRunner

    from warta.cli import app

    run, _ = make_run(tmp_path)
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(app, ["corpus", "audit", str(run), "--top", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"1. {PLANTED}  given speculation -> suggested fact (p 0.80; given 0.07)" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["layers"]["type"]["issues"][0]["id"] == PLANTED
    assert "gold labels changed" not in result.output
    data = json.loads((run / "data.json").read_text(encoding="utf-8"))
    data["sources"]["labels_sha256"] = "0" * 64  # the labels file is not the one the run trained on
    (run / "data.json").write_text(json.dumps(data), encoding="utf-8")
    changed = CliRunner().invoke(app, ["corpus", "audit", str(run), "--top", "0"])
    assert "note: the gold labels changed since this run was trained" in changed.output
    (tmp_path / "bare").mkdir()
    bare, _ = make_run(tmp_path / "bare", with_oof=False)
    refused = CliRunner().invoke(app, ["corpus", "audit", str(bare)])
    assert isinstance(refused.exception, InputError) and "warta train CONFIG --cv K" in str(refused.exception)


def test_outlet_cv_folds_are_named_by_outlet(tmp_path):
    """`--cv outlet` writes fold = the held-out outlet; those records are out-of-fold too."""
    run, _ = make_run(tmp_path)
    oof_path = run / "cv" / "oof.jsonl"
    records = [json.loads(line) for line in oof_path.read_text(encoding="utf-8").splitlines()]
    for n, record in enumerate(records):
        if "fold" in record:
            outlet = ["kompas.com", "telset.id", "unknown"][n % 3]
            record.update(fold=outlet, model=f"run/tfidf/cv-fold-{outlet}")
    records[2]["model"] = "run/tfidf/cv-fold-elsewhere"  # fold and model disagree: refused
    oof_path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = audit(run)
    assert result["layers"]["type"]["issues"][0]["id"] == PLANTED
    assert len(result["refused"]) == 3
    assert sum("not an out-of-fold prediction" in line for line in result["refused"]) == 2
