"""warta.metrics: figures checked by hand and against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from warta.errors import InputError
from warta.metrics import (
    bootstrap_scores,
    evaluate_predictions,
    expected_calibration_error,
    layer_metrics,
)
from warta.schema import LAYERS

LABELS = {"type": list(LAYERS["type"]), "stance": list(LAYERS["stance"]), "frame": list(LAYERS["frame"])}


def records(gold, pred, layer="type", probs=None):
    gold_records = [{"id": f"s{i}", "text": f"t{i}", layer: label} for i, label in enumerate(gold)]
    pred_records = [{"id": f"s{i}", "text": f"t{i}", layer: label} for i, label in enumerate(pred)]
    if probs is not None:
        for record, p in zip(pred_records, probs):
            record["probs"] = {layer: p}
    return gold_records, pred_records


def test_hand_computed_figures():
    # labels a=fact b=quote c=opinion d=speculation (never seen)
    gold = ["fact", "fact", "fact", "quote", "quote", "opinion"]
    pred = ["fact", "fact", "quote", "quote", "opinion", "opinion"]
    result = evaluate_predictions(*records(gold, pred), ["type"], LABELS, n_boot=200)
    m = result["type"]
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    # F1: fact 2*2/(2*2+0+1)=0.8, quote 2/(2+1+1)=0.5, opinion 2/(2+1+0)=2/3, speculation 0 (zero_division=0)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3 + 0) / 4)
    assert m["per_class"]["fact"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["per_class"]["quote"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["opinion"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["per_class"]["speculation"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion"] == {
        "labels": ["fact", "quote", "opinion", "speculation"],
        "matrix": [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]],
    }
    assert m["absent_labels"] == ["speculation"]
    assert m["ece"] is None  # no probs
    json.dumps(result)  # plain JSON types only


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_on_random_predictions(seed):
    rng = np.random.default_rng(seed)
    labels = LABELS["frame"]
    gold = list(rng.choice(labels[:5], size=40))  # "none" never gold, sometimes predicted
    pred = [g if rng.random() < 0.6 else str(rng.choice(labels)) for g in gold]
    m = evaluate_predictions(*records(gold, pred, "frame"), ["frame"], LABELS, n_boot=0)["frame"]
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    for i, label in enumerate(labels):
        assert m["per_class"][label] == pytest.approx(
            {"precision": p[i], "recall": r[i], "f1": f[i], "support": int(s[i])}
        )
    assert m["confusion"]["matrix"] == confusion_matrix(gold, pred, labels=labels).tolist()
    assert m["accuracy_ci"] is None and m["macro_f1_ci"] is None


def test_bootstrap_macro_f1_matches_sklearn_on_each_resample():
    rng = np.random.default_rng(5)
    gold = rng.integers(0, 3, 25)
    pred = np.where(rng.random(25) < 0.7, gold, rng.integers(0, 3, 25))
    accuracy, macro = bootstrap_scores(gold, [pred], 3, n_boot=7, seed=11)
    rows = np.random.default_rng(11).integers(0, 25, size=(7, 25))
    for b, row in enumerate(rows):
        assert accuracy[0, b] == pytest.approx(accuracy_score(gold[row], pred[row]))
        assert macro[0, b] == pytest.approx(
            f1_score(gold[row], pred[row], labels=[0, 1, 2], average="macro", zero_division=0)
        )


def test_confidence_intervals_contain_the_estimate_and_are_deterministic():
    rng = np.random.default_rng(3)
    labels = LABELS["stance"]
    gold = list(rng.choice(labels, size=60))
    pred = [g if rng.random() < 0.7 else str(rng.choice(labels)) for g in gold]
    first = evaluate_predictions(*records(gold, pred, "stance"), None, LABELS, n_boot=500, seed=7)["stance"]
    again = evaluate_predictions(*records(gold, pred, "stance"), None, LABELS, n_boot=500, seed=7)["stance"]
    other = evaluate_predictions(*records(gold, pred, "stance"), None, LABELS, n_boot=500, seed=8)["stance"]
    for key, point in (("accuracy_ci", "accuracy"), ("macro_f1_ci", "macro_f1")):
        lo, hi = first[key]
        assert lo <= first[point] <= hi
        assert lo < hi  # 60 noisy sentences: a real interval, not a point
        assert first[key] == again[key]
    assert other["macro_f1_ci"] != first["macro_f1_ci"]


def test_interval_narrows_with_more_data():
    rng = np.random.default_rng(4)
    labels = LABELS["stance"]

    def width(n):
        gold = list(rng.choice(labels, size=n))
        pred = [g if rng.random() < 0.7 else str(rng.choice(labels)) for g in gold]
        lo, hi = layer_metrics(gold, pred, labels, n_boot=400)["accuracy_ci"]
        return hi - lo

    assert width(2000) < width(50) / 3


def test_ece_zero_when_perfectly_calibrated():
    # 10 sentences at confidence 0.8 with 8 right, 10 at 0.6 with 6 right
    gold = ["pro"] * 20
    pred = ["pro"] * 8 + ["against"] * 2 + ["pro"] * 6 + ["against"] * 4
    probs = []
    for i, label in enumerate(pred):
        conf = 0.8 if i < 10 else 0.6
        rest = (1 - conf) / 2
        probs.append({lab: (conf if lab == label else rest) for lab in LABELS["stance"]})
    m = evaluate_predictions(*records(gold, pred, "stance", probs), ["stance"], LABELS, n_boot=0)["stance"]
    assert m["ece"] == pytest.approx(0.0, abs=1e-12)


def test_ece_of_an_overconfident_model():
    gold = ["pro", "against"] * 10
    pred = ["pro"] * 20  # half right, always 95% sure
    probs = [{"pro": 0.95, "against": 0.03, "neutral": 0.02}] * 20
    m = evaluate_predictions(*records(gold, pred, "stance", probs), ["stance"], LABELS, n_boot=0)["stance"]
    assert m["ece"] == pytest.approx(0.45)


def test_ece_by_hand_over_two_bins():
    # bin (0.3,0.4]: conf 0.35, 0.35, both wrong -> |0 - 0.35| * 2/4
    # bin (0.9,1.0]: conf 0.95, 1.0, both right -> |1 - 0.975| * 2/4
    ece = expected_calibration_error(np.array([0.35, 0.35, 0.95, 1.0]), np.array([0, 0, 1, 1]))
    assert ece == pytest.approx(0.35 / 2 + 0.025 / 2)
    # bins are (lo, hi]: 0.5 sits in (0.4, 0.5] with 0.45, 0.55 in the next bin
    assert expected_calibration_error(np.array([0.45, 0.5, 0.55]), np.array([1, 1, 0])) == pytest.approx(
        (2 / 3) * abs(1 - 0.475) + (1 / 3) * 0.55
    )


def test_gold_without_a_layer_value_is_skipped_and_absent_layers_left_out():
    gold = [
        {"id": "a", "type": "fact", "stance": "pro"},
        {"id": "b", "type": "quote", "stance": None},
        {"id": "c", "type": "quote"},
    ]
    pred = [
        {"id": "a", "type": "fact", "stance": "pro", "frame": "none"},
        {"id": "b", "type": "fact", "stance": "against", "frame": "none"},
        {"id": "c", "type": "quote", "stance": "against", "frame": "none"},
        {"id": "extra", "type": "fact", "stance": "pro", "frame": "none"},  # no gold: ignored
    ]
    result = evaluate_predictions(gold, pred, ["type", "stance", "frame"], LABELS, n_boot=50)
    assert set(result) == {"type", "stance"}
    assert result["type"]["n"] == 3 and result["type"]["accuracy"] == pytest.approx(2 / 3)
    assert result["stance"]["n"] == 1 and result["stance"]["accuracy"] == 1.0


def test_no_requested_layer_in_gold_is_an_input_error():
    gold = [{"id": "a", "type": "fact"}]
    pred = [{"id": "a", "type": "fact", "stance": "pro"}]
    with pytest.raises(InputError, match="no record carries a label for stance"):
        evaluate_predictions(gold, pred, ["stance"], LABELS)


@pytest.mark.parametrize(
    "gold, pred, message",
    [
        ([{"id": "a", "type": "fact"}], [{"id": "b", "type": "fact"}], "1 gold sentence.*no prediction.*'a'"),
        ([{"id": "a", "type": "rumour"}], [{"id": "a", "type": "fact"}], "gold: id 'a': label 'rumour'"),
        ([{"id": "a", "type": "fact"}], [{"id": "a", "type": "gossip"}], "prediction: id 'a': label 'gossip'"),
        ([{"id": "a", "type": "fact"}, {"id": "a", "type": "fact"}], [{"id": "a", "type": "fact"}], "more than once"),
        ([{"id": "a", "type": "fact"}], [{"id": "a"}], "id 'a' has no 'type' label"),
    ],
)
def test_bad_records_raise_one_line_input_errors(gold, pred, message):
    with pytest.raises(InputError, match=message):
        evaluate_predictions(gold, pred, ["type"], LABELS)


def test_ece_is_none_when_some_prediction_lacks_probs():
    gold = [{"id": "a", "type": "fact"}, {"id": "b", "type": "fact"}]
    pred = [{"id": "a", "type": "fact", "probs": {"type": {"fact": 0.9}}}, {"id": "b", "type": "fact"}]
    assert evaluate_predictions(gold, pred, ["type"], LABELS, n_boot=0)["type"]["ece"] is None
