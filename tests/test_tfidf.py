"""The TF-IDF baseline: scikit-learn-equivalent features, per-layer heads, fit/predict/save/load (npz + JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from warta.errors import InputError
from warta.models import load_model, tfidf_features
from warta.models.base import Labelled
from warta.models.tfidf import (
    CUE_NAMES,
    CueFeatures,
    NgramTfidfVectorizer,
    PerLayerClassifier,
    TfidfClassifier,
)
from warta.schema import LAYERS
from warta.train.data import targets

NOVEL = [
    "Perusahaan rintisan di Jakarta MENGGANTI 300 staf layanan pelanggan dengan chatbot.",
    "“Kami tidak menyesal,” ujar direktur utama PT Contoh Saja.",
    "",
    "!!! ???",
]


@pytest.fixture(scope="module")
def texts(frozen_segmentation):
    return [text for units in frozen_segmentation.values() for _, text in units]


def aligned(ours: NgramTfidfVectorizer, ref: TfidfVectorizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Both matrices with columns in our term order."""
    terms = ours.terms_.tolist()
    assert sorted(terms) == sorted(ref.get_feature_names_out().tolist())
    columns = [ref.vocabulary_[t] for t in terms]
    return ours.transform(texts).toarray(), ref.transform(texts).toarray()[:, columns]


@pytest.mark.parametrize(
    "analyzer, ngram_range, min_df",
    [("char_wb", (2, 5), 1), ("char_wb", (1, 3), 2), ("word", (1, 2), 1), ("word", (1, 3), 2)],
)
def test_vectorizer_matches_scikit_learn(texts, analyzer, ngram_range, min_df):
    ours = NgramTfidfVectorizer(analyzer, ngram_range, min_df=min_df).fit(texts[:100])
    extra = {"token_pattern": r"(?u)\w+"} if analyzer == "word" else {}
    ref = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df, sublinear_tf=True, **extra)
    ref.fit(texts[:100])
    # unseen sentences (texts[100:]) and odd inputs exercise the per-word cache for new words
    mine, theirs = aligned(ours, ref, texts + NOVEL)
    np.testing.assert_allclose(mine, theirs, atol=1e-12)


def test_vectorizer_cache_reset_keeps_results(texts, monkeypatch):
    vectorizer = NgramTfidfVectorizer("char_wb", (2, 4)).fit(texts)
    expected = vectorizer.transform(texts).toarray()
    monkeypatch.setattr(tfidf_features, "_MAX_CACHED_UNITS", 50)
    fresh = NgramTfidfVectorizer("char_wb", (2, 4)).fit(texts)
    first = fresh.transform(texts[:40]).toarray()
    np.testing.assert_allclose(fresh.transform(texts).toarray(), expected)
    np.testing.assert_allclose(first, expected[:40])
    # the last call overflowed the cap: the cache was reset and holds exactly that batch's words
    assert len(fresh._unit_ids) == len(set(" ".join(texts).lower().split())) > 50


def test_vectorizer_rejects_a_single_string(texts):
    vectorizer = NgramTfidfVectorizer().fit(texts)
    with pytest.raises(ValueError, match="one string"):
        vectorizer.transform("satu kalimat")


def test_cue_features_follow_the_guideline_signals():
    rows = CueFeatures().transform([
        "“Kami mungkin berlebihan,” ujar Siemiatkowski.",   # attributed forecast: a quote
        "PHK ditaksir berlanjut tahun depan.",              # unattributed passive report
        "Perusahaan harus menjaga keseimbangan.",           # outlet evaluation
        "Klarna memangkas 1.200 karyawan pada 2024.",       # plain fact with digits
    ]).toarray()
    column = {name: i for i, name in enumerate(CUE_NAMES)}
    assert rows[0, column["lex:attribution"]] > 0 and rows[0, column["quote_pair"]] == 1
    assert rows[0, column["lex:personal"]] > 0
    assert rows[0, column["outlet_hedge"]] == 0  # the hedge is inside a quotation
    assert rows[1, column["lex:passive_report"]] > 0 and rows[1, column["outlet_hedge"]] == 1
    assert rows[2, column["outlet_evaluation"]] == 1 and rows[2, column["outlet_hedge"]] == 0
    assert rows[3, column["digits"]] == 1 and rows[3, column["lex:attribution"]] == 0
    assert rows.shape == (4, len(CUE_NAMES))


def test_per_layer_heads_equal_logistic_regression(texts):
    X = NgramTfidfVectorizer("word", (1, 2)).fit_transform(texts)
    rng = np.random.default_rng(0)
    Y = np.empty((len(texts), 3), dtype=object)
    Y[:, 0] = rng.choice(["fact", "quote", "opinion"], len(texts))  # speculation never seen
    Y[:, 1] = rng.choice(["pro", "against"], len(texts))              # binary layer
    Y[:, 2] = "economic"                                               # one label only
    Y[::7, 0] = None                                                   # unlabelled rows are skipped
    heads = PerLayerClassifier(dict(LAYERS), C=2.0).fit(X, Y)
    probs = heads.predict_proba(X)
    rows = [i for i in range(len(texts)) if Y[i, 0] is not None]
    ref = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000).fit(X[rows], Y[rows, 0].astype(str))
    order = [LAYERS["type"].index(c) for c in ref.classes_]
    np.testing.assert_allclose(probs[0][:, order], ref.predict_proba(X), atol=1e-10)
    assert np.all(probs[0][:, LAYERS["type"].index("speculation")] == 0)
    ref_binary = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000).fit(X, Y[:, 1].astype(str))
    order = [LAYERS["stance"].index(c) for c in ref_binary.classes_]
    np.testing.assert_allclose(probs[1][:, order], ref_binary.predict_proba(X), atol=1e-10)
    assert np.all(probs[2][:, LAYERS["frame"].index("economic")] == 1)
    for p in probs:
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


@pytest.mark.parametrize("classes", [["fact", "quote", "opinion"], ["pro", "against"]])
def test_logistic_regression_in_the_row_span_reaches_the_same_optimum(texts, classes):
    """Wide TF-IDF (features >> sentences): solved on the rows' span and lifted back, the coefficients are
    the full problem's optimum (representer theorem), up to the optimiser's tolerance."""
    from warta.models.tfidf_estimators import RowSpace, fit_logistic

    X = NgramTfidfVectorizer("char_wb", (2, 5)).fit_transform(texts).tocsr()
    assert X.shape[1] > 5 * X.shape[0]
    y = np.random.default_rng(1).choice(classes, X.shape[0])
    options = {"C": 3.0, "class_weight": "balanced", "tol": 1e-10, "max_iter": 100_000}
    spaces: dict = {}
    ours = fit_logistic(X, y, spaces, key="all", **options)
    reference = LogisticRegression(**options).fit(X, y)
    assert isinstance(spaces["all"], RowSpace) and spaces["all"].Z.shape[0] == X.shape[0]
    assert ours.coef_.shape == reference.coef_.shape and ours.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-6)
    again = fit_logistic(X, y, spaces, key="all", **{**options, "C": 0.3})  # the cached basis, another C
    np.testing.assert_allclose(again.predict_proba(X),
                               LogisticRegression(**{**options, "C": 0.3}).fit(X, y).predict_proba(X), atol=1e-6)


def test_tall_data_is_fitted_directly():
    from warta.models.tfidf_estimators import fit_logistic

    X = np.random.default_rng(0).normal(size=(60, 5))
    y = np.where(X[:, 0] > 0, "pro", "against")
    spaces: dict = {}
    model = fit_logistic(X, y, spaces, key="k", C=1.0)
    assert not spaces  # more rows than columns: no basis to build
    np.testing.assert_allclose(model.coef_, LogisticRegression(C=1.0).fit(X, y).coef_)


@pytest.fixture(scope="module")
def fitted(synthetic_data):
    train = synthetic_data.split_records("train")
    dev = synthetic_data.split_records("dev")
    layers = list(LAYERS)
    model = TfidfClassifier(c_values=[0.3, 1.0, 3.0])
    model.fit([r["text"] for r in train], targets(train, layers), dev=Labelled([r["text"] for r in dev], targets(dev, layers)))
    return model


def test_fit_tunes_c_on_dev_and_learns_the_signal(fitted, synthetic_data):
    assert set(fitted.best_c_) == set(LAYERS)
    assert all(c in (0.3, 1.0, 3.0) for c in fitted.best_c_.values())
    assert set(fitted.tuning_["type"]) == {"0.3", "1.0", "3.0"}
    test = synthetic_data.split_records("test")
    predicted = fitted.predict([r["text"] for r in test])["type"]
    gold = [r["type"] for r in test]
    accuracy = np.mean([p == g for p, g in zip(predicted, gold, strict=True)])
    majority = max(gold.count(label) for label in set(gold)) / len(gold)
    assert accuracy > majority + 0.1  # the synthetic type rule is surface cues: learnable


def test_the_c_chosen_on_dev_equals_a_fresh_fit_at_that_c(fitted, synthetic_data):
    """The grid's classifier at the chosen C is kept, not refitted: it must be what a refit would give."""
    train = synthetic_data.split_records("train")
    refit = TfidfClassifier(c_values=[0.3, 1.0, 3.0], selection={"best_c": fitted.best_c_})
    refit.fit([r["text"] for r in train], targets(train, list(LAYERS)))
    np.testing.assert_array_equal(refit.coef_t_, fitted.coef_t_)
    np.testing.assert_array_equal(refit.intercept_, fitted.intercept_)


def test_a_second_fit_on_the_same_inputs_reuses_the_first(synthetic_data, monkeypatch):
    """Fitting is a pure function of (options, sentences, labels, dev): an ensemble's TF-IDF member and its
    hybrid's TF-IDF head share one fit; any change of input fits again."""
    import warta.models.tfidf_estimators as estimators

    calls = []
    real_fit = estimators.LogisticRegression.fit
    monkeypatch.setattr(estimators.LogisticRegression, "fit",
                        lambda self, *a, **k: calls.append(1) or real_fit(self, *a, **k))
    train = synthetic_data.split_records("train")
    texts_, targets_ = [r["text"] for r in train], targets(train, list(LAYERS))
    first = TfidfClassifier(c_values=[1.0]).fit(texts_, targets_)
    n_first = len(calls)
    assert n_first > 0
    second = TfidfClassifier(c_values=[1.0]).fit(texts_, targets_)
    assert len(calls) == n_first  # nothing fitted again
    np.testing.assert_array_equal(second.coef_t_, first.coef_t_)
    assert second.coef_t_ is not first.coef_t_  # a copy: changing one model never changes the other
    TfidfClassifier(c_values=[3.0]).fit(texts_, targets_)  # other options: a new fit
    assert len(calls) > n_first
    n_third = len(calls)
    TfidfClassifier(c_values=[3.0]).fit(texts_[:-1], {k: v[:-1] for k, v in targets_.items()})  # other sentences
    assert len(calls) > n_third


def test_predict_proba_shape_order_and_batches(fitted, texts):
    probs = fitted.predict_proba(texts, batch_size=7)
    whole = fitted.predict_proba(texts, batch_size=10_000)
    for layer, labels in fitted.labels.items():
        assert labels == list(LAYERS[layer])
        assert probs[layer].shape == (len(texts), len(labels))
        np.testing.assert_allclose(probs[layer], whole[layer])
        np.testing.assert_allclose(probs[layer].sum(axis=1), 1.0)
    reversed_probs = fitted.predict_proba(texts[::-1])
    np.testing.assert_allclose(reversed_probs["type"], probs["type"][::-1])
    assert {layer: p.shape for layer, p in fitted.predict_proba([]).items()} == {
        layer: (0, len(labels)) for layer, labels in LAYERS.items()
    }


def test_blockwise_fast_path_equals_the_pipeline(fitted, texts):
    fast = fitted.predict_proba(texts + NOVEL)
    plain = fitted.pipeline_.predict_proba(texts + NOVEL)
    for layer, probs in zip(fitted.layers, plain, strict=True):
        np.testing.assert_allclose(fast[layer], probs, atol=1e-12)


def test_cue_block_reaches_only_the_type_layer(fitted):
    heads = fitted.pipeline_.named_steps["layers"]
    coef_t, _ = heads._stacked_weights()
    cue_rows = coef_t[-len(CUE_NAMES):]
    type_cols = slice(heads.offsets_[0], heads.offsets_[1])
    assert np.abs(cue_rows[:, type_cols]).sum() > 0
    assert np.abs(cue_rows[:, heads.offsets_[1]:]).sum() == 0


def test_save_load_round_trip(fitted, texts, tmp_path):
    fitted.save(tmp_path / "model")
    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["kind"] == "tfidf" and card["labels"] == {k: list(v) for k, v in LAYERS.items()}
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "vocabulary.json", "weights.npz"]
    again = load_model(tmp_path / "model")
    assert isinstance(again, TfidfClassifier)
    assert again.best_c_ == fitted.best_c_ and again.tuning_ == fitted.tuning_
    assert again.saved_params() == fitted.saved_params()
    before, after = fitted.predict_proba(texts + NOVEL), again.predict_proba(texts + NOVEL)
    for layer in before:
        np.testing.assert_array_equal(after[layer], before[layer])  # the same numbers, bit for bit
    # the scikit-learn Pipeline is rebuilt on demand from the saved numbers
    rebuilt = again.pipeline_.predict_proba(texts + NOVEL)
    for layer, probs in zip(again.layers, rebuilt, strict=True):
        np.testing.assert_allclose(probs, before[layer], atol=1e-12)
    # and a reloaded model saves the same files again
    again.save(tmp_path / "again")
    for name in ("model.json", "vocabulary.json"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "model" / name).read_bytes()


def test_a_saved_model_keeps_its_cue_words_when_the_built_in_lists_change(fitted, texts, tmp_path, monkeypatch):
    from warta.models import tfidf_cues

    fitted.save(tmp_path / "model")
    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["cue_lexicons"] == {name: sorted(words) for name, words in tfidf_cues.CUE_LEXICONS.items()}
    before = load_model(tmp_path / "model").predict_proba(texts + NOVEL)["type"]
    # a later warta with other lists: attribution words gone, the hedges standing in for them
    monkeypatch.setitem(tfidf_cues.CUE_LEXICONS, "attribution", tfidf_cues.HEDGES)
    probe = ["Menurut analis, PHK berlanjut.", "Perusahaan itu mengatakan robot datang."]
    assert not np.array_equal(CueFeatures().transform(probe).toarray(),
                              CueFeatures(lexicons=card["cue_lexicons"]).transform(probe).toarray())
    np.testing.assert_array_equal(load_model(tmp_path / "model").predict_proba(texts + NOVEL)["type"], before)
    # a model saved before warta recorded its words is read with the built-in lists
    del card["cue_lexicons"]
    (tmp_path / "model" / "model.json").write_text(json.dumps(card))
    assert not np.array_equal(load_model(tmp_path / "model").predict_proba(texts + NOVEL)["type"], before)


def test_load_never_unpickles(fitted, tmp_path):
    folder = tmp_path / "model"
    fitted.save(folder)
    with np.load(folder / "weights.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["type.coef"] = np.array([object()], dtype=object)  # an object array is stored as a pickle
    np.savez(folder / "weights.npz", **arrays)
    with pytest.raises(InputError, match=r"weights.npz: unreadable weights \(ValueError: .*allow_pickle"):
        load_model(folder)


def test_load_problems_are_one_line(fitted, tmp_path):
    with pytest.raises(InputError, match="not a warta model folder"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"kind": "tfidf", "layers": ["type"]}')
    with pytest.raises(InputError, match="model.json: labels: required key is missing"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"kind": "tfidf", "layers": ["type"],
                                                     "labels": {"type": list(LAYERS["type"])}}))
    with pytest.raises(InputError, match=r"weights.npz: missing \(named by model.json weights\)"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text('{"kind": "svm"}')
    with pytest.raises(InputError, match="unknown model kind 'svm'"):
        load_model(tmp_path)
    folder = tmp_path / "model"
    fitted.save(folder)
    weights = (folder / "weights.npz").read_bytes()
    (folder / "weights.npz").write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="weights.npz: unreadable weights"):
        load_model(folder)
    (folder / "weights.npz").write_bytes(weights)
    vocabulary = json.loads((folder / "vocabulary.json").read_text())
    vocabulary["char"] = vocabulary["char"][:-1]  # one term short of the idf vector
    (folder / "vocabulary.json").write_text(json.dumps(vocabulary))
    with pytest.raises(InputError, match="weights do not match model.json"):
        load_model(folder)


TIES = [
    "aa bb cc dd", "bb cc dd ee", "cc dd ee ff", "dd ee ff aa", "ee ff aa bb", "ff aa bb cc",
    "gg hh", "hh gg", "ii jj kk", "kk jj ii", "ll", "mm nn oo pp qq rr",
]


@pytest.mark.parametrize("analyzer, ngram_range", [("word", (1, 1)), ("word", (1, 2)), ("char_wb", (2, 5)),
                                                   ("char_wb", (1, 3))])
@pytest.mark.parametrize("max_features", [1, 7, 20, 150, 1000])
@pytest.mark.parametrize("corpus", ["ties", "seeds"])
def test_max_features_keeps_scikit_learns_vocabulary(texts, analyzer, ngram_range, max_features, corpus):
    """Including which of equally frequent terms survive the cut (numpy argsort order, as scikit-learn)."""
    docs = TIES if corpus == "ties" else texts
    ours = NgramTfidfVectorizer(analyzer, ngram_range, max_features=max_features).fit(docs)
    extra = {"token_pattern": r"(?u)\w+"} if analyzer == "word" else {}
    ref = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, max_features=max_features, sublinear_tf=True,
                          **extra).fit(docs)
    assert ours.terms_.tolist() == ref.get_feature_names_out().tolist()
    np.testing.assert_allclose(ours.idf_, ref.idf_, atol=1e-12)
    np.testing.assert_allclose(ours.transform(docs + NOVEL).toarray(), ref.transform(docs + NOVEL).toarray(),
                               atol=1e-12)
