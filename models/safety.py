"""Checks on a saved model folder before anything in it is loaded (nothing here executes its content).

A run folder may come from someone else. Before loading, the whole folder is checked against
one schema per kind (`ModelFile`, subclassed beside each model: ``TfidfModelFile`` ...), and
warta refuses, in one line:
- a model.json whose keys lie: an unknown layer or label, a non-numeric or out-of-range
  number, NaN or infinity anywhere, hyperparameters the model's constructor would not take;
- file names in model.json (`weights`, `vocabulary`, `heads`, `tfidf`, a copied encoder) that
  are not plain names inside the folder, or that resolve outside it (a symlink), or are missing;
- weights holding NaN or infinity (`require_finite`), and probabilities that are not finite
  at prediction time (`require_finite_output`: no bare `nan` in output, no argmax of NaN);
- a transformer folder without its own tokenizer files (it would load an empty tokenizer);
- a config.json / tokenizer_config.json asking for remote code (`auto_map`,
  `trust_remote_code`): warta never runs code shipped with a model;
- a transformer folder without model.safetensors (a pickle-based
  pytorch_model.bin is never loaded), and any .safetensors file whose header
  is not valid or whose tensors run past the end of the file (truncated);
- a labels.json in the run folder that disagrees with the model's own labels.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from warta.errors import InputError, WartaError
from warta.schema import LAYERS

_MAX_HEADER = 100_000_000
_REMOTE_CODE_KEYS = ("auto_map", "trust_remote_code")
_CODE_CONFIGS = ("config.json", "tokenizer_config.json", "processor_config.json", "preprocessor_config.json")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


LayerName = Literal["type", "stance", "frame"]
# tokenizer files: a transformer folder needs its tokenizer_config.json and one vocabulary form
TOKENIZER_CONFIG = "tokenizer_config.json"
VOCABULARY_FILES = ("tokenizer.json", "vocab.txt", "sentencepiece.bpe.model", "spiece.model", "vocab.json")


def _plain(value: str) -> str:
    if not value or "/" in value or "\\" in value or value in (".", "..") or "\x00" in value:
        raise ValueError("must be a file name inside the model folder")
    return value


# A plain file name (no separators, not . or ..): resolved against the model folder and checked to stay inside.
FileName = Annotated[str, AfterValidator(_plain)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class ModelFile(BaseModel):
    """model.json of every kind: kind, layers, labels; a kind's subclass adds its keys and file checks.

    Keys the schema does not know are ignored (older warta versions wrote a few more); every key it
    knows is checked. `FILES` / `FOLDERS` name the keys that hold file / folder names.
    """

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    FILES: ClassVar[tuple[str, ...]] = ()
    FOLDERS: ClassVar[tuple[str, ...]] = ()

    kind: str
    layers: Annotated[list[LayerName], Field(min_length=1)]
    labels: dict[LayerName, Annotated[list[str], Field(min_length=2)]]
    versions: dict[str, Any] = {}

    @model_validator(mode="after")
    def _labels_of_the_layers(self) -> ModelFile:
        if len(set(self.layers)) != len(self.layers):
            raise ValueError(f"layers repeat a name: {self.layers}")
        if set(self.labels) != set(self.layers):
            raise ValueError(f"labels are given for {sorted(self.labels)}, layers are {self.layers}")
        for layer, names in self.labels.items():
            unknown = sorted(set(names) - set(LAYERS[layer]))
            if unknown or len(set(names)) != len(names):
                raise ValueError(f"labels.{layer}: expected distinct labels of the layer {list(LAYERS[layer])}, "
                                 f"got {names}")
        return self

    def check_folder(self, folder: Path) -> None:
        """Kind-specific checks of the files (after the named files were found inside the folder)."""


def _drop_layers(params: Any, nested: tuple[str, ...] = ()) -> Any:
    """Saved params carry `layers` (the model's own, and a nested head's); model.json's `layers` rules."""
    if not isinstance(params, dict):
        return params
    params = {key: value for key, value in params.items() if key != "layers"}
    for key in nested:
        if isinstance(params.get(key), dict):
            params[key] = {k: v for k, v in params[key].items() if k != "layers"}
    return params


def inside(folder: Path, name: str, card_path: Path, key: str) -> Path:
    """`folder / name`, refused when it resolves outside `folder` (a symlink) or does not exist."""
    path = folder / name
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        raise InputError(f"{card_path}: {key}: {name!r} leads outside the model folder") from None
    if not path.exists():
        raise InputError(f"{path}: missing (named by {card_path.name} {key})")
    return path


def read_model_file(folder: str | Path, schema: type[ModelFile]) -> Any:
    """model.json of `folder` validated against `schema`, its named files found inside the folder, and the
    kind's own file checks done; InputError (one line naming the file and key) otherwise."""
    from warta.errors import validation_message
    from warta.models.base import read_model_card

    folder = Path(folder)
    card_path = folder / "model.json"
    card = read_model_card(folder)
    try:
        record = schema.model_validate(card)
    except ValidationError as exc:
        raise InputError(validation_message(str(card_path), exc)) from None
    for key in schema.FILES:
        path = inside(folder, getattr(record, key), card_path, key)
        if not path.is_file():
            raise InputError(f"{path}: not a file (named by {card_path.name} {key})")
    for key in schema.FOLDERS:
        path = inside(folder, getattr(record, key), card_path, key)
        if not path.is_dir():
            raise InputError(f"{path}: not a folder (named by {card_path.name} {key})")
    record.check_folder(folder)
    return record


def require_finite(arrays: Mapping[str, Any], source: str | Path) -> None:
    """Refuse weights holding NaN or infinity (they would label by the argmax of NaN)."""
    for key, array in arrays.items():
        values = np.asarray(array)
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise InputError(f"{source}: {key} holds {bad} NaN or infinite value(s); refusing to load")


def require_finite_output(probs: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """`probs`, refused when any probability is NaN or infinite (a broken model must not label silently)."""
    for layer, values in probs.items():
        finite = np.isfinite(values)
        if not finite.all():
            rows = int((~finite.all(axis=1)).sum()) if values.ndim == 2 else int((~finite).sum())
            raise WartaError(f"the model gave NaN or infinite probabilities for {rows} of {len(values)} "
                             f"sentence(s) on layer {layer}; its weights are broken")
    return probs


def check_safetensors(path: Path) -> None:
    """A safetensors file whose header parses and whose tensors fit in the file; InputError otherwise."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise InputError(f"{path}: not a safetensors file (truncated: {size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, _MAX_HEADER):
                raise InputError(f"{path}: not a safetensors file, or truncated (header of {n} bytes in a {size}-byte file)")
            header = json.loads(handle.read(n))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: not a safetensors file (unreadable header)")
    data = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]):
            raise InputError(f"{path}: not a safetensors file (bad entry for tensor {name!r})")
        if offsets[1] > data:
            raise InputError(f"{path}: truncated (tensor {name!r} ends at byte {offsets[1]}, data holds {data})")


def _refuse_remote_code(folder: Path) -> None:
    for name in _CODE_CONFIGS:
        path = folder / name
        if not path.is_file():
            continue
        from warta.jsonl import read_json

        config = read_json(path)
        if not isinstance(config, dict):
            raise InputError(f"{path}: expected a JSON object")
        asked = [key for key in _REMOTE_CODE_KEYS if config.get(key)]
        if asked:
            raise InputError(
                f"{path}: asks for code shipped with the model ({', '.join(asked)}); warta never runs it "
                "(remove the key if the model is a standard architecture)"
            )


def check_transformer_folder(folder: Path) -> None:
    """A Hugging Face folder that loads safely and completely: no remote code, safetensors weights only
    (headers intact), and the tokenizer's own files (never an empty tokenizer that reads every word as unknown)."""
    _refuse_remote_code(folder)
    if not (folder / "model.safetensors").is_file() and not any(folder.glob("model-*.safetensors")):
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
        found = f" (found {', '.join(pickles)}: pickle files are never loaded)" if pickles else ""
        raise InputError(f"{folder}: no model.safetensors{found}")
    for path in sorted(folder.glob("*.safetensors")):
        check_safetensors(path)
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder}: no config.json (the encoder's architecture)")
    if not (folder / TOKENIZER_CONFIG).is_file() or not any((folder / name).is_file() for name in VOCABULARY_FILES):
        raise InputError(f"{folder}: tokenizer files missing (need {TOKENIZER_CONFIG} and one of "
                         f"{', '.join(VOCABULARY_FILES)}); a model never runs without its own tokenizer")


def check_model_folder(folder: str | Path, card: dict[str, Any]) -> None:
    """Refuse a model folder that would make loading unsafe or misleading: its kind's schema (ModelFile),
    named files inside the folder, the kind's file checks; reads JSON and headers only."""
    from warta.models import model_class

    read_model_file(folder, model_class(card.get("kind")).model_file)


def check_labels_agree(run_dir: str | Path, model_labels: dict[str, list[str]]) -> None:
    """A run folder's labels.json must list the model's labels (alias: warta.runfolder owns the check)."""
    from warta.runfolder import RunFolder

    RunFolder(run_dir).check_labels_agree(model_labels)
