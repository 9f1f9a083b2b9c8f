"""int8 through ONNX Runtime (models/onnx_encoder.py): close to fp32, cached by fingerprint, the same entry points."""

from __future__ import annotations

import numpy as np
import pytest

from warta.models import Labelled
from warta.models.onnx_encoder import available
from warta.schema import LAYER_NAMES
from warta.train.data import targets

pytestmark = pytest.mark.skipif(not available(), reason='onnxruntime not installed (pip install "warta[fast]")')


def test_onnx_int8_embeddings_stay_close_to_fp32_and_the_export_is_cached(tiny_bert, frozen_segmentation, tmp_path,
                                                                         monkeypatch):
    from warta.models.embeddings import SentenceEmbedder

    monkeypatch.setenv("WARTA_CACHE_DIR", str(tmp_path / "cache"))
    texts = [text for units in frozen_segmentation.values() for _, text in units][:40]
    exact = SentenceEmbedder(str(tiny_bert), use_cache=False).embed(texts)
    fast = SentenceEmbedder(str(tiny_bert), use_cache=False).quantize_int8("onnxruntime")
    vectors = fast.embed(texts)
    assert fast.quantized == "onnxruntime" and type(fast._encoder).__name__ == "OnnxEncoder"
    cosine = (exact * vectors).sum(axis=1)
    assert cosine.min() > 0.98 and not np.allclose(exact, vectors)  # int8 really ran, and stayed close
    exported = list((tmp_path / "cache" / "onnx").glob("*.int8.onnx"))
    assert len(exported) == 1
    before = exported[0].stat().st_mtime_ns
    SentenceEmbedder(str(tiny_bert), use_cache=False).quantize_int8("onnxruntime").embed(texts[:2])
    assert exported[0].stat().st_mtime_ns == before  # the second run loads the cached export


def test_quantized_models_keep_their_labels_through_load_model(tiny_bert, synthetic_data, tmp_path, monkeypatch):
    from warta.models import load_model
    from warta.models.transformer import TransformerClassifier

    monkeypatch.setenv("WARTA_CACHE_DIR", str(tmp_path / "cache"))
    texts = [r["text"] for r in synthetic_data.records][:60]
    TransformerClassifier.from_pretrained(str(tiny_bert), max_length=32).save(tmp_path / "model")
    exact = load_model(tmp_path / "model", device="cpu")
    fast = load_model(tmp_path / "model", device="cpu", quantize=True)
    assert fast.quantized and not exact.quantized
    a, b = exact.predict_proba(texts), fast.predict_proba(texts)
    for layer in LAYER_NAMES:
        assert np.abs(a[layer] - b[layer]).max() < 0.05
        assert (a[layer].argmax(1) == b[layer].argmax(1)).mean() >= 0.9


def test_a_hybrid_loads_quantized(tiny_bert, synthetic_data, tmp_path, monkeypatch):
    from warta.models import load_model
    from warta.models.hybrid import HybridClassifier

    monkeypatch.setenv("WARTA_CACHE_DIR", str(tmp_path / "cache"))
    train, dev = synthetic_data.split_records("train"), synthetic_data.split_records("dev")
    model = HybridClassifier(encoder=str(tiny_bert), max_length=32, cache=False, embedding_c_values=[0.1],
                             tfidf={"c_values": [1.0]})
    model.fit([r["text"] for r in train], targets(train, LAYER_NAMES),
              dev=Labelled([r["text"] for r in dev], targets(dev, LAYER_NAMES)))
    model.save(tmp_path / "hybrid")
    fast = load_model(tmp_path / "hybrid", quantize=True)
    assert fast.quantized and fast.embedder.quantized in ("onnxruntime", "torch")
    texts = [r["text"] for r in dev]
    exact, quantized = model.predict_proba(texts), fast.predict_proba(texts)
    for layer in LAYER_NAMES:
        assert np.abs(exact[layer] - quantized[layer]).max() < 0.05
        # so the labels agree wherever fp32 is not near a tie (a margin over 2 x 0.05); a random tiny
        # encoder leaves near-ties, which int8 rounding (it varies with the thread count) may flip
        top2 = np.sort(exact[layer], axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 0.1
        assert clear.sum() >= len(texts) // 4  # not vacuous
        assert (exact[layer].argmax(1) == quantized[layer].argmax(1))[clear].all()
