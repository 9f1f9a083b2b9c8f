"""The ensemble model: member models of other kinds, their per-layer probabilities averaged.

    model:
      kind: ensemble
      members:                      # each: another kind's `model:` section (+ its `train:` section)
        - {kind: tfidf}
        - {kind: hybrid, fusion_weight: null}
        - {kind: transformer, name_or_path: encoders/e5-small, train: {epochs: 8}}
      weights: null                 # null: chosen per layer on dev; or {type: [0.5, 0.5], ...}

Every member is fitted on the same sentences and selects its own hyperparameters on the same dev
sentences; then, per layer, the weights of the members' probabilities are either given or picked on
dev (macro-F1 of the weighted mean's argmax) among the normalised weight vectors built from
`weight_grid` (ties: the vector closest to equal weights). Probabilities are
``sum_m w[layer][m] * p_m[layer]``. `selected()` holds each member's own selection and the weights,
so ``--refit all`` refits every member with what dev chose, without dev.

Saved folder: ``model.json`` (kind, layers, labels, parameters, weights per layer, the member
folder names) and ``member-0/``, ``member-1/`` ... each saved by its own kind in its own safe
format and loaded by `warta.models.load_model` (which checks it like any model folder).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from warta.errors import InputError
from warta.models.base import MODEL_CARD, Labelled, labels_from_proba
from warta.models.params import Params, TrainingArguments, model_section, param_names
from warta.models.safety import FileName, Finite, ModelFile, inside, read_model_file, require_finite_output
from warta.schema import LAYER_NAMES, LAYERS

KIND = "ensemble"
LayerName = Literal["type", "stance", "frame"]
MEMBER_FOLDER = "member-{}"


def _macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    from warta.metrics import layer_metrics

    return layer_metrics(list(gold), list(pred), labels, n_boot=0)["macro_f1"]


def weight_candidates(n_members: int, grid: Sequence[float]) -> list[tuple[float, ...]]:
    """Normalised weight vectors from `grid` per member (all-zero dropped, duplicates merged), in a fixed order."""
    seen: dict[tuple[float, ...], None] = {}
    for combo in itertools.product(sorted(set(float(g) for g in grid)), repeat=n_members):
        total = sum(combo)
        if total > 0:
            seen.setdefault(tuple(round(c / total, 6) for c in combo), None)
    return list(seen)


class EnsembleTrainingArguments(TrainingArguments):
    """Batch size of the run's own predictions; each member's `train:` section is given with the member."""

    eval_batch_size: Annotated[int, Field(ge=1)] = 32

    @property
    def prediction_batch_size(self) -> int:
        return self.eval_batch_size


class EnsembleClassifier(Params):
    """Member models of other kinds, per-layer probabilities averaged with weights given or chosen on dev."""

    kind = KIND
    training_arguments = EnsembleTrainingArguments
    uses_encoder = True  # labelled in the main process: members may run an encoder (hybrid, transformer)
    supports_quantize = True  # its encoder members (quantize_int8)

    def __init__(
        self,
        # each member: another kind's `model:` section, optionally with that kind's `train:` section under `train`
        members: Annotated[list[dict[str, Any]], Field(min_length=2, max_length=4)] = (
            {"kind": "tfidf"}, {"kind": "hybrid"}),
        # per layer, one weight per member (normalised); null: chosen per layer on dev from weight_grid
        weights: dict[LayerName, list[Annotated[float, Field(ge=0)]]] | None = None,
        weight_grid: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=1)] = (
            0.0, 0.25, 0.5, 0.75, 1.0),
        layers: Sequence[str] = LAYER_NAMES,
        seed: int = 0,
        training: EnsembleTrainingArguments = EnsembleTrainingArguments(),
        device: str = "cpu",
        selection: Mapping[str, Any] | None = None,
    ):
        self.members = members
        self.weights = weights
        self.weight_grid = weight_grid
        self.layers = layers
        self.seed = seed
        self.training = training
        self.device = device
        # fixed hyperparameters (`selected()` of a fitted ensemble): fit without dev, e.g. `--refit all`
        self.selection = selection

    @property
    def labels(self) -> dict[str, list[str]]:
        return {layer: list(LAYERS[layer]) for layer in self.layers}

    # -- members --

    def member_models(self) -> list[Any]:
        """Unfitted member models, each validated as its kind's `model:` (and `train:`) section."""
        from warta.models import model_class

        built = []
        for i, raw in enumerate(self.members):
            where = f"model.members[{i}]"
            if not isinstance(raw, Mapping) or not isinstance(raw.get("kind"), str):
                raise InputError(f"{where}: expected another kind's model section with a `kind`")
            if raw["kind"] == KIND:
                raise InputError(f"{where}: an ensemble cannot hold an ensemble")
            cls = model_class(raw["kind"])
            section = {key: value for key, value in raw.items() if key != "train"}
            try:
                params = model_section(cls).model_validate(section)
                training = cls.training_arguments.model_validate(raw.get("train") or {})
            except ValidationError as exc:
                from warta.errors import validation_message

                raise InputError(validation_message(where, exc)) from None
            kwargs = {name: value.model_dump(exclude={"kind"}) if hasattr(value, "model_dump") else value
                      for name, value in params if name != "kind"}
            run = {"layers": list(self.layers), "seed": self.seed, "training": training, "device": self.device}
            accepted = set(param_names(cls))
            model = cls(**kwargs, **{k: v for k, v in run.items() if k in accepted})
            if self.selection is not None:
                model.set_params(selection=self.selection["members"][i])
            built.append(model)
        return built

    # -- training --

    def fit(self, texts: Sequence[str], targets: Mapping[str, Sequence[str | None]], *, dev: Labelled | None = None,
            work_dir: str | Path | None = None, progress: bool = True) -> EnsembleClassifier:
        """Fit every member on (texts, targets) selecting on dev; then the weights per layer (given or on dev)."""
        texts = list(texts)
        if self.selection is not None:
            dev = None  # hyperparameters are given: nothing to select
        self.members_ = []
        for i, member in enumerate(self.member_models()):
            member_dir = None if work_dir is None else Path(work_dir) / MEMBER_FOLDER.format(i)
            self.members_.append(member.fit(texts, targets, dev=dev, work_dir=member_dir, progress=progress))
        self._choose_weights(dev)
        return self

    def _choose_weights(self, dev: Labelled | None) -> None:
        n = len(self.members)
        self.weight_tuning_: dict[str, dict[str, float]] = {}
        if self.selection is not None:
            self.weights_ = {layer: [float(w) for w in self.selection["weights"][layer]] for layer in self.layers}
            return
        if self.weights is not None:
            missing = [layer for layer in self.layers if layer not in self.weights]
            if missing or any(len(self.weights[layer]) != n or sum(self.weights[layer]) <= 0 for layer in self.layers):
                raise InputError(f"model.weights: one non-negative weight per member ({n}) for every layer "
                                 f"{list(self.layers)}, not all zero")
            self.weights_ = {layer: [w / sum(self.weights[layer]) for w in self.weights[layer]]
                             for layer in self.layers}
            return
        equal = tuple([1.0 / n] * n)
        self.weights_ = {layer: list(equal) for layer in self.layers}
        if dev is None or not len(dev.texts):
            return
        member_probs = [m.predict_proba(list(dev.texts)) for m in self.members_]
        candidates = sorted(weight_candidates(n, self.weight_grid),
                            key=lambda w: float(np.abs(np.array(w) - np.array(equal)).sum()))
        for layer in self.layers:
            rows = [i for i, value in enumerate(dev.targets.get(layer, [])) if value is not None]
            if not rows:
                continue
            gold = [dev.targets[layer][i] for i in rows]
            scores = {}
            for w in candidates:
                p = sum(wm * probs[layer][rows] for wm, probs in zip(w, member_probs))
                scores[w] = _macro_f1(gold, [self.labels[layer][i] for i in p.argmax(axis=1)], self.labels[layer])
            best = max(candidates, key=lambda w: scores[w])  # first maximum: closest to equal weights
            self.weights_[layer] = list(best)
            self.weight_tuning_[layer] = {",".join(f"{x:g}" for x in w): f for w, f in scores.items()}

    def selected(self) -> dict[str, Any]:
        """Each member's own selection and the weights; `EnsembleClassifier(selection=...)` refits with them."""
        return {"members": [m.selected() for m in self.members_],
                "weights": {layer: list(w) for layer, w in self.weights_.items()}}

    def selection_summary(self) -> dict[str, Any]:
        return {"selected": self.selected(), "members": [m.selection_summary() for m in self.members_],
                "weights": self.weights_, "weights_dev_macro_f1": self.weight_tuning_}

    # -- prediction --

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, np.ndarray]:
        """{layer: (n, labels)} = sum over members of weight * member probabilities."""
        if isinstance(texts, str):
            raise ValueError("expected a list of texts, got one string")
        if not hasattr(self, "members_"):
            raise ValueError("EnsembleClassifier is not fitted")
        texts = list(texts)
        if not texts:
            return {layer: np.zeros((0, len(self.labels[layer]))) for layer in self.layers}
        member_probs = [m.predict_proba(texts, batch_size=batch_size) for m in self.members_]
        return require_finite_output({
            layer: sum(w * probs[layer] for w, probs in zip(self.weights_[layer], member_probs))
            for layer in self.layers})

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, list[str]]:
        return labels_from_proba(self.predict_proba(texts, batch_size=batch_size), self.labels)

    # labelling engine hooks (warta.labelling: an encoder kind is labelled in the main process)
    @property
    def quantized(self) -> bool:
        return any(getattr(m, "quantized", False) for m in getattr(self, "members_", []))

    def quantize_int8(self, backend: str | None = None) -> EnsembleClassifier:
        """Every member with an encoder runs it on `backend` (see SentenceEmbedder.quantize_int8); the
        members are copies, so an ensemble copied first (warta label) leaves the original's members as they were."""
        encoders = [m for m in self.members_ if getattr(m, "supports_quantize", False)]
        if not encoders:
            raise ValueError("this ensemble has no member with an encoder to run on another backend")
        self.members_ = [copy.copy(m).quantize_int8(backend) if m in encoders else m for m in self.members_]
        return self

    def default_batch_size(self) -> int:
        sizes = [m.default_batch_size() for m in self.members_ if hasattr(m, "default_batch_size")]
        return min(sizes) if sizes else self.training.eval_batch_size

    def to(self, device: str) -> EnsembleClassifier:
        for member in self.members_:
            if hasattr(member, "to"):
                member.to(device)
        return self

    # -- persistence --

    def save(self, folder: str | Path) -> None:
        """model.json + member-<i>/ (each member in its own kind's format)."""
        from warta.jsonl import write_json

        if not hasattr(self, "members_"):
            raise ValueError("EnsembleClassifier is not fitted")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for i, member in enumerate(self.members_):
            names.append(MEMBER_FOLDER.format(i))
            member.save(folder / names[-1])
        write_json(folder / MODEL_CARD, {
            "kind": KIND, "layers": list(self.layers), "labels": self.labels, "params": self.saved_params(),
            "weights": self.weights_, "weight_tuning": self.weight_tuning_, "members": names,
            "member_kinds": [m.kind for m in self.members_],
        })

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None) -> EnsembleClassifier:
        """The members from their folders (each checked and loaded by its kind); weights from model.json."""
        from warta.models import load_model

        folder = Path(folder)
        record = read_model_file(folder, cls.model_file)
        params = record.params.model_dump(exclude={"kind"})
        model = cls(layers=list(record.layers), **params, device=device or "cpu")
        if record.labels != model.labels:
            raise InputError(f"{folder}: {MODEL_CARD} labels do not match the model's layers")
        model.members_ = []
        for name, kind in zip(record.members, record.member_kinds, strict=True):
            member = load_model(folder / name, device=device)
            if member.kind != kind or member.labels != model.labels:
                raise InputError(f"{folder / name}: not the {kind} member with the ensemble's labels")
            model.members_.append(member)
        model.weights_ = {layer: list(w) for layer, w in record.weights.items()}
        model.weight_tuning_ = record.weight_tuning
        return model


class EnsembleModelFile(ModelFile):
    """model.json of an ensemble: parameters the constructor takes, one finite weight per member and layer,
    member folders inside the model folder."""

    kind: Literal["ensemble"]
    params: model_section(EnsembleClassifier, nested=True) = model_section(EnsembleClassifier, nested=True)()
    weights: dict[LayerName, list[Annotated[Finite, Field(ge=0)]]]
    weight_tuning: dict[str, dict[str, Finite]] = {}
    members: Annotated[list[FileName], Field(min_length=2)]
    member_kinds: list[str]

    @field_validator("params", mode="before")
    @classmethod
    def _without_layers(cls, value: Any) -> Any:
        # the run supplies layers and seed; model.json's `layers` rules
        return {k: v for k, v in value.items() if k not in Params.run_params} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _weights_per_member_and_layer(self) -> EnsembleModelFile:
        if len(self.member_kinds) != len(self.members):
            raise ValueError(f"member_kinds: {len(self.member_kinds)} kinds for {len(self.members)} members")
        for layer in self.layers:
            if len(self.weights.get(layer, [])) != len(self.members):
                raise ValueError(f"weights.{layer}: expected one weight per member ({len(self.members)})")
        return self

    def check_folder(self, folder: Path) -> None:
        for name in self.members:
            path = inside(folder, name, folder / MODEL_CARD, "members")
            if not path.is_dir():
                raise InputError(f"{path}: not a folder (named by {MODEL_CARD} members)")


EnsembleClassifier.model_file = EnsembleModelFile
