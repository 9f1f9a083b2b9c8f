"""`warta outlets --adjust --run`: corrected shares from a run's held-out predictions only."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runner import run_in_process
from warta.errors import InputError
from warta.gold.labels import default_labels_path, seed_sentences
from warta.outlets import quantify as Q
from warta.outlets.adjust import adjust_groups, load_calibration
from warta.schema import LABELLED_ROLES, LAYERS


def _confuse(layer: str, gold: str, i: int) -> str:
    """A fixed error pattern: every 4th sentence gets the next label (same rule for calibration and target)."""
    labels = LAYERS[layer]
    return labels[(labels.index(gold) + 1) % len(labels)] if i % 4 == 0 else gold


def _prediction(rec: dict, gold: dict, i: int) -> dict:
    out = dict(rec)
    out["probs"] = {}
    for layer, labels in LAYERS.items():
        out[layer] = _confuse(layer, gold[layer], i)
        out["probs"][layer] = {lab: (0.7 if lab == out[layer] else 0.3 / (len(labels) - 1)) for lab in labels}
    out["model"] = "fake-run/tfidf"
    return out


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory) -> Path:
    """A run folder over the seeds: sentences, data.json pointing at the bundled labels, OOF predictions
    with a known error pattern, and a dev file that must never be used for calibration."""
    from warta.gold.labels import load_gold

    run = tmp_path_factory.mktemp("runs") / "fake-run"
    (run / "cv").mkdir(parents=True)
    (run / "predictions").mkdir()
    sentences = seed_sentences()
    (run / "sentences.jsonl").write_text("".join(json.dumps(s) + "\n" for s in sentences))
    (run / "labels.json").write_text(json.dumps({k: list(v) for k, v in LAYERS.items()}))
    (run / "data.json").write_text(json.dumps({"ids": {}, "sources": {"seeds": None, "labels": str(default_labels_path())}}))
    (run / "config.yaml").write_text("name: fake\nmodel:\n  kind: tfidf\n")
    gold = load_gold(sentences=sentences)
    oof = [_prediction({k: g[k] for k in ("id", "article_id", "outlet", "role", "index", "text")}, g, i) | {"fold": 0}
           for i, g in enumerate(gold[:100])]
    (run / "cv" / "oof.jsonl").write_text("".join(json.dumps(r) + "\n" for r in oof))
    test = [_prediction({k: g[k] for k in ("id", "article_id", "outlet", "role", "index", "text")}, g, i)
            for i, g in enumerate(gold[100:], start=100)]
    (run / "predictions" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))
    # dev predictions deliberately absurd: if they were used, every correction would be wrong
    (run / "predictions" / "dev.jsonl").write_text(json.dumps(oof[0] | {"stance": "pro"}) + "\n")
    (run / "metrics.json").write_text(json.dumps({"test": {"stance": {
        "n": 37, "accuracy": 0.7, "accuracy_ci": [0.5, 0.85], "macro_f1": 0.6, "macro_f1_ci": [0.4, 0.8]}}}))
    return run


def _target(mix: dict[str, float], n: int = 200, per_article: int = 10, outlet: str = "x") -> list[dict]:
    """Prediction records of a new outlet whose TRUE stance mix is `mix`, labelled with the same error pattern."""
    golds = [lab for lab, share in mix.items() for _ in range(round(share * n))]
    rng = np.random.default_rng(0)
    golds = list(rng.permutation(golds))
    out = []
    for i, g in enumerate(golds):
        truth = {"type": "fact", "stance": g, "frame": "economic"}
        out.append(_prediction({"id": f"{outlet}-{i}", "article_id": f"{outlet}-a{i // per_article}", "outlet": outlet,
                                "role": "body", "index": i, "text": f"kalimat {i}"}, truth, i))
    return out


def test_calibration_is_oof_plus_test_never_dev_or_training(fake_run):
    cal = load_calibration(fake_run)
    ids = {r["id"] for r in cal["records"]}
    assert len(ids) == 137 and len(cal["records"]) == 137
    first = next(r for r in cal["records"] if r.get("fold") == 0)  # its dev.jsonl twin says "pro"
    assert first["stance"] == _confuse("stance", cal["gold"][first["id"]]["stance"], 0)
    assert any("out-of-fold" in s for s in cal["sources"]) and any("test" in s for s in cal["sources"])
    assert not any("dev" in s for s in cal["sources"])


def test_run_without_held_out_predictions_is_refused_in_one_line(tmp_path, fake_run):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "labels.json").write_text((fake_run / "labels.json").read_text())
    with pytest.raises(InputError, match="no held-out predictions"):
        load_calibration(bare)
    target = tmp_path / "t.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in _target({"pro": 0.5, "against": 0.25, "neutral": 0.25})))
    res = run_in_process("outlets", str(target), "--adjust", "acc", "--run", str(bare), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "held-out" in res.stderr
    res = run_in_process("outlets", str(target), "--adjust", "acc", "--out", str(tmp_path / "o2"))
    assert res.returncode == 2 and "--run" in res.stderr


def test_acc_recovers_a_shifted_mix_that_the_raw_count_misses(fake_run):
    truth = {"pro": 0.6, "against": 0.2, "neutral": 0.2}
    records = _target(truth)
    adjusted = adjust_groups(records, load_calibration(fake_run), "acc", n_boot=300, seed=1)
    stance = adjusted["outlets"]["x"]["layers"]["stance"]
    raw = {lab: sum(r["stance"] == lab for r in records) / len(records) for lab in truth}
    raw_err = np.mean([abs(raw[lab] - truth[lab]) for lab in truth])
    acc_err = np.mean([abs(stance["shares"][lab]["value"] - truth[lab]) for lab in truth])
    assert acc_err < raw_err / 2
    index = adjusted["outlets"]["x"]["stance_index"]["all"]
    assert abs(index["value"] - 0.4) < 0.1 and index["ci"][0] <= 0.4 <= index["ci"][1]
    assert stance["resampled"] == "articles"  # 20 articles
    # same figures as the library called directly on the same arrays (no hidden re-weighting)
    cal = Q.calibration_from_records(load_calibration(fake_run)["records"], load_calibration(fake_run)["gold"],
                                     "stance", LAYERS["stance"], by_article=False)
    pred = np.array([LAYERS["stance"].index(r["stance"]) for r in records])
    probs = np.array([[r["probs"]["stance"][lab] for lab in LAYERS["stance"]] for r in records])
    direct = Q.point_estimate(cal, pred, probs, "acc")
    assert np.allclose([stance["shares"][lab]["value"] for lab in LAYERS["stance"]], direct, atol=1e-4)


def test_own_voice_and_quoted_split_and_all_row(fake_run):
    records = _target({"pro": 0.5, "against": 0.3, "neutral": 0.2})
    for r in records[:60]:
        r["type"] = "quote"
    adjusted = adjust_groups(records, load_calibration(fake_run), "pacc", n_boot=200)
    idx = adjusted["outlets"]["x"]["stance_index"]
    quoted = sum(r["type"] == "quote" for r in records)  # predicted quotes (the error pattern adds some)
    assert quoted >= 60 and idx["quoted"]["n"] == quoted and idx["own_voice"]["n"] == 200 - quoted
    assert set(adjusted["outlets"]) == {"x", "ALL"}
    for fig in idx.values():
        assert -1 <= fig["ci"][0] <= fig["value"] <= fig["ci"][1] <= 1


def test_cli_writes_raw_and_corrected_side_by_side(tmp_path, fake_run):
    target = tmp_path / "t.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in _target({"pro": 0.7, "against": 0.1, "neutral": 0.2})))
    out = tmp_path / "o"
    res = run_in_process("outlets", str(target), "--adjust", "acc", "--run", str(fake_run), "--out", str(out), "--n-boot", "200")
    assert res.returncode == 0, res.stderr
    profile = json.loads((out / "outlets.json").read_text())
    assert profile["adjusted"]["method"] == "acc" and profile["settings"]["adjust"] == "acc"
    row = next(csv.DictReader((out / "outlets.csv").open()))
    assert row["stance_share.pro"] and row["stance_share.pro.corrected"] and row["stance_index.all.corrected_ci_lo"]
    page = (out / "report.html").read_text()
    assert "Raw counts and corrected shares" in page and "--adjust acc" in page
    # every target sentence is truly 'economic'; a quarter is counted 'human_interest': the raw 75% lies
    # outside the corrected interval, and that is said in words
    assert any("frame 'economic': counted 75%" in line for line in profile["adjusted"]["outlets"]["x"]["differs"])
    assert "raw count lies outside" in page
    # methods section generated from the run: model kind, held-out scores with CIs, method, instability
    assert "model kind <b>tfidf</b>" in page and "0.60 [0.40, 0.80]" in page and "Guideline version" not in page
    assert "Labelling guideline version 1.0" in page and "corrected with <b>acc</b>" in page
    assert "-&gt; " not in res.stdout and "->" in res.stdout


def test_probability_methods_need_probs(fake_run):
    records = _target({"pro": 0.5, "against": 0.3, "neutral": 0.2})
    for r in records:
        r.pop("probs")
    with pytest.raises(InputError, match="needs 'probs'"):
        adjust_groups(records, load_calibration(fake_run), "pacc", n_boot=100)
    assert adjust_groups(records, load_calibration(fake_run), "acc", n_boot=100)["outlets"]["x"]["layers"]["stance"]["n"] == 200


def test_headings_are_not_corrected(fake_run):
    records = _target({"pro": 0.5, "against": 0.3, "neutral": 0.2})
    records.append({"id": "h", "article_id": "x-a0", "outlet": "x", "role": "heading", "text": "Judul",
                    "type": None, "stance": None, "frame": None, "probs": None})
    assert "heading" not in LABELLED_ROLES
    adjusted = adjust_groups(records, load_calibration(fake_run), "acc", n_boot=100)
    assert adjusted["outlets"]["x"]["layers"]["stance"]["n"] == 200


def test_methods_state_the_runs_error_on_unseen_outlets(tmp_path, fake_run):
    """With a --cv outlet run, the report says how far its profiles were off on outlets it never saw;
    without one, that it was not measured."""
    import shutil

    from warta.outlets.run_facts import run_summary

    target = tmp_path / "t.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in _target({"pro": 0.2, "against": 0.5, "neutral": 0.3})))
    res = run_in_process("outlets", str(target), "--run", str(fake_run), "--out", str(tmp_path / "plain"), "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    assert "Not measured for this run" in (tmp_path / "plain" / "report.html").read_text()
    assert "outlet_error" not in run_summary(fake_run)
    res = run_in_process("outlets", str(target), "--out", str(tmp_path / "norun"), "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    assert "Error on unseen outlets" not in (tmp_path / "norun" / "report.html").read_text()  # no run, no model

    run = tmp_path / "loo-run"
    shutil.copytree(fake_run, run)
    error = {"outlets": {"a": {"stance_index": {"error": -0.31}}, "b": {"stance_index": {"error": 0.43}},
                         "ALL": {"stance_index": {"error": 0.9}}},
             "mean_over_outlets": {"share_error_points": {"type": 4.5, "stance": 15.5, "frame": 7.1},
                                   "stance_index_abs_error": 0.37, "outlets": 2}}
    (run / "cv" / "outlet_error.json").write_text(json.dumps(error))
    summary = run_summary(run)["outlet_error"]
    assert summary["stance_index_error_range"] == [-0.31, 0.43]  # ALL is not an outlet
    assert summary["outlets"] == 2 and summary["share_error_points"]["stance"] == 15.5
    out = tmp_path / "loo"
    res = run_in_process("outlets", str(target), "--run", str(run), "--out", str(out), "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    page = (out / "report.html").read_text()
    assert "stance index was off by 0.37 on average (per outlet from -0.31 to +0.43)" in page
    assert "type 4.5, stance 15.5, frame 7.1 points" in page
    assert json.loads((out / "outlets.json").read_text())["run"]["outlet_error"]["stance_index_abs_error"] == 0.37


def test_a_malformed_outlet_error_file_is_ignored_not_fatal(tmp_path, fake_run):
    import shutil

    from warta.outlets.run_facts import run_summary

    run = tmp_path / "odd-run"
    shutil.copytree(fake_run, run)
    for content in ("[1, 2]", json.dumps({"mean_over_outlets": {"stance_index_abs_error": "x"}, "outlets": {"a": 3}})):
        (run / "cv" / "outlet_error.json").write_text(content)
        assert run_summary(run).get("outlet_error") is None  # malformed: ignored, never fatal
    odd_shares = {"outlets": {"a": {"stance_index": {"error": 0.1}}},
                  "mean_over_outlets": {"stance_index_abs_error": 0.1, "share_error_points": {"type": "x", "stance": 3.0}}}
    (run / "cv" / "outlet_error.json").write_text(json.dumps(odd_shares))
    assert run_summary(run)["outlet_error"]["share_error_points"] == {"stance": 3.0}


def test_model_labels_state_their_model_and_its_unseen_outlet_error_without_run(tmp_path, fake_run):
    """Records that name their model ("<run>/<kind>"): the report says a model made them and, when the run
    folder sits beside the input (NAME or runs/NAME), its error on unseen outlets (issue 20.6)."""
    import shutil

    records = [r | {"model": "loo-run/tfidf"} for r in _target({"pro": 0.2, "against": 0.5, "neutral": 0.3})]
    target = tmp_path / "mine.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in records))
    res = run_in_process("outlets", str(target), "--out", str(tmp_path / "lost"), "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "lost" / "report.html").read_text()
    assert "These labels were made by a model</b> (loo-run/tfidf)" in page
    assert "its run folder was not found" in page and "no model is involved" not in page

    run = tmp_path / "runs" / "loo-run"
    shutil.copytree(fake_run, run)
    error = {"outlets": {"a": {"stance_index": {"error": -0.31}}, "b": {"stance_index": {"error": 0.43}}},
             "mean_over_outlets": {"share_error_points": {"type": 4.5}, "stance_index_abs_error": 0.37, "outlets": 2}}
    (run / "cv" / "outlet_error.json").write_text(json.dumps(error))
    res = run_in_process("outlets", str(target), "--out", str(tmp_path / "found"), "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "found" / "report.html").read_text()
    assert "its stance index was off by 0.37 on average (from -0.31 to +0.43 over 2 held-out outlets)" in page
    assert "from the records' model id" in page
    saved = json.loads((tmp_path / "found" / "outlets.json").read_text())
    assert saved["run"]["found_from_model_id"] is True and saved["settings"]["run"] is None
    (run / "config.yaml").write_text("name: fake\nmodel:\n  kind: hybrid\n")  # another kind: not this model's run
    res = run_in_process("outlets", str(target), "--out", str(tmp_path / "other"), "--n-boot", "100")
    assert "its run folder was not found" in (tmp_path / "other" / "report.html").read_text()
