"""Training configs: YAML in, `--set` overrides merged, one validated pydantic object out.

Path rule (one rule, documented in the README): relative paths written *in a
config file* (``data.labels``, ``data.splits``, ``data.seeds``) resolve against
that file's folder, so a config travels with its data. Paths given with
``--set`` and ``output.root`` resolve against the current directory (where the
command runs). ``null`` data paths mean the bundled seeds.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warta.errors import InputError
from warta.schema import LAYER_NAMES

LayerName = Literal["type", "stance", "frame"]
DATA_PATH_KEYS = ("labels", "splits", "seeds")
DATA_PATH_LIST_KEYS = ("extra", "supplement")
MAX_CONFIG_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)  # no NaN/inf anywhere


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


class TfidfModelConfig(_Strict):
    """Word + character n-gram TF-IDF with cue features; one logistic regression per layer."""

    kind: Literal["tfidf"]
    word_ngrams: tuple[Annotated[int, Field(ge=1, le=3)], Annotated[int, Field(ge=1, le=3)]] = (1, 2)
    char_ngrams: tuple[Annotated[int, Field(ge=1, le=8)], Annotated[int, Field(ge=1, le=8)]] = (2, 5)
    min_df: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    max_features: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    sublinear_tf: bool = True
    cue_features: bool = True
    cue_weight: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    cue_layers: list[LayerName] = ["type"]  # layers whose classifier sees the cue block (built for `type`)
    class_weight: Literal["balanced"] | None = "balanced"
    # C is tuned on dev over these values (per layer); one value fixes it.
    c_values: Annotated[list[Annotated[float, Field(gt=0, le=1e9)]], Field(min_length=1, max_length=100)] = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    max_iter: Annotated[int, Field(ge=10, le=1_000_000)] = 2000

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] > value[1]:
            raise ValueError(f"expected [min, max] with min <= max, got {list(value)}")
        return value


class TransformerModelConfig(_Strict):
    """A pretrained encoder (hub name or local folder) with one linear head per layer."""

    kind: Literal["transformer"]
    name_or_path: str = "indobenchmark/indobert-base-p1"
    max_length: Annotated[int, Field(ge=8, le=4096)] = 128
    pooling: Literal["cls", "mean"] = "cls"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1
    # auto: lowercase when the tokenizer is uncased (do_lower_case, or a vocabulary without capitals).
    lowercase: Literal["auto"] | bool = "auto"
    text_prefix: str = ""  # put before every text in training and prediction (e5: "query: ")
    # word-embedding table not trained (e5-small: 96M of 118M parameters; a CPU step ~6 s -> ~0.3 s)
    freeze_embeddings: bool = False


class TfidfHeadConfig(TfidfModelConfig):
    """The TF-IDF head of a hybrid model: the TF-IDF model's options (`kind` implied)."""

    kind: Literal["tfidf"] = "tfidf"


class HybridModelConfig(_Strict):
    """TF-IDF head + frozen sentence-embedding head per layer, probabilities averaged (models/hybrid.py)."""

    kind: Literal["hybrid"]
    encoder: str = "encoders/e5-small"  # local encoder folder or hub name (relative: to the current directory)
    text_prefix: str = "query: "  # e5's convention for texts to classify; "" for other encoders
    pooling: Literal["mean", "cls"] = "mean"
    max_length: Annotated[int, Field(ge=8, le=4096)] = 128
    embedding_c_values: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] = [
        0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
    # weight of the embedding head; null: chosen per layer on dev from fusion_grid
    fusion_weight: Annotated[float, Field(ge=0, le=1)] | None = 0.5
    fusion_grid: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=1)] = [
        0.0, 0.25, 0.5, 0.75, 1.0]
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: Annotated[int, Field(ge=10)] = 3000
    tfidf: TfidfHeadConfig = TfidfHeadConfig()
    cache: bool = True  # embeddings cached by text hash
    cache_dir: Path | None = None  # null: $WARTA_CACHE_DIR/embeddings or ~/.cache/warta/embeddings
    copy_encoder: bool = False  # copy the encoder folder into the saved model (self-contained, +470 MB for e5)
    embed_batch_size: Annotated[int, Field(ge=1)] = 32


class TfidfTrainConfig(_Strict):
    """TF-IDF training has nothing to tune beyond model.c_values; kept for a uniform layout."""

    predict_batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 1024


class TransformerTrainConfig(_Strict):
    epochs: Annotated[float, Field(gt=0, le=1000)] = 10
    max_steps: Annotated[int, Field(ge=1, le=100_000_000)] | None = None  # caps training (smoke runs); None: epochs decide
    batch_size: Annotated[int, Field(ge=1, le=65536)] = 32
    eval_batch_size: Annotated[int, Field(ge=1, le=65536)] = 128
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 3e-5
    weight_decay: Annotated[float, Field(ge=0, le=10)] = 0.01
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.1
    early_stopping_patience: Annotated[int, Field(ge=1, le=1000)] = 3
    class_weighted: bool = True
    group_by_length: bool = True
    bf16: Literal["auto"] | bool = "auto"  # auto: on when CUDA with bf16 support is present
    logging_steps: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    dataloader_workers: Annotated[int, Field(ge=0, le=64)] = 0
    # CPU threads for torch (null: torch's default). On a busy shared CPU, 1 can be much faster.
    cpu_threads: Annotated[int, Field(ge=1, le=1024)] | None = None


class HybridTrainConfig(_Strict):
    """Nothing is trained by gradient descent; prediction batch size and CPU threads for the encoder."""

    eval_batch_size: Annotated[int, Field(ge=1)] = 32
    cpu_threads: Annotated[int, Field(ge=1)] | None = None


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


class TfidfRunConfig(_RunBase):
    model: TfidfModelConfig
    train: TfidfTrainConfig = TfidfTrainConfig()


class TransformerRunConfig(_RunBase):
    model: TransformerModelConfig
    train: TransformerTrainConfig = TransformerTrainConfig()


class HybridRunConfig(_RunBase):
    model: HybridModelConfig
    train: HybridTrainConfig = HybridTrainConfig()


RunConfig = TfidfRunConfig | TransformerRunConfig | HybridRunConfig
CONFIG_CLASSES: dict[str, type[_RunBase]] = {"tfidf": TfidfRunConfig, "transformer": TransformerRunConfig,
                                             "hybrid": HybridRunConfig}


# --- errors -----------------------------------------------------------------------


def validation_message(source: str, exc: ValidationError) -> str:
    """The one place a ValidationError becomes `SOURCE: key.path: message` (first error, count of others)."""
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors:
        loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif "input" in error and error["type"] not in ("model_type",) and not isinstance(error["input"], dict):
            message = f"{message} (got {error['input']!r})"
        parts.append(f"{loc}: {message}")
    more = f" (and {len(parts) - 1} more: {'; '.join(parts[1:])})" if len(parts) > 1 else ""
    return f"{source}: {parts[0]}{more}"


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
    if kind not in CONFIG_CLASSES:
        expected = ", ".join(repr(k) for k in CONFIG_CLASSES)
        got = "missing" if kind is None else repr(kind)
        raise InputError(f"{source}: model.kind: expected one of {expected} (got {got})")
    try:
        return CONFIG_CLASSES[kind].model_validate(raw)
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
