"""`warta train`: the run folder, cross-validation, and the command line end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from cli_runner import run_warta

from warta.config import load_config
from warta.errors import InputError
from warta.jsonl import read_jsonl
from warta.models import load_model
from warta.records import PREDICTION_FIELDS
from warta.schema import LAYERS
from warta.train.cv import fold_assignment
from warta.train.data import LabelledData
from warta.train.run import train

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
RUN_FILES = {"config.yaml", "data.json", "labels.json", "model", "metrics.json", "predictions", "train.log", "env.json"}


def check_run_folder(run_dir: Path, data: LabelledData, kind: str) -> None:
    assert RUN_FILES <= {p.name for p in run_dir.iterdir()}
    fingerprint = json.loads((run_dir / "data.json").read_text())
    for split in ("train", "dev", "test"):
        assert fingerprint["ids"][split] == list(getattr(data.splits, split))
    by_id = data.by_id()
    assert sum(fingerprint["label_counts"]["train"]["type"].values()) == len(data.splits.train)
    assert fingerprint["label_counts"]["test"]["stance"] == {
        label: sum(1 for i in data.splits.test if by_id[i]["stance"] == label)
        for label in {by_id[i]["stance"] for i in data.splits.test}
    }
    labels = json.loads((run_dir / "labels.json").read_text())
    assert labels == {layer: list(values) for layer, values in LAYERS.items()}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("dev", "test"):
        for layer in LAYERS:
            figures = metrics[split][layer]
            assert 0.0 <= figures["macro_f1"] <= 1.0
            assert figures["n"] == len(getattr(data.splits, split))
            assert set(figures["per_class"]) == set(LAYERS[layer])
    env = json.loads((run_dir / "env.json").read_text())
    assert env["versions"]["scikit-learn"] and env["device"] == "cpu"
    assert "fitted in" in (run_dir / "train.log").read_text()
    assert load_config(run_dir / "config.yaml").model.kind == kind
    model = load_model(run_dir / "model")
    for split in ("dev", "test"):
        records = read_jsonl(run_dir / "predictions" / f"{split}.jsonl")
        assert [r["id"] for r in records] == list(getattr(data.splits, split))
        fresh = model.predict_proba([r["text"] for r in records])
        for i, record in enumerate(records):
            assert record["text"] == by_id[record["id"]]["text"]
            assert record["outlet"] == by_id[record["id"]]["outlet"]
            assert record["model"] == f"{run_dir.name}/{kind}"
            for layer, labels_ in LAYERS.items():
                probs = record["probs"][layer]
                assert list(probs) == list(labels_)
                assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
                assert record[layer] == max(probs, key=probs.get)
                np.testing.assert_allclose([probs[label] for label in labels_], fresh[layer][i], atol=1e-5)


def test_tfidf_run_writes_every_file(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", ["model.c_values=[0.3, 3.0]"])
    result = train(config, out=tmp_path / "run", data=synthetic_data, progress=False, n_boot=50)
    assert result.run_dir == tmp_path / "run"
    check_run_folder(result.run_dir, synthetic_data, "tfidf")
    assert result.metrics["training"]["best_c"]["type"] in (0.3, 3.0)
    assert result.timing["fit_s"] > 0


def test_transformer_run_writes_every_file(synthetic_data, tiny_bert, tmp_path, one_torch_thread):
    config = load_config(
        CONFIGS / "smoke-transformer.yaml",
        [f"model.name_or_path={tiny_bert}", "train.max_steps=3", "train.cpu_threads=1"],
    )
    result = train(config, out=tmp_path / "run", data=synthetic_data, progress=False, n_boot=50)
    check_run_folder(result.run_dir, synthetic_data, "transformer")
    assert not (result.run_dir / "checkpoints").exists()
    assert (result.run_dir / "model" / "model.safetensors").is_file()
    assert any("eval_macro_f1" in h for h in result.metrics["training"]["history"])


def test_default_run_folder_name_and_refusal_to_overwrite(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", [f"output.root={tmp_path / 'runs'}", "model.c_values=[1.0]"])
    first = train(config, data=synthetic_data, progress=False, n_boot=0)
    assert first.run_dir.parent == tmp_path / "runs" and first.run_dir.name.startswith("tfidf-")
    second = train(config, data=synthetic_data, progress=False, n_boot=0)
    assert second.run_dir != first.run_dir  # same second: a suffix, never an overwrite
    with pytest.raises(InputError, match="folder exists and is not empty"):
        train(config, out=first.run_dir, data=synthetic_data, progress=False)
    (first.run_dir / "notes.txt").write_text("mine")
    train(config, out=first.run_dir, data=synthetic_data, progress=False, force=True, n_boot=0)
    assert (first.run_dir / "notes.txt").read_text() == "mine"  # --force replaces only run files


def test_split_ids_without_gold_are_reported(synthetic_data, tmp_path):
    splits = SimpleNamespace(**{**vars(synthetic_data.splits), "test": ["nope-1", *synthetic_data.splits.test]})
    data = LabelledData(synthetic_data.records, splits, {"splits": "my/splits.json"})
    config = load_config(CONFIGS / "tfidf.yaml")
    with pytest.raises(InputError, match=r"my/splits.json: 1 test id\(s\) have no labelled sentence \(first: 'nope-1'\)"):
        train(config, out=tmp_path / "run", data=data, progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("k", [3, 4])
def test_cross_validation_out_of_fold_predictions(synthetic_data, tmp_path, k):
    config = load_config(CONFIGS / "tfidf.yaml", ["model.c_values=[1.0, 3.0]"])
    result = train(config, out=tmp_path / "run", data=synthetic_data, cv=k, progress=False, n_boot=50)
    pool = list(synthetic_data.splits.train) + list(synthetic_data.splits.dev)
    oof = read_jsonl(tmp_path / "run" / "cv" / "oof.jsonl")
    assert sorted(r["id"] for r in oof) == sorted(pool)  # every train+dev sentence exactly once
    metrics = json.loads((tmp_path / "run" / "cv" / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result.cv))
    assert metrics["k"] == k and len(metrics["folds"]) == k
    if k == synthetic_data.splits.k:
        assert metrics["fold_source"] == "splits.folds"
        assert all(r["fold"] == synthetic_data.splits.folds[r["id"]] for r in oof)
    else:
        assert metrics["fold_source"].startswith("StratifiedGroupKFold")
    for fold in metrics["folds"]:
        assert fold["n_held_out"] == sum(1 for r in oof if r["fold"] == fold["fold"])
        assert fold["dev_fold"] != fold["fold"]
    for layer in LAYERS:
        per_fold = [f["layers"][layer]["macro_f1"] for f in metrics["folds"]]
        assert metrics["summary"][layer]["macro_f1"]["mean"] == pytest.approx(np.mean(per_fold))
        assert metrics["summary"][layer]["macro_f1"]["std"] == pytest.approx(np.std(per_fold, ddof=1))
        assert metrics["pooled_oof"][layer]["n"] == len(pool)


def test_folds_keep_groups_together(synthetic_data):
    ids = list(synthetic_data.splits.train) + list(synthetic_data.splits.dev)
    groups = {i: f"g{n // 3}" for n, i in enumerate(ids)}  # groups of three sentences
    splits = SimpleNamespace(**{**vars(synthetic_data.splits), "groups": groups})
    folds, source = fold_assignment(LabelledData(synthetic_data.records, splits), 4, 0, "type")
    assert source.startswith("StratifiedGroupKFold")
    assert set(folds) == set(ids) and set(folds.values()) == {0, 1, 2, 3}
    for group in set(groups.values()):
        assert len({folds[i] for i in ids if groups[i] == group}) == 1
    with pytest.raises(InputError, match="choose K <="):
        fold_assignment(LabelledData(synthetic_data.records, splits), 1000, 0, "type")


def test_cli_trains_the_baseline_on_the_real_seeds_with_cv(tmp_path):
    out = tmp_path / "run"
    result = run_warta("train", str(CONFIGS / "tfidf.yaml"), "--out", str(out), "--cv", "5", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "fitted in" not in result.stderr  # --quiet: no log lines
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["layer", "dev", "F1", "test", "F1", "test", "95%", "CI", "test", "acc"]
    assert [line.split()[0] for line in lines[1:4]] == ["type", "stance", "frame"]
    assert "5-fold CV on train+dev" in result.stdout
    assert lines[-1] == f"run folder: {out}"
    from warta.gold.labels import load_gold
    from warta.gold.splits import load_splits

    splits = load_splits()
    assert json.loads((out / "data.json").read_text())["ids"]["test"] == splits.test
    oof_ids = sorted(r["id"] for r in read_jsonl(out / "cv" / "oof.jsonl"))
    assert oof_ids == sorted(splits.train + splits.dev)
    gold_ids = {r["id"] for r in load_gold()}
    assert set(oof_ids) <= gold_ids
    again = run_warta("train", str(CONFIGS / "tfidf.yaml"), "--out", str(out), "--quiet")
    assert again.returncode == 2
    assert again.stderr.strip() == f"error: {out}: folder exists and is not empty (use --force to overwrite its run files)"


def test_cli_bad_override_is_one_line(tmp_path):
    result = run_warta("train", str(CONFIGS / "indobert.yaml"), "--set", "train.epochs=lots", "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"error: {CONFIGS / 'indobert.yaml'}: train.epochs: ") and "\n" not in line


def test_cli_offline_model_message_and_no_run_folder(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = tmp_path / "run"
    result = run_warta(
        "train", str(CONFIGS / "indobert.yaml"), "--set", "model.name_or_path=warta-tests/no-such-encoder",
        "--out", str(out), env=env,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: model.name_or_path 'warta-tests/no-such-encoder': not a local model folder")
    assert last.endswith("--set model.name_or_path=/path/to/indobert")
    assert not out.exists()


def test_saved_config_reproduces_the_run_settings(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", ["seed=3", "layers=[type]", "model.c_values=[1.0]"])
    result = train(config, out=tmp_path / "run", data=synthetic_data, progress=False, n_boot=0)
    saved = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert saved["seed"] == 3 and saved["layers"] == ["type"] and saved["model"]["c_values"] == [1.0]
    assert set(json.loads((result.run_dir / "labels.json").read_text())) == {"type"}
    record = read_jsonl(result.run_dir / "predictions" / "test.jsonl")[0]
    assert set(record["probs"]) == {"type"} and record["stance"] is None and record["frame"] is None
    assert list(record) == list(PREDICTION_FIELDS)


def test_quiet_transformer_training_prints_no_progress_bars(tiny_bert, tmp_path):
    """`warta train -q`: nothing on stderr (no "Writing model shards", no Trainer bars), and no raw dict on stdout."""
    result = run_warta("train", CONFIGS / "smoke-transformer.yaml", "--set", f"model.name_or_path={tiny_bert}",
                       "--set", "train.max_steps=2", "--set", "train.cpu_threads=1", "--refit", "all",
                       "--out", tmp_path / "run", "-q", process=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "{" not in result.stdout and "run folder:" in result.stdout
