"""warta.labelling.engine and `warta label`: predictions per sentence, output formats, bad input, resume after a kill."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_warta

from warta.errors import InputError, WartaError
from warta.labelling.checkpoint import partial_paths
from warta.labelling.engine import LabelSummary, label_articles
from warta.labelling.job import LabelJob
from warta.labelling.output import JsonlEncoder, jsonl_prefix, prediction_record
from warta.models import load_model
from warta.records import SENTENCE_FIELDS
from warta.schema import LAYER_NAMES
from warta.text.corpus import article_sentences, iter_seed_articles

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
MANIFEST = SEEDS / "manifest.csv"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def transformer_run(tmp_path_factory, tiny_bert) -> Path:
    """A real transformer run on the tiny random BERT (4 training steps)."""
    import torch

    from warta.config import load_config
    from warta.train.run import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = load_config(REPO / "configs" / "smoke-transformer.yaml", [f"model.name_or_path={tiny_bert}"])
        return train(config, out=tmp_path_factory.mktemp("runs") / "tiny", progress=False, n_boot=0).run_dir
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def seed_articles() -> list:
    return list(iter_seed_articles(SEEDS))


def write_articles_jsonl(path: Path, articles, copies: int) -> Path:
    """`copies` articles cycling over the seeds, each with its own id (a large input for resume tests)."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(copies):
            article = articles[i % len(articles)]
            out.write(json.dumps({"id": f"n{i:05d}", "text": article.text, "outlet": article.outlet,
                                  "title": article.title}, ensure_ascii=False) + "\n")
    return path


# --- predictions ---------------------------------------------------------------


def test_seed_articles_are_labelled_like_the_model_predicts_on_the_corpus_sentences(tfidf_run, seed_articles, tmp_path):
    out = tmp_path / "seeds.jsonl"
    summary = label_articles(tfidf_run, [Path(a.source) for a in seed_articles], out, manifest=MANIFEST, workers=0)
    records = read_jsonl(out)
    corpus = [r for a in seed_articles for r in article_sentences(a)]
    # same clean -> de-duplicate -> segment path as `warta corpus build`: same ids, texts, roles, outlets
    assert [{k: r[k] for k in SENTENCE_FIELDS} for r in records] == corpus
    assert (summary.articles, summary.sentences, summary.skipped, summary.exit_code) == (5, len(corpus), 0, 0)
    model = load_model(tfidf_run / "model")
    body = [r for r in records if r["role"] != "heading"]
    probs = model.predict_proba([r["text"] for r in body])
    predicted = model.predict([r["text"] for r in body])
    assert summary.predicted == len(body)
    for layer in LAYER_NAMES:
        assert [r[layer] for r in body] == predicted[layer]
        got = np.array([[r["probs"][layer][label] for label in model.labels[layer]] for r in body])
        np.testing.assert_allclose(got, probs[layer], atol=5e-7)
        assert list(body[0]["probs"][layer]) == model.labels[layer]
    assert {r["model"] for r in records} == {f"{tfidf_run.name}/tfidf"}
    headings = [r for r in records if r["role"] == "heading"]
    assert headings and all(r["probs"] is None and all(r[layer] is None for layer in LAYER_NAMES) for r in headings)


def test_fast_json_lines_are_exactly_json_dumps_of_the_record():
    labels = {"type": ["fact", "quote"], "stance": ["pro", "against", "neutral"], "frame": ["economic", "50%"]}
    sentence = {"id": "a-000-ff", "article_id": 'a"b\\c', "outlet": "kompas.com", "role": "body", "index": 3,
                "text": "“Kutipan” — é\t\u2028 \\ 100% {x}"}
    encoder = JsonlEncoder(labels, "run%s/tfidf")
    row = [0.25, 0.75, 0.1, 0.2, 0.7, 1e-06, 0.999999]
    line = encoder.encode([jsonl_prefix(sentence)], [row], [[1, 2, 1]]).decode("utf-8")
    record = prediction_record(sentence, labels, row, "run%s/tfidf")
    assert record["type"] == "quote" and record["frame"] == "50%"
    assert line == json.dumps(record, ensure_ascii=False) + "\n"
    heading = {**sentence, "role": "heading"}
    line = encoder.encode([jsonl_prefix(heading)], [None], [None]).decode("utf-8")
    assert line == json.dumps(prediction_record(heading, labels, None, "run%s/tfidf"), ensure_ascii=False) + "\n"


def test_every_format_label_writes_reads_back_as_the_same_records(tfidf_run, tmp_path):
    """Issue 20.3: JSON Lines, CSV and Parquet outputs read back (read_label_records) to the JSONL records,
    formula-escaped cells and headings included, and `warta outlets` / `warta evaluate --data` read each."""
    from warta.jsonl import read_label_records

    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "=1+1", "outlet": "@tempo", "text": "=Judul berita\n-5 persen pekerja di-PHK "
                                "karena AI.\nSerikat pekerja menolak rencana itu."}) + "\n", encoding="utf-8")
    inputs = [*sorted(SEEDS.glob("*.txt")), feed]
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in ("jsonl", "csv", "parquet")}
    for out in outputs.values():
        label_articles(tfidf_run, inputs, out, manifest=MANIFEST, workers=0)
    expected = read_jsonl(outputs["jsonl"])
    assert any(r["role"] == "heading" for r in expected) and any(r["text"].startswith("-5") for r in expected)
    for fmt, out in outputs.items():
        assert [record for _, record in read_label_records(out)] == expected, fmt
    renamed = tmp_path / "parquet-without-suffix.jsonl"  # Parquet is recognised by its magic bytes too
    renamed.write_bytes(outputs["parquet"].read_bytes())
    assert [record for _, record in read_label_records(renamed)] == expected
    profiles = {}
    for fmt, out in outputs.items():
        result = run_warta("outlets", out, "--out", tmp_path / f"outlets-{fmt}", "--force")
        assert result.returncode == 0, result.stderr
        profile = json.loads((tmp_path / f"outlets-{fmt}" / "outlets.json").read_text("utf-8"))
        profiles[fmt] = json.dumps(profile, sort_keys=True).replace(str(out), "INPUT")
        evaluated = run_warta("evaluate", tfidf_run, "--data", out, "--out", tmp_path / f"eval-{fmt}.json")
        assert evaluated.returncode == 0, evaluated.stderr
    assert profiles["csv"] == profiles["jsonl"] == profiles["parquet"]


def test_csv_and_parquet_hold_the_same_records_as_json_lines(tfidf_run, tmp_path):
    import pyarrow.parquet as pq

    inputs = sorted(SEEDS.glob("*.txt"))  # the seed articles (the folder also holds written, changing, material)
    label_articles(tfidf_run, inputs, tmp_path / "out.jsonl", manifest=MANIFEST, workers=0)
    label_articles(tfidf_run, inputs, tmp_path / "out.csv", manifest=MANIFEST, workers=0)
    label_articles(tfidf_run, inputs, tmp_path / "out.data", format="parquet", manifest=MANIFEST, workers=0)
    expected = read_jsonl(tmp_path / "out.jsonl")
    assert pq.read_table(tmp_path / "out.data").to_pylist() == expected
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(expected)
    for row, record in zip(rows, expected):
        assert [row[k] for k in SENTENCE_FIELDS] == [str(record[k]) for k in SENTENCE_FIELDS]
        assert [row[layer] for layer in LAYER_NAMES] == [record[layer] or "" for layer in LAYER_NAMES]
        for layer in LAYER_NAMES:
            for label, p in (record["probs"] or {}).get(layer, {}).items():
                assert float(row[f"probs.{layer}.{label}"]) == p
        if record["probs"] is None:
            assert all(row[key] == "" for key in row if key.startswith("probs."))
        assert row["model"] == record["model"]


def test_worker_processes_give_the_same_bytes_as_in_process(tfidf_run, seed_articles, tmp_path):
    big = write_articles_jsonl(tmp_path / "in.jsonl", seed_articles, 60)
    label_articles(tfidf_run, [big], tmp_path / "a.jsonl", workers=0, buffer_sentences=300)
    summary = label_articles(tfidf_run, [big], tmp_path / "b.jsonl", workers=2, buffer_sentences=300)
    assert summary.articles == 60
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_transformer_run_labels_all_layers_in_one_pass_like_its_model(transformer_run, tmp_path):
    out = tmp_path / "t.jsonl"
    # small buffers: several are in flight through the background model thread
    summary = label_articles(transformer_run, [SEEDS], out, manifest=MANIFEST, workers=1, batch_size=8, device="cpu",
                             buffer_sentences=40)
    records = [r for r in read_jsonl(out) if r["role"] != "heading"]
    assert summary.predicted == len(records) > 100
    model = load_model(transformer_run / "model", device="cpu")
    probs = model.predict_proba([r["text"] for r in records], batch_size=64)
    for layer in LAYER_NAMES:
        got = np.array([[r["probs"][layer][label] for label in model.labels[layer]] for r in records])
        np.testing.assert_allclose(got, probs[layer], atol=2e-6)
        assert [r[layer] for r in records] == [model.labels[layer][i] for i in probs[layer].argmax(axis=1)]
    assert records[0]["model"] == f"{transformer_run.name}/transformer"


def test_int8_path_is_marked_in_the_model_id_and_stays_close(transformer_run, tmp_path):
    exact, fast = tmp_path / "fp32.jsonl", tmp_path / "int8.jsonl"
    label_articles(transformer_run, [SEEDS], exact, manifest=MANIFEST, workers=0, device="cpu")
    label_articles(transformer_run, [SEEDS], fast, manifest=MANIFEST, workers=0, device="cpu", quantize=True)
    a, b = read_jsonl(exact), read_jsonl(fast)
    from warta.labelling.labeller import int8_backend_name

    # --quantize is --backend onnx-int8 (torch-int8 without onnxruntime), and the id names which
    assert {r["model"] for r in b} == {f"{transformer_run.name}/transformer+{int8_backend_name()}"}
    diffs = [abs(x["probs"][layer][k] - y["probs"][layer][k]) for x, y in zip(a, b) if x["probs"]
             for layer in LAYER_NAMES for k in x["probs"][layer]]
    assert 0 < max(diffs) < 0.05


def test_quantize_is_refused_for_a_tfidf_model(tfidf_run, tmp_path):
    with pytest.raises(WartaError, match=r"--backend torch-int8 \(or --quantize\) applies to .*\(this is a tfidf model on cpu\)"):
        label_articles(tfidf_run, [SEEDS], tmp_path / "x.jsonl", backend="torch-int8")


def test_backend_onnx_labels_like_torch_and_is_named_in_the_model_id(transformer_run, tmp_path):
    pytest.importorskip("onnxruntime")
    exact, onnx = tmp_path / "torch.jsonl", tmp_path / "onnx.jsonl"
    label_articles(transformer_run, [SEEDS], exact, manifest=MANIFEST, workers=0, device="cpu")
    label_articles(transformer_run, [SEEDS], onnx, manifest=MANIFEST, workers=0, device="cpu", backend="onnx")
    a, b = read_jsonl(exact), read_jsonl(onnx)
    assert {r["model"] for r in b} == {f"{transformer_run.name}/transformer+onnx"}
    assert [[r[layer] for layer in LAYER_NAMES] for r in a] == [[r[layer] for layer in LAYER_NAMES] for r in b]
    diffs = [abs(x["probs"][layer][k] - y["probs"][layer][k]) for x, y in zip(a, b) if x["probs"]
             for layer in LAYER_NAMES for k in x["probs"][layer]]
    assert max(diffs) < 1e-3  # fp32 both ways: only the order of float operations differs


def test_backend_torch_bf16_labels_close_to_fp32_and_is_named_in_the_model_id(transformer_run, tmp_path):
    exact, bf16 = tmp_path / "torch.jsonl", tmp_path / "bf16.jsonl"
    label_articles(transformer_run, [SEEDS], exact, manifest=MANIFEST, workers=0, device="cpu")
    label_articles(transformer_run, [SEEDS], bf16, manifest=MANIFEST, workers=0, device="cpu", backend="torch-bf16")
    a, b = read_jsonl(exact), read_jsonl(bf16)
    assert {r["model"] for r in b} == {f"{transformer_run.name}/transformer+torch-bf16"}
    diffs = [abs(x["probs"][layer][k] - y["probs"][layer][k]) for x, y in zip(a, b) if x["probs"]
             for layer in LAYER_NAMES for k in x["probs"][layer]]
    assert 0 < max(diffs) < 0.05  # bf16 really ran (8 bits of mantissa), and stayed close


def test_torch_bf16_on_a_cpu_without_bf16_instructions_says_so_in_one_line(monkeypatch, caplog):
    import warta.models.encoder as encoder
    from warta.labelling.labeller import check_backend

    monkeypatch.setattr(encoder, "cpu_has_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="warta.label"):
        check_backend("torch-bf16")
    assert [r.getMessage() for r in caplog.records] == [
        "--backend torch-bf16: this CPU has no bf16 instructions (avx512_bf16, amx_bf16); "
        "bf16 runs emulated and slower than --backend torch"]
    caplog.clear()
    monkeypatch.setattr(encoder, "cpu_has_bf16", lambda: True)
    check_backend("torch-bf16")
    assert not caplog.records


def test_backend_options_are_checked_before_any_work(transformer_run, tmp_path, monkeypatch):
    out = tmp_path / "x.jsonl"
    with pytest.raises(WartaError, match="--backend fast: expected torch, torch-bf16, onnx, onnx-int8, torch-int8"):
        label_articles(transformer_run, [SEEDS], out, backend="fast")
    with pytest.raises(WartaError, match="--quantize .* and --backend onnx: give one of them"):
        label_articles(transformer_run, [SEEDS], out, backend="onnx", quantize=True)
    with pytest.raises(WartaError, match="--backend, --quantize and --workers apply to --engine local only"):
        LabelJob(transformer_run, [SEEDS], tmp_path / "shards", engine="ray", backend="onnx").check()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the fast extra were not installed
    result = run_warta("label", transformer_run, SEEDS, "--out", out, "--backend", "onnx", "--device", "cpu")
    assert result.returncode == 2 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        "error: --backend onnx needs the optional package 'onnxruntime', which is not installed: "
        'pip install -e ".[fast]"']


# --- bad input and output safety ---------------------------------------------


def test_bad_inputs_are_skipped_and_reported_and_the_rest_is_labelled(tfidf_run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("Judul Berita\nKlarna kembali merekrut karyawan manusia.\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\xff" * 100)
    (folder / "nav.txt").write_text("12:30 WIB\n\n---\n", encoding="utf-8")
    (folder / "b.jsonl").write_text('{"text": "Salesforce memangkas 4.000 pekerjaan."}\n{oops\n', encoding="utf-8")
    problems = []
    summary = label_articles(tfidf_run, [folder], tmp_path / "o.jsonl", workers=0, on_problem=problems.append)
    assert [p.message for p in problems] == [
        f"{folder / 'b.jsonl'}:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{folder / 'binary.txt'}: binary file (contains NUL bytes), not text",
        f"{folder / 'empty.txt'}: empty file",
        f"{folder / 'nav.txt'}: no sentences found after cleaning",
    ]
    assert (summary.articles, summary.skipped, summary.exit_code) == (2, 4, 1)
    assert {r["article_id"] for r in read_jsonl(tmp_path / "o.jsonl")} == {"b.jsonl:1", "good"}


def test_an_article_the_text_pipeline_fails_on_is_skipped_not_fatal(tfidf_run, tmp_path, monkeypatch):
    from warta.labelling import workers as label_workers

    original = label_workers.article_sentences

    def fragile(article, *rest):
        if "MELEDAK" in article.text:
            raise ValueError("pathological text")
        return original(article, *rest)

    monkeypatch.setattr(label_workers, "article_sentences", fragile)
    (tmp_path / "a.txt").write_text("Judul\nKlarna kembali merekrut karyawan manusia.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Judul\nMELEDAK di sini.\n", encoding="utf-8")
    problems = []
    summary = label_articles(tfidf_run, [tmp_path], tmp_path / "o.jsonl", workers=0, on_problem=problems.append)
    assert [p.message for p in problems] == [
        f"{tmp_path / 'b.txt'}: could not be cleaned and segmented (ValueError: pathological text)"
    ]
    assert (summary.articles, summary.skipped) == (1, 1)


def test_a_run_writing_the_same_output_is_never_clobbered(tfidf_run, tmp_path):
    import fcntl

    out = tmp_path / "o.jsonl"
    partial, _ = partial_paths(out)
    partial.write_bytes(b"busy\n")
    with partial.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(WartaError, match="another warta label run is writing this output"):
            label_articles(tfidf_run, [SEEDS / "000_f1aba28e426cfe17.txt"], out, workers=0, force=True)
    assert partial.read_bytes() == b"busy\n"


def test_nothing_labelled_raises_and_leaves_no_output(tfidf_run, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    out = tmp_path / "o.jsonl"
    with pytest.raises(InputError, match=r"nothing could be labelled \(1 input\(s\) skipped\)"):
        label_articles(tfidf_run, [tmp_path / "empty.txt"], out, workers=0)
    assert not out.exists() and not any(p.exists() for p in partial_paths(out))


def test_existing_output_is_never_overwritten_without_force(tfidf_run, tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_text("precious\n", encoding="utf-8")
    with pytest.raises(WartaError, match="already exists"):
        label_articles(tfidf_run, [SEEDS / "000_f1aba28e426cfe17.txt"], out, workers=0)
    assert out.read_text(encoding="utf-8") == "precious\n"
    label_articles(tfidf_run, [SEEDS / "000_f1aba28e426cfe17.txt"], out, workers=0, force=True)
    assert read_jsonl(out)[0]["article_id"] == "000_f1aba28e426cfe17"
    with pytest.raises(WartaError, match="already complete, nothing to resume"):
        label_articles(tfidf_run, [SEEDS / "000_f1aba28e426cfe17.txt"], out, workers=0, resume=True)


def test_bad_run_folder_and_arguments_are_one_line_errors(tfidf_run, tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        label_articles(tmp_path, [SEEDS], tmp_path / "o.jsonl")
    with pytest.raises(WartaError, match="--format xml"):
        label_articles(tfidf_run, [SEEDS], tmp_path / "o.jsonl", format="xml")
    with pytest.raises(WartaError, match="--batch-size 0"):
        label_articles(tfidf_run, [SEEDS], tmp_path / "o.jsonl", batch_size=0)
    with pytest.raises(InputError, match="manifest not found"):
        label_articles(tfidf_run, [SEEDS], tmp_path / "o.jsonl", manifest=tmp_path / "none.csv")


# --- resume ----------------------------------------------------------------------


class Crash(Exception):
    pass


def crash_after(monkeypatch, buffers: int) -> None:
    """Make the run die while writing its `buffers`+1-th buffer (half of it written), like a killed process."""
    from warta.labelling.checkpoint import PartialOutput

    count = {"n": 0}
    original = PartialOutput.append

    def append(self, data):
        count["n"] += 1
        if count["n"] > buffers:
            original(self, data[: len(data) // 2])
            raise Crash()
        return original(self, data)

    monkeypatch.setattr(PartialOutput, "append", append)


@pytest.mark.parametrize("format", ["jsonl", "csv", "parquet"])
def test_resume_after_a_crash_gives_the_uninterrupted_file(tfidf_run, seed_articles, tmp_path, monkeypatch, format):
    big = write_articles_jsonl(tmp_path / "in.jsonl", seed_articles, 40)
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00" * 10)
    inputs = [big, broken, SEEDS / "001_8fb816d857ef2902.txt"]
    kwargs = dict(format=format, workers=0, buffer_sentences=200, checkpoint_seconds=0)
    reference = tmp_path / "reference.out"
    full = label_articles(tfidf_run, inputs, reference, **kwargs)

    out = tmp_path / "resumed.out"
    crash_after(monkeypatch, 3)
    with pytest.raises(Crash):
        label_articles(tfidf_run, inputs, out, **kwargs)
    partial, ckpt = partial_paths(out)
    state = json.loads(ckpt.read_text(encoding="utf-8"))["progress"]
    assert 0 < state["units"] < full.units and not out.exists()
    # the partial output is readable up to the checkpoint; the torn tail after it is cut on resume
    assert partial.stat().st_size > state["bytes"]
    if format != "csv":
        assert len(read_jsonl_prefix(partial, state["bytes"])) == state["sentences"]
    monkeypatch.undo()
    with pytest.raises(WartaError, match="unfinished run"):
        label_articles(tfidf_run, inputs, out, **kwargs)
    with pytest.raises(WartaError, match="the interrupted run had other inputs"):
        label_articles(tfidf_run, inputs[:1], out, resume=True, **kwargs)
    summary = label_articles(tfidf_run, inputs, out, resume=True, **kwargs)
    assert summary.resumed_units == state["units"]
    assert (summary.articles, summary.sentences, summary.skipped) == (full.articles, full.sentences, full.skipped)
    assert out.read_bytes() == reference.read_bytes()
    assert not partial.exists() and not ckpt.exists()


def read_jsonl_prefix(path: Path, size: int) -> list[dict]:
    with path.open("rb") as handle:
        data = handle.read(size)
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_transformer_resume_is_byte_identical(transformer_run, seed_articles, tmp_path, monkeypatch, backend):
    # int8 picks its activation scales per batch (a sentence's label depends on its batch): resume must re-form
    # the same buffers and batches for its records to match the uninterrupted run's
    if backend == "onnx-int8":
        pytest.importorskip("onnxruntime")
    big = write_articles_jsonl(tmp_path / "in.jsonl", seed_articles, 12)
    kwargs = dict(workers=0, buffer_sentences=64, checkpoint_seconds=0, device="cpu", batch_size=16, backend=backend)
    label_articles(transformer_run, [big], tmp_path / "ref.jsonl", **kwargs)
    crash_after(monkeypatch, 2)
    with pytest.raises(Crash):
        label_articles(transformer_run, [big], tmp_path / "r.jsonl", **kwargs)
    monkeypatch.undo()
    label_articles(transformer_run, [big], tmp_path / "r.jsonl", resume=True, **kwargs)
    assert (tmp_path / "r.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_stdin_run_resumes_when_the_same_stream_is_piped_again(tfidf_run, seed_articles, tmp_path, monkeypatch):
    import io

    stream = write_articles_jsonl(tmp_path / "in.jsonl", seed_articles, 30).read_bytes()
    kwargs = dict(workers=0, buffer_sentences=150, checkpoint_seconds=0)
    label_articles(tfidf_run, ["-"], tmp_path / "ref.jsonl", stdin=io.BytesIO(stream), **kwargs)
    crash_after(monkeypatch, 2)
    with pytest.raises(Crash):
        label_articles(tfidf_run, ["-"], tmp_path / "r.jsonl", stdin=io.BytesIO(stream), **kwargs)
    monkeypatch.undo()
    label_articles(tfidf_run, ["-"], tmp_path / "r.jsonl", stdin=io.BytesIO(stream), resume=True, **kwargs)
    assert (tmp_path / "r.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_the_output_inside_an_input_folder_is_not_read_back(tfidf_run, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text("Judul Berita\nKlarna kembali merekrut karyawan manusia.\n", encoding="utf-8")
    out = folder / "labels.jsonl"
    first = label_articles(tfidf_run, [folder], out, workers=0)
    again = label_articles(tfidf_run, [folder], out, workers=0, force=True)
    assert (first.articles, again.articles, again.skipped) == (1, 1, 0)


def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_file(tfidf_run, seed_articles, tmp_path):
    big = write_articles_jsonl(tmp_path / "in.jsonl", seed_articles, 2500)
    reference = tmp_path / "reference.jsonl"
    full = label_articles(tfidf_run, [big], reference, workers=0)
    out = tmp_path / "out.jsonl"
    partial, ckpt = partial_paths(out)
    command = [sys.executable, "-m", "warta", "label", str(tfidf_run), str(big), "--out", str(out), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    units = 0
    while time.monotonic() < deadline and process.poll() is None:
        if ckpt.exists():
            try:
                units = json.loads(ckpt.read_text(encoding="utf-8"))["progress"]["units"]
            except ValueError:
                units = 0
            if units > 0:
                break
        time.sleep(0.02)
    time.sleep(0.3)  # land somewhere inside a later buffer, not on a checkpoint
    assert process.poll() is None, "the run finished before it could be killed: make the input larger"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not out.exists()
    state = json.loads(ckpt.read_text(encoding="utf-8"))["progress"]
    assert 0 < state["units"] < full.units
    committed = read_jsonl_prefix(partial, state["bytes"])  # the killed run's file is readable up to its checkpoint
    assert len(committed) == state["sentences"]
    resumed = run_warta("label", str(tfidf_run), str(big), "--out", str(out), "--resume", "--quiet", text=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after {state['units']} input unit(s) done earlier" in resumed.stdout.decode()
    assert out.read_bytes() == reference.read_bytes()


# --- command line ------------------------------------------------------------------


def test_cli_labels_stdin_and_reports_skips_with_exit_1(tfidf_run, tmp_path):
    out = tmp_path / "o.jsonl"
    lines = b'{"id": "x1", "text": "Klarna menyesal mengganti karyawan dengan AI.", "outlet": "kompas.com"}\n{bad\n'
    result = run_warta("label", str(tfidf_run), "-", "--out", str(out), "--quiet", stdin=lines, text=False)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "skipped: <stdin>:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)" in stderr
    assert result.stdout.decode().startswith(f"labelled 1 articles, 1 sentences (1 with predictions) into {out}")
    (record,) = read_jsonl(out)
    assert (record["id"][:7], record["outlet"], record["model"]) == ("x1-000-", "kompas.com", f"{tfidf_run.name}/tfidf")


def test_cli_exit_codes_0_and_2_without_traceback(tfidf_run, tmp_path):
    ok = run_warta("label", str(tfidf_run), str(SEEDS / "000_f1aba28e426cfe17.txt"), "--out", str(tmp_path / "a.csv"), text=False)
    assert ok.returncode == 0, ok.stderr
    assert "labelled 1 articles" in ok.stdout.decode() and "[csv," in ok.stdout.decode()
    again = run_warta("label", str(tfidf_run), str(SEEDS / "000_f1aba28e426cfe17.txt"), "--out", str(tmp_path / "a.csv"),
                      text=False)
    assert again.returncode == 2
    assert again.stderr.decode().strip().splitlines()[-1].startswith(f"error: {tmp_path / 'a.csv'}: already exists")
    (tmp_path / "empty.txt").write_bytes(b"")
    nothing = run_warta("label", str(tfidf_run), str(tmp_path / "empty.txt"), "--out", str(tmp_path / "b.jsonl"), text=False)
    assert nothing.returncode == 2
    assert "Traceback" not in nothing.stderr.decode()
    assert nothing.stderr.decode().strip().splitlines()[-1] == "error: nothing could be labelled (1 input(s) skipped)"
    assert not (tmp_path / "b.jsonl").exists()


def test_summary_exit_code_property():
    assert LabelSummary(out=Path("o"), format="jsonl", model_id="m", articles=3).exit_code == 0
    assert LabelSummary(out=Path("o"), format="jsonl", model_id="m", articles=3, skipped=1).exit_code == 1


def test_repeated_notes_collapse_after_the_summary_and_quiet_shows_none(tfidf_run, tmp_path):
    """Issue 20.7: five copies of an article whose cleaning drops most lines: three notes, then the summary,
    then one line counting the other two; -q prints no note."""
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(5):
        (folder / f"c{i}.txt").write_bytes((SEEDS / "003_a9719d1c538f8e05.txt").read_bytes())
    args = [sys.executable, "-m", "warta", "label", str(tfidf_run), str(folder), "--workers", "0"]
    loud = subprocess.run([*args, "--out", str(tmp_path / "a.jsonl")], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120)
    lines = [line for line in loud.stdout.decode().splitlines() if line.startswith(("note:", "labelled"))]
    assert loud.returncode == 0 and len(lines) == 5, lines
    assert all("cleaning dropped" in line for line in lines[:3]) and lines[3].startswith("labelled 5 articles")
    assert lines[4] == ("note: 2 more input(s) with this note: cleaning dropped N of N lines; "
                        "check that this is page furniture")
    quiet = run_warta("label", tfidf_run, folder, "--workers", "0", "--out", tmp_path / "b.jsonl", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("labelled 5 articles")
