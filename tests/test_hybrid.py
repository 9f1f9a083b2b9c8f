"""The hybrid model kind (TF-IDF head + frozen-encoder embedding head) and the transformer's tiny-data options.

Everything runs on the tiny random BERT of conftest (no network, seconds).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from warta.errors import InputError, WartaError
from warta.models import load_model
from warta.models.base import Labelled
from warta.schema import LAYER_NAMES

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def split_data(data):
    from warta.train.data import targets

    def pick(ids):
        wanted = set(ids)
        rows = [r for r in data.records if r["id"] in wanted]
        return [r["text"] for r in rows], targets(rows, list(LAYER_NAMES))

    return pick(data.splits.train), pick(data.splits.dev), pick(data.splits.test)


def make_hybrid(tiny_bert, cache_dir, **params):
    from warta.models.hybrid import HybridClassifier

    options = dict(encoder=str(tiny_bert), cache_dir=cache_dir, embedding_c_values=[0.1, 1.0],
                   tfidf={"c_values": [1.0]})
    options.update(params)
    return HybridClassifier(**options)


@pytest.fixture(scope="module")
def fitted(tiny_bert, synthetic_data, tmp_path_factory, one_torch_thread_module):
    (train_texts, train_targets), (dev_texts, dev_targets), _ = split_data(synthetic_data)
    cache = tmp_path_factory.mktemp("emb-cache")
    model = make_hybrid(tiny_bert, cache).fit(train_texts, train_targets, dev=Labelled(dev_texts, dev_targets))
    model.passes_in_fit = model.embedder.encoder_passes
    return model, cache


@pytest.fixture(scope="module")
def one_torch_thread_module():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_probabilities_are_the_weighted_mean_of_the_two_heads(fitted, synthetic_data):
    model, _ = fitted
    _, _, (test_texts, _) = split_data(synthetic_data)
    probs = model.predict_proba(test_texts)
    p_tfidf = model.tfidf_.predict_proba(test_texts)
    p_emb = model._embedding_proba(model.embedder.embed(test_texts))
    for layer in LAYER_NAMES:
        assert probs[layer].shape == (len(test_texts), len(model.labels[layer]))
        np.testing.assert_allclose(probs[layer].sum(axis=1), 1.0)
        np.testing.assert_allclose(probs[layer], 0.5 * p_tfidf[layer] + 0.5 * p_emb[layer])
    assert model.predict(test_texts)["type"] == [model.labels["type"][i] for i in probs["type"].argmax(axis=1)]
    summary = model.selection_summary()
    assert set(summary["embedding_best_c"].values()) <= {0.1, 1.0}
    assert summary["fusion_weight"] == {layer: 0.5 for layer in LAYER_NAMES}


def test_save_load_round_trip_predicts_the_same(fitted, synthetic_data, tmp_path):
    model, cache = fitted
    _, _, (test_texts, _) = split_data(synthetic_data)
    model.save(tmp_path / "m")
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["kind"] == "hybrid" and card["encoder"]["copied"] is False
    assert card["encoder"]["path"] == str(Path(model.encoder).resolve()) and len(card["encoder"]["fingerprint"]) == 64
    assert card["params"]["text_prefix"] == "query: "
    with np.load(tmp_path / "m" / "embedding_heads.npz", allow_pickle=False) as npz:
        assert npz["mean"].shape == model.mean_.shape
    reloaded = load_model(tmp_path / "m", device="cpu")
    before, after = model.predict_proba(test_texts), reloaded.predict_proba(test_texts, batch_size=3)
    for layer in LAYER_NAMES:
        np.testing.assert_allclose(after[layer], before[layer], atol=1e-6)
    assert reloaded.predict(test_texts) == model.predict(test_texts)


def test_second_fit_hits_the_cache_and_never_loads_the_encoder(fitted, tiny_bert, synthetic_data):
    model, cache = fitted
    (train_texts, train_targets), (dev_texts, dev_targets), _ = split_data(synthetic_data)
    assert model.passes_in_fit == len(set(train_texts)) + len(set(dev_texts) - set(train_texts))
    again = make_hybrid(tiny_bert, cache).fit(train_texts, train_targets, dev=Labelled(dev_texts, dev_targets))
    assert again.embedder.encoder_passes == 0 and again.embedder._encoder is None
    np.testing.assert_array_equal(again.coef_t_, model.coef_t_)
    files = list(Path(cache).glob("*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as npz:  # plain arrays, no pickled objects
        assert npz["keys"].dtype.kind == "U" and npz["emb"].dtype == np.float32


def test_cached_embeddings_equal_a_fresh_encoder_pass(fitted, synthetic_data):
    model, cache = fitted
    (train_texts, _), _, _ = split_data(synthetic_data)
    cached = model.embedder.embed(train_texts[:5])
    fresh = model.embedder._encode(train_texts[:5])
    np.testing.assert_allclose(cached, fresh, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(fresh, axis=1), 1.0, rtol=1e-5)


def test_a_loaded_model_reads_the_cache_but_never_grows_it(fitted, tmp_path):
    model, cache = fitted
    model.save(tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    reloaded.embedder.cache_dir = Path(cache)
    reloaded.embedder._cache = None
    size = next(Path(cache).glob("*.npz")).stat().st_size
    reloaded.predict(["Kalimat baru yang belum pernah dilihat model."])
    assert reloaded.embedder.encoder_passes == 1
    assert next(Path(cache).glob("*.npz")).stat().st_size == size


def test_a_different_encoder_is_refused_on_load(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "m")
    other = tmp_path / "other"
    shutil.copytree(model.encoder, other)
    config = json.loads((other / "config.json").read_text())
    config["layer_norm_eps"] = 1e-5
    (other / "config.json").write_text(json.dumps(config))
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    card["encoder"]["path"] = str(other)
    (tmp_path / "m" / "model.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="not the encoder this model was trained with"):
        load_model(tmp_path / "m")


def test_copy_encoder_makes_the_model_folder_self_contained(fitted, synthetic_data, tmp_path):
    model, _ = fitted
    _, _, (test_texts, _) = split_data(synthetic_data)
    model.copy_encoder = True
    try:
        model.save(tmp_path / "m")
    finally:
        model.copy_encoder = False
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "m", moved)
    card = json.loads((moved / "model.json").read_text())
    assert card["encoder"] == {**card["encoder"], "path": "encoder", "copied": True}
    reloaded = load_model(moved)
    assert Path(reloaded.encoder) == moved / "encoder"
    np.testing.assert_allclose(reloaded.predict_proba(test_texts)["stance"], model.predict_proba(test_texts)["stance"],
                               atol=1e-6)


def test_fusion_weight_chosen_on_dev(tiny_bert, synthetic_data, fitted):
    _, cache = fitted
    (train_texts, train_targets), (dev_texts, dev_targets), _ = split_data(synthetic_data)
    model = make_hybrid(tiny_bert, cache, fusion_weight=None, fusion_grid=[0.0, 0.5, 1.0])
    model.fit(train_texts, train_targets, dev=Labelled(dev_texts, dev_targets))
    for layer in LAYER_NAMES:
        assert model.weights_[layer] in (0.0, 0.5, 1.0)
        assert set(model.fusion_tuning_[layer]) == {"0.0", "0.5", "1.0"}
    # weight 0: exactly the TF-IDF head where that won
    zero = [layer for layer in LAYER_NAMES if model.weights_[layer] == 0.0]
    for layer in zero:
        np.testing.assert_allclose(model.predict_proba(dev_texts)[layer], model.tfidf_.predict_proba(dev_texts)[layer])


def test_refit_with_the_selected_hyperparameters_needs_no_dev(tiny_bert, synthetic_data, fitted):
    model, cache = fitted
    (train_texts, train_targets), (dev_texts, dev_targets), _ = split_data(synthetic_data)
    chosen = model.selected()
    assert set(chosen) == {"tfidf_c", "embedding_c", "fusion_weight"}
    # same sentences, given hyperparameters: the same model as dev selection produced
    again = make_hybrid(tiny_bert, cache, selection=chosen).fit(train_texts, train_targets)
    assert again.selected() == chosen
    np.testing.assert_allclose(again.predict_proba(dev_texts)["type"], model.predict_proba(dev_texts)["type"])
    everything = {layer: list(train_targets[layer]) + list(dev_targets[layer]) for layer in LAYER_NAMES}
    refit = make_hybrid(tiny_bert, cache, selection=chosen).fit(train_texts + dev_texts, everything,
                                                                  dev=Labelled(dev_texts, dev_targets))
    assert refit.selected() == chosen and refit.tuning_ == {layer: {} for layer in LAYER_NAMES}


def test_config_schema_and_registry():
    from warta.config import config_class, load_config
    from warta.models import model_class
    from warta.models.hybrid import HybridClassifier

    config = load_config(REPO / "configs" / "hybrid-e5.yaml", ["model.fusion_weight=null", "model.tfidf.cue_features=false"])
    assert config.model.kind == "hybrid" and config.model.fusion_weight is None
    assert config_class("hybrid") is type(config) and model_class("hybrid") is HybridClassifier
    model = HybridClassifier.from_config(config)
    assert model._tfidf_head().cue_features is False and model.text_prefix == "query: "
    with pytest.raises(InputError, match="model.fusion_weigth: unknown key"):
        load_config(REPO / "configs" / "hybrid-e5.yaml", ["model.fusion_weigth=0.3"])


# --- end to end: warta train + warta label ----------------------------------------------


@pytest.fixture(scope="module")
def hybrid_run(tmp_path_factory, tiny_bert, one_torch_thread_module) -> Path:
    from warta.config import load_config
    from warta.train.run import train

    cache = tmp_path_factory.mktemp("run-cache")
    config = load_config(REPO / "configs" / "hybrid-e5.yaml", [
        f"model.encoder={tiny_bert}", f"model.cache_dir={cache}", "model.embedding_c_values=[0.1]",
        "model.tfidf.c_values=[1.0]"])
    return train(config, out=tmp_path_factory.mktemp("runs") / "hybrid", progress=False, n_boot=0).run_dir


def test_warta_label_with_a_hybrid_run_matches_the_model(hybrid_run, tmp_path):
    from warta.labelling.engine import label_articles

    out = tmp_path / "h.jsonl"
    summary = label_articles(hybrid_run, sorted(SEEDS.glob("*.txt")), out, manifest=SEEDS / "manifest.csv", workers=0, device="cpu",
                             buffer_sentences=40, batch_size=8)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    body = [r for r in records if r["role"] != "heading"]
    assert summary.predicted == len(body) > 100 and summary.exit_code == 0
    model = load_model(hybrid_run / "model")
    probs = model.predict_proba([r["text"] for r in body])
    for layer in LAYER_NAMES:
        got = np.array([[r["probs"][layer][label] for label in model.labels[layer]] for r in body])
        # other batch compositions: float noise of the padded encoder batches (as for the transformer)
        np.testing.assert_allclose(got, probs[layer], atol=2e-6)
    assert body[0]["model"] == f"{hybrid_run.name}/hybrid"


def test_warta_label_resume_with_a_hybrid_run_is_byte_identical(hybrid_run, tmp_path, monkeypatch):
    from test_label import Crash, crash_after, write_articles_jsonl

    from warta.labelling.engine import label_articles
    from warta.text.corpus import iter_seed_articles

    big = write_articles_jsonl(tmp_path / "in.jsonl", list(iter_seed_articles(SEEDS)), 8)
    kwargs = dict(workers=0, buffer_sentences=64, checkpoint_seconds=0, device="cpu", batch_size=16)
    reference = tmp_path / "reference.jsonl"
    label_articles(hybrid_run, [big], reference, **kwargs)
    out = tmp_path / "resumed.jsonl"
    crash_after(monkeypatch, 2)
    with pytest.raises(Crash):
        label_articles(hybrid_run, [big], out, **kwargs)
    monkeypatch.undo()
    label_articles(hybrid_run, [big], out, resume=True, **kwargs)
    assert out.read_bytes() == reference.read_bytes()


def test_warta_label_backend_onnx_on_a_hybrid_run_and_resume_never_mixes_backends(hybrid_run, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from test_label import Crash, crash_after, write_articles_jsonl

    from warta.labelling.engine import label_articles
    from warta.text.corpus import iter_seed_articles

    big = write_articles_jsonl(tmp_path / "in.jsonl", list(iter_seed_articles(SEEDS)), 4)
    kwargs = dict(workers=0, buffer_sentences=64, checkpoint_seconds=0, device="cpu", batch_size=16)
    exact, reference = tmp_path / "torch.jsonl", tmp_path / "onnx.jsonl"
    label_articles(hybrid_run, [big], exact, **kwargs)
    label_articles(hybrid_run, [big], reference, backend="onnx", **kwargs)
    a, b = ([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] for path in (exact, reference))
    assert {r["model"] for r in b} == {f"{hybrid_run.name}/hybrid+onnx"}
    assert [[r.get(layer) for layer in LAYER_NAMES] for r in a] == [[r.get(layer) for layer in LAYER_NAMES] for r in b]

    out = tmp_path / "resumed.jsonl"
    crash_after(monkeypatch, 2)
    with pytest.raises(Crash):
        label_articles(hybrid_run, [big], out, backend="onnx", **kwargs)
    monkeypatch.undo()
    with pytest.raises(WartaError, match=r"the interrupted run had model = '.*hybrid\+onnx', this one '.*hybrid'"):
        label_articles(hybrid_run, [big], out, resume=True, **kwargs)
    with pytest.raises(WartaError, match=r"had model = '.*hybrid\+onnx', this one '.*hybrid\+torch-int8'"):
        label_articles(hybrid_run, [big], out, resume=True, backend="torch-int8", **kwargs)
    label_articles(hybrid_run, [big], out, resume=True, backend="onnx", **kwargs)
    assert out.read_bytes() == reference.read_bytes()


def test_labelling_a_loaded_hybrid_on_another_backend_leaves_the_callers_model(hybrid_run):
    import torch

    from warta.labelling.labeller import load_labeller

    model = load_model(hybrid_run / "model")
    texts = ["Pekerja pabrik khawatir kehilangan pekerjaan.", "AI akan membantu guru."]
    before = model.predict_proba(texts)  # loads the float encoder
    encoder = model.embedder._encoder
    labeller = load_labeller(model, device="cpu", backend="torch-int8")
    labeller.label(texts)
    assert labeller.model.quantized and labeller.model_id.endswith("hybrid+torch-int8")
    assert not model.quantized and model.embedder._encoder is encoder
    assert any(type(m) is torch.nn.Linear for m in encoder.modules())  # not quantized in place
    after = model.predict_proba(texts)
    for layer in LAYER_NAMES:
        np.testing.assert_array_equal(after[layer], before[layer])


# --- transformer options for tiny data ----------------------------------------------------


def test_transformer_freeze_embeddings_and_text_prefix(tiny_bert, synthetic_data, tmp_path, one_torch_thread_module):
    import torch

    from warta.models.transformer import TransformerClassifier, TransformerTrainingArguments

    (train_texts, train_targets), (dev_texts, dev_targets), _ = split_data(synthetic_data)
    model = TransformerClassifier(str(tiny_bert), max_length=64, seed=0, text_prefix="query: ", freeze_embeddings=True,
                                  training=TransformerTrainingArguments(epochs=1, batch_size=16, learning_rate=1e-3)).initialize()
    table = model.model.encoder.get_input_embeddings().weight
    before_table = table.detach().clone()
    before_layer = next(p for n, p in model.model.encoder.named_parameters() if "encoder.layer.0" in n).detach().clone()
    assert model._prepare(["Satu"]) == ["query: satu"]  # the tiny BERT is uncased: prefix, then lowercase
    assert model.encode(["Satu"])["input_ids"][0] == model.tokenizer("query: satu")["input_ids"]
    model.fit(train_texts, train_targets, dev=Labelled(dev_texts, dev_targets), progress=False)
    assert not table.requires_grad and torch.equal(table.detach(), before_table)
    after_layer = next(p for n, p in model.model.encoder.named_parameters() if "encoder.layer.0" in n)
    assert not torch.equal(after_layer.detach(), before_layer)  # the rest of the encoder trained
    model.save(tmp_path / "t")
    card = json.loads((tmp_path / "t" / "model.json").read_text())
    assert card["text_prefix"] == "query: " and card["freeze_embeddings"] is True
    reloaded = load_model(tmp_path / "t", device="cpu")
    assert reloaded.text_prefix == "query: "
    np.testing.assert_allclose(reloaded.predict_proba(dev_texts)["frame"], model.predict_proba(dev_texts)["frame"],
                               atol=1e-5)


def test_transformer_config_takes_the_new_options(tiny_bert):
    from warta.config import load_config

    config = load_config(REPO / "configs" / "smoke-transformer.yaml", [
        f"model.name_or_path={tiny_bert}", "model.text_prefix='query: '", "model.freeze_embeddings=true"])
    assert config.model.text_prefix == "query: " and config.model.freeze_embeddings is True


def test_refit_all_and_outlet_cv_with_a_hybrid_run(synthetic_data, tiny_bert, tmp_path, one_torch_thread_module):
    from warta.config import load_config
    from warta.train.experiment import train_experiment

    config = load_config(REPO / "configs" / "hybrid-e5.yaml", [
        f"model.encoder={tiny_bert}", f"model.cache_dir={tmp_path / 'cache'}", "model.embedding_c_values=[0.1, 1.0]",
        "model.tfidf.c_values=[0.3, 3.0]", "model.tfidf.char_ngrams=[2, 4]"])
    result = train_experiment(config, out=tmp_path / "run", data=synthetic_data, cv="outlet", refit="all",
                              progress=False, n_boot=0)
    run = tmp_path / "run"
    chosen = result.metrics["refit"]["hyperparameters"]
    shipped, evaluated = load_model(run / "model"), load_model(run / "model-eval")
    assert shipped.selected() == evaluated.selected() == chosen
    assert shipped.tuning_ == {layer: {} for layer in LAYER_NAMES}  # nothing re-tuned
    cv = json.loads((run / "cv" / "metrics.json").read_text())
    assert cv["scheme"] == "outlet" and "outlet_error" in cv
    # the CV folds, the run and the refit embedded every sentence once: the rest were cache hits
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_a_bf16_embedder_stays_close_and_leaves_the_callers_float_encoder(tiny_bert, frozen_segmentation, tmp_path,
                                                                        monkeypatch):
    import copy

    import torch

    from warta.models.embeddings import SentenceEmbedder

    monkeypatch.setenv("WARTA_CACHE_DIR", str(tmp_path / "cache"))
    texts = [text for units in frozen_segmentation.values() for _, text in units][:40]
    float_embedder = SentenceEmbedder(str(tiny_bert), use_cache=False)
    exact = float_embedder.embed(texts)
    bf16 = copy.copy(float_embedder).quantize_int8("torch-bf16")
    vectors = bf16.embed(texts)
    assert next(bf16._encoder.parameters()).dtype == torch.bfloat16
    assert next(float_embedder._encoder.parameters()).dtype == torch.float32  # the caller's encoder untouched
    assert vectors.dtype == np.float32 and not np.allclose(exact, vectors)  # bf16 really ran
    assert (exact * vectors).sum(axis=1).min() > 0.99
    np.testing.assert_array_equal(float_embedder.embed(texts), exact)
