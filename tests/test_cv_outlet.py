"""`warta train --cv outlet`: leave-one-outlet-out folds, out-of-fold predictions, per-outlet profile error."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cli_runner import run_in_process

from warta.config import load_config
from warta.errors import InputError
from warta.jsonl import read_jsonl
from warta.schema import LAYERS
from warta.train.data import LabelledData
from warta.train.folds import outlet_plan
from warta.train.run import train

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
FAST = ["model.c_values=[0.3, 3.0]", "model.char_ngrams=[2, 4]"]


def grouped(data: LabelledData) -> LabelledData:
    """The synthetic data with groups of three consecutive sentences (some straddle outlets)."""
    ids = [r["id"] for r in data.records]
    splits = SimpleNamespace(**{**vars(data.splits), "groups": {i: f"g{n // 3}" for n, i in enumerate(ids)}})
    return LabelledData(data.records, splits, data.sources)


def test_outlet_plan_holds_out_one_outlet_and_takes_dev_from_the_others(synthetic_data):
    data = grouped(synthetic_data)
    by_id = data.by_id()
    plan, scheme = outlet_plan(data, seed=0)
    outlets = sorted({r["outlet"] for r in data.records})
    assert scheme["scheme"] == "outlet" and scheme["outlets"] == outlets and [f.name for f in plan] == outlets
    all_ids = {r["id"] for r in data.records}
    assert sorted(i for f in plan for i in f.held) == sorted(all_ids)  # train+dev+test, each held out once
    groups = data.splits.groups
    for fold in plan:
        assert {by_id[i]["outlet"] for i in fold.held} == {fold.name}
        assert fold.name not in {by_id[i]["outlet"] for i in fold.dev + fold.fit}  # never tuned or fitted on
        assert set(fold.dev).isdisjoint(fold.fit) and set(fold.dev + fold.fit + fold.held) == all_ids
        assert 0.1 < len(fold.dev) / (len(fold.dev) + len(fold.fit)) < 0.3
        assert not {groups[i] for i in fold.dev} & {groups[i] for i in fold.fit}  # whole groups only
        shared = {groups[i] for i in fold.held}
        assert fold.info["n_fit_near_duplicates"] == sum(groups[i] in shared for i in fold.fit)
    purged, _ = outlet_plan(data, seed=0, purge=True)
    for fold in purged:
        shared = {groups[i] for i in fold.held}
        assert not any(groups[i] in shared for i in fold.dev + fold.fit)
        assert fold.info["n_purged"] >= 0


def test_one_outlet_is_refused(synthetic_data):
    records = [{**r, "outlet": "same"} for r in synthetic_data.records]
    with pytest.raises(InputError, match="need at least 2"):
        outlet_plan(LabelledData(records, synthetic_data.splits), seed=0)


def test_outlet_cv_run_on_synthetic_data(synthetic_data, tmp_path):
    config = load_config(CONFIGS / "tfidf.yaml", FAST)
    result = train(config, out=tmp_path / "run", data=synthetic_data, cv="outlet", progress=False, n_boot=50)
    oof = read_jsonl(tmp_path / "run" / "cv" / "oof.jsonl")
    by_id = synthetic_data.by_id()
    assert sorted(r["id"] for r in oof) == sorted(by_id)  # every labelled sentence, test included
    assert all(r["fold"] == by_id[r["id"]]["outlet"] for r in oof)
    metrics = json.loads((tmp_path / "run" / "cv" / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result.cv))
    assert metrics["scheme"] == "outlet" and metrics["k"] == 5 and len(metrics["folds"]) == 5
    for fold in metrics["folds"]:
        assert fold["n_held_out"] == sum(1 for r in oof if r["fold"] == fold["fold"])
        assert fold["n_fit"] + fold["n_dev"] + fold["n_held_out"] == len(by_id)
    for layer in LAYERS:
        assert metrics["pooled_oof"][layer]["n"] == len(by_id)
        assert len(metrics["pooled_oof"][layer]["macro_f1_ci"]) == 2
    error = json.loads((tmp_path / "run" / "cv" / "outlet_error.json").read_text())
    assert error == metrics["outlet_error"]
    check_profile_error(error, [by_id[r["id"]] for r in oof], oof)


def check_profile_error(error: dict, gold: list[dict], oof: list[dict]) -> None:
    """Recompute shares and the stance index from the records themselves."""
    outlets = sorted({g["outlet"] for g in gold})
    assert sorted(n for n in error["outlets"] if n != "ALL") == outlets
    for outlet in outlets:
        ids = {g["id"] for g in gold if g["outlet"] == outlet}
        row = error["outlets"][outlet]
        assert row["sentences"] == len(ids)
        for layer, labels in LAYERS.items():
            g = Counter(x[layer] for x in gold if x["id"] in ids)
            p = Counter(x[layer] for x in oof if x["id"] in ids)
            expected = 100 * np.mean([abs(p[label] - g[label]) / len(ids) for label in labels])
            assert row["share_error"][layer]["points"] == pytest.approx(expected, abs=0.01)
        index = {
            side: (sum(x["stance"] == "pro" for x in rows) - sum(x["stance"] == "against" for x in rows)) / len(ids)
            for side, rows in (("gold", [x for x in gold if x["id"] in ids]), ("pred", [x for x in oof if x["id"] in ids]))
        }
        assert row["stance_index"]["gold"] == pytest.approx(index["gold"], abs=1e-4)
        assert row["stance_index"]["error"] == pytest.approx(index["pred"] - index["gold"], abs=1e-4)
        lo, hi = row["stance_index"]["ci"]
        assert lo <= hi and hi - lo < 2
    mean = error["mean_over_outlets"]
    for layer in LAYERS:
        expected = np.mean([error["outlets"][o]["share_error"][layer]["points"] for o in outlets])
        assert mean["share_error_points"][layer] == pytest.approx(expected, abs=0.01)
    assert mean["stance_index_abs_error"] == pytest.approx(
        np.mean([abs(error["outlets"][o]["stance_index"]["error"]) for o in outlets]), abs=1e-3)


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory):
    """Two leave-one-outlet-out runs on the real seeds (with and without cue features)."""
    root = tmp_path_factory.mktemp("outlet-runs")
    runs = {}
    for name, config in (("cues", "tfidf.yaml"), ("nocues", "tfidf-nocues.yaml")):
        runs[name] = train(load_config(CONFIGS / config, FAST), out=root / name, cv="outlet", progress=False,
                           n_boot=50)
    return runs


def test_evaluate_and_compare_read_outlet_cv(seed_runs, tmp_path):
    from warta.eval.compare import compare_runs
    from warta.eval.evaluate import evaluate_run
    from warta.gold.labels import load_gold

    run = seed_runs["cues"].run_dir
    metrics = evaluate_run(run, split="cv", n_boot=50, out=tmp_path / "eval.json")
    assert all(metrics[layer]["n"] == len(load_gold()) == 137 for layer in LAYERS)
    assert metrics["type"]["macro_f1"] == pytest.approx(seed_runs["cues"].cv["pooled_oof"]["type"]["macro_f1"])
    result = compare_runs(seed_runs["nocues"].run_dir, run, split="cv", n_boot=100, out=tmp_path / "cmp.json")
    assert set(result["layers"]) == set(LAYERS)
    assert all(result["layers"][layer]["n"] == 137 for layer in LAYERS)


def test_cli_rejects_a_bad_cv_value_in_one_line(tmp_path):
    result = run_in_process("train", str(CONFIGS / "tfidf.yaml"), "--cv", "outlets", "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: --cv outlets: expected an integer K >= 2, 'outlet' or 'outlet-purged'"
    assert not (tmp_path / "r").exists()


def test_outlet_purged_cv_drops_near_duplicates_of_the_held_out_outlet(synthetic_data, tmp_path):
    data = grouped(synthetic_data)
    config = load_config(CONFIGS / "tfidf.yaml", FAST)
    result = train(config, out=tmp_path / "run", data=data, cv="outlet-purged", progress=False, n_boot=0)
    assert result.cv["purge_near_duplicates"] is True
    assert sum(f["n_purged"] for f in result.cv["folds"]) > 0
    for fold in result.cv["folds"]:
        assert fold["n_fit"] + fold["n_dev"] + fold["n_held_out"] + fold["n_purged"] == len(data.records)
        assert fold["n_fit_near_duplicates"] == 0
