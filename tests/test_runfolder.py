"""warta.runfolder: the one owner of the run-folder layout (resolver, accessors, checks)."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest

from warta.errors import InputError
from warta.runfolder import RunFolder, resolve_model_folder

REPO = Path(__file__).resolve().parent.parent


def make_run(root: Path, name: str = "run") -> Path:
    run = root / name
    (run / "model").mkdir(parents=True)
    (run / "model" / "model.json").write_text(json.dumps({"kind": "tfidf"}), encoding="utf-8")
    (run / "labels.json").write_text(json.dumps({"stance": ["pro", "against", "neutral"]}), encoding="utf-8")
    return run


def test_one_answer_to_run_or_model_folder(tmp_path):
    run = make_run(tmp_path, "my-run")
    assert resolve_model_folder(run) == (run / "model", "my-run")
    assert resolve_model_folder(run / "model") == (run / "model", "my-run")  # a model/ folder: its run's name
    bare = tmp_path / "exported"
    bare.mkdir()
    (bare / "model.json").write_text("{}", encoding="utf-8")
    assert resolve_model_folder(bare) == (bare, "exported")
    assert RunFolder.holds_model(run) and not RunFolder.holds_model(bare)
    with pytest.raises(InputError, match="run folder not found"):
        resolve_model_folder(tmp_path / "nope")
    with pytest.raises(InputError, match=r"not a run folder from `warta train` \(no model/model.json\)"):
        resolve_model_folder(tmp_path)


def test_accessors_read_what_train_writes_and_none_when_absent(tmp_path):
    folder = RunFolder(make_run(tmp_path))
    assert (folder.metrics(), folder.cv_metrics(), folder.outlet_error(), folder.saved_config()) == (None,) * 4
    folder.write_metrics({"test": {"stance": {"macro_f1": 0.5}}})
    folder.cv_dir.mkdir()
    folder.write_cv_metrics({"scheme": "outlet"})
    folder.write_outlet_error({"mean_over_outlets": {}})
    folder.write_config("model:\n  kind: tfidf\n")
    assert folder.metrics()["test"]["stance"]["macro_f1"] == 0.5
    assert folder.cv_metrics() == {"scheme": "outlet"} and folder.outlet_error() == {"mean_over_outlets": {}}
    assert folder.saved_config() == {"model": {"kind": "tfidf"}}
    assert folder.predictions_path("cv") == folder.path / "cv" / "oof.jsonl"
    assert folder.checkpoints_dir("refit") == folder.path / "checkpoints-refit"
    folder.outlet_error_path.write_text("[1, 2]", encoding="utf-8")  # hand-edited: ignored, not fatal
    assert folder.outlet_error() is None
    folder.metrics_path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="metrics.json: expected a JSON object"):
        folder.metrics()


def test_split_ids_and_labels_changed_since_run(tmp_path):
    folder = RunFolder(make_run(tmp_path))
    assert folder.split_ids("test", missing_ok=True) == [] and folder.labels_changed_since_run() is None
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "a"}\n', encoding="utf-8")
    digest = hashlib.sha256(labels.read_bytes()).hexdigest()
    folder.write_data({"ids": {"test": ["a", "b"]}, "sources": {"labels": str(labels), "labels_sha256": digest}})
    assert folder.split_ids("test") == ["a", "b"] and folder.split_ids("dev", missing_ok=True) == []
    with pytest.raises(InputError, match="no sentence ids recorded for split 'dev'"):
        folder.split_ids("dev")
    assert folder.labels_changed_since_run() is False
    labels.write_text('{"id": "a", "note": "revised"}\n', encoding="utf-8")
    assert folder.labels_changed_since_run() is True


def test_labels_json_must_agree_with_the_model(tmp_path):
    folder = RunFolder(make_run(tmp_path))
    folder.check_labels_agree({"stance": ["pro", "against", "neutral"]})
    with pytest.raises(InputError, match="labels.json: disagrees with the model"):
        folder.check_labels_agree({"stance": ["against", "pro", "neutral"]})


def test_no_other_module_spells_a_run_folder_file_and_annotate_stays_above_train_and_eval():
    """Only warta/runfolder.py names the layout's files (bench/code_metrics.py counts the same way; the overwrite
    rule in warta/safe_io.py, a lower layer, is the one known exception); warta.annotate imports neither
    warta.eval nor warta.train."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    try:
        import code_metrics
    finally:
        sys.path.remove(str(REPO / "bench"))
    spelled = {}
    for path in code_metrics.modules(REPO):
        rel = path.relative_to(REPO).as_posix()
        hits = code_metrics.run_file_literals(code_metrics.parse(path))
        if hits and rel not in (code_metrics.RUNFOLDER, "warta/safe_io.py"):
            spelled[rel] = hits
    assert spelled == {}
    for path in (REPO / "warta" / "annotate").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            assert not [n for n in names if n.startswith(("warta.eval", "warta.train"))], (path.name, names)
