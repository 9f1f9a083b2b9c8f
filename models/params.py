"""Hyperparameters have one home: the model constructor's signature.

scikit-learn's convention (``_get_param_names``): every ``__init__`` parameter is a
hyperparameter, stored under its own name exactly as given; ``get_params`` reads them
back. spaCy's ``get_arg_model`` idea: the config section that configures a model is
*derived* from that signature (names, types with their ``Annotated`` limits, defaults),
so a default is written once, in the constructor, and the YAML keys cannot drift from it.

- `Params`: the mixin giving ``get_params`` / ``set_params`` / ``clone`` and the generic
  ``from_config`` to every model kind;
- `model_section(cls)`: the pydantic model of ``model:`` for a kind (``kind`` + the
  constructor's hyperparameters, minus `Params.run_params`, which the run supplies);
- `Nested(cls)`: marks a parameter that holds another kind's hyperparameters (the
  hybrid's TF-IDF head), validated as that kind's section;
- `Strict`: the base of every config section (unknown keys, NaN and infinity refused).
The ``train:`` section of a kind is its ``training_arguments`` class (setfit's
``TrainingArguments`` idea): options of fitting, not of the fitted model.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, create_model


class Strict(BaseModel):
    """A config section: unknown keys, NaN and infinity are errors; defaults are validated too."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class TrainingArguments(Strict):
    """The ``train:`` section of a kind: options of fitting and scoring, not of the fitted model.

    Frozen: one instance is the constructor default of every model of the kind.
    """

    model_config = ConfigDict(frozen=True)

    @property
    def prediction_batch_size(self) -> int | None:
        """Batch size of the run's own predictions (dev, test, folds); None: the model's default."""
        return None


@dataclass(frozen=True)
class Nested:
    """`Annotated[Mapping[str, Any] | None, Nested(Other)]`: the parameter holds `Other`'s hyperparameters."""

    model: type


def param_names(cls: type) -> list[str]:
    """The constructor's parameter names, in order (scikit-learn's `_get_param_names`)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _json_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


class Params:
    """scikit-learn's parameter protocol for warta's model kinds (see the module docstring).

    Class attributes every kind sets (its "kind facts", read instead of `if kind == ...`):
    - ``kind``: the registry name (``model.kind`` in a config, ``kind`` in model.json);
    - ``training_arguments``: the class of the ``train:`` section;
    - ``uses_encoder``: runs a neural encoder (``--device`` applies; `warta label` labels it in the
      main process over wide, length-sorted buffers);
    - ``supports_quantize``: has an int8 CPU inference path (`warta label --quantize`);
    - ``distributed_training``: gains from multi-process training (torchrun);
    - ``model_file``: the schema of its saved model.json (warta.models.safety.ModelFile), set beside the class.
    """

    kind: ClassVar[str]
    training_arguments: ClassVar[type[TrainingArguments]] = TrainingArguments
    uses_encoder: ClassVar[bool] = False
    supports_quantize: ClassVar[bool] = False
    distributed_training: ClassVar[bool] = False
    model_file: ClassVar[type]
    # supplied by the run (layers, seed, training arguments) or at run time, never by the `model:` section
    run_params: ClassVar[tuple[str, ...]] = ("layers", "seed", "training", "selection", "device", "callbacks")
    # left out of model.json: how this machine runs the model, not what was fitted
    unsaved_params: ClassVar[tuple[str, ...]] = ("training", "selection", "device", "callbacks")

    def get_params(self) -> dict[str, Any]:
        """Every constructor parameter as stored (as given)."""
        return {name: getattr(self, name) for name in param_names(type(self))}

    def set_params(self, **params: Any) -> Params:
        unknown = sorted(set(params) - set(param_names(type(self))))
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown parameter(s) {unknown}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def clone(self, **changes: Any) -> Params:
        """An unfitted model with the same parameters (and `changes`)."""
        return type(self)(**{**self.get_params(), **changes})

    def saved_params(self) -> dict[str, Any]:
        """The parameters written into model.json (plain JSON values)."""
        return {name: _json_value(value) for name, value in self.get_params().items()
                if name not in self.unsaved_params}

    @classmethod
    def params_from_config(cls, config: Any) -> dict[str, Any]:
        """Constructor arguments from a validated run config: its `model` section, `layers`, `seed`, `train`."""
        names = param_names(cls)
        params = {name: getattr(config.model, name) for name in type(config.model).model_fields if name != "kind"}
        params = {name: value.model_dump(exclude={"kind"}) if isinstance(value, BaseModel) else value
                  for name, value in params.items()}
        run = {"layers": list(config.layers), "seed": config.seed, "training": config.train}
        return {**params, **{name: value for name, value in run.items() if name in names}}

    @classmethod
    def from_config(cls, config: Any) -> Params:
        return cls(**cls.params_from_config(config))


def _field_type(annotation: Any) -> Any:
    """A `Nested(Other)` annotation becomes Other's section (its `kind` optional)."""
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, Nested):
                return model_section(meta.model, nested=True)
    return annotation


@cache
def model_section(cls: type, nested: bool = False) -> type[Strict]:
    """The pydantic model of `cls`'s ``model:`` section, derived from its constructor (see module docstring).

    `nested`: the section of a kind inside another kind (``kind`` may be left out).
    """
    hints = typing.get_type_hints(cls.__init__, include_extras=True)
    signature = inspect.signature(cls.__init__).parameters
    fields: dict[str, Any] = {"kind": (Literal[cls.kind], cls.kind if nested else ...)}
    for name in param_names(cls):
        if name in cls.run_params:
            continue
        field_type = _field_type(hints.get(name, Any))
        default = signature[name].default
        if default is inspect.Parameter.empty:
            default = ...
        elif default is None and field_type is not hints.get(name, Any):
            default = field_type()  # a nested section left out: the other kind's defaults
        fields[name] = (field_type, default)
    suffix = "HeadConfig" if nested else "ModelConfig"
    return create_model(f"{cls.__name__.removesuffix('Classifier')}{suffix}", __base__=Strict,
                        __doc__=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None, **fields)
