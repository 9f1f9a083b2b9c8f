"""The hybrid model: TF-IDF + cue features and frozen sentence-encoder embeddings, fused late.

Two heads per layer, both balanced logistic regressions with C chosen on dev:
- the TF-IDF head: exactly `TfidfClassifier` (word + char n-grams, cue features on `type`);
- the embedding head: frozen, mean-pooled, L2-normalised embeddings of ``text_prefix + text``
  (e5: "query: ") from any local encoder folder or hub name, standardised.
Probabilities are ``(1 - w) * p_tfidf + w * p_embedding`` per layer, with ``w`` =
`fusion_weight` (fixed) or, when null, picked on dev from `fusion_grid`.

Why late fusion, not one head on concatenated features: measured leave-one-outlet-out on the
seeds (bench/e5_probe_results.md), averaging the two heads kept `type` and gained on stance
and frame, while concatenation helped stance only and was the slowest to tune.

Embeddings are cached by text hash (`warta.models.embeddings`), so re-training on seen
sentences never runs the encoder. Saved folder: ``model.json`` (kind, layers, labels,
parameters, the encoder by reference: as given, resolved path and fingerprint, checked on
load), ``tfidf/`` (the TF-IDF head, its own format), ``embedding_heads.npz``
(standardisation and weights per layer, allow_pickle=False). With ``copy_encoder`` the
encoder folder is copied into ``encoder/`` and referenced relative to the model folder.
"""

from __future__ import annotations

import copy
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from warta.errors import InputError
from warta.models.base import MODEL_CARD, Labelled, labels_from_proba
from warta.models.embeddings import SentenceEmbedder, encoder_fingerprint
from warta.models.params import Nested, Params, TrainingArguments, model_section
from warta.models.safety import (
    FileName,
    Finite,
    ModelFile,
    _drop_layers,
    check_transformer_folder,
    inside,
    read_model_file,
    require_finite,
    require_finite_output,
)
from warta.models.tfidf import TfidfClassifier
from warta.models.tfidf_features import softmax_blocks, stack_heads
from warta.schema import LAYER_NAMES, LAYERS

LayerName = Literal["type", "stance", "frame"]

KIND = "hybrid"
HEADS_FILE = "embedding_heads.npz"
TFIDF_FOLDER = "tfidf"
ENCODER_FOLDER = "encoder"
log = logging.getLogger("warta.train")


def _macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    from warta.metrics import layer_metrics

    return layer_metrics(list(gold), list(pred), labels, n_boot=0)["macro_f1"]


def _labelled_rows(values: Sequence[str | None]) -> np.ndarray:
    return np.flatnonzero(np.array([v is not None for v in values], dtype=bool))


class HybridTrainingArguments(TrainingArguments):
    """Nothing is trained by gradient descent; prediction batch size and CPU threads for the encoder."""

    eval_batch_size: Annotated[int, Field(ge=1)] = 32
    cpu_threads: Annotated[int, Field(ge=1)] | None = None

    @property
    def prediction_batch_size(self) -> int:
        return self.eval_batch_size


class HybridClassifier(Params):
    """TF-IDF head + frozen sentence-embedding head per layer, probabilities averaged (models/hybrid.py)."""

    kind = KIND
    training_arguments = HybridTrainingArguments
    uses_encoder = True
    supports_quantize = True
    distributed_training = True
    # the encoder is recorded with its fingerprint; caching and copying are how this machine runs it
    unsaved_params = (*Params.unsaved_params, "encoder", "cache", "cache_dir", "copy_encoder")

    def __init__(
        self,
        encoder: str = "encoders/e5-small",  # local encoder folder or hub name (relative: to the current directory)
        layers: Sequence[str] = LAYER_NAMES,
        text_prefix: str = "query: ",  # e5's convention for texts to classify; "" for other encoders
        pooling: Literal["mean", "cls"] = "mean",
        max_length: Annotated[int, Field(ge=8, le=4096)] = 128,
        embedding_c_values: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] = (
            0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
        # weight of the embedding head; null: chosen per layer on dev from fusion_grid
        fusion_weight: Annotated[float, Field(ge=0, le=1)] | None = 0.5,
        fusion_grid: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=1)] = (
            0.0, 0.25, 0.5, 0.75, 1.0),
        class_weight: Literal["balanced"] | None = "balanced",
        max_iter: Annotated[int, Field(ge=10)] = 3000,
        tfidf: Annotated[Mapping[str, Any] | None, Nested(TfidfClassifier)] = None,  # the TF-IDF head's options
        cache: bool = True,  # embeddings cached by text hash
        cache_dir: Path | None = None,  # null: $WARTA_CACHE_DIR/embeddings or ~/.cache/warta/embeddings
        copy_encoder: bool = False,  # copy the encoder folder into the saved model (self-contained, +470 MB for e5)
        embed_batch_size: Annotated[int, Field(ge=1)] = 32,
        training: HybridTrainingArguments = HybridTrainingArguments(),
        device: str = "cpu",
        selection: Mapping[str, Mapping[str, float]] | None = None,
    ):
        self.encoder = encoder
        self.layers = layers
        self.text_prefix = text_prefix
        self.pooling = pooling
        self.max_length = max_length
        self.embedding_c_values = embedding_c_values
        self.fusion_weight = fusion_weight
        self.fusion_grid = fusion_grid
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tfidf = tfidf
        self.cache = cache
        self.cache_dir = cache_dir
        self.copy_encoder = copy_encoder
        self.embed_batch_size = embed_batch_size
        self.training = training
        self.device = device
        # fixed hyperparameters (`selected()` of a fitted model): fit without dev, e.g. `--refit all`
        self.selection = selection

    @property
    def embedder(self) -> SentenceEmbedder:
        """The frozen encoder with its embedding cache (built on first use; the encoder loads on a cache miss)."""
        if getattr(self, "_embedder", None) is None:
            self._embedder = SentenceEmbedder(str(self.encoder), self.text_prefix, self.pooling, self.max_length,
                                              self.embed_batch_size, self.cache_dir, self.cache,
                                              self.training.cpu_threads, self.device)
        return self._embedder

    def _tfidf_head(self) -> TfidfClassifier:
        """An unfitted TF-IDF head: the `tfidf` options on the hybrid's layers (and its selected C, if given)."""
        params = {key: value for key, value in (self.tfidf or {}).items() if key not in ("kind", "layers")}
        selection = None if self.selection is None else {"best_c": self.selection["tfidf_c"]}
        return TfidfClassifier(layers=self.layers, **params, selection=selection)

    def saved_params(self) -> dict[str, Any]:
        params = super().saved_params()
        if hasattr(self, "tfidf_"):  # the fitted head's full options, not just the ones given
            params["tfidf"] = self.tfidf_.saved_params()
        return params

    @property
    def labels(self) -> dict[str, list[str]]:
        return {layer: list(LAYERS[layer]) for layer in self.layers}

    # -- training --

    def fit(self, texts: Sequence[str], targets: Mapping[str, Sequence[str | None]], *, dev: Labelled | None = None,
            work_dir: str | Path | None = None, progress: bool = True) -> HybridClassifier:
        """Fit both heads on (texts, targets); C of each head and (if not fixed) the fusion weight on dev."""
        from threadpoolctl import threadpool_limits

        texts = list(texts)
        if self.selection is not None:
            dev = None  # hyperparameters are given: nothing to select
        self.tfidf_ = self._tfidf_head().fit(texts, targets, dev=dev, progress=progress)
        emb = self.embedder.embed(texts)
        dev_emb = self.embedder.embed(list(dev.texts)) if dev is not None and len(dev.texts) else None
        dev = dev if dev_emb is not None else None
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_embedding_heads(emb, targets, dev_emb, dev)
            self._choose_fusion(dev_emb, dev)
        self.encoder_fingerprint_ = self.embedder.fingerprint
        # a model fitted here predicts the labelled corpus next (dev, test, folds): cache those too
        self.store_predictions = True
        return self

    def selected(self) -> dict[str, dict[str, float]]:
        """The hyperparameters dev selection chose; `HybridClassifier(selection=...)` refits with them."""
        return {"tfidf_c": {k: float(v) for k, v in self.tfidf_.best_c_.items()},
                "embedding_c": {k: float(v) for k, v in self.best_c_.items()},
                "fusion_weight": {k: float(v) for k, v in self.weights_.items()}}

    def _fit_head(self, X: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, Any, Any]:
        from sklearn.linear_model import LogisticRegression

        present = sorted(set(y.tolist()))
        if len(present) == 1:
            return np.array(present, dtype=str), None, None
        clf = LogisticRegression(C=c, class_weight=self.class_weight, max_iter=self.max_iter).fit(X, y)
        return np.asarray(clf.classes_, dtype=str), clf.coef_, clf.intercept_

    def _fit_embedding_heads(self, emb: np.ndarray, targets: Mapping[str, Sequence[str | None]],
                             dev_emb: np.ndarray | None, dev: Labelled | None) -> None:
        self.mean_ = emb.mean(axis=0)
        self.scale_ = emb.std(axis=0)
        self.scale_[self.scale_ < 1e-8] = 1.0
        X = (emb - self.mean_) / self.scale_
        X_dev = None if dev_emb is None else (dev_emb - self.mean_) / self.scale_
        self.heads_: dict[str, tuple[np.ndarray, Any, Any]] = {}
        self.best_c_: dict[str, float] = {}
        self.tuning_: dict[str, dict[str, float]] = {}
        for layer in self.layers:
            values = list(targets.get(layer, [None] * len(X)))
            rows = _labelled_rows(values)
            if not len(rows):
                raise ValueError(f"layer {layer!r}: no labelled training sentences")
            y = np.array([values[i] for i in rows], dtype=str)
            unknown = sorted(set(y.tolist()) - set(self.labels[layer]))
            if unknown:
                raise ValueError(f"layer {layer!r}: unknown label(s) {unknown}")
            scores: dict[float, float] = {}
            dev_rows = _labelled_rows(dev.targets.get(layer, [])) if dev is not None else np.zeros(0, int)
            if self.selection is not None:
                best = float(self.selection["embedding_c"][layer])
            elif X_dev is not None and len(dev_rows) and len(self.embedding_c_values) > 1:
                gold = [dev.targets[layer][i] for i in dev_rows]
                for c in sorted(self.embedding_c_values):
                    head = self._fit_head(X[rows], y, c)
                    pred = self._head_predict(layer, head, X_dev[dev_rows])
                    scores[c] = _macro_f1(gold, pred, self.labels[layer])
            if scores:
                best = max(sorted(scores), key=lambda c: scores[c])  # ties: the smaller C
            elif self.selection is None:
                best = min(self.embedding_c_values, key=lambda c: abs(np.log(c) - np.log(0.01)))
            self.best_c_[layer] = best
            self.tuning_[layer] = {str(c): f for c, f in scores.items()}
            self.heads_[layer] = self._fit_head(X[rows], y, best)
        self._stack()

    def _head_predict(self, layer: str, head: tuple, X: np.ndarray) -> list[str]:
        coef_t, intercept = stack_heads([layer], self.labels, {layer: head}, X.shape[1])
        probs = softmax_blocks(X @ coef_t + intercept, [0, len(self.labels[layer])])[0]
        return [self.labels[layer][i] for i in probs.argmax(axis=1)]

    def _stack(self) -> None:
        self.coef_t_, self.intercept_ = stack_heads(self.layers, self.labels, self.heads_, len(self.mean_))
        sizes = [len(self.labels[layer]) for layer in self.layers]
        self.offsets_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def _choose_fusion(self, dev_emb: np.ndarray | None, dev: Labelled | None) -> None:
        self.fusion_tuning_: dict[str, dict[str, float]] = {}
        if self.selection is not None:
            self.weights_ = {layer: float(self.selection["fusion_weight"][layer]) for layer in self.layers}
            return
        if self.fusion_weight is not None or dev is None:
            self.weights_ = {layer: 0.5 if self.fusion_weight is None else self.fusion_weight for layer in self.layers}
            return
        p_tfidf = self.tfidf_.predict_proba(list(dev.texts))
        p_emb = self._embedding_proba(dev_emb)
        self.weights_ = {}
        for layer in self.layers:
            rows = _labelled_rows(dev.targets.get(layer, []))
            if not len(rows):
                self.weights_[layer] = 0.5
                continue
            gold = [dev.targets[layer][i] for i in rows]
            scores = {}
            for w in self.fusion_grid:
                p = (1 - w) * p_tfidf[layer][rows] + w * p_emb[layer][rows]
                scores[w] = _macro_f1(gold, [self.labels[layer][i] for i in p.argmax(axis=1)], self.labels[layer])
            # ties: the weight closest to an even mix (the measured default)
            self.weights_[layer] = max(sorted(scores, key=lambda w: abs(w - 0.5)), key=lambda w: scores[w])
            self.fusion_tuning_[layer] = {str(w): f for w, f in scores.items()}

    def selection_summary(self) -> dict[str, Any]:
        return {"selected": self.selected(), "tfidf": self.tfidf_.selection_summary(), "embedding_best_c": self.best_c_,
                "embedding_dev_macro_f1_by_c": self.tuning_, "fusion_weight": self.weights_,
                "fusion_dev_macro_f1_by_weight": self.fusion_tuning_}

    # -- prediction --

    def _embedding_proba(self, emb: np.ndarray) -> dict[str, np.ndarray]:
        scores = ((emb - self.mean_) / self.scale_) @ self.coef_t_ + self.intercept_
        return dict(zip(self.layers, softmax_blocks(scores, self.offsets_), strict=True))

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, np.ndarray]:
        """{layer: (n, labels)} = (1 - w) * TF-IDF head + w * embedding head; rows independent.

        New texts are added to the cache only by a model fitted in this process (its dev/test/fold
        sentences); a loaded model (`warta label`, `warta evaluate`) only reads it, so labelling
        streams never grow it.
        """
        if isinstance(texts, str):
            raise ValueError("expected a list of texts, got one string")
        if not hasattr(self, "coef_t_"):
            raise ValueError("HybridClassifier is not fitted")
        texts = list(texts)
        if not texts:
            return {layer: np.zeros((0, len(self.labels[layer]))) for layer in self.layers}
        if batch_size:
            self.embedder.batch_size = batch_size
        p_tfidf = self.tfidf_.predict_proba(texts)
        p_emb = self._embedding_proba(self.embedder.embed(texts, store=self.store_predictions))
        return require_finite_output({layer: (1 - self.weights_[layer]) * p_tfidf[layer] + self.weights_[layer]
                                      * p_emb[layer] for layer in self.layers})

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, list[str]]:
        return labels_from_proba(self.predict_proba(texts, batch_size=batch_size), self.labels)

    # labelling engine hooks (an encoder runs in the main process, like the transformer)
    store_predictions = False

    @property
    def quantized(self) -> bool:
        return bool(self.embedder.quantized)

    def quantize_int8(self, backend: str | None = None) -> HybridClassifier:
        """Embed with an int8 encoder (CPU; ONNX Runtime where installed); see SentenceEmbedder.quantize_int8."""
        self.embedder.quantize_int8(backend)
        return self

    def __copy__(self) -> HybridClassifier:
        # a copy with its own embedder: `copy.copy(model).quantize_int8()` (warta label --backend on a model
        # given loaded) must leave the caller's embedder, and its encoder, as they were
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        if getattr(self, "_embedder", None) is not None:
            clone._embedder = copy.copy(self._embedder)
        return clone

    def default_batch_size(self) -> int:
        return self.embed_batch_size

    def to(self, device: str) -> HybridClassifier:
        self.embedder.to(str(device))
        return self

    # -- persistence --

    def save(self, folder: str | Path) -> None:
        """model.json + tfidf/ + embedding_heads.npz; the encoder by reference (or copied, `copy_encoder`)."""
        from importlib import metadata

        from warta.jsonl import write_json

        if not hasattr(self, "coef_t_"):
            raise ValueError("HybridClassifier is not fitted")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.tfidf_.save(folder / TFIDF_FOLDER)
        arrays: dict[str, np.ndarray] = {"mean": self.mean_, "scale": self.scale_}
        for layer, (classes, coef, intercept) in self.heads_.items():
            arrays[f"{layer}.classes"] = np.asarray(classes, dtype=str)
            if coef is not None:
                arrays[f"{layer}.coef"], arrays[f"{layer}.intercept"] = coef, intercept
        np.savez(folder / HEADS_FILE, **arrays)
        local = Path(self.encoder).expanduser()
        encoder = {"name_or_path": self.encoder, "fingerprint": self.encoder_fingerprint_,
                   "path": str(local.resolve()) if local.is_dir() else None, "copied": False}
        if self.copy_encoder and local.is_dir():
            target = folder / ENCODER_FOLDER
            if target.resolve() != local.resolve():
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(local, target)
            encoder.update(path=ENCODER_FOLDER, copied=True)
        write_json(folder / MODEL_CARD, {
            "kind": KIND, "layers": list(self.layers), "labels": self.labels, "params": self.saved_params(),
            "encoder": encoder, "fusion_weight": self.weights_, "best_c": self.best_c_, "tuning": self.tuning_,
            "fusion_tuning": self.fusion_tuning_, "heads": HEADS_FILE, "tfidf": TFIDF_FOLDER,
            "versions": {"scikit-learn": metadata.version("scikit-learn"), "numpy": np.__version__},
        })

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None, encoder: str | None = None,
             cache_dir: str | Path | None = None, quantize: bool = False) -> HybridClassifier:
        """Heads from JSON/npz (allow_pickle=False); the encoder from the recorded path (or `encoder`),
        refused when its fingerprint differs from the one the heads were trained on."""
        folder = Path(folder)
        record = read_model_file(folder, cls.model_file)
        if encoder is None:
            path = record.encoder.path
            if record.encoder.copied:
                encoder = str(folder / str(path))
            else:
                encoder = path if path and Path(path).is_dir() else record.encoder.name_or_path
        if not encoder:
            raise InputError(f"{folder / MODEL_CARD}: no encoder recorded")
        if Path(encoder).expanduser().is_dir() and encoder_fingerprint(encoder) != record.encoder.fingerprint:
            raise InputError(f"{encoder}: not the encoder this model was trained with (fingerprint differs; "
                             f"trained with {record.encoder.name_or_path!r})")
        params = {**record.params.model_dump(exclude={"kind"}), "encoder": encoder, "cache_dir": cache_dir,
                  "device": device or "cpu"}
        model = cls(layers=list(record.layers), **params)
        if record.labels != model.labels:
            raise InputError(f"{folder}: {MODEL_CARD} labels do not match the model's layers")
        model.tfidf_ = TfidfClassifier.load(folder / record.tfidf)
        heads_path = folder / record.heads
        try:
            with np.load(heads_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except Exception as exc:  # corrupt or pickled arrays
            raise InputError(f"{heads_path}: unreadable embedding heads ({type(exc).__name__}: {exc})") from None
        require_finite(arrays, heads_path)
        try:
            model._restore(arrays)
        except FileNotFoundError:
            raise InputError(f"{heads_path}: embedding heads missing") from None
        except (KeyError, ValueError, TypeError, IndexError) as exc:  # mismatched arrays
            raise InputError(f"{heads_path}: embedding heads do not match {MODEL_CARD} "
                             f"({type(exc).__name__}: {exc})") from None
        model.weights_ = dict(record.fusion_weight)
        model.best_c_, model.tuning_, model.fusion_tuning_ = record.best_c, record.tuning, record.fusion_tuning
        model.encoder_fingerprint_ = record.encoder.fingerprint
        if quantize:
            model.quantize_int8()
        return model

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        self.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        self.heads_ = {}
        for layer in self.layers:
            classes = arrays[f"{layer}.classes"]
            if not set(classes.tolist()) <= set(self.labels[layer]):
                raise ValueError(f"{layer}: classes {classes.tolist()} are not labels of the layer")
            if f"{layer}.coef" not in arrays:
                self.heads_[layer] = (classes, None, None)
                continue
            coef = np.asarray(arrays[f"{layer}.coef"], dtype=np.float64)
            if coef.shape[1] != len(self.mean_):
                raise ValueError(f"{layer}: coefficients for {coef.shape[1]} dimensions, embeddings have "
                                 f"{len(self.mean_)}")
            self.heads_[layer] = (classes, coef, np.asarray(arrays[f"{layer}.intercept"], dtype=np.float64))
        self._stack()


class EncoderRecord(BaseModel):
    """The encoder a hybrid was fitted with: as given, its resolved path (or a copy in the folder), fingerprint."""

    model_config = ConfigDict(extra="ignore")

    name_or_path: str
    fingerprint: str | None = None
    path: str | None = None
    copied: bool = False


class HybridModelFile(ModelFile):
    """model.json of a hybrid (see warta.models.safety): hyperparameters the constructor takes, fusion
    weights in [0, 1] for every layer, the TF-IDF head's folder and a copied encoder inside the folder."""

    FILES = ("heads",)
    FOLDERS = ("tfidf",)

    kind: Literal["hybrid"]
    params: model_section(HybridClassifier, nested=True) = model_section(HybridClassifier, nested=True)()
    encoder: EncoderRecord
    fusion_weight: dict[LayerName, Annotated[Finite, Field(ge=0, le=1)]]
    best_c: dict[LayerName, Annotated[Finite, Field(gt=0)]] = {}
    tuning: dict[str, dict[str, Finite]] = {}
    fusion_tuning: dict[str, dict[str, Finite]] = {}
    heads: FileName = HEADS_FILE
    tfidf: FileName = TFIDF_FOLDER

    @field_validator("params", mode="before")
    @classmethod
    def _without_layers(cls, value: Any) -> Any:
        return _drop_layers(value, nested=("tfidf",))

    @model_validator(mode="after")
    def _every_layer_fused(self) -> HybridModelFile:
        missing = [layer for layer in self.layers if layer not in self.fusion_weight]
        if missing:
            raise ValueError(f"fusion_weight: no weight for layer(s) {missing}")
        return self

    def check_folder(self, folder: Path) -> None:
        if self.encoder.copied:  # a copy inside the model folder: a plain name, and a model folder itself
            name = self.encoder.path or ""
            try:
                FileNameCheck.validate_python(name)
            except ValueError:
                raise InputError(f"{folder / MODEL_CARD}: encoder.path: {name!r} must be a folder name inside the "
                                 "model folder") from None
            check_transformer_folder(inside(folder, name, folder / MODEL_CARD, "encoder.path"))


HybridClassifier.model_file = HybridModelFile
FileNameCheck = TypeAdapter(FileName)
