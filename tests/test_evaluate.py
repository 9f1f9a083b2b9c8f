"""warta.eval.evaluate: scoring run folders on their splits and on user files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_warta

import warta.eval.evaluate as evaluate_module
from warta.errors import InputError
from warta.eval.evaluate import (
    default_eval_path,
    evaluate_run,
    predict_records,
    read_labelled_jsonl,
    render_report,
)
from warta.jsonl import write_jsonl
from warta.metrics import evaluate_predictions
from warta.schema import LAYERS

REPO = Path(__file__).resolve().parent.parent
LABELS = {layer: list(values) for layer, values in LAYERS.items()}


class KeywordModel:
    """A stand-in model: 'kata' -> quote, 'mungkin' -> speculation, else fact; stance always neutral."""

    def __init__(self, labels=LABELS):
        self.labels = {layer: list(values) for layer, values in labels.items()}
        self.seen: list[str] = []

    def predict_proba(self, texts, batch_size=32):
        self.seen.extend(texts)
        out = {}
        for layer, labels in self.labels.items():
            matrix = np.full((len(texts), len(labels)), 0.1 / max(len(labels) - 1, 1))
            for i, text in enumerate(texts):
                if layer == "type":
                    best = "quote" if "kata" in text else "speculation" if "mungkin" in text else "fact"
                elif layer == "stance":
                    best = "neutral"
                else:
                    best = "none"
                matrix[i, labels.index(best)] = 0.9
            out[layer] = matrix
        return out


def make_run(folder, labels=LABELS):
    (folder / "model").mkdir(parents=True)
    (folder / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    return folder


def test_labelled_jsonl_is_normalised_like_pipeline_sentences(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"text": "Ia berkata \u00e2\u20ac\u0153AI membantu\u00e2\u20ac\u009d.", "type": "quote"}),
                "",
                json.dumps({"id": "x7", "text": "  Harga\u00a0 naik  \"tajam\" ", "stance": "neutral"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    records = read_labelled_jsonl(path, LABELS)
    assert records == [
        {"id": "line-1", "text": "Ia berkata \u201cAI membantu\u201d.", "type": "quote"},
        {"id": "x7", "text": "Harga naik \"tajam\"", "stance": "neutral"},  # straight quotes kept (docs/text-cleaning.md)
    ]


@pytest.mark.parametrize(
    "lines, message",
    [
        ([{"text": "A.", "type": "rumour"}], r"mine\.jsonl:1: type 'rumour' is not one of fact, quote"),
        ([{"type": "fact"}], r"mine\.jsonl:1: no \"text\""),
        ([{"text": "A.", "type": "fact"}, {"text": "   ", "type": "fact"}], r"mine\.jsonl:2: no \"text\""),
        ([{"text": "A."}, {"text": "B."}], r"mine\.jsonl: no gold type / stance / frame label in any record"),
        ([{"id": "a", "text": "A.", "type": "fact"}, {"id": "a", "text": "B."}], r"mine\.jsonl:2: id 'a' already"),
    ],
)
def test_bad_labelled_jsonl_is_one_line_naming_file_and_line(tmp_path, lines, message):
    path = tmp_path / "mine.jsonl"
    write_jsonl(path, lines)
    with pytest.raises(InputError, match=message):
        read_labelled_jsonl(path, LABELS)


def test_evaluate_on_data_scores_only_the_layers_it_labels(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    model = KeywordModel()
    monkeypatch.setattr(evaluate_module, "load_run_model", lambda run_dir: model)
    data = tmp_path / "extra.jsonl"
    write_jsonl(
        data,
        [
            {"text": "Menteri   kata AI membantu.", "type": "quote"},
            {"text": "AI mungkin menggantikan kasir.", "type": "speculation", "stance": "pro"},
            {"text": "Klarna merekrut lagi.", "type": "quote", "stance": None},
            {"text": "Upah turun.", "stance": "neutral"},
        ],
    )
    metrics = evaluate_run(run, data=data, n_boot=100)
    assert set(metrics) == {"type", "stance"}
    assert metrics["type"]["n"] == 3 and metrics["type"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics["stance"]["n"] == 2 and metrics["stance"]["accuracy"] == pytest.approx(1 / 2)
    assert metrics["type"]["ece"] == pytest.approx(abs(0.9 - 2 / 3))
    assert "stored_agreement" not in metrics["type"]
    assert model.seen[0] == "Menteri kata AI membantu."  # spaces collapsed before the model saw it
    written = default_eval_path(run, data=data)
    assert written == run / "eval-data-extra.json"
    assert json.loads(written.read_text(encoding="utf-8")) == metrics


def test_evaluate_on_data_writes_to_out(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    monkeypatch.setattr(evaluate_module, "load_run_model", lambda run_dir: KeywordModel())
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"text": "kata dia.", "type": "quote"}])
    out = tmp_path / "sub" / "m.json"
    metrics = evaluate_run(run, data=data, n_boot=10, out=out)
    assert json.loads(out.read_text(encoding="utf-8")) == metrics
    assert not (run / "eval-data-d.json").exists()


def test_predict_records_take_the_argmax_and_keep_probs():
    model = KeywordModel({"type": LABELS["type"]})
    records = predict_records(model, [{"id": "a", "text": "mungkin"}, {"id": "b", "text": "x"}])
    assert [r["type"] for r in records] == ["speculation", "fact"]
    assert records[0]["probs"]["type"]["speculation"] == pytest.approx(0.9)
    assert list(records[0]["probs"]["type"]) == LABELS["type"]
    assert predict_records(model, []) == []


def test_cv_split_scores_the_stored_out_of_fold_predictions(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    gold = [{"id": f"s{i}", "text": f"t{i}", "type": "fact" if i % 2 else "quote"} for i in range(10)]
    oof = [{"id": r["id"], "text": r["text"], "type": "fact"} for r in gold[:8]]  # two gold never predicted
    write_jsonl(run / "cv" / "oof.jsonl", oof)
    monkeypatch.setattr(evaluate_module, "run_gold", lambda run_dir: gold)
    metrics = evaluate_run(run, split="cv", n_boot=50)
    assert metrics["type"]["n"] == 8 and metrics["type"]["accuracy"] == 0.5
    assert (run / "eval-cv.json").is_file()


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: None, "run folder not found"),
        (lambda p: p.write_text("x"), "not a folder"),
        (lambda p: p.mkdir(), "not a warta run folder"),
    ],
)
def test_bad_run_folder_is_named(tmp_path, setup, message):
    run = tmp_path / "run"
    setup(run)
    with pytest.raises(InputError, match=message):
        evaluate_run(run)


def test_unknown_split_and_missing_files_are_named(tmp_path):
    run = make_run(tmp_path / "run")
    with pytest.raises(InputError, match="split 'train': expected one of test, dev, cv"):
        evaluate_run(run, split="train")
    with pytest.raises(InputError, match=r"data\.json: file not found"):
        evaluate_run(run, split="test")
    with pytest.raises(InputError, match=r"nope\.jsonl: file not found"):
        evaluate_run(run, data=tmp_path / "nope.jsonl")


def test_render_report_shows_every_figure():
    gold = [{"id": str(i), "type": t} for i, t in enumerate(["fact", "fact", "quote", "opinion"])]
    pred = [{"id": str(i), "type": t} for i, t in enumerate(["fact", "quote", "quote", "opinion"])]
    metrics = evaluate_predictions(gold, pred, ["type"], LABELS, n_boot=100)
    text = render_report(metrics, title="run r")
    lines = text.splitlines()
    assert lines[0] == "run r"
    assert "== type  (n=4)" in lines
    lo, hi = metrics["type"]["macro_f1_ci"]
    assert f"  macro-F1  {metrics['type']['macro_f1']:.3f}  95% CI [{lo:.3f}, {hi:.3f}]" in lines
    assert "  ECE       n/a (no probabilities)" in lines
    assert "  absent (F1 counted as 0): speculation" in lines
    fact_row = next(line for line in lines if line.strip().startswith("fact") and "." in line)
    assert fact_row.split() == ["fact", "1.000", "0.500", "0.667", "2"]
    confusion_rows = lines[lines.index("  confusion (rows gold, columns predicted)") + 2 :]
    assert confusion_rows[0].split() == ["fact", "1", "1", "0", "0"]


# --- end to end: a real TF-IDF run folder and the command line ----------------------------


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory):
    """A TF-IDF run on the bundled seeds, trained through the library (C fixed: seconds)."""
    from warta.config import load_config
    from warta.train.run import train

    config = load_config(REPO / "configs" / "tfidf.yaml", ["model.c_values=[1.0]"])
    return train(config, out=tmp_path_factory.mktemp("runs") / "tfidf", progress=False, n_boot=200).run_dir


def test_cli_evaluate_reproduces_the_runs_test_scores(tfidf_run, tmp_path):
    out = tmp_path / "eval.json"
    result = run_warta("evaluate", str(tfidf_run), "--out", str(out), "--n-boot", "200")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(out.read_text(encoding="utf-8"))
    trained = json.loads((tfidf_run / "metrics.json").read_text(encoding="utf-8"))["test"]
    assert set(metrics) == {"type", "stance", "frame"}
    test_ids = json.loads((tfidf_run / "data.json").read_text(encoding="utf-8"))["ids"]["test"]
    for layer, figures in metrics.items():
        # the reloaded model predicts exactly what the run stored, so the figures agree with training's
        assert figures["stored_agreement"] == 1.0
        assert figures["gold_changed_since_run"] is False
        assert figures["n"] == len(test_ids)
        assert figures["macro_f1"] == pytest.approx(trained[layer]["macro_f1"])
        assert figures["accuracy"] == pytest.approx(trained[layer]["accuracy"])
        assert figures["ece"] is not None and 0 <= figures["ece"] <= 1
        lo, hi = figures["macro_f1_ci"]
        assert lo <= figures["macro_f1"] <= hi
        assert f"== {layer}  (n={len(test_ids)})" in result.stdout
        assert f"  macro-F1  {figures['macro_f1']:.3f}  95% CI [{lo:.3f}, {hi:.3f}]" in result.stdout
    assert not (tfidf_run / "eval-test.json").exists()  # --out given
    assert result.stderr.strip() == f"wrote {out}"


def test_evaluate_dev_split_writes_into_the_run_folder(tfidf_run):
    metrics = evaluate_run(tfidf_run, split="dev", n_boot=0)
    assert json.loads((tfidf_run / "eval-dev.json").read_text(encoding="utf-8")) == metrics
    dev_ids = json.loads((tfidf_run / "data.json").read_text(encoding="utf-8"))["ids"]["dev"]
    trained = json.loads((tfidf_run / "metrics.json").read_text(encoding="utf-8"))["dev"]
    assert metrics["type"]["n"] == len(dev_ids) and metrics["type"]["macro_f1_ci"] is None
    assert metrics["type"]["macro_f1"] == pytest.approx(trained["type"]["macro_f1"])


def test_cli_evaluate_data_with_a_subset_of_layers(tfidf_run, tmp_path):
    from warta.gold.labels import load_gold

    test_ids = set(json.loads((tfidf_run / "data.json").read_text(encoding="utf-8"))["ids"]["test"])
    gold = [r for r in load_gold() if r["id"] in test_ids]
    data = tmp_path / "stance_only.jsonl"
    # no ids, only text + stance; a doubled space the pipeline collapses again
    write_jsonl(data, [{"text": r["text"].replace(" ", "  ", 1), "stance": r["stance"]} for r in gold])
    out = tmp_path / "m.json"
    result = run_warta("evaluate", str(tfidf_run), "--data", str(data), "--out", str(out), "--n-boot", "50")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(out.read_text(encoding="utf-8"))
    assert set(metrics) == {"stance"}
    # the same sentences as the test split, so the same score once the text is normalised
    trained = json.loads((tfidf_run / "metrics.json").read_text(encoding="utf-8"))["test"]["stance"]
    assert metrics["stance"]["macro_f1"] == pytest.approx(trained["macro_f1"])
    assert "== type" not in result.stdout and "== stance" in result.stdout


def test_cli_evaluate_bad_inputs_exit_2_with_one_line(tfidf_run, tmp_path):
    unlabelled = tmp_path / "plain.jsonl"
    write_jsonl(unlabelled, [{"text": "Klarna merekrut lagi."}])
    cases = [
        (["evaluate", str(tmp_path / "missing")], f"error: {tmp_path / 'missing'}: run folder not found"),
        (["evaluate", str(tmp_path)], f"error: {tmp_path}: not a warta run folder (no labels.json or model/)"),
        (["evaluate", str(tfidf_run), "--data", str(tmp_path / "nope.jsonl")], f"error: {tmp_path / 'nope.jsonl'}: file not found"),
        (["evaluate", str(tfidf_run), "--data", str(unlabelled)], f"error: {unlabelled}: no gold type / stance / frame label in any record"),
        (["evaluate", str(tfidf_run), "--split", "train"], "error: split 'train': expected one of test, dev, cv"),
        (["evaluate", str(tfidf_run), "--split", "cv"], f"error: {tfidf_run / 'cv' / 'oof.jsonl'}: file not found (train with --cv)"),
    ]
    for args, message in cases:
        result = run_warta(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip() == message


def test_test_split_re_predicts_and_checks_the_stored_predictions(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", labels={"type": LABELS["type"]})
    gold = [
        {"id": "a", "text": "Ia kata begitu.", "type": "quote"},
        {"id": "b", "text": "Harga mungkin naik.", "type": "speculation"},
        {"id": "c", "text": "Upah turun.", "type": "opinion"},
        {"id": "d", "text": "Klarna merekrut.", "type": "fact"},  # a train sentence: not scored
    ]
    (run / "data.json").write_text(
        json.dumps(
            {
                "ids": {"train": ["d"], "dev": [], "test": ["a", "b", "c"]},
                # at training time c was labelled fact; it has been relabelled opinion since
                "label_counts": {"test": {"type": {"quote": 1, "speculation": 1, "fact": 1}}},
            }
        ),
        encoding="utf-8",
    )
    # the run stored "fact" for b, the reloaded model says "speculation": agreement 2/3
    write_jsonl(run / "predictions" / "test.jsonl", [
        {"id": "a", "type": "quote"}, {"id": "b", "type": "fact"}, {"id": "c", "type": "fact"},
    ])
    model = KeywordModel({"type": LABELS["type"]})
    monkeypatch.setattr(evaluate_module, "load_run_model", lambda run_dir: model)
    monkeypatch.setattr(evaluate_module, "run_gold", lambda run_dir: gold)
    metrics = evaluate_run(run, split="test", n_boot=20)
    assert model.seen == ["Ia kata begitu.", "Harga mungkin naik.", "Upah turun."]
    figures = metrics["type"]
    assert figures["n"] == 3 and figures["accuracy"] == pytest.approx(2 / 3)
    assert figures["stored_agreement"] == pytest.approx(2 / 3)
    assert figures["gold_changed_since_run"] is True
    assert "gold labels of these sentences changed" in render_report(metrics)
    (run / "predictions" / "test.jsonl").unlink()
    gold[2]["type"] = "fact"
    metrics = evaluate_run(run, split="test", n_boot=20)
    assert metrics["type"]["stored_agreement"] is None
    assert metrics["type"]["gold_changed_since_run"] is False
    assert "changed" not in render_report(metrics)


def test_split_ids_missing_from_gold_are_named(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    (run / "data.json").write_text(json.dumps({"ids": {"test": ["a", "gone"]}}), encoding="utf-8")
    monkeypatch.setattr(evaluate_module, "run_gold", lambda run_dir: [{"id": "a", "text": "A.", "type": "fact"}])
    with pytest.raises(InputError, match="1 test sentence.*not in the gold labels any more.*'gone'"):
        evaluate_run(run)


def test_an_out_path_that_is_a_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")

    def no_model(run_dir):
        raise AssertionError("the model must not be loaded when the output path is unusable")

    monkeypatch.setattr(evaluate_module, "load_run_model", no_model)
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"text": "kata dia.", "type": "quote"}])
    with pytest.raises(InputError, match="is a folder, expected a .json file path"):
        evaluate_run(run, data=data, out=tmp_path)


# --- an external labelled set: headings, file#idx ids, outlets -----------------------------


def external_rows():
    """Rows shaped like the external dev set's gold.jsonl: file/outlet/idx/role/type/stance/frame/text."""
    def row(file, outlet, idx, role, text, type_=None, stance=None, frame=None):
        return {"file": file, "outlet": outlet, "idx": idx, "role": role, "text": text,
                "type": type_, "stance": stance, "frame": frame}

    return [
        row("a.txt", "Harian A", 0, "title", "Ia kata AI membantu.", "quote", "pro", "none"),
        row("a.txt", "Harian A", 1, "heading", "Subjudul"),
        row("a.txt", "Harian A", 2, "body", "Upah turun.", "fact", "against", "economic"),
        row("b.txt", "Warta B", 0, "body", "Harga mungkin naik.", "speculation", "against", "none"),
    ]


def test_external_rows_skip_headings_and_keep_file_idx_ids_and_outlets(tmp_path):
    path = tmp_path / "gold.jsonl"
    write_jsonl(path, external_rows())
    records = read_labelled_jsonl(path, LABELS)
    assert [r["id"] for r in records] == ["a.txt#0", "a.txt#2", "b.txt#0"]
    assert [r["outlet"] for r in records] == ["Harian A", "Harian A", "Warta B"]
    assert "Subjudul" not in [r["text"] for r in records]


def test_external_set_gets_share_and_stance_index_error_per_outlet(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    monkeypatch.setattr(evaluate_module, "load_run_model", lambda run_dir: KeywordModel())
    data = tmp_path / "gold.jsonl"
    write_jsonl(data, external_rows())
    metrics = evaluate_run(run, data=data, n_boot=50)
    assert metrics["type"]["n"] == 3 and metrics["type"]["accuracy"] == 1.0
    profile = metrics["outlet_profile"]
    a, b = profile["outlets"]["Harian A"], profile["outlets"]["Warta B"]
    # the stand-in predicts every stance neutral and every frame none
    assert a["sentences"] == 2 and b["sentences"] == 1
    assert a["share_error"]["type"]["points"] == 0.0
    assert a["share_error"]["stance"]["points"] == pytest.approx(200 / 3, abs=0.01)  # (.5 + .5 + 1) / 3
    assert a["share_error"]["frame"]["points"] == pytest.approx(100 / 6, abs=0.01)  # (.5 + .5) / 6
    assert a["stance_index"] == {"gold": 0.0, "pred": 0.0, "error": 0.0, "ci": a["stance_index"]["ci"]}
    assert b["stance_index"]["gold"] == -1.0 and b["stance_index"]["error"] == 1.0
    assert profile["mean_over_outlets"]["stance_index_abs_error"] == 0.5
    assert json.loads((run / "eval-data-gold.json").read_text(encoding="utf-8")) == metrics
    text = render_report(metrics)
    assert "== per outlet" in text
    b_row = next(line for line in text.splitlines() if line.strip().startswith("Warta B"))
    assert b_row.split()[2:9] == ["1", "0.0", "66.7", "0.0", "-100", "0", "+100"]
    assert "mean |error| 50.0" in text


def test_no_outlet_profile_without_outlets_or_without_stance(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    monkeypatch.setattr(evaluate_module, "load_run_model", lambda run_dir: KeywordModel())
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{k: v for k, v in r.items() if k != "outlet"} for r in external_rows()])
    assert "outlet_profile" not in evaluate_run(run, data=data, n_boot=0)
    write_jsonl(data, [{k: v for k, v in r.items() if k != "stance"} for r in external_rows()])
    assert "outlet_profile" not in evaluate_run(run, data=data, n_boot=0)


def test_a_bad_outlet_is_named(tmp_path):
    path = tmp_path / "mine.jsonl"
    write_jsonl(path, [{"text": "A.", "type": "fact", "outlet": 7}])
    with pytest.raises(InputError, match=r"mine\.jsonl:1: \"outlet\" must be a non-empty string, got 7"):
        read_labelled_jsonl(path, LABELS)
