"""The run's model card (train/model_card.py): written by `warta train`, from the run's own files only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from warta.config import load_config
from warta.train.experiment import train_experiment
from warta.train.model_card import append_external_evaluation, build_card, write_card

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
FAST = ["model.c_values=[1.0]", "model.char_ngrams=[2, 4]"]


@pytest.fixture(scope="module")
def run(synthetic_data, tmp_path_factory) -> Path:
    config = load_config(CONFIGS / "tfidf.yaml", FAST)
    out = tmp_path_factory.mktemp("card") / "run"
    train_experiment(config, out=out, data=synthetic_data, cv="outlet", refit="all", progress=False, n_boot=50)
    return out


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_train_writes_a_hugging_face_card_whose_figures_are_the_runs(run):
    text = (run / "README.md").read_text(encoding="utf-8")
    meta = front_matter(text)
    assert meta["language"] == ["id"] and meta["license"] == "apache-2.0" and "tfidf" in meta["tags"]
    metrics = json.loads((run / "metrics.json").read_text())
    cv = json.loads((run / "cv" / "metrics.json").read_text())
    results = {r["task"]["name"]: r["metrics"][0]["value"] for r in meta["model-index"][0]["results"]}
    for layer in ("type", "stance", "frame"):
        assert results[f"{layer} (held-out test)"] == round(metrics["test"][layer]["macro_f1"], 4)
        assert results[f"{layer} (unseen outlets)"] == round(cv["pooled_oof"][layer]["macro_f1"], 4)
        low, high = metrics["test"][layer]["macro_f1_ci"]
        assert f"| {layer} | {metrics['test'][layer]['macro_f1']:.3f} [{low:.3f}, {high:.3f}] |" in text
    for heading in ("## Intended use", "## Label sets", "## Training data", "## Evaluation",
                    "## Per-outlet profile error", "## Known failure modes (measured)", "## Limitations"):
        assert heading in text
    assert "`human_interest`: people's experience" in text  # the label definitions
    assert f"refit on all {metrics['refit']['n_sentences']} labelled sentences" in text
    error = json.loads((run / "cv" / "outlet_error.json").read_text())
    some = sorted(o for o in error["outlets"] if o != "ALL")[0]
    assert f"| {some} | {error['outlets'][some]['sentences']} | " in text


def test_the_card_follows_the_files_not_the_other_way(run, tmp_path):
    """Built from the files: change a figure in metrics.json and the regenerated card says the new figure."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["test"]["frame"]["macro_f1"] = 0.123456
    (copy / "metrics.json").write_text(json.dumps(metrics))
    write_card(copy)
    assert "| frame | 0.123 [" in (copy / "README.md").read_text()
    card = build_card(copy)
    assert card.held_out["test"]["frame"].value == pytest.approx(0.123456)


def test_confusions_are_the_measured_ones(run):
    card = build_card(run)
    oof = json.loads((run / "cv" / "metrics.json").read_text())["pooled_oof"]
    for confusion in card.confusions:
        matrix = oof[confusion.layer]["confusion"]
        names = matrix["labels"]
        row = matrix["matrix"][names.index(confusion.gold)]
        assert row[names.index(confusion.predicted)] == confusion.count and sum(row) == confusion.support
        # the most frequent off-diagonal cells of the layer come first
        off = sorted((v for i, r in enumerate(matrix["matrix"]) for j, v in enumerate(r) if i != j), reverse=True)
        assert confusion.count in off[:2]


def test_external_evaluations_are_appended_and_replaced_by_name(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    result = {layer: {"n": 124, "macro_f1": 0.5, "macro_f1_ci": [0.4, 0.6]} for layer in ("type", "stance", "frame")}
    result["outlet_profile"] = {"ignored": True}
    append_external_evaluation(copy, "extdev", result)
    text = (copy / "README.md").read_text()
    assert "## External evaluations" in text and "| extdev | 124 | 0.500 [0.400, 0.600] |" in text
    result["type"]["macro_f1"] = 0.75
    append_external_evaluation(copy, "extdev", result)
    text = (copy / "README.md").read_text()
    assert text.count("| extdev |") == 1 and "| extdev | 124 | 0.750 [0.400, 0.600] |" in text
    recorded = json.loads((copy / "external_evaluations.json").read_text())
    assert set(recorded) == {"extdev"} and set(recorded["extdev"]) == {"type", "stance", "frame"}


def test_evaluate_data_card_records_the_external_figures_in_the_card(run, tmp_path):
    import shutil

    from cli_runner import run_warta

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    rows = [{"text": "Perusahaan itu memangkas 500 karyawan dan menggantinya dengan sistem AI.", "outlet": "A",
             "type": "fact", "stance": "neutral", "frame": "economic"},
            {"text": "Menurut serikat pekerja, langkah itu merugikan ribuan keluarga.", "outlet": "B",
             "type": "quote", "stance": "against", "frame": "human_interest"},
            {"text": "AI akan menciptakan lapangan kerja baru, kata menteri.", "outlet": "B",
             "type": "quote", "stance": "pro", "frame": "economic"}]
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    done = run_warta("evaluate", copy, "--data", data, "--out", tmp_path / "e.json", "--n-boot", "20",
                     "--card", "my-articles")
    assert done.returncode == 0, done.stderr
    recorded = json.loads((copy / "external_evaluations.json").read_text())
    assert set(recorded) == {"my-articles"} and recorded["my-articles"]["type"]["n"] == 3
    assert "| my-articles | 3 |" in (copy / "README.md").read_text()
    refused = run_warta("evaluate", copy, "--card", "x")
    assert refused.returncode == 2 and "--card NAME records an external evaluation" in refused.stderr
