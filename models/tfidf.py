"""The TF-IDF baseline: word and character n-gram TF-IDF + cue features, one logistic regression per layer.

Training builds a scikit-learn Pipeline (`warta.models.tfidf_estimators`);
prediction needs only the fitted numbers: per feature block its terms and idf
(`warta.models.tfidf_features`, numpy/scipy only), and the per-layer weights
stacked into one matrix, so every layer is scored with one sparse product.

Saved without pickle: ``weights.npz`` (idf per vectorizer; classes,
coefficients and intercepts per layer; read with ``allow_pickle=False``),
``vocabulary.json`` (terms per vectorizer) and ``model.json`` (parameters,
chosen C). Loading and predicting import neither scikit-learn, skops nor
torch; ``pipeline_`` rebuilds the scikit-learn Pipeline on demand.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, field_validator

from warta.errors import InputError
from warta.models.base import MODEL_CARD, Labelled, labels_from_proba
from warta.models.params import Params, TrainingArguments, model_section
from warta.models.safety import (
    FileName,
    Finite,
    ModelFile,
    _drop_layers,
    read_model_file,
    require_finite,
    require_finite_output,
)
from warta.models.tfidf_cues import CUE_LEXICONS, CUE_NAMES, Cues
from warta.models.tfidf_features import (
    NgramTfidf,
    SplitTexts,
    softmax_blocks,
    stack_heads,
)
from warta.schema import LAYER_NAMES, LAYERS

LayerName = Literal["type", "stance", "frame"]
CueLexiconName = Literal[tuple(CUE_LEXICONS)]  # type: ignore[valid-type]
CueWord = Annotated[str, Field(min_length=1, max_length=100)]

KIND = "tfidf"
WEIGHTS_FILE = "weights.npz"
VOCABULARY_FILE = "vocabulary.json"
VECTORIZER_BLOCKS = ("word", "char")
DEFAULT_BATCH = 1024
log = logging.getLogger("warta.train")

# The scikit-learn estimators, importable from here as before (old skops files name them so).
_ESTIMATORS = ("UnitSplitter", "NgramTfidfVectorizer", "CueFeatures", "PerLayerClassifier")


def __getattr__(name: str) -> Any:
    if name in _ESTIMATORS:
        from warta.models import tfidf_estimators

        return getattr(tfidf_estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The last fit's key and fitted state (see TfidfClassifier.fit): one entry, so memory stays bounded.
_LAST_FIT: tuple[str, dict[str, Any]] | None = None


def _fit_key(params: Mapping[str, Any], texts: Sequence[str], targets: Mapping[str, Sequence[str | None]],
             dev: Labelled | None) -> str:
    """A digest of everything a fit depends on: options, sentences, labels, dev sentences and labels."""
    digest = hashlib.sha256()
    dev_part = None if dev is None else [list(dev.texts), {k: list(v) for k, v in dev.targets.items()}]
    for part in (params, list(texts), {k: list(v) for k, v in targets.items()}, dev_part):
        digest.update(json.dumps(part, sort_keys=True, default=str, ensure_ascii=False).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _remember_fit(key: str, model: TfidfClassifier) -> None:
    global _LAST_FIT
    _LAST_FIT = (key, copy.deepcopy({k: v for k, v in model.__dict__.items() if k.endswith("_")}))


def _ordered(value: tuple[int, int]) -> tuple[int, int]:
    if value[0] > value[1]:
        raise ValueError(f"expected [min, max] with min <= max, got {list(value)}")
    return value


def _macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Dev selection uses exactly the macro-F1 that `warta evaluate` reports."""
    from warta.metrics import layer_metrics

    return layer_metrics(list(gold), list(pred), labels, n_boot=0)["macro_f1"]


Heads = dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]


WordNgrams = Annotated[tuple[Annotated[int, Field(ge=1, le=3)], Annotated[int, Field(ge=1, le=3)]],
                       AfterValidator(_ordered)]
CharNgrams = Annotated[tuple[Annotated[int, Field(ge=1, le=8)], Annotated[int, Field(ge=1, le=8)]],
                       AfterValidator(_ordered)]


class TfidfTrainingArguments(TrainingArguments):
    """TF-IDF training has nothing to tune beyond model.c_values; the batch size of the run's predictions."""

    predict_batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = DEFAULT_BATCH

    @property
    def prediction_batch_size(self) -> int:
        return self.predict_batch_size


class TfidfClassifier(Params):
    """Word + character n-gram TF-IDF with cue features; one logistic regression per layer, C tuned on dev."""

    kind = KIND
    training_arguments = TfidfTrainingArguments

    def __init__(
        self,
        layers: Sequence[str] = LAYER_NAMES,
        word_ngrams: WordNgrams = (1, 2),
        char_ngrams: CharNgrams = (2, 5),
        min_df: Annotated[int, Field(ge=1, le=1_000_000)] = 1,
        max_features: Annotated[int, Field(ge=1, le=100_000_000)] | None = None,
        sublinear_tf: bool = True,
        cue_features: bool = True,
        cue_weight: Annotated[float, Field(gt=0, le=1e6)] = 1.0,
        # layers whose classifier sees the cue block (built for `type`)
        cue_layers: list[LayerName] = ("type",),
        class_weight: Literal["balanced"] | None = "balanced",
        # C is tuned on dev over these values (per layer); one value fixes it.
        c_values: Annotated[list[Annotated[float, Field(gt=0, le=1e9)]], Field(min_length=1, max_length=100)] = (
            0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
        max_iter: Annotated[int, Field(ge=10, le=1_000_000)] = 2000,
        selection: Mapping[str, Mapping[str, float]] | None = None,
    ):
        self.layers = layers
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.cue_features = cue_features
        self.cue_weight = cue_weight
        self.cue_layers = cue_layers
        self.class_weight = class_weight
        self.c_values = c_values
        self.max_iter = max_iter
        # {"best_c": {layer: C}} chosen by an earlier dev selection (`selected()`): fit tunes nothing
        self.selection = selection

    @property
    def labels(self) -> dict[str, list[str]]:
        return {layer: list(LAYERS[layer]) for layer in self.layers}

    def build_features(self, cue_lexicons: Mapping[str, Sequence[str]] | None = None) -> Any:
        """The unfitted FeatureUnion of word, char (and cue) blocks; `cue_lexicons`: a saved model's words."""
        from sklearn.pipeline import FeatureUnion

        from warta.models.tfidf_estimators import CueFeatures, NgramTfidfVectorizer

        parts: list[tuple[str, Any]] = [
            ("word", NgramTfidfVectorizer("word", self.word_ngrams, min_df=self.min_df,
                                          max_features=self.max_features, sublinear_tf=self.sublinear_tf)),
            ("char", NgramTfidfVectorizer("char_wb", self.char_ngrams, min_df=self.min_df,
                                          max_features=self.max_features, sublinear_tf=self.sublinear_tf)),
        ]
        if self.cue_features:
            parts.append(("cues", CueFeatures(weight=self.cue_weight, lexicons=cue_lexicons)))
        return FeatureUnion(parts)

    def _targets_matrix(self, targets: Mapping[str, Sequence[str | None]], n: int) -> np.ndarray:
        Y = np.empty((n, len(self.layers)), dtype=object)
        for j, layer in enumerate(self.layers):
            values = list(targets.get(layer, [None] * n))
            if len(values) != n:
                raise ValueError(f"layer {layer!r}: {len(values)} targets for {n} texts")
            Y[:, j] = values
        return Y

    def fit(
        self,
        texts: Sequence[str],
        targets: Mapping[str, Sequence[str | None]],
        *,
        dev: Labelled | None = None,
        work_dir: str | Path | None = None,
        progress: bool = True,
    ) -> TfidfClassifier:
        """Fit on (texts, targets); with a dev set, pick C per layer by dev macro-F1.

        Ties go to the smaller C (more regularised). Without dev, C is the
        grid value closest to 1 (in log scale). `work_dir` and `progress` are
        not needed here (seconds, nothing to checkpoint).
        """
        # scikit-learn (and the BLAS scipy.linalg brings) must be loaded before the limit is set:
        # threadpoolctl limits only libraries already loaded, and a multi-threaded BLAS changes
        # the logistic regressions in the last digits.
        from threadpoolctl import threadpool_limits

        import warta.models.tfidf_estimators  # noqa: F401

        texts = list(texts)
        key = _fit_key(self.get_params(), texts, targets, dev)
        if _LAST_FIT is not None and _LAST_FIT[0] == key:
            # The same options on the same sentences (an ensemble's TF-IDF member and its hybrid's
            # TF-IDF head): the fit is a pure function of its inputs, so take a copy of the last one.
            self.__dict__.update(copy.deepcopy(_LAST_FIT[1]))
            self._pipeline = None  # rebuilt from the fitted numbers on demand
            log.info("tfidf: the same options and sentences as the previous fit; its fitted weights reused")
            return self
        # BLAS threads only add synchronisation cost to these small dense products.
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit(texts, targets, dev)
        _remember_fit(key, self)
        return self

    def selection_summary(self) -> dict[str, Any]:
        """C chosen per layer and the dev macro-F1 of every C tried."""
        return {"best_c": self.best_c_, "dev_macro_f1_by_c": self.tuning_}

    def selected(self) -> dict[str, Any]:
        """What dev selection chose (C per layer); `TfidfClassifier(selection=...)` refits with it, no dev."""
        return {"best_c": {layer: float(c) for layer, c in self.best_c_.items()}}

    def _fit(self, texts: list[str], targets: Mapping[str, Sequence[str | None]], dev: Labelled | None
             ) -> TfidfClassifier:
        Y = self._targets_matrix(targets, len(texts))
        from sklearn.pipeline import Pipeline

        from warta.models.tfidf_estimators import PerLayerClassifier, UnitSplitter

        splitter = UnitSplitter()
        features = self.build_features()
        X = features.fit_transform(splitter.transform(texts))
        labels = self.labels
        # the cue block is the last columns; layers outside cue_layers do not see it
        n_text = X.shape[1] - (len(CUE_NAMES) if self.cue_features else 0)
        limits = {layer: n_text for layer in self.layers if layer not in self.cue_layers}
        head_options = {"class_weight": self.class_weight, "max_iter": self.max_iter, "feature_limits": limits}
        self.tuning_: dict[str, dict[str, float]] = {}
        # each layer's classifier at every C of the dev grid (C ascending); the one chosen is kept, not refitted
        fitted: dict[float, PerLayerClassifier] = {}
        row_spaces: dict[Any, Any] = {}  # one decomposition of the training rows for every C
        if self.selection is not None:  # chosen by an earlier dev selection: nothing to tune
            best = {layer: float(self.selection["best_c"][layer]) for layer in self.layers}
        elif dev is not None and len(self.c_values) > 1:
            dev_texts = list(dev.texts)
            X_dev = features.transform(splitter.transform(dev_texts))
            Y_dev = self._targets_matrix(dev.targets, len(dev_texts))
            scores: dict[str, dict[float, float]] = {layer: {} for layer in self.layers}
            for c in sorted(self.c_values):
                fitted[c] = PerLayerClassifier(labels, C=c, **head_options).fit(X, Y, row_spaces)
                predicted = fitted[c].predict(X_dev)
                for j, layer in enumerate(self.layers):
                    rows = [i for i, v in enumerate(Y_dev[:, j]) if v is not None]
                    if rows:
                        scores[layer][c] = _macro_f1(Y_dev[rows, j], predicted[rows, j], labels[layer])
            best = {}
            for layer in self.layers:
                if scores[layer]:
                    best[layer] = max(sorted(scores[layer]), key=lambda c: scores[layer][c])
                else:
                    best[layer] = self._default_c()
                self.tuning_[layer] = {str(c): f1 for c, f1 in scores[layer].items()}
        else:
            best = {layer: self._default_c() for layer in self.layers}
        self.best_c_ = best
        heads = PerLayerClassifier(labels, C=dict(best), **head_options)
        if fitted:
            heads.combine({layer: fitted[best[layer]] for layer in self.layers})
        else:
            heads.fit(X, Y)
        self._pipeline = Pipeline([("units", splitter), ("features", features), ("layers", heads)])
        self._set_inference([step for _, step in features.transformer_list], heads.head_arrays(), X.shape[1])
        for layer in self.layers:
            by_c = " ".join(f"{c}:{f1:.3f}" for c, f1 in self.tuning_.get(layer, {}).items())
            log.info("tfidf %s: C=%s (dev macro-F1 by C: %s)", layer, self.best_c_[layer], by_c or "not tuned")
        return self

    def _default_c(self) -> float:
        return min(self.c_values, key=lambda c: abs(np.log(c)))

    # -- prediction (numpy/scipy only) --

    def _set_inference(self, blocks: list[Any], heads: Heads, n_features: int) -> None:
        """What prediction needs: the feature blocks and all layers' weights stacked."""
        self.blocks_ = blocks
        self.heads_ = heads
        self.coef_t_, self.intercept_ = stack_heads(self.layers, self.labels, heads, n_features)
        sizes = [len(self.labels[layer]) for layer in self.layers]
        self.offsets_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_t_"):
            raise ValueError("TfidfClassifier is not fitted")

    def _batch_proba(self, texts: list[str]) -> list[np.ndarray]:
        """Each feature block is multiplied by its slice of the stacked weights and the products
        summed (the blocks are never stacked), then a softmax per layer."""
        split = SplitTexts(texts)
        scores = np.broadcast_to(self.intercept_, (len(texts), len(self.intercept_))).copy()
        offset = 0
        for block in self.blocks_:
            matrix = block.transform(split)
            scores += matrix @ self.coef_t_[offset : offset + matrix.shape[1]]
            offset += matrix.shape[1]
        return softmax_blocks(scores, self.offsets_)

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, np.ndarray]:
        """{layer: (n, len(labels[layer])) probabilities}, columns in labels[layer] order.

        Rows are scored independently, so `batch_size` (default 1024) only bounds memory.
        """
        self._check_fitted()
        if isinstance(texts, str):
            raise ValueError("expected a list of texts, got one string")
        texts = list(texts)
        batch_size = batch_size or DEFAULT_BATCH
        chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in self.layers}
        for start in range(0, len(texts), batch_size):
            for layer, probs in zip(self.layers, self._batch_proba(texts[start : start + batch_size]), strict=True):
                chunks[layer].append(probs)
        return require_finite_output({
            layer: np.vstack(parts) if parts else np.zeros((0, len(LAYERS[layer])))
            for layer, parts in chunks.items()
        })

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, list[str]]:
        return labels_from_proba(self.predict_proba(texts, batch_size=batch_size), self.labels)

    @property
    def pipeline_(self) -> Any:
        """The fitted scikit-learn Pipeline (rebuilt from the saved numbers after `load`)."""
        self._check_fitted()
        if getattr(self, "_pipeline", None) is None:
            self._pipeline = self._rebuild_pipeline()
        return self._pipeline

    def _rebuild_pipeline(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        from warta.models.tfidf_estimators import PerLayerClassifier, UnitSplitter

        features = self.build_features(self._cue_lexicons())
        for (_, step), block in zip(features.transformer_list, self.blocks_, strict=True):
            if isinstance(block, NgramTfidf):
                step.terms_, step.idf_ = block.terms_, block.idf_
                step._reset_cache()
        n_features = self.coef_t_.shape[0]
        n_text = n_features - (len(CUE_NAMES) if self.cue_features else 0)
        limits = {layer: n_text for layer in self.layers if layer not in self.cue_layers}
        heads = PerLayerClassifier(self.labels, C=dict(self.best_c_), class_weight=self.class_weight,
                                   max_iter=self.max_iter, feature_limits=limits)
        heads.layers_, heads.labels_, heads.estimators_ = list(self.layers), self.labels, []
        for layer in self.layers:
            classes, coef, intercept = self.heads_[layer]
            if coef is None:
                heads.estimators_.append(str(classes[0]))
                continue
            estimator = LogisticRegression(C=heads._c_for(layer), class_weight=self.class_weight,
                                           max_iter=self.max_iter)
            estimator.classes_, estimator.coef_, estimator.intercept_ = classes, coef, intercept
            estimator.n_features_in_ = coef.shape[1]
            heads.estimators_.append(estimator)
        heads.offsets_, heads.n_features_in_ = self.offsets_, n_features
        return Pipeline([("units", UnitSplitter()), ("features", features), ("layers", heads)])

    def _cue_lexicons(self) -> dict[str, list[str]] | None:
        """The cue block's words (None without cue features)."""
        return next((block.lexicon_words() for block in self.blocks_ if isinstance(block, Cues)), None)

    # -- persistence (no pickle: arrays in .npz, vocabulary and parameters in JSON) --

    def save(self, folder: str | Path) -> None:
        """Write model.json (kind, labels, parameters, chosen C), vocabulary.json and weights.npz."""
        from importlib import metadata

        from warta.jsonl import write_json

        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        vectorizers = dict(zip(VECTORIZER_BLOCKS, self.blocks_[: len(VECTORIZER_BLOCKS)], strict=True))
        arrays: dict[str, np.ndarray] = {f"{name}.idf": block.idf_ for name, block in vectorizers.items()}
        for layer, (classes, coef, intercept) in self.heads_.items():
            arrays[f"{layer}.classes"] = np.asarray(classes, dtype=str)
            if coef is not None:
                arrays[f"{layer}.coef"], arrays[f"{layer}.intercept"] = coef, intercept
        np.savez(folder / WEIGHTS_FILE, **arrays)
        write_json(folder / VOCABULARY_FILE, {name: block.terms_.tolist() for name, block in vectorizers.items()})
        write_json(folder / MODEL_CARD, {
            "kind": KIND,
            "layers": list(self.layers),
            "labels": self.labels,
            "params": self.saved_params(),
            "best_c": self.best_c_,
            "tuning": self.tuning_,
            "weights": WEIGHTS_FILE,
            "vocabulary": VOCABULARY_FILE,
            # the cue words travel with the model: a later change to the built-in lists leaves its labels alone
            "cue_lexicons": self._cue_lexicons(),
            "versions": {"scikit-learn": metadata.version("scikit-learn"), "numpy": np.__version__},
        })

    @classmethod
    def load(cls, folder: str | Path) -> TfidfClassifier:
        """Read a saved model: JSON and an .npz read with allow_pickle=False, so nothing is executed.

        The folder is checked against `TfidfModelFile` first; NaN or infinite weights are refused.
        """
        from warta.jsonl import read_json

        folder = Path(folder)
        record = read_model_file(folder, cls.model_file)
        weights_path, vocabulary_path = folder / record.weights, folder / record.vocabulary
        model = cls(layers=list(record.layers), **record.params.model_dump(exclude={"kind"}))
        if record.labels != model.labels:
            raise InputError(f"{folder}: {MODEL_CARD} labels do not match the model's layers")
        try:
            with np.load(weights_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except Exception as exc:  # zipfile/ValueError/OSError on a corrupt or pickled file
            raise InputError(f"{weights_path}: unreadable weights ({type(exc).__name__}: {exc})") from None
        require_finite(arrays, weights_path)
        vocabulary = read_json(vocabulary_path)
        try:
            model._restore(arrays, vocabulary, record.cue_lexicons)
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{folder}: weights do not match {MODEL_CARD} ({type(exc).__name__}: {exc})") from None
        model.best_c_ = record.best_c
        model.tuning_ = record.tuning
        return model

    def _restore(self, arrays: dict[str, np.ndarray], vocabulary: dict[str, list[str]],
                 cue_lexicons: Mapping[str, Sequence[str]] | None = None) -> None:
        """Feature blocks and heads from saved arrays, checked against the parameters.

        `cue_lexicons`: the words saved with the model; None (models saved before warta recorded them)
        means the built-in lists."""
        blocks: list[Any] = []
        settings = {"word": ("word", self.word_ngrams), "char": ("char_wb", self.char_ngrams)}
        for name in VECTORIZER_BLOCKS:
            terms, idf = vocabulary[name], np.asarray(arrays[f"{name}.idf"], dtype=np.float64)
            if not isinstance(terms, list) or idf.shape != (len(terms),):
                raise ValueError(f"{name}: {len(terms)} terms but idf of shape {idf.shape}")
            analyzer, ngram_range = settings[name]
            block = NgramTfidf(analyzer, ngram_range, min_df=self.min_df, max_features=self.max_features,
                               sublinear_tf=self.sublinear_tf)
            block.terms_, block.idf_ = np.array(terms, dtype=str), idf
            block._reset_cache()
            blocks.append(block)
        n_text = sum(len(block.terms_) for block in blocks)
        if self.cue_features:
            blocks.append(Cues(weight=self.cue_weight, lexicons=cue_lexicons))
        n_features = n_text + (len(CUE_NAMES) if self.cue_features else 0)
        heads: Heads = {}
        for layer in self.layers:
            classes = arrays[f"{layer}.classes"]
            if classes.dtype.kind != "U" or not set(classes.tolist()) <= set(self.labels[layer]):
                raise ValueError(f"{layer}: classes {classes.tolist()} are not labels of the layer")
            if f"{layer}.coef" not in arrays:
                heads[layer] = (classes, None, None)
                continue
            coef = np.asarray(arrays[f"{layer}.coef"], dtype=np.float64)
            intercept = np.asarray(arrays[f"{layer}.intercept"], dtype=np.float64)
            rows = 1 if len(classes) == 2 else len(classes)
            used = n_features if layer in self.cue_layers else n_text
            if coef.shape != (rows, used) or intercept.shape != (rows,):
                raise ValueError(f"{layer}: coefficients of shape {coef.shape}, expected {(rows, used)}")
            heads[layer] = (classes, coef, intercept)
        self._pipeline = None
        self._set_inference(blocks, heads, n_features)


class TfidfModelFile(ModelFile):
    """model.json of a TF-IDF model (see warta.models.safety): its hyperparameters must be ones the
    constructor takes (the same section as the config's), its C values finite and positive."""

    FILES = ("weights", "vocabulary")

    kind: Literal["tfidf"]
    params: model_section(TfidfClassifier, nested=True) = model_section(TfidfClassifier, nested=True)()
    best_c: dict[LayerName, Annotated[Finite, Field(gt=0)]] = {}
    tuning: dict[str, dict[str, Finite]] = {}
    weights: FileName = WEIGHTS_FILE
    vocabulary: FileName = VOCABULARY_FILE
    cue_lexicons: dict[CueLexiconName, Annotated[list[CueWord], Field(max_length=100_000)]] | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _without_layers(cls, value: Any) -> Any:
        return _drop_layers(value)

    @field_validator("cue_lexicons")
    @classmethod
    def _every_lexicon(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is not None and set(value) != set(CUE_LEXICONS):
            raise ValueError(f"needs exactly the lexicons {sorted(CUE_LEXICONS)}")
        return value


TfidfClassifier.model_file = TfidfModelFile
