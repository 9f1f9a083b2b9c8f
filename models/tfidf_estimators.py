"""The TF-IDF model as scikit-learn estimators, used to train it.

    Pipeline([
        ("units", UnitSplitter()),         # lowercase + whitespace split, once for all blocks
        ("features", FeatureUnion([
            ("word", NgramTfidfVectorizer(analyzer="word", ngram_range=(1, 2))),
            ("char", NgramTfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))),
            ("cues", CueFeatures()),   # attribution verbs, hedges, evaluative words, quote marks
        ])),
        ("layers", PerLayerClassifier()),   # one logistic regression per layer
    ])

The computations live in `warta.models.tfidf_features` (no scikit-learn
import), so a saved model loads and predicts without importing scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression

from warta.models.tfidf_cues import Cues
from warta.models.tfidf_features import (
    NgramTfidf,
    SplitTexts,
    softmax_blocks,
    stack_heads,
)
from warta.schema import LAYERS


class UnitSplitter(TransformerMixin, BaseEstimator):
    """First pipeline step: lowercase and split each text once for all feature blocks."""

    def __init__(self, lowercase: bool = True):
        self.lowercase = lowercase

    def fit(self, raw_documents: Sequence[str], y: Any = None) -> UnitSplitter:
        return self

    def __sklearn_is_fitted__(self) -> bool:  # stateless
        return True

    def transform(self, raw_documents: Sequence[str]) -> SplitTexts:
        if isinstance(raw_documents, str):
            raise ValueError("expected a list of texts, got one string")
        return SplitTexts(list(raw_documents), self.lowercase)


class NgramTfidfVectorizer(NgramTfidf, TransformerMixin, BaseEstimator):
    """`NgramTfidf` as a scikit-learn transformer (get_params, clone, pipelines)."""


class CueFeatures(Cues, TransformerMixin, BaseEstimator):
    """`Cues` as a scikit-learn transformer; stateless apart from a per-word cache."""

    def __sklearn_is_fitted__(self) -> bool:  # stateless (the word cache is derived data)
        return True


# --- one classifier per layer --------------------------------------------------------


class PerLayerClassifier(ClassifierMixin, BaseEstimator):
    """One logistic regression per layer over shared features.

    fit(X, Y): Y has one column per layer (label strings, None where unlabelled).
    predict_proba(X): one array per layer, columns in `labels[layer]` order (a
    label never seen in training gets probability 0). All layers are scored
    with one sparse product.
    """

    def __init__(
        self,
        labels: Mapping[str, Sequence[str]] | None = None,
        C: float | Mapping[str, float] = 1.0,
        class_weight: str | None = "balanced",
        max_iter: int = 2000,
        feature_limits: Mapping[str, int] | None = None,
    ):
        self.labels = labels
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.feature_limits = feature_limits

    def _limit(self, layer: str, n_features: int) -> int:
        """How many leading feature columns this layer's classifier uses (all by default)."""
        limits = self.feature_limits or {}
        return min(int(limits.get(layer, n_features)), n_features)

    def _c_for(self, layer: str) -> float:
        return float(self.C[layer]) if isinstance(self.C, Mapping) else float(self.C)

    def fit(self, X: Any, Y: Any) -> PerLayerClassifier:
        labels = {layer: list(values) for layer, values in (self.labels or LAYERS).items()}
        Y = np.asarray(Y, dtype=object)
        if Y.ndim != 2 or Y.shape[1] != len(labels):
            raise ValueError(f"Y must have one column per layer ({list(labels)}), got shape {Y.shape}")
        self.layers_ = list(labels)
        self.labels_ = labels
        self.estimators_ = []
        columns = []
        n_features = X.shape[1]
        for j, layer in enumerate(self.layers_):
            rows = np.flatnonzero(np.array([value is not None for value in Y[:, j]]))
            y = Y[rows, j].astype(str)
            unknown = sorted(set(y) - set(labels[layer]))
            if unknown:
                raise ValueError(f"layer {layer!r}: unknown label(s) {unknown}")
            present = sorted(set(y))
            if len(present) == 0:
                raise ValueError(f"layer {layer!r}: no labelled training sentences")
            if len(present) == 1:
                estimator: Any = present[0]  # constant prediction
            else:
                estimator = LogisticRegression(
                    C=self._c_for(layer), class_weight=self.class_weight, max_iter=self.max_iter
                ).fit(X[rows][:, : self._limit(layer, n_features)], y)
            self.estimators_.append(estimator)
            columns.append(len(labels[layer]))
        self.offsets_ = np.concatenate([[0], np.cumsum(columns)]).astype(np.int64)
        self.n_features_in_ = n_features
        self.__dict__.pop("_stacked", None)
        return self

    def combine(self, by_layer: Mapping[str, PerLayerClassifier]) -> PerLayerClassifier:
        """Fitted from other fits over the same features: each layer's classifier taken from `by_layer[layer]`
        (C chosen per layer on a grid without fitting the chosen ones again)."""
        first = next(iter(by_layer.values()))
        self.layers_, self.labels_, self.offsets_ = list(first.layers_), first.labels_, first.offsets_
        self.estimators_ = [by_layer[layer].estimators_[j] for j, layer in enumerate(self.layers_)]
        self.n_features_in_ = first.n_features_in_
        self.__dict__.pop("_stacked", None)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_stacked", None)  # derived from estimators_
        return state

    def head_arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """layer -> (classes, coef, intercept) of its logistic regression; ((label,), None, None) if constant."""
        out = {}
        for layer, estimator in zip(self.layers_, self.estimators_, strict=True):
            if isinstance(estimator, str):
                out[layer] = (np.array([estimator], dtype=str), None, None)
            else:
                out[layer] = (np.asarray(estimator.classes_), estimator.coef_, estimator.intercept_)
        return out

    def _stacked_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """All layers' weights as one (sum of labels, features) matrix, columns in label order."""
        if "_stacked" not in self.__dict__:
            self._stacked = stack_heads(self.layers_, self.labels_, self.head_arrays(), self.n_features_in_)
        return self._stacked

    def decision_function(self, X: Any) -> np.ndarray:
        coef_t, intercept = self._stacked_weights()
        return np.asarray(X @ coef_t) + intercept

    def predict_proba(self, X: Any) -> list[np.ndarray]:
        return self.proba_from_scores(self.decision_function(X))

    def proba_from_scores(self, scores: np.ndarray) -> list[np.ndarray]:
        """Per-layer softmax of the stacked decision scores."""
        return softmax_blocks(scores, self.offsets_)

    def predict(self, X: Any) -> np.ndarray:
        probs = self.predict_proba(X)
        names = [np.asarray(self.labels_[layer], dtype=object) for layer in self.layers_]
        return np.column_stack([labels[p.argmax(axis=1)] for labels, p in zip(names, probs, strict=True)])
