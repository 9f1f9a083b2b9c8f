"""Gold labels: the seed labels are complete and valid, and every planted defect is caught."""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter

import pytest
from cli_runner import run_warta

from warta.errors import InputError
from warta.gold.labels import (
    default_labels_path,
    label_counts,
    load_gold,
    load_labels,
    merge_labels,
    seed_sentences,
    validate_labels,
)
from warta.jsonl import write_jsonl
from warta.schema import GUIDELINE_VERSION, LABELLED_ROLES, LAYERS
from warta.text.corpus import default_seeds_dir


@pytest.fixture(scope="module")
def sentences():
    return seed_sentences()


@pytest.fixture(scope="module")
def seed_labels():
    return load_labels(default_labels_path())


@pytest.fixture
def labels(seed_labels):
    return copy.deepcopy(seed_labels)


def first_body(sentences):
    return next(s for s in sentences if s["role"] == "body")


def first_heading(sentences):
    return next(s for s in sentences if s["role"] == "heading")


# --- the bundled gold labels ---------------------------------------------------


def test_seed_labels_are_valid_and_complete(sentences, seed_labels):
    assert validate_labels(sentences, seed_labels) == []
    labelled = [s["id"] for s in sentences if s["role"] in LABELLED_ROLES]
    assert len(labelled) == 137
    assert sorted(label["id"] for label in seed_labels) == sorted(labelled)
    assert {label["guideline_version"] for label in seed_labels} == {GUIDELINE_VERSION}


def test_seed_label_distribution_uses_every_label(seed_labels):
    # Not a balance target: a class the guideline defines but the corpus never
    # uses would mean the layer cannot be trained or scored at all.
    counts = label_counts(seed_labels)
    for layer, allowed in LAYERS.items():
        assert list(counts[layer]) == list(allowed)
        assert all(counts[layer][label] > 0 for label in allowed), (layer, counts[layer])
        assert sum(counts[layer].values()) == 137


def test_load_gold_returns_labelled_title_and_body_records(sentences):
    gold = load_gold()
    assert len(gold) == 137
    assert {r["role"] for r in gold} == {"title", "body"}
    for record in gold:
        assert {"id", "article_id", "outlet", "role", "index", "text", "type", "stance", "frame"} <= set(record)
        for layer, allowed in LAYERS.items():
            assert record[layer] in allowed
    by_id = {s["id"]: s for s in sentences}
    assert all(by_id[r["id"]]["text"] == r["text"] for r in gold)


def test_known_hard_cases_follow_the_guideline():
    gold = {r["id"][:7]: r for r in load_gold()}
    assert gold["003-002"]["type"] == "quote"  # attributed forecast: attribution beats `bisa`
    assert gold["000-007"]["type"] == "speculation"  # `ditaksir`, unattributed
    assert gold["001-006"]["type"] == "speculation"  # `dinilai`, unattributed passive
    assert gold["000-010"]["type"] == "opinion"  # numbers inside an evaluative sentence
    assert (gold["000-017"]["type"], gold["000-018"]["type"]) == ("quote", "quote")  # quote over two sentences
    assert gold["000-003"]["type"] == "fact"  # speaker named, no content
    assert gold["003-012"]["type"] != "quote"  # attribution does not carry over
    assert (gold["000-024"]["stance"], gold["000-024"]["frame"]) == ("neutral", "economic")  # plain layoffs
    assert gold["000-019"]["frame"] == "responsibility"  # rehiring


# --- planted defects -------------------------------------------------------------


def test_missing_layer_is_reported(sentences, labels):
    del labels[0]["stance"]
    problems = validate_labels(sentences, labels)
    assert problems == [f"label for {labels[0]['id']}: missing layer 'stance'"]


def test_value_outside_schema_is_reported(sentences, labels):
    labels[3]["frame"] = "economy"
    problems = validate_labels(sentences, labels)
    assert len(problems) == 1
    assert problems[0].startswith(f"label for {labels[3]['id']}: frame 'economy' is not one of economic,")


def test_label_for_vanished_sentence_is_reported_not_dropped(sentences, labels):
    # a segmentation change alters the hash part of an id
    orphan = labels[5]["id"][:-8] + "deadbeef"
    original = labels[5]["id"]
    labels[5]["id"] = orphan
    problems = validate_labels(sentences, labels)
    assert f"label for {orphan}: no such sentence in the corpus (segmentation changed? re-label it)" in problems
    assert any(p.startswith(f"sentence {original} (") and p.endswith("no label") for p in problems)
    assert len(problems) == 2


def test_label_on_heading_is_reported(sentences, labels):
    heading = first_heading(sentences)
    labels.append({"id": heading["id"], "type": "fact", "stance": "neutral", "frame": "none",
                   "guideline_version": GUIDELINE_VERSION})
    problems = validate_labels(sentences, labels)
    assert problems == [f"label for {heading['id']}: sentence is a heading; only title/body sentences carry labels"]


def test_duplicate_id_is_reported_once(sentences, labels):
    labels.append(dict(labels[2], type="opinion"))
    problems = validate_labels(sentences, labels)
    assert problems == [f"label for {labels[2]['id']}: duplicate id (2 label lines)"]


def test_unlabelled_sentence_is_reported(sentences, labels):
    removed = labels.pop(7)
    role = next(s["role"] for s in sentences if s["id"] == removed["id"])
    assert validate_labels(sentences, labels) == [f"sentence {removed['id']} ({role}): no label"]


def test_missing_id_version_and_unknown_field_are_reported(sentences, labels):
    labels.append({"type": "fact"})
    labels[0]["guideline_version"] = "0.9"
    del labels[1]["guideline_version"]
    labels[2]["Stance"] = "pro"
    labels[4]["note"] = 3
    problems = validate_labels(sentences, labels)
    assert f"label #{len(labels)} (no id): missing sentence id" in problems
    assert any(p.startswith(f"label for {labels[0]['id']}: labelled under guideline '0.9'") for p in problems)
    assert f"label for {labels[1]['id']}: missing guideline_version" in problems
    assert f"label for {labels[2]['id']}: unknown field(s) Stance" in problems
    assert f"label for {labels[4]['id']}: note must be a string" in problems
    assert len(problems) == 5


# --- merging ---------------------------------------------------------------------


def test_merge_adds_layers_without_touching_inputs(sentences, labels):
    before = copy.deepcopy(sentences)
    merged = merge_labels(sentences, labels)
    assert sentences == before
    assert len(merged) == len(sentences)
    by_id = {m["id"]: m for m in merged}
    for label in labels:
        assert all(by_id[label["id"]][layer] == label[layer] for layer in LAYERS)
        assert "note" not in by_id[label["id"]] and "guideline_version" not in by_id[label["id"]]
    assert all("type" not in m for m in merged if m["role"] == "heading")


def test_merge_refuses_orphan_and_duplicate_labels(sentences, labels):
    with pytest.raises(InputError, match="no such sentence"):
        merge_labels(sentences, labels + [dict(labels[0], id="999-000-00000000")])
    with pytest.raises(InputError, match="duplicate id"):
        merge_labels(sentences, labels + [labels[0]])


def test_load_gold_raises_on_invalid_labels(tmp_path, labels):
    seeds = tmp_path / "seeds"
    shutil.copytree(default_seeds_dir(), seeds, ignore=shutil.ignore_patterns("labels.jsonl", "splits.json"))
    labels[0]["type"] = "rumour"
    write_jsonl(seeds / "labels.jsonl", labels)
    with pytest.raises(InputError) as caught:
        load_gold(seeds_dir=seeds)
    assert str(caught.value).startswith(f"{seeds / 'labels.jsonl'}: label for {labels[0]['id']}: type 'rumour'")


def test_load_labels_names_file_and_line_of_malformed_json(tmp_path):
    with pytest.raises(InputError, match="nope.jsonl: file not found"):
        load_labels(tmp_path / "nope.jsonl")
    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "a"}\n{"id": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"labels.jsonl:2: malformed JSON"):
        load_labels(path)


# --- command line ------------------------------------------------------------------


def test_cli_validate_ok_and_defects(tmp_path, labels):
    ok = run_warta("corpus", "validate")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok: 137 labels cover all 137 title/body sentences" in ok.stdout

    labels[0]["stance"] = "positive"
    del labels[1]["frame"]
    bad_path = tmp_path / "bad.jsonl"
    write_jsonl(bad_path, labels)
    bad = run_warta("corpus", "validate", "--labels", str(bad_path))
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    lines = bad.stdout.strip().splitlines()
    assert lines == [
        f"{bad_path}: label for {labels[0]['id']}: stance 'positive' is not one of pro, against, neutral",
        f"{bad_path}: label for {labels[1]['id']}: missing layer 'frame'",
    ]
    assert bad.stderr.strip() == f"2 problem(s) in {bad_path}"


def test_cli_stats_with_labels_counts_per_layer_and_outlet(tmp_path, sentences, seed_labels):
    corpus = tmp_path / "c.jsonl"
    write_jsonl(corpus, sentences)
    result = run_warta("corpus", "stats", str(corpus), "--labels", str(default_labels_path()))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    counts = label_counts(seed_labels)
    header = lines.index(next(line for line in lines if line.split()[:1] == ["type"]))
    assert lines[header].split() == ["type", *LAYERS["type"]]
    rows = lines[header + 1: header + 7]
    assert [row.split()[0] for row in rows] == [
        "gate-fintechweekly", "kompas.com", "telset.id", "unknown", "zonagadget.co.id", "ALL"]
    assert rows[-1].split()[1:] == [str(counts["type"][label]) for label in LAYERS["type"]]
    per_outlet = Counter()
    for label in seed_labels:
        if label["id"].startswith("000-"):
            per_outlet[label["type"]] += 1
    assert rows[1].split()[1:] == [str(per_outlet[label]) for label in LAYERS["type"]]
    assert any(line.split()[:1] == ["frame"] for line in lines)


def test_cli_stats_with_orphan_label_fails_in_one_line(tmp_path, sentences, labels):
    corpus = tmp_path / "c.jsonl"
    write_jsonl(corpus, sentences)
    path = tmp_path / "labels.jsonl"
    labels[0]["id"] = "000-000-00000000"
    path.write_text("".join(json.dumps(label) + "\n" for label in labels), encoding="utf-8")
    result = run_warta("corpus", "stats", str(corpus), "--labels", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {path}: label for 000-000-00000000: no such sentence in the corpus (run `warta corpus validate`)"
    )
