"""The model convention: registry of kinds, protocol conformance, config -> model, save/load, no torch for TF-IDF."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import pytest
from pydantic import BaseModel, Field

from warta.config import config_class, load_config
from warta.errors import InputError
from warta.models import (
    KINDS,
    Labelled,
    SentenceClassifier,
    build_model,
    load_model,
    model_class,
)
from warta.schema import LAYERS
from warta.train.data import targets

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


def test_every_config_kind_is_registered_with_its_config_schema():
    for kind in KINDS:
        cls = model_class(kind)
        assert cls.kind == kind and KINDS[kind] == f"{cls.__module__}:{cls.__name__}"
        # the schema's model section is the one for this kind, derived from the constructor
        section = config_class(kind).model_fields["model"].annotation
        assert section.model_fields["kind"].annotation.__args__ == (kind,)
        assert set(section.model_fields) - {"kind"} == set(inspect.signature(cls).parameters) - set(cls.run_params)
        assert config_class(kind).model_fields["train"].annotation is cls.training_arguments


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_default_is_written_once_in_the_constructor(kind):
    """The config section's defaults are the constructor's (one source): a default changed there changes both."""
    cls = model_class(kind)
    section = config_class(kind).model_fields["model"].annotation
    signature = inspect.signature(cls).parameters
    for name, field in section.model_fields.items():
        if name == "kind" or isinstance(field.default, BaseModel):
            continue
        default = signature[name].default
        assert field.default == default, name


def test_a_new_kind_is_one_class_and_one_registry_line(monkeypatch, tmp_path):
    """A kind with its hyperparameters in the constructor gets a validated config section without more code."""
    from warta.models.params import Params

    class Constant(Params):
        kind = "constant"

        def __init__(self, layers=("type",), label: str = "fact", strength: Annotated[float, Field(gt=0)] = 1.0):
            self.layers, self.label, self.strength = layers, label, strength

    import warta.models as registry

    monkeypatch.setitem(registry.KINDS, "constant", f"{__name__}:_CONSTANT")
    monkeypatch.setitem(globals(), "_CONSTANT", Constant)
    (tmp_path / "c.yaml").write_text("model: {kind: constant, strength: 2.5}\nlayers: [type]\n")
    config = load_config(tmp_path / "c.yaml")
    model = build_model(config)
    assert model.get_params() == {"layers": ["type"], "label": "fact", "strength": 2.5}
    with pytest.raises(InputError, match="model.strength: Input should be greater than 0"):
        load_config(tmp_path / "c.yaml", ["model.strength=0"])
    with pytest.raises(InputError, match="model.colour: unknown key"):
        load_config(tmp_path / "c.yaml", ["model.colour=red"])


def test_unknown_kind_is_one_line(tmp_path):
    with pytest.raises(InputError, match="unknown model kind 'svm'"):
        model_class("svm")
    (tmp_path / "model.json").write_text('{"kind": "svm"}')
    with pytest.raises(InputError, match="unknown model kind 'svm'"):
        load_model(tmp_path)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_both_kinds_follow_one_signature(kind):
    """fit(texts, targets, *, dev, work_dir, progress), predict/predict_proba(texts, batch_size), classmethods."""
    cls = model_class(kind)
    fit = inspect.signature(cls.fit).parameters
    assert list(fit)[:3] == ["self", "texts", "targets"]
    assert {name: fit[name].kind for name in ("dev", "work_dir", "progress")} == dict.fromkeys(
        ("dev", "work_dir", "progress"), inspect.Parameter.KEYWORD_ONLY)
    for method in ("predict", "predict_proba"):
        assert list(inspect.signature(getattr(cls, method)).parameters) == ["self", "texts", "batch_size"]
    for method in ("from_config", "load"):
        assert inspect.ismethod(getattr(cls, method))  # classmethods
    for method in ("save", "selection_summary"):
        assert callable(getattr(cls, method))


def test_tfidf_from_config_takes_every_model_option():
    config = load_config(CONFIGS / "tfidf.yaml", ["model.max_features=500", "layers=[type, frame]"])
    model = build_model(config)
    assert isinstance(model, SentenceClassifier)
    expected = config.model.model_dump(exclude={"kind"})
    params = model.get_params()
    assert params.pop("layers") == ["type", "frame"] and params.pop("selection") is None
    assert params == expected
    assert list(model.labels) == ["type", "frame"]


def test_transformer_from_config_takes_model_and_train_options(tiny_bert):
    config = load_config(CONFIGS / "smoke-transformer.yaml",
                         [f"model.name_or_path={tiny_bert}", "train.learning_rate=0.01", "seed=3"])
    model = build_model(config)
    assert isinstance(model, SentenceClassifier)
    train = model.training
    assert (train.max_steps, train.batch_size, train.learning_rate, model.seed, model.max_length) == (4, 16, 0.01, 3, 64)
    assert model.lowercase == "auto"  # stored as given ...
    assert model.lowercase_ is True  # ... and resolved from the (uncased) tokenizer when the encoder loads
    assert model.model is not None and model.labels == {k: list(v) for k, v in LAYERS.items()}


def _fit_tfidf(synthetic_data):
    train, dev = synthetic_data.split_records("train"), synthetic_data.split_records("dev")
    layers = list(LAYERS)
    model = model_class("tfidf")(c_values=[0.3, 1.0])
    return model.fit([r["text"] for r in train], targets(train, layers),
                     dev=Labelled([r["text"] for r in dev], targets(dev, layers)))


@pytest.mark.parametrize("kind", ["hybrid", "tfidf", "transformer"])  # the ensemble: tests/test_ensemble.py
def test_save_load_round_trip_through_the_registry(kind, synthetic_data, tiny_bert, tmp_path, frozen_segmentation):
    texts = [text for units in frozen_segmentation.values() for _, text in units][:25]
    if kind == "tfidf":
        model = _fit_tfidf(synthetic_data)
    elif kind == "hybrid":  # TF-IDF head + frozen tiny-BERT embeddings
        train, dev = synthetic_data.split_records("train"), synthetic_data.split_records("dev")
        model = model_class(kind)(encoder=str(tiny_bert), max_length=32, cache_dir=tmp_path / "cache",
                                  embedding_c_values=[0.1], tfidf={"c_values": [1.0]})
        model.fit([r["text"] for r in train], targets(train, list(LAYERS)),
                  dev=Labelled([r["text"] for r in dev], targets(dev, list(LAYERS))))
    else:  # random heads are enough for a round trip
        model = model_class(kind).from_pretrained(str(tiny_bert), max_length=32)
    assert isinstance(model, SentenceClassifier)
    model.save(tmp_path / "model")
    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["kind"] == kind and card["labels"] == model.labels
    again = load_model(tmp_path / "model", device="cpu")
    assert type(again) is type(model) and isinstance(again, SentenceClassifier)
    before, after = model.predict_proba(texts), again.predict_proba(texts, batch_size=4)
    assert list(after) == list(model.labels)
    for layer, probs in before.items():
        assert after[layer].shape == (len(texts), len(model.labels[layer]))
        np.testing.assert_allclose(after[layer], probs, atol=1e-6)
    assert again.predict(texts) == model.predict(texts)


# --- TF-IDF never imports torch -------------------------------------------------------

NO_TORCH_PREDICT = """
import json, sys
from warta.models import load_model
model = load_model(sys.argv[1])
probs = model.predict_proba(["Klarna memangkas 1.200 karyawan.", "Kami menyesal, ujar dia."])
print(json.dumps({"torch": "torch" in sys.modules, "sklearn": "sklearn" in sys.modules,
                  "shape": list(probs["type"].shape)}))
"""

NO_TORCH_LABEL = """
import json, sys
from warta.cli import main
sys.argv = ["warta", "label", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"torch": "torch" in sys.modules, "rc": code}))
"""


def _child(code: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tfidf_load_and_predict_import_no_torch(tfidf_run):
    report = _child(NO_TORCH_PREDICT, str(tfidf_run / "model"))
    assert report == {"torch": False, "sklearn": False, "shape": [2, 4]}


@pytest.mark.parametrize("workers", ["0", "1"])
def test_warta_label_with_a_tfidf_run_imports_no_torch(tfidf_run, tmp_path, workers):
    inputs = [str(path) for path in sorted((REPO / "seeds").glob("*.txt"))]
    out = tmp_path / "out.jsonl"
    report = _child(NO_TORCH_LABEL, str(tfidf_run), *inputs, "--out", str(out), "-q", "--workers", workers)
    assert report == {"torch": False, "rc": 0}
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records and {r["model"] for r in records} == {"tfidf/tfidf"}
