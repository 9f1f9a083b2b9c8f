"""warta.eval.compare: paired bootstrap of two prediction sets, flips, run folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_warta

import warta.eval.compare as compare_module
from warta.errors import InputError
from warta.eval.compare import compare_predictions, compare_runs, paired_bootstrap_p, render_comparison
from warta.jsonl import write_jsonl
from warta.schema import LAYERS

REPO = Path(__file__).resolve().parent.parent
LABELS = {layer: list(values) for layer, values in LAYERS.items()}


def synthetic(n, accuracy, seed, layer="type"):
    """Gold records (fixed by n and layer) and predictions right with probability `accuracy`."""
    labels = LABELS[layer]
    gold_codes = np.random.default_rng(n).integers(0, len(labels), n)
    rng = np.random.default_rng(seed)
    right = rng.random(n) < accuracy
    wrong = (gold_codes + rng.integers(1, len(labels), n)) % len(labels)
    pred_codes = np.where(right, gold_codes, wrong)
    gold = [{"id": f"s{i:03d}", "text": f"kalimat {i}", layer: labels[g]} for i, g in enumerate(gold_codes)]
    pred = [{"id": f"s{i:03d}", "text": f"kalimat {i}", layer: labels[p]} for i, p in enumerate(pred_codes)]
    return gold, pred


def test_clearly_better_run_has_positive_difference_and_small_p():
    gold, weak = synthetic(200, 0.45, seed=1)
    _, strong = synthetic(200, 0.9, seed=2)
    result = compare_predictions(gold, weak, strong, ["type"], LABELS, n_boot=2000, seed=0)["type"]
    assert result["n"] == 200
    assert result["diff"] == pytest.approx(result["macro_f1_b"] - result["macro_f1_a"])
    assert result["diff"] > 0.3
    lo, hi = result["diff_ci"]
    assert 0 < lo <= result["diff"] <= hi
    assert result["p_value"] == pytest.approx(2 / 2001)  # no resample where A wins or ties
    assert result["fixed_by_b"] > result["broken_by_b"] > 0
    # the other direction: same magnitude, negative, same p
    reverse = compare_predictions(gold, strong, weak, ["type"], LABELS, n_boot=2000, seed=0)["type"]
    assert reverse["diff"] == pytest.approx(-result["diff"])
    assert reverse["diff_ci"] == pytest.approx([-hi, -lo])
    assert reverse["p_value"] == result["p_value"]


def test_identical_runs_differ_by_zero_with_p_one():
    gold, pred = synthetic(80, 0.6, seed=3)
    result = compare_predictions(gold, pred, [dict(r) for r in pred], ["type"], LABELS, n_boot=500)["type"]
    assert result["diff"] == 0.0
    assert result["diff_ci"] == [0.0, 0.0]
    assert result["p_value"] == 1.0
    assert result["flips"] == [] and result["fixed_by_b"] == result["broken_by_b"] == 0


def test_a_small_difference_on_few_sentences_is_not_significant():
    gold, a = synthetic(30, 0.6, seed=4)
    b = [dict(r) for r in a]
    # B fixes exactly one of A's mistakes
    first_wrong = next(i for i, (g, p) in enumerate(zip(gold, a)) if g["type"] != p["type"])
    b[first_wrong]["type"] = gold[first_wrong]["type"]
    result = compare_predictions(gold, a, b, ["type"], LABELS, n_boot=1000)["type"]
    assert result["diff"] > 0
    assert result["p_value"] > 0.2
    assert result["diff_ci"][0] <= 0 <= result["diff_ci"][1]
    assert result["flips"] == [
        {
            "id": gold[first_wrong]["id"],
            "text": gold[first_wrong]["text"],
            "gold": gold[first_wrong]["type"],
            "pred_a": a[first_wrong]["type"],
            "pred_b": gold[first_wrong]["type"],
            "fixed_by_b": True,
        }
    ]


def test_only_shared_sentences_are_compared_and_flips_listed_both_ways():
    gold = [
        {"id": "a", "text": "A.", "stance": "pro"},
        {"id": "b", "text": "B.", "stance": "against"},
        {"id": "c", "text": "C.", "stance": "neutral"},
        {"id": "d", "text": "D.", "stance": "neutral"},  # only run A predicted it
    ]
    pred_a = [
        {"id": "a", "stance": "pro"},
        {"id": "b", "stance": "pro"},
        {"id": "c", "stance": "neutral"},
        {"id": "d", "stance": "pro"},
    ]
    pred_b = [{"id": "a", "stance": "against"}, {"id": "b", "stance": "against"}, {"id": "c", "stance": "neutral"}]
    result = compare_predictions(gold, pred_a, pred_b, None, LABELS, n_boot=100)
    assert set(result) == {"stance"}
    entry = result["stance"]
    assert entry["n"] == 3
    assert entry["accuracy_a"] == pytest.approx(2 / 3) and entry["accuracy_b"] == pytest.approx(2 / 3)
    assert [(f["id"], f["fixed_by_b"]) for f in entry["flips"]] == [("a", False), ("b", True)]
    assert entry["flips"][0]["text"] == "A."


def test_p_value_definition():
    assert paired_bootstrap_p(np.zeros(99)) == 1.0
    assert paired_bootstrap_p(np.full(99, 0.1)) == pytest.approx(2 / 100)
    # 10 of 99 resamples at or below zero: p = 2 * 11 / 100
    assert paired_bootstrap_p(np.r_[np.full(10, -0.1), np.full(89, 0.1)]) == pytest.approx(0.22)


def test_no_shared_sentences_is_an_input_error():
    gold, a = synthetic(5, 0.5, seed=0)
    b = [dict(r, id="other-" + r["id"]) for r in a]
    with pytest.raises(InputError, match="no shared sentence ids"):
        compare_predictions(gold, a, b, ["type"], LABELS)


def make_run(folder, predictions, labels=None):
    folder.mkdir(parents=True)
    (folder / "labels.json").write_text(json.dumps(labels or LABELS), encoding="utf-8")
    write_jsonl(folder / "predictions" / "test.jsonl", predictions)
    return folder


def test_compare_runs_on_stored_predictions_and_renders(tmp_path, monkeypatch):
    gold, weak = synthetic(120, 0.4, seed=5)
    _, strong = synthetic(120, 0.95, seed=6)
    monkeypatch.setattr(compare_module, "run_gold", lambda run_dir: gold)
    run_a = make_run(tmp_path / "a", weak)
    run_b = make_run(tmp_path / "b", strong[:100])  # B tested on fewer sentences
    out = tmp_path / "cmp.json"
    result = compare_runs(run_a, run_b, n_boot=300, out=out)
    assert json.loads(out.read_text(encoding="utf-8")) == result
    entry = result["layers"]["type"]
    assert entry["n"] == 100
    assert entry["diff"] > 0.3 and entry["p_value"] < 0.01
    text = render_comparison(result, max_flips=2)
    header = next(line for line in text.splitlines() if line.startswith("layer"))
    assert header.split()[:6] == ["layer", "n", "F1", "A", "F1", "B"]
    row = next(line for line in text.splitlines() if line.startswith("type"))
    assert row.split()[1] == "100"
    assert f"{entry['diff']:+.3f}" in row
    assert f"... {len(entry['flips']) - 2} more" in text


def test_compare_runs_refuses_runs_with_different_label_lists(tmp_path, monkeypatch):
    gold, pred = synthetic(10, 0.5, seed=7)
    monkeypatch.setattr(compare_module, "run_gold", lambda run_dir: gold)
    run_a = make_run(tmp_path / "a", pred)
    run_b = make_run(tmp_path / "b", pred, labels={"type": ["fact", "quote", "opinion"]})
    with pytest.raises(InputError, match="not comparable"):
        compare_runs(run_a, run_b)


def test_compare_runs_names_a_missing_predictions_file(tmp_path, monkeypatch):
    gold, pred = synthetic(10, 0.5, seed=8)
    monkeypatch.setattr(compare_module, "run_gold", lambda run_dir: gold)
    run_a = make_run(tmp_path / "a", pred)
    run_b = make_run(tmp_path / "b", pred)
    with pytest.raises(InputError, match=r"predictions/dev\.jsonl: file not found"):
        compare_runs(run_a, run_b, split="dev")
    with pytest.raises(InputError, match=r"cv/oof\.jsonl: file not found \(train with --cv\)"):
        compare_runs(run_a, run_b, split="cv")
    with pytest.raises(InputError, match="split 'train'"):
        compare_runs(run_a, run_b, split="train")


# --- end to end: two real TF-IDF runs and the command line -----------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The TF-IDF baseline with and without cue features, trained on the bundled seeds (C fixed: seconds)."""
    from warta.config import load_config
    from warta.train.run import train

    root = tmp_path_factory.mktemp("runs")
    runs = []
    for name in ("tfidf-nocues", "tfidf"):
        config = load_config(REPO / "configs" / f"{name}.yaml", ["model.c_values=[1.0]"])
        runs.append(train(config, out=root / name, progress=False, n_boot=0).run_dir)
    return runs


def test_cli_compare_two_runs(two_runs, tmp_path):
    run_a, run_b = two_runs
    out = tmp_path / "cmp.json"
    result = run_warta("compare", str(run_a), str(run_b), "--out", str(out), "--n-boot", "500")
    assert result.returncode == 0, result.stderr
    comparison = json.loads(out.read_text(encoding="utf-8"))
    test_a = json.loads((run_a / "metrics.json").read_text(encoding="utf-8"))["test"]
    test_b = json.loads((run_b / "metrics.json").read_text(encoding="utf-8"))["test"]
    n_test = len(json.loads((run_a / "data.json").read_text(encoding="utf-8"))["ids"]["test"])
    for layer, entry in comparison["layers"].items():
        assert entry["n"] == n_test
        assert entry["macro_f1_a"] == pytest.approx(test_a[layer]["macro_f1"])
        assert entry["macro_f1_b"] == pytest.approx(test_b[layer]["macro_f1"])
        lo, hi = entry["diff_ci"]
        assert lo <= entry["diff"] <= hi and 0 < entry["p_value"] <= 1
        assert entry["fixed_by_b"] + entry["broken_by_b"] == len(entry["flips"])
        row = next(line for line in result.stdout.splitlines() if line.startswith(layer))
        assert row.split()[:5] == [layer, str(n_test), f"{entry['macro_f1_a']:.3f}", f"{entry['macro_f1_b']:.3f}",
                                   f"{entry['diff']:+.3f}"]


def test_cli_compare_a_run_with_itself(two_runs):
    run = two_runs[0]
    result = run_warta("compare", str(run), str(run))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.split()[:1] in (["type"], ["stance"], ["frame"])]
    assert len(rows) == 3
    for row in rows:
        # layer n F1A F1B B-A [lo, hi] p fixed broken
        assert row[4] == "+0.000" and row[5:7] == ["[+0.000,", "+0.000]"] and row[7:] == ["1.000", "0", "0"]
    assert "flip" not in result.stdout


def test_cli_compare_bad_run_is_one_line(two_runs, tmp_path):
    result = run_warta("compare", str(two_runs[0]), str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: run folder not found"
    result = run_warta("compare", str(two_runs[0]), str(two_runs[1]), "--split", "cv")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {two_runs[0] / 'cv' / 'oof.jsonl'}: file not found (train with --cv)"


def test_render_comparison_without_listing_flips():
    gold, a = synthetic(40, 0.5, seed=9)
    _, b = synthetic(40, 0.8, seed=10)
    layers = compare_predictions(gold, a, b, ["type"], LABELS, n_boot=100)
    result = {"run_a": "A", "run_b": "B", "split": "test", "n_boot": 100, "seed": 0, "layers": layers}
    text = render_comparison(result, max_flips=0)
    assert f"type: {len(layers['type']['flips'])} sentence(s) flip (listed in the JSON output)" in text
    assert not any(line.startswith("  +") or line.startswith("  -") for line in text.splitlines())
    full = render_comparison(result, max_flips=None)
    assert sum(line.startswith(("  + ", "  - ")) for line in full.splitlines()) == len(layers["type"]["flips"])
