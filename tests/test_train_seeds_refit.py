"""`warta train --seeds N` (mean ± sd over seeds) and `--refit all` (the shipped model sees every sentence)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_in_process

from warta.cli.train import render_run
from warta.config import load_config
from warta.errors import InputError
from warta.jsonl import read_jsonl
from warta.models import load_model
from warta.schema import LAYERS
from warta.train.experiment import selected_hyperparameters, train_experiment

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
FAST = ["model.c_values=[0.1, 1.0, 10.0]", "model.char_ngrams=[2, 4]"]


def test_seeds_record_each_seed_and_mean_sd(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", [*FAST, "seed=5"])
    result = train_experiment(config, out=tmp_path / "run", data=synthetic_data, cv="outlet", seeds=3,
                              progress=False, n_boot=0)
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    block = metrics["seeds"]
    assert block["n"] == 3 and block["seeds"] == [5, 6, 7]
    assert [row["seed"] for row in block["per_seed"]] == [5, 6, 7]
    for split in ("dev", "test"):
        for layer in LAYERS:
            values = [row[split][layer]["macro_f1"] for row in block["per_seed"]]
            assert block["summary"][split][layer]["macro_f1"]["mean"] == pytest.approx(np.mean(values))
            assert block["summary"][split][layer]["macro_f1"]["sd"] == pytest.approx(np.std(values, ddof=1))
    assert block["per_seed"][0]["test"]["type"]["macro_f1"] == metrics["test"]["type"]["macro_f1"]  # seed 5 = the run
    cv = json.loads((run / "cv" / "metrics.json").read_text())
    per_seed = cv["seeds"]["per_seed"]
    assert per_seed[0]["cv"]["stance"]["macro_f1"] == cv["pooled_oof"]["stance"]["macro_f1"]
    values = [row["cv"]["frame"]["macro_f1"] for row in per_seed]
    assert cv["seeds"]["summary"]["frame"]["macro_f1"]["mean"] == pytest.approx(np.mean(values))
    assert "outlet_error_summary" in cv["seeds"]
    for seed in (6, 7):
        folder = run / "seeds" / f"seed-{seed}"
        assert (folder / "cv" / "oof.jsonl").is_file() and not (folder / "model").exists()
        assert f"seed: {seed}" in (folder / "config.yaml").read_text()
    assert {r["model"] for r in read_jsonl(run / "predictions" / "test.jsonl")} == {"run/tfidf"}
    text = render_run(result)
    assert "3 seeds [5, 6, 7]" in text and "cv pooled" in text and "per-outlet profile error" in text
    assert "outlet profile error over seeds" in text


def test_refit_all_ships_a_model_fitted_on_every_sentence(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", FAST)
    result = train_experiment(config, out=tmp_path / "run", data=synthetic_data, refit="all", progress=False,
                              n_boot=0)
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    chosen = metrics["training"]["best_c"]
    assert metrics["refit"]["hyperparameters"] == {"best_c": chosen}
    assert metrics["refit"]["n_sentences"] == len(synthetic_data.records)
    fingerprint = json.loads((run / "data.json").read_text())
    assert sorted(fingerprint["refit"]["ids"]) == sorted(r["id"] for r in synthetic_data.records)
    shipped, evaluated = load_model(run / "model"), load_model(run / "model-eval")
    assert shipped.best_c_ == evaluated.best_c_ == chosen
    assert shipped.tuning_ == {}  # nothing re-tuned: C per layer from the held-out selection
    # the shipped model is the one refit on all sentences: same as fitting with those Cs by hand
    texts = [r["text"] for r in synthetic_data.records]
    stored = read_jsonl(run / "predictions" / "test.jsonl")
    fresh = evaluated.predict_proba([r["text"] for r in stored])
    for i, record in enumerate(stored):  # held-out predictions came from model-eval/
        assert record["probs"]["type"]["fact"] == pytest.approx(fresh["type"][i][0], abs=1e-5)
    assert not np.allclose(shipped.predict_proba(texts)["type"], evaluated.predict_proba(texts)["type"])
    assert f"refit on {len(texts)} labelled sentences" in render_run(result)


def test_evaluate_uses_the_evaluated_model_and_label_the_refit_one(tmp_path):
    from warta.eval.evaluate import evaluate_run

    config = load_config(CONFIGS / "tfidf.yaml", FAST)
    train_experiment(config, out=tmp_path / "run", refit="all", progress=False, n_boot=0)
    metrics = evaluate_run(tmp_path / "run", split="test", n_boot=0, out=tmp_path / "e.json")
    assert all(metrics[layer]["stored_agreement"] == 1.0 for layer in LAYERS)
    article = "Perusahaan itu mengganti ratusan karyawan dengan AI. \"Kami menyesal,\" kata direkturnya."
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "text": article}) + "\n", encoding="utf-8")
    result = run_in_process("label", str(tmp_path / "run"), str(tmp_path / "in.jsonl"), "--out",
                            str(tmp_path / "out.jsonl"), "--workers", "0", "-q")
    assert result.returncode == 0, result.stderr
    labelled = [r for r in read_jsonl(tmp_path / "out.jsonl") if r["probs"]]
    texts = [r["text"] for r in labelled]
    shipped = load_model(tmp_path / "run" / "model").predict_proba(texts)["stance"]
    evaluated = load_model(tmp_path / "run" / "model-eval").predict_proba(texts)["stance"]
    got = np.array([list(r["probs"]["stance"].values()) for r in labelled])
    assert np.allclose(got, shipped, atol=1e-5) and not np.allclose(got, evaluated, atol=1e-5)


def test_refit_transformer_uses_the_best_epoch_count(synthetic_data, tiny_bert, tmp_path, one_torch_thread):
    config = load_config(CONFIGS / "smoke-transformer.yaml",
                         [f"model.name_or_path={tiny_bert}", "train.epochs=2", "train.max_steps=null", "train.cpu_threads=1"])
    result = train_experiment(config, out=tmp_path / "run", data=synthetic_data, refit="all", progress=False,
                              n_boot=0)
    chosen = result.metrics["refit"]["hyperparameters"]
    assert chosen["epochs"] in (1, 2) and "best_dev_macro_f1" in chosen
    assert (tmp_path / "run" / "model" / "model.json").is_file()
    assert (tmp_path / "run" / "model-eval" / "model.json").is_file()
    assert not (tmp_path / "run" / "checkpoints-refit").exists()


def test_selected_hyperparameters_pick_the_first_best_epoch():
    from warta.models.transformer import TransformerClassifier

    model = TransformerClassifier()  # nothing loaded: only the training history matters
    model.history_ = [{"epoch": 1.0, "eval_macro_f1": 0.4}, {"epoch": 1.0, "loss": 1.0},
                      {"epoch": 2.0, "eval_macro_f1": 0.6}, {"epoch": 3.0, "eval_macro_f1": 0.6}]
    config = load_config(CONFIGS / "smoke-transformer.yaml")
    assert selected_hyperparameters(config, model)["epochs"] == 2


def test_bad_seeds_and_refit_values(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", FAST)
    with pytest.raises(InputError, match="--seeds 0"):
        train_experiment(config, out=tmp_path / "a", data=synthetic_data, seeds=0, progress=False)
    with pytest.raises(InputError, match="--refit some: expected one of all"):
        train_experiment(config, out=tmp_path / "b", data=synthetic_data, refit="some", progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
