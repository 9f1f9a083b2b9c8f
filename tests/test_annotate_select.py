"""`warta annotate select`: uncertainty, diversity, outlet balance, exclusions, Label Studio/CSV files."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SEEDS
from warta.annotate.labelstudio import guideline_definitions, labelling_config, tasks
from warta.annotate.select import select, uncertainty, with_context
from warta.errors import InputError
from warta.schema import LAYER_NAMES, LAYERS
from warta.text.corpus import sentence_id

GUIDELINES = SEEDS / "GUIDELINES.md"


def fake_probs(rng: np.random.Generator, sharp: float) -> dict:
    return {layer: dict(zip(labels, np.round(rng.dirichlet([sharp] * len(labels)), 6).tolist()))
            for layer, labels in LAYERS.items()}


def labelled_records(frozen_segmentation, outlets=("big", "big", "big", "small", "tiny")) -> list[dict]:
    """The seed sentences as `warta label` output: article i -> outlets[i], random probs, headings unlabelled."""
    rng = np.random.default_rng(1)
    records = []
    for n, (article, units) in enumerate(sorted(frozen_segmentation.items())):
        for index, (role, text) in enumerate(units):
            record = {"id": sentence_id(article, index, text), "article_id": article, "outlet": outlets[n],
                      "role": role, "index": index, "text": text, "model": "run/tfidf"}
            probs = None if role == "heading" else fake_probs(rng, float(rng.choice([0.3, 1.0, 5.0])))
            record["probs"] = probs
            for layer in LAYER_NAMES:
                record[layer] = max(probs[layer], key=probs[layer].get) if probs else None
            records.append(record)
    return records


def test_uncertainty_bounds():
    uniform = {layer: {label: 1 / len(labels) for label in labels} for layer, labels in LAYERS.items()}
    sure = {layer: {label: float(i == 0) for i, label in enumerate(labels)} for layer, labels in LAYERS.items()}
    assert uncertainty(uniform, "entropy") == pytest.approx(1.0)
    assert uncertainty(sure, "entropy") == pytest.approx(0.0)
    assert uncertainty(uniform, "margin") == pytest.approx(1.0)
    assert uncertainty(sure, "margin") == pytest.approx(0.0)
    two = {"stance": {"pro": 0.6, "against": 0.3, "neutral": 0.1}}
    assert uncertainty(two, "margin") == pytest.approx(0.7)


def test_selection_is_deterministic(frozen_segmentation):
    records = labelled_records(frozen_segmentation)
    first = [r["id"] for r in select(records, 15, seed=3).picked]
    second = [r["id"] for r in select(list(reversed(records)), 15, seed=3).picked]
    assert first == second and len(first) == 15


def test_outlets_are_balanced_and_capped(frozen_segmentation):
    records = labelled_records(frozen_segmentation)
    picked = select(records, 15, seed=0).picked
    counts = {o: sum(r["outlet"] == o for r in picked) for o in ("big", "small", "tiny")}
    # "big" has three articles (about 100 candidates) yet gets no more than the others
    assert counts == {"big": 5, "small": 5, "tiny": 5}
    capped = select(records, 15, seed=0, per_group_cap=2).picked
    assert {o: sum(r["outlet"] == o for r in capped) for o in ("big", "small", "tiny")} == {"big": 2, "small": 2, "tiny": 2}


def test_by_date_balances_outlet_month(frozen_segmentation):
    records = labelled_records(frozen_segmentation, outlets=("a", "a", "a", "a", "a"))
    for r in records:
        r["date"] = "2025-05-10" if r["article_id"] == "004" else "2025-09-01"
    picked = select(records, 6, seed=0, by_date=True).picked
    assert sum(r["article_id"] == "004" for r in picked) == 3


def test_large_inputs_are_shortlisted_by_uncertainty(frozen_segmentation, monkeypatch):
    import warta.annotate.select as module

    monkeypatch.setattr(module, "MIN_POOL", 30)
    monkeypatch.setattr(module, "POOL_FACTOR", 1)
    records = labelled_records(frozen_segmentation)
    selection = select(records, 6, seed=0)
    assert selection.candidates == 30 and selection.excluded["below the uncertainty shortlist"] > 0
    for outlet in ("big", "small", "tiny"):
        scores = sorted((uncertainty(r["probs"]) for r in records if r["outlet"] == outlet and r["probs"]), reverse=True)
        cut = scores[9]  # 30 shared by 3 outlets
        assert all(r["uncertainty"] >= cut - 1e-6 for r in selection.picked if r["outlet"] == outlet)


def test_excludes_headings_gold_and_near_duplicates(frozen_segmentation):
    records = labelled_records(frozen_segmentation)
    body = [r for r in records if r["role"] == "body"]
    # a near-copy of a body sentence, maximally uncertain, in another outlet: only one of the pair may be picked
    twin = dict(body[5], id="999-000-twin", article_id="999", outlet="tiny", index=0, text=body[5]["text"] + " ya")
    uniform = {layer: {label: 1 / len(labels) for label in labels} for layer, labels in LAYERS.items()}
    body[5]["probs"] = twin["probs"] = uniform
    gold_ids = {r["id"] for r in body[:40]}
    selection = select(records + [twin], 60, seed=0, exclude_ids=gold_ids)
    ids = {r["id"] for r in selection.picked}
    assert not ids & gold_ids
    assert all(r["role"] != "heading" for r in selection.picked)
    assert selection.excluded["already labelled"] == 40
    assert selection.excluded["heading or other role"] == sum(r["role"] == "heading" for r in records)
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in selection.picked]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)
    similarity = (matrix @ matrix.T).toarray()
    np.fill_diagonal(similarity, 0)
    assert similarity.max() < 0.8
    # a candidate too close to an already-labelled text is dropped as well
    near_gold = select(records, 60, seed=0, labelled_texts=[body[50]["text"]])
    assert body[50]["id"] not in {r["id"] for r in near_gold.picked}
    assert near_gold.excluded["near-duplicate of a labelled sentence"] >= 1


def test_context_and_tasks(frozen_segmentation):
    records = labelled_records(frozen_segmentation)
    picked = select(records, 5, seed=0).picked
    with_context(picked, records)
    by_key = {(r["article_id"], r["index"]): r["text"] for r in records}
    for record, item in zip(picked, tasks(picked)):
        data = item["data"]
        assert data["text"] == record["text"] and data["id"] == record["id"]
        assert data["previous"] == by_key.get((record["article_id"], record["index"] - 1), "")
        assert data["next"] == by_key.get((record["article_id"], record["index"] + 1), "")
        (prediction,) = item["predictions"]
        assert prediction["model_version"] == "run/tfidf"
        assert [r["from_name"] for r in prediction["result"]] == list(LAYER_NAMES)
        for result in prediction["result"]:
            (label,) = result["value"]["choices"]
            assert label == record[result["from_name"]] and result["type"] == "choices"
            assert result["score"] == pytest.approx(record["probs"][result["from_name"]][label])


def test_config_matches_schema_and_guidelines():
    definitions = guideline_definitions(GUIDELINES)
    assert definitions["type"]["quote"] == "somebody other than the outlet says or holds it"
    assert definitions["stance"]["against"] == "harmful, mistaken, risky or regrettable"
    root = ET.fromstring(labelling_config(definitions))
    texts = {t.get("name") for t in root.iter("Text")}
    blocks = {c.get("name"): c for c in root.iter("Choices")}
    assert set(blocks) == set(LAYER_NAMES)
    for layer, block in blocks.items():
        assert block.get("toName") in texts and block.get("choice") == "single-radio"
        values = [c.get("value") for c in block.iter("Choice")]
        assert values == list(LAYERS[layer])
        assert all(c.get("hint") == definitions[layer][c.get("value")] for c in block.iter("Choice"))


def write_run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "labels.json").write_text(json.dumps({k: list(v) for k, v in LAYERS.items()}), encoding="utf-8")
    return run


def test_select_cli_writes_batch(tmp_path, frozen_segmentation):
    from typer.testing import CliRunner

    from warta.cli import app

    records = labelled_records(frozen_segmentation)
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold_ids = [r["id"] for r in records if r["role"] == "body"][:30]
    gold.write_text("".join(json.dumps({"id": i}) + "\n" for i in gold_ids), encoding="utf-8")
    run = write_run(tmp_path)
    args = ["annotate", "select", str(run), str(labelled), "--n", "12", "--out", str(tmp_path / "b"),
            "--labels", str(gold), "--seed", "7"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "selected 12 of" in result.output
    items = json.loads((tmp_path / "b" / "tasks.json").read_text(encoding="utf-8"))
    assert len(items) == 12 and not {t["data"]["id"] for t in items} & set(gold_ids)
    config = (tmp_path / "b" / "config.xml").read_text(encoding="utf-8")
    for variable in set(re.findall(r"\$(\w+)", config)):
        assert all(variable in t["data"] for t in items)
    with (tmp_path / "b" / "batch.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [t["data"]["id"] for t in items]
    assert all(r["type"] == r["stance"] == r["frame"] == "" and r["model_type"] for r in rows)
    # same seed, same batch; an existing batch is not overwritten without --force
    again = CliRunner().invoke(app, args)
    assert isinstance(again.exception, InputError) and "--force" in str(again.exception)
    again = CliRunner().invoke(app, [*args[:-2], "--seed", "7", "--force"])
    assert json.loads((tmp_path / "b" / "tasks.json").read_text(encoding="utf-8")) == items


def test_config_and_tasks_pass_label_studio_sdk(frozen_segmentation):
    sdk = pytest.importorskip("label_studio_sdk.label_interface",
                              reason="label-studio-sdk not installed (pip install label-studio-sdk)")
    interface = sdk.LabelInterface(labelling_config(guideline_definitions(GUIDELINES)))
    records = labelled_records(frozen_segmentation)
    picked = select(records, 5, seed=0).picked
    with_context(picked, records)
    for item in tasks(picked):
        # validate_task is called on the data alone: in SDK 2.1.2 it calls validate_prediction() without
        # its argument when the task carries predictions, so those are checked one by one
        assert interface.validate_task({"data": item["data"]})
        assert interface.validate_prediction(item["predictions"][0])
    assert not interface.validate_task({"data": {"text": "no context fields"}})
    wrong = {"result": [{"from_name": "type", "to_name": "text", "type": "choices", "value": {"choices": ["rumour"]}}]}
    assert not interface.validate_prediction(wrong)
