"""Training configs: YAML in, `--set` overrides merged, one validated pydantic object out.

Path rule (one rule, documented in the README): relative paths written *in a
config file* (``data.labels``, ``data.splits``, ``data.seeds``) resolve against
that file's folder, so a config travels with its data. Paths given with
``--set`` and ``output.root`` resolve against the current directory (where the
command runs). ``null`` data paths mean the bundled seeds.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, create_model, field_validator

from warta.errors import InputError, validation_message
from warta.models.params import Strict, model_section
from warta.schema import LAYER_NAMES

LayerName = Literal["type", "stance", "frame"]
DATA_PATH_KEYS = ("labels", "splits", "seeds")
DATA_PATH_LIST_KEYS = ("extra", "supplement")
MAX_CONFIG_BYTES = 1_000_000


_Strict = Strict  # every section: unknown keys, NaN and infinity refused


class DataConfig(_Strict):
    """Where the labelled sentences and their splits come from (null: bundled seeds)."""

    labels: Path | None = None
    splits: Path | None = None
    seeds: Path | None = None
    # JSONL files of labelled sentence records with their own text/article_id/outlet/role/index
    # (as `warta annotate import` writes them): they join the corpus, and the splits are regenerated.
    extra: list[Path] = []
    # Written supplement (records with `source: written`): added to training folds only, never to
    # dev, test or any held-out fold (see warta.gold.sources).
    supplement: list[Path] = []

    @field_validator("extra", "supplement", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, (str, Path)) else value


class OutputConfig(_Strict):
    """Run folder: `<root>/<name>-<timestamp>/` unless `folder` names it exactly."""

    root: Path = Path("runs")
    folder: Path | None = None


class _RunBase(_Strict):
    # default: the config file's stem; a plain name (it becomes part of the run folder's name, never a path)
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")] | None = None
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    layers: Annotated[list[LayerName], Field(min_length=1)] = list(LAYER_NAMES)
    data: DataConfig = DataConfig()
    output: OutputConfig = OutputConfig()

    @field_validator("layers")
    @classmethod
    def _unique_layers(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"layers must be unique, got {value}")
        return [layer for layer in LAYER_NAMES if layer in value]


RunConfig = _RunBase  # a validated run config: `model` and `train` sections of its kind (run_config_class)


@cache
def run_config_class(model_cls: type) -> type[_RunBase]:
    """The run config of one model kind: the common keys, `model:` derived from the model's constructor
    (warta.models.params.model_section) and `train:` its training arguments."""
    train = model_cls.training_arguments
    name = model_cls.__name__.removesuffix("Classifier") + "RunConfig"
    return create_model(name, __base__=_RunBase, model=(model_section(model_cls), ...), train=(train, train()))


def config_class(kind: str) -> type[_RunBase]:
    """The run-config class (pydantic) whose `model`/`train` sections configure `kind` (derived from the model)."""
    from warta.models import model_class

    return run_config_class(model_class(kind))


def __getattr__(name: str) -> Any:
    """The old per-kind names (TfidfRunConfig, ...) as aliases of the derived classes."""
    kinds = {"TfidfRunConfig": "tfidf", "TransformerRunConfig": "transformer", "HybridRunConfig": "hybrid"}
    if name in kinds:
        return config_class(kinds[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- overrides ----------------------------------------------------------------------


def parse_override(text: str) -> tuple[list[str], Any]:
    """`key.path=value` -> (["key", "path"], value parsed as a YAML scalar/flow value)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise InputError(f"--set {text}: expected key.path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise InputError(f"--set {text}: value is not valid YAML ({_first_line(exc)})") from None
    except (ValueError, RecursionError) as exc:  # 5000-digit integers, deep nesting
        raise InputError(f"--set {key}=...: unusable value ({_first_line(exc)[:120] or 'nested too deeply'})") from None
    return key.split("."), value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of `raw` with each `key.path=value` set (intermediate mappings created)."""
    merged = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = merged
        for depth, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(path[: depth + 1])
                raise InputError(f"--set {text}: {where} is a value, not a section")
            node = child
        node[path[-1]] = value
    return merged


# --- loading ------------------------------------------------------------------------


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path`; InputError on a missing file or bad YAML."""
    from warta.safe_io import read_small_file

    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a config file")
    try:
        # Capped and never from a FIFO or device: a config is a few hundred bytes.
        text = read_small_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read config ({_first_line(exc)})") from None
    try:
        # safe_load: tags such as !!python/object are refused, never constructed.
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML ({_first_line(exc)})") from None
    except RecursionError:
        raise InputError(f"{path}: invalid YAML (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{path}: invalid YAML value ({_first_line(exc)[:120]})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of keys at the top level")
    return raw


def _resolve_file_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Data paths written in the file resolve against the file's folder."""
    data = raw.get("data")
    if not isinstance(data, dict):
        return raw
    raw = copy.deepcopy(raw)
    for key in DATA_PATH_KEYS:
        value = raw["data"].get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            raw["data"][key] = str((base / value).resolve())
    for key in DATA_PATH_LIST_KEYS:
        values = raw["data"].get(key)
        if isinstance(values, str):
            values = raw["data"][key] = [values]
        if isinstance(values, list):
            raw["data"][key] = [
                str((base / v).resolve()) if isinstance(v, str) and v and not Path(v).expanduser().is_absolute() else v
                for v in values
            ]
    return raw


def validate_config(raw: dict[str, Any], source: str) -> RunConfig:
    """Pick the config class by `model.kind` and validate; errors name `source` and the key path."""
    model = raw.get("model")
    kind = model.get("kind") if isinstance(model, dict) else None
    if model is None:
        raise InputError(f"{source}: model: required section is missing")
    if not isinstance(model, dict):
        raise InputError(f"{source}: model: expected a section with a `kind` key")
    from warta.models import KINDS

    if kind not in KINDS:
        expected = ", ".join(repr(k) for k in KINDS)
        got = "missing" if kind is None else repr(kind)
        raise InputError(f"{source}: model.kind: expected one of {expected} (got {got})")
    try:
        return config_class(kind).model_validate(raw)
    except ValidationError as exc:
        raise InputError(validation_message(source, exc)) from None


def resolve_config_path(path: str | Path) -> Path:
    """`path`, or the bundled config it names when it is a bare name and no such file exists."""
    path = Path(path)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    from warta.resources import bundled_config, bundled_config_names

    found = bundled_config(path.name)
    if found is None:
        raise InputError(f"{path}: no such config file or bundled config ({', '.join(bundled_config_names())})")
    return found


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read YAML, resolve its data paths, merge `--set` overrides, validate.

    The run name defaults to the file's stem. A bare name that is not a file
    (``tfidf``) names a bundled config (``configs/tfidf.yaml``).
    """
    path = resolve_config_path(path)
    raw = _resolve_file_paths(read_config_file(path), path.parent)
    raw = apply_overrides(raw, list(overrides or []))
    raw.setdefault("name", path.stem)
    return validate_config(raw, str(path))


def config_to_dict(config: RunConfig) -> dict[str, Any]:
    """The resolved config as plain YAML-able data (paths as strings)."""
    return config.model_dump(mode="json")


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True)
