"""The multi-head transformer on a tiny random BERT: train -> save -> reload -> predict, offline errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from warta.errors import InputError
from warta.models import Labelled, load_model
from warta.models.transformer import (
    MultiHeadEncoder,
    TransformerClassifier,
    TransformerTrainingArguments,
    balanced_class_weights,
    load_pretrained,
    tokenizer_is_uncased,
)
from warta.schema import LAYERS
from warta.train.data import targets

LAYER_NAMES = list(LAYERS)


@pytest.fixture(scope="module")
def trained(tiny_bert, synthetic_data, tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    train = synthetic_data.split_records("train")
    dev = synthetic_data.split_records("dev")
    work_dir = tmp_path_factory.mktemp("checkpoints")
    model = TransformerClassifier(str(tiny_bert), max_length=64, seed=0, training=TransformerTrainingArguments(
        epochs=1, batch_size=16, learning_rate=1e-3, logging_steps=1))
    model.fit(
        [r["text"] for r in train], targets(train, LAYER_NAMES),
        dev=Labelled([r["text"] for r in dev], targets(dev, LAYER_NAMES)), work_dir=work_dir, progress=False,
    )
    assert not work_dir.exists()  # checkpoints removed: the best one is loaded back
    yield model
    torch.set_num_threads(before)


def test_training_ran_and_kept_the_evaluated_model(trained):
    evaluations = [h for h in trained.history_ if "eval_macro_f1" in h]
    assert len(evaluations) == 1  # one epoch, one dev evaluation
    assert {f"eval_macro_f1_{layer}" for layer in LAYER_NAMES} <= set(evaluations[0])
    assert trained.best_dev_macro_f1_ == pytest.approx(evaluations[0]["eval_macro_f1"])
    assert any("loss" in h for h in trained.history_)
    assert not trained.model.training


def test_save_reload_predict_round_trip(trained, frozen_segmentation, tmp_path):
    texts = [text for units in frozen_segmentation.values() for _, text in units][:40]
    before = trained.predict_proba(texts)
    folder = tmp_path / "model"
    trained.save(folder)
    names = sorted(p.name for p in folder.iterdir())
    assert {"config.json", "model.safetensors", "heads.safetensors", "model.json", "tokenizer_config.json"} <= set(names)
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pkl"))]
    card = json.loads((folder / "model.json").read_text())
    assert card["kind"] == "transformer" and card["labels"] == {k: list(v) for k, v in LAYERS.items()}
    assert card["lowercase"] is True
    again = load_model(folder)  # the path a user runs
    assert isinstance(again, TransformerClassifier)
    after = again.predict_proba(texts)
    for layer in LAYER_NAMES:
        assert after[layer].shape == (len(texts), len(LAYERS[layer]))
        np.testing.assert_allclose(after[layer], before[layer], atol=1e-5)
        np.testing.assert_allclose(after[layer].sum(axis=1), 1.0, atol=1e-5)
    # the encoder reloads with plain transformers calls
    from transformers import AutoModel, AutoTokenizer

    encoder = AutoModel.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer(["klarna merekrut lagi"], return_tensors="pt")
    with torch.no_grad():
        plain = encoder(**encoded).last_hidden_state
        ours = again.model.encoder(**encoded).last_hidden_state
    torch.testing.assert_close(plain, ours)


def test_predict_proba_restores_input_order_and_ignores_batch_size(trained, frozen_segmentation):
    texts = [text for units in frozen_segmentation.values() for _, text in units][:30]
    base = trained.predict_proba(texts, batch_size=64)
    one_by_one = trained.predict_proba(texts, batch_size=1)
    order = np.random.default_rng(0).permutation(len(texts))
    shuffled = trained.predict_proba([texts[i] for i in order], batch_size=4)
    for layer in LAYER_NAMES:
        np.testing.assert_allclose(one_by_one[layer], base[layer], atol=1e-5)
        np.testing.assert_allclose(shuffled[layer], base[layer][order], atol=1e-5)
    assert trained.predict(texts[:3])["type"] == [LAYERS["type"][i] for i in base["type"][:3].argmax(axis=1)]
    assert trained.predict_proba([])["frame"].shape == (0, len(LAYERS["frame"]))


def test_predict_proba_equals_one_plain_forward_pass_per_sentence(trained, frozen_segmentation):
    """The length-sorted, dynamically padded loop changes nothing but speed."""
    texts = [text for units in frozen_segmentation.values() for _, text in units][:12]
    fast = trained.predict_proba(texts, batch_size=5)
    for i, text in enumerate(texts):
        encoded = trained.tokenizer([text.lower()], truncation=True, max_length=64, return_tensors="pt")
        with torch.no_grad():
            logits = trained.model.eval()(**encoded)["logits"][0]
        for j, layer in enumerate(LAYER_NAMES):
            block = logits[trained.model.offsets[j] : trained.model.offsets[j + 1]]
            np.testing.assert_allclose(fast[layer][i], torch.softmax(block, -1).numpy(), atol=1e-5)


def test_int8_quantized_copy_predicts_close_and_leaves_the_float_model(trained, frozen_segmentation, tmp_path):
    texts = [text for units in frozen_segmentation.values() for _, text in units][:20]
    folder = tmp_path / "model"
    trained.save(folder)
    exact = load_model(folder, device="cpu")
    quantized = load_model(folder, device="cpu").quantize_int8(backend="torch")  # ONNX: tests/test_onnx_encoder.py
    assert quantized.quantized and not exact.quantized
    assert isinstance(quantized._inference_module.encoder.encoder.layer[0].attention.self.query,
                      torch.ao.nn.quantized.dynamic.Linear)
    assert isinstance(quantized.model.encoder.encoder.layer[0].attention.self.query, torch.nn.Linear)
    a, b = exact.predict_proba(texts), quantized.predict_proba(texts)
    for layer in LAYER_NAMES:
        np.testing.assert_allclose(b[layer], a[layer], atol=0.05)
        np.testing.assert_allclose(b[layer].sum(axis=1), 1.0, atol=1e-5)


def test_fit_needs_a_dev_set(tiny_bert):
    with pytest.raises(ValueError, match="needs a dev set"):
        TransformerClassifier(str(tiny_bert)).fit(["satu"], {"type": ["fact"]})


def test_one_forward_pass_scores_every_layer(trained):
    batch = trained.tokenizer(["satu kalimat"], return_tensors="pt")
    out = trained.model(**batch)
    assert out["logits"].shape == (1, sum(len(v) for v in LAYERS.values()))
    assert "loss" not in out


def test_loss_is_a_sum_of_class_weighted_cross_entropies(tiny_bert):
    tokenizer, encoder = load_pretrained(str(tiny_bert))
    weights = {layer: torch.rand(len(LAYERS[layer])) + 0.5 for layer in LAYER_NAMES}
    model = MultiHeadEncoder(encoder, {k: len(v) for k, v in LAYERS.items()}, dropout=0.0, class_weights=weights).eval()
    batch = tokenizer(["satu kalimat", "dua kalimat lagi"], return_tensors="pt", padding=True)
    labels = torch.tensor([[0, 1, 2], [3, -100, 5]])
    out = model(**batch, labels=labels)
    expected = 0.0
    for j, layer in enumerate(LAYER_NAMES):
        logits = out["logits"][:, model.offsets[j] : model.offsets[j + 1]]
        expected = expected + torch.nn.functional.cross_entropy(logits, labels[:, j], weight=weights[layer],
                                                                ignore_index=-100)
    torch.testing.assert_close(out["loss"], expected)


def test_balanced_class_weights():
    weights = balanced_class_weights(["a", "a", "a", "b", None], ["a", "b", "c"])
    torch.testing.assert_close(weights, torch.tensor([4 / 6, 2.0, 1.0]))


def test_lowercasing_follows_the_tokenizer(tiny_bert, tmp_path, frozen_segmentation):
    from conftest import build_tiny_bert

    tokenizer, _ = load_pretrained(str(tiny_bert))
    assert tokenizer_is_uncased(tokenizer) is True
    texts = [text for units in frozen_segmentation.values() for _, text in units]
    cased = build_tiny_bert(tmp_path / "cased", texts, lowercase=False)
    model = TransformerClassifier.from_pretrained(str(cased))
    assert model.lowercase == "auto" and model.lowercase_ is False
    assert TransformerClassifier.from_pretrained(str(cased), lowercase=True).lowercase_ is True


def test_not_a_model_folder(tmp_path):
    with pytest.raises(InputError, match=r"not a model folder \(no config.json\)"):
        load_pretrained(str(tmp_path))
    with pytest.raises(InputError, match=r"folder not found\. Download the model"):
        load_pretrained(str(tmp_path / "missing" / "indobert"))


def test_offline_hub_name_gives_one_clear_line(tmp_path):
    """A hub name with no network and no local copy: one line that says what to do (no network touched)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    code = (
        "from warta.models.transformer import load_pretrained\n"
        "from warta.errors import InputError\n"
        "try:\n"
        "    load_pretrained('warta-tests/no-such-encoder')\n"
        "except InputError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("model.name_or_path 'warta-tests/no-such-encoder': not a local model folder")
    assert lines[0].endswith("pass --set model.name_or_path=/path/to/indobert")
