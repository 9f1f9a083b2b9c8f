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

# Up to this many training rows a layer's logistic regression is solved in the span of its rows (RowSpace);
# beyond it the Gram matrix (rows x rows) and its eigendecomposition cost more than they save.
ROW_SPACE_MAX_ROWS = 2000


class RowSpace:
    """An orthonormal basis of the span of a sparse matrix's rows, to fit an L2-regularised linear model there.

    With far more features than sentences (TF-IDF n-grams: ~10^5 columns, ~10^3 rows) the penalised
    optimum lies in the span of the rows (the representer theorem): with X = U diag(s) V^T, fitting on
    Z = U diag(s) (rows x rank) and lifting the coefficients back with V gives the same optimum while
    the optimiser works on ~10^3 instead of ~10^5 coefficients per class (L-BFGS cost is linear in them).
    V is never formed: V^T = diag(1/s) U^T X.
    """

    def __init__(self, X: Any, rtol: float = 1e-10):
        gram = np.asarray((X @ X.T).todense() if hasattr(X, "todense") else X @ X.T, dtype=np.float64)
        eigenvalues, vectors = np.linalg.eigh(gram)
        keep = eigenvalues > eigenvalues.max(initial=0.0) * rtol  # directions the rows (numerically) span
        self.X = X
        self.vectors = vectors[:, keep]
        self.singular = np.sqrt(eigenvalues[keep])
        self.Z = self.vectors * self.singular  # = X V: the rows in the basis

    def lift(self, coef: np.ndarray) -> np.ndarray:
        """(k, rank) coefficients on Z -> (k, n_features) coefficients on X: coef V^T."""
        scaled = (coef / self.singular) @ self.vectors.T  # (k, rows)
        return np.asarray((self.X.T @ scaled.T).T)


def fit_logistic(X: Any, y: np.ndarray, spaces: dict[Any, RowSpace] | None = None, key: Any = None,
                 **options: Any) -> LogisticRegression:
    """A fitted `LogisticRegression(**options)` on (X, y), solved in the row span when that is cheaper.

    `spaces` caches one RowSpace per `key` (the same rows and columns), so a grid over C decomposes once.
    """
    if X.shape[1] <= X.shape[0] or X.shape[0] > ROW_SPACE_MAX_ROWS:
        return LogisticRegression(**options).fit(X, y)
    space = spaces.get(key) if spaces is not None else None
    if space is None:
        space = RowSpace(X)
        if spaces is not None:
            spaces[key] = space
    reduced = LogisticRegression(**options).fit(space.Z, y)
    model = LogisticRegression(**options)
    model.classes_, model.intercept_, model.n_iter_ = reduced.classes_, reduced.intercept_, reduced.n_iter_
    model.coef_ = space.lift(reduced.coef_)
    model.n_features_in_ = X.shape[1]
    return model


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

    def fit(self, X: Any, Y: Any, row_spaces: dict[Any, RowSpace] | None = None) -> PerLayerClassifier:
        """`row_spaces`: a cache shared by fits over the same X (a grid over C), see `fit_logistic`."""
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
                limit = self._limit(layer, n_features)
                estimator = fit_logistic(X[rows][:, :limit], y, row_spaces, key=(rows.tobytes(), limit),
                                         C=self._c_for(layer), class_weight=self.class_weight,
                                         max_iter=self.max_iter)
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
