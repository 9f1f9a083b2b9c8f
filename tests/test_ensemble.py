"""warta.models.ensemble: members of other kinds, probabilities averaged with weights given or chosen on dev."""

from __future__ import annotations

import json

import numpy as np
import pytest

from warta.config import validate_config
from warta.errors import InputError
from warta.models import build_model, load_model
from warta.models.base import Labelled
from warta.models.ensemble import EnsembleClassifier, weight_candidates

QUOTES = ["Menteri kata AI membantu pekerja.", "Ia berkata pabrik akan merekrut lagi.",
          "Direktur kata PHK tidak terhindarkan.", "Serikat berkata upah harus naik."]
FACTS = ["Bank memangkas 1.100 posisi teller.", "Pabrik menutup dua gudang tahun ini.",
         "Perusahaan merekrut 300 teknisi baru.", "Klarna menghentikan rekrutmen pada 2024."]
OPINIONS = ["Keputusan itu sungguh keliru dan kejam.", "Langkah ini jelas berlebihan sekali.",
            "Kebijakan tersebut sangat tidak adil.", "Otomatisasi ini benar-benar kebablasan."]
TEXTS = QUOTES + FACTS + OPINIONS
TYPES = ["quote"] * 4 + ["fact"] * 4 + ["opinion"] * 4
STANCES = ["pro", "neutral", "against", "against", "neutral", "neutral", "pro", "neutral",
           "against", "against", "against", "against"]
DEV = Labelled(["Gubernur kata investasi naik.", "Toko menutup cabang.", "Itu sangat kejam."],
               {"type": ["quote", "fact", "opinion"], "stance": ["neutral", "neutral", "against"]})


def config(**model):
    members = [{"kind": "tfidf", "c_values": [1.0]}, {"kind": "tfidf", "cue_features": False, "c_values": [0.1]}]
    return validate_config({"layers": ["type", "stance"], "model": {"kind": "ensemble", "members": members, **model}},
                           "ensemble.yaml")


def fitted(**model):
    return build_model(config(**model)).fit(TEXTS, {"type": TYPES, "stance": STANCES}, dev=DEV, progress=False)


def test_weight_candidates_are_normalised_and_distinct():
    cands = weight_candidates(2, [0.0, 0.5, 1.0])
    # (0.5, 0.5) and (1, 1) are one vector; (0.5, 1) is (1/3, 2/3)
    assert set(cands) == {(0.0, 1.0), (1.0, 0.0), (0.5, 0.5), (0.333333, 0.666667), (0.666667, 0.333333)}
    assert all(abs(sum(w) - 1) < 1e-5 for w in weight_candidates(3, [0, 0.25, 0.5, 1]))  # rounded to 6 places


def test_probabilities_are_the_weighted_mean_of_the_members():
    model = fitted(weights={"type": [3.0, 1.0], "stance": [0.0, 2.0]})
    assert model.weights_ == {"type": [0.75, 0.25], "stance": [0.0, 1.0]}
    texts = ["Menteri kata pabrik tutup.", "Itu sungguh keliru."]
    a, b = (m.predict_proba(texts) for m in model.members_)
    probs = model.predict_proba(texts)
    assert np.allclose(probs["type"], 0.75 * a["type"] + 0.25 * b["type"])
    assert np.allclose(probs["stance"], b["stance"])
    assert model.predict(texts)["type"] == [model.labels["type"][i] for i in probs["type"].argmax(1)]


def test_weights_are_chosen_on_dev_per_layer_and_refit_reproduces_the_selection(tmp_path):
    model = fitted()
    for layer in ("type", "stance"):
        tuning = model.weight_tuning_[layer]
        chosen = ",".join(f"{x:g}" for x in model.weights_[layer])
        assert tuning[chosen] == max(tuning.values())
    selection = model.selected()
    assert selection["members"][0] == model.members_[0].selected()
    refit = build_model(config()).set_params(selection=selection).fit(TEXTS, {"type": TYPES, "stance": STANCES},
                                                                      progress=False)
    assert refit.weights_ == model.weights_
    assert [m.selected() for m in refit.members_] == selection["members"]


def test_save_and_load_give_the_same_probabilities(tmp_path):
    model = fitted()
    model.save(tmp_path / "m")
    card = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert card["kind"] == "ensemble" and card["members"] == ["member-0", "member-1"]
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, EnsembleClassifier)
    texts = ["Direktur kata AI efisien.", "Pabrik merekrut lagi."]
    for layer, p in model.predict_proba(texts).items():
        assert np.allclose(loaded.predict_proba(texts)[layer], p)


def test_a_broken_card_or_member_is_refused_in_one_line(tmp_path):
    model = fitted()
    model.save(tmp_path / "m")
    card_path = tmp_path / "m" / "model.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["weights"]["type"] = [1.0]
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(InputError, match=r"weights\.type: expected one weight per member"):
        load_model(tmp_path / "m")
    card["weights"]["type"] = [0.5, 0.5]
    card["members"] = ["member-0", "../elsewhere"]
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(InputError, match="members"):
        load_model(tmp_path / "m")


def test_bad_members_are_named():
    with pytest.raises(InputError, match=r"model\.members\[1\]: c_values"):
        build_model(validate_config({"model": {"kind": "ensemble", "members": [
            {"kind": "tfidf"}, {"kind": "tfidf", "c_values": "many"}]}}, "e.yaml")).member_models()
    with pytest.raises(InputError, match="cannot hold an ensemble"):
        build_model(validate_config({"model": {"kind": "ensemble", "members": [
            {"kind": "tfidf"}, {"kind": "ensemble"}]}}, "e.yaml")).member_models()
    with pytest.raises(InputError, match="one non-negative weight per member"):
        fitted(weights={"type": [1.0], "stance": [1.0, 1.0]})


class _EncoderMember:
    """Stands in for a hybrid/transformer member: records the backend it was put on."""

    supports_quantize = True
    quantized = False

    def __init__(self, member):
        self.member = member

    def quantize_int8(self, backend=None):
        self.quantized = backend
        return self

    def predict_proba(self, texts, batch_size=None):
        return self.member.predict_proba(texts)


def test_labelling_an_ensemble_on_another_backend_moves_its_encoder_members_only():
    from warta.errors import WartaError
    from warta.labelling.labeller import load_labeller

    model = fitted()
    with pytest.raises(WartaError, match="--backend onnx: this ensemble has no member with an encoder"):
        load_labeller(model, device="cpu", backend="onnx")
    tfidf, encoder = model.members_[0], _EncoderMember(model.members_[1])
    model.members_ = [tfidf, encoder]
    labeller = load_labeller(model, device="cpu", backend="onnx")
    fast = labeller.model.members_
    assert fast[0] is tfidf and fast[1] is not encoder and fast[1].quantized == "onnxruntime-fp32"
    assert labeller.model.quantized and labeller.model_id.endswith("ensemble+onnx")
    assert model.members_ == [tfidf, encoder] and not encoder.quantized and not model.quantized  # the caller's


def test_an_ensemble_with_a_fine_tuned_transformer_member_trains_saves_loads_and_labels(tiny_bert, tmp_path,
                                                                                        monkeypatch):
    """The e5 + TF-IDF ensemble of issue 19 as one model kind: a transformer member is fitted in the ensemble's
    fit, saved in its own format, and loads back with the same probabilities."""
    monkeypatch.setenv("WARTA_CACHE_DIR", str(tmp_path / "cache"))
    members = [{"kind": "tfidf", "c_values": [1.0]},
               {"kind": "transformer", "name_or_path": str(tiny_bert), "max_length": 32,
                "train": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3}}]
    cfg = validate_config({"layers": ["type", "stance"], "seed": 0,
                           "model": {"kind": "ensemble", "members": members,
                                     "weights": {"type": [0.25, 0.75], "stance": [0.25, 0.75]}}}, "ensemble.yaml")
    model = build_model(cfg).fit(TEXTS, {"type": TYPES, "stance": STANCES}, dev=DEV, work_dir=tmp_path / "work",
                                 progress=False)
    assert [m.kind for m in model.members_] == ["tfidf", "transformer"]
    texts = ["Direktur kata AI efisien.", "Pabrik merekrut lagi.", "Itu sangat tidak adil."]
    probs = model.predict_proba(texts)
    members = [m.predict_proba(texts) for m in model.members_]
    for layer in ("type", "stance"):
        np.testing.assert_allclose(probs[layer], 0.25 * members[0][layer] + 0.75 * members[1][layer], atol=1e-12)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "member-1" / "model.safetensors").is_file()
    loaded = load_model(tmp_path / "m", device="cpu")
    for layer, p in probs.items():
        np.testing.assert_allclose(loaded.predict_proba(texts)[layer], p, atol=1e-6)
