"""The run folder written by `warta train` and read by evaluate, compare and label: one class owns its layout.

    config.yaml              the resolved config (every default filled in, data paths absolute)
    data.json                fingerprint: sentence ids per split, label counts, data sources and hashes
    sentences.jsonl          the run's sentence table (warta.records.Sentence of every labelled sentence)
    labels.json              layer -> ordered labels (probability column order)
    model/                   model.json + weights (load with warta.models.load_model)
    metrics.json             {"dev": {LAYER: ...}, "test": {LAYER: ...}, "training": ..., "timing": ...}
    predictions/<split>.jsonl prediction records (warta.records.Prediction), splits dev and test
    train.log, env.json      what happened; versions, device, threads
    cv/metrics.json, cv/oof.jsonl   with cross-validation (+ cv/outlet_error.json with --cv outlet)
    model-eval/              with --refit all: the model the held-out figures came from (model/ is the refit)
    seeds/seed-<S>/          with --seeds N: the further seeds' run files (no model)
    eval-<split>.json, eval-data-<name>.json   written by `warta evaluate`

Nothing outside this module spells one of these names: callers use the accessors
(`metrics()`, `cv_metrics()`, `outlet_error()`, `saved_config()`, `predictions_path()`, ...), and
`resolve_model_folder` is the one answer to "is this a run folder or a model folder?".

Readers parse data.json once per RunFolder and take the gold records from the
cached sentence table plus the current labels file, instead of rebuilding the
sentences from raw text (runs written before the cache existed still rebuild).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.jsonl import read_json, read_jsonl, write_json, write_jsonl, write_text_atomic
from warta.records import Sentence, sentence_fields

SPLITS = ("test", "dev", "cv")  # what evaluate/compare accept (cv: out-of-fold predictions)


class RunFolder:
    """A run folder on disk (see module docstring); writer and reader methods share the layout."""

    CONFIG = "config.yaml"
    DATA = "data.json"
    SENTENCES = "sentences.jsonl"
    LABELS = "labels.json"
    MODEL = "model"
    METRICS = "metrics.json"
    PREDICTIONS = "predictions"
    LOG = "train.log"
    ENV = "env.json"
    CV = "cv"
    EVAL_MODEL = "model-eval"  # --refit all (warta.train.experiment)
    SEEDS = "seeds"  # --seeds N (warta.train.experiment)
    MODEL_CARD = "model.json"  # inside model/ (warta.models.base.MODEL_CARD)
    OOF = "oof.jsonl"  # inside cv/: out-of-fold prediction records
    OUTLET_ERROR = "outlet_error.json"  # inside cv/ with --cv outlet: profile error on held-out outlets
    CHECKPOINTS = "checkpoints"  # the transformer Trainer's working folder while it trains
    README = "README.md"  # the model card (warta.train.model_card)
    EXTERNAL_EVALUATIONS = "external_evaluations.json"  # `warta evaluate --data` figures the card shows
    # What `warta train` writes; --force replaces only these (evaluation outputs stay).
    FILES = (CONFIG, DATA, SENTENCES, LABELS, MODEL, METRICS, PREDICTIONS, LOG, ENV, CV, EVAL_MODEL, SEEDS, README,
             EXTERNAL_EVALUATIONS)

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    # --- paths ------------------------------------------------------------------

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def model_dir(self) -> Path:
        return self.path / self.MODEL

    @property
    def eval_model_dir(self) -> Path:
        """The model the test/dev figures came from: model-eval/ after --refit all, else model/."""
        refit = self.path / self.EVAL_MODEL
        return refit if refit.is_dir() else self.model_dir

    @property
    def cv_dir(self) -> Path:
        return self.path / self.CV

    def checkpoints_dir(self, tag: str | None = None) -> Path:
        """The Trainer's working folder (``checkpoints``, or ``checkpoints-<tag>`` for a fold or the refit)."""
        return self.path / (self.CHECKPOINTS if tag is None else f"{self.CHECKPOINTS}-{tag}")

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS

    @property
    def cv_metrics_path(self) -> Path:
        return self.cv_dir / self.METRICS

    @property
    def outlet_error_path(self) -> Path:
        return self.cv_dir / self.OUTLET_ERROR

    def predictions_path(self, split: str) -> Path:
        """Stored predictions of a split (``cv``: the out-of-fold predictions)."""
        if split == "cv":
            return self.cv_dir / self.OOF
        return self.path / self.PREDICTIONS / f"{split}.jsonl"

    def eval_path(self, split: str = "test", data: str | Path | None = None) -> Path:
        """Where `warta evaluate` writes its JSON without --out."""
        if data is not None:
            return self.path / f"eval-data-{Path(data).stem}.json"
        return self.path / f"eval-{split}.json"

    # --- writing ----------------------------------------------------------------

    def prepare(self, force: bool = False) -> RunFolder:
        """Create the folder; an existing non-empty one needs `force` (then only run files are replaced)."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise InputError(f"{path}: exists and is not a folder")
        if path.is_dir() and any(path.iterdir()):
            if not force:
                raise InputError(f"{path}: folder exists and is not empty (use --force to overwrite its run files)")
            for name in (*self.FILES, self.CHECKPOINTS):
                target = path / name
                try:
                    if target.is_symlink() or not target.is_dir():
                        target.unlink(missing_ok=True)  # a planted link is removed itself, never followed
                    else:
                        shutil.rmtree(target)
                except OSError as exc:
                    raise InputError(f"{target}: cannot replace ({exc.strerror})") from None
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{path}: cannot create run folder ({exc.strerror})") from None
        self.__dict__.pop("data", None)
        return self

    def write_config(self, text: str) -> None:
        write_text_atomic(self.path / self.CONFIG, text)

    def write_data(self, fingerprint: Mapping[str, Any]) -> None:
        write_json(self.path / self.DATA, fingerprint)
        self.__dict__.pop("data", None)

    def write_sentences(self, records: Iterable[Mapping[str, Any]]) -> None:
        """The run's sentence table: the sentence fields of each record (labels are not cached)."""
        write_jsonl(self.path / self.SENTENCES, (sentence_fields(r) for r in records))

    def write_labels(self, labels: Mapping[str, list[str]]) -> None:
        write_json(self.path / self.LABELS, labels)

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        write_json(self.path / self.METRICS, metrics)

    def write_cv_metrics(self, metrics: Mapping[str, Any]) -> None:
        write_json(self.cv_metrics_path, metrics)

    def write_outlet_error(self, error: Mapping[str, Any]) -> None:
        write_json(self.outlet_error_path, error)

    def write_env(self, env: Mapping[str, Any]) -> None:
        write_json(self.path / self.ENV, env)

    def write_predictions(self, split: str, records: Iterable[Mapping[str, Any]]) -> None:
        write_jsonl(self.predictions_path(split), records)

    # --- reading ----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path | RunFolder) -> RunFolder:
        """An existing run folder; InputError when `path` is not one."""
        if isinstance(path, RunFolder):
            return path
        folder = cls(path)
        run_dir = folder.path
        if not run_dir.exists():
            raise InputError(f"{run_dir}: run folder not found")
        if not run_dir.is_dir():
            raise InputError(f"{run_dir}: not a folder (expected a run folder written by `warta train`)")
        if not (run_dir / cls.LABELS).is_file() and not folder.model_dir.is_dir():
            raise InputError(f"{run_dir}: not a warta run folder (no {cls.LABELS} or {cls.MODEL}/)")
        return folder

    @classmethod
    def holds_model(cls, path: str | Path) -> bool:
        """Whether `path` is a run folder with a saved model (RUN/model/model.json)."""
        return (Path(path) / cls.MODEL / cls.MODEL_CARD).is_file()

    def labels(self) -> dict[str, list[str]]:
        """layer -> ordered labels, from labels.json (or the model card when labels.json is absent)."""
        path = self.path / self.LABELS
        if not path.is_file():
            path = self.model_dir / self.MODEL_CARD
            if not path.is_file():
                raise InputError(f"{self.model_dir}: not a warta model folder (no {self.MODEL_CARD})")
            labels = read_json(path).get("labels")
        else:
            labels = read_json(path)
        if not isinstance(labels, dict) or not labels or not all(isinstance(v, list) for v in labels.values()):
            raise InputError(f"{path}: expected {{layer: [label, ...]}}")
        return {layer: [str(label) for label in values] for layer, values in labels.items()}

    def check_labels_agree(self, model_labels: Mapping[str, Sequence[str]]) -> None:
        """labels.json, where the run has one, must list the model's labels in the model's order
        (InputError naming the file otherwise: the run folder was altered)."""
        path = self.path / self.LABELS
        if not path.is_file():
            return
        labels = read_json(path)
        if not isinstance(labels, dict):
            raise InputError(f"{path}: expected {{layer: [label, ...]}}")
        for layer in sorted(set(labels) | set(model_labels)):
            if list(labels.get(layer) or []) != list(model_labels.get(layer) or []):
                raise InputError(
                    f"{path}: disagrees with the model ({layer}: {self.LABELS} {labels.get(layer)!r}, "
                    f"model {model_labels.get(layer)!r}); the run folder was altered"
                )

    @cached_property
    def data(self) -> dict[str, Any]:
        """data.json (parsed once): ids per split, label counts per split and layer, data sources."""
        path = self.path / self.DATA
        fingerprint = read_json(path)
        if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("ids"), dict):
            raise InputError(f"{path}: expected {{\"ids\": {{split: [sentence id, ...]}}, ...}}")
        return fingerprint

    def has_data(self) -> bool:
        return (self.path / self.DATA).is_file()

    def split_ids(self, split: str, missing_ok: bool = False) -> list[str]:
        """The sentence ids the run recorded for a split in data.json (with `missing_ok`, [] when none are)."""
        if missing_ok and not self.has_data():
            return []
        ids = self.data["ids"].get(split)
        if missing_ok and ids is None:
            return []
        if not isinstance(ids, list):
            raise InputError(f"{self.path / self.DATA}: no sentence ids recorded for split {split!r}")
        return [str(i) for i in ids]

    def stored_predictions(self, split: str) -> list[dict[str, Any]]:
        """The prediction records the run saved for a split (``cv``: its out-of-fold predictions)."""
        check_split(split)
        path = self.predictions_path(split)
        if not path.is_file():
            hint = " (train with --cv)" if split == "cv" else ""
            raise InputError(f"{path}: file not found{hint}")
        return read_jsonl(path)

    def _optional_json(self, path: Path) -> dict[str, Any] | None:
        if not path.is_file():
            return None
        value = read_json(path)
        if not isinstance(value, dict):
            raise InputError(f"{path}: expected a JSON object")
        return value

    def metrics(self) -> dict[str, Any] | None:
        """metrics.json (held-out scores, training summary, timing); None when the run has none."""
        return self._optional_json(self.metrics_path)

    def cv_metrics(self) -> dict[str, Any] | None:
        """cv/metrics.json of `--cv K` / `--cv outlet` (scheme, per-fold and pooled out-of-fold scores); None without cv."""
        return self._optional_json(self.cv_metrics_path)

    def outlet_error(self) -> dict[str, Any] | None:
        """cv/outlet_error.json of `--cv outlet` (profile error on each held-out outlet); None when absent or,
        hand-edited, not a JSON object (the figures are an addition to a report, never a reason to fail it)."""
        path = self.outlet_error_path
        value = read_json(path) if path.is_file() else None
        return value if isinstance(value, dict) else None

    def saved_config(self) -> dict[str, Any] | None:
        """config.yaml as the run saved it (a plain mapping, not validated); None when absent."""
        import yaml

        path = self.path / self.CONFIG
        if not path.is_file():
            return None
        try:
            value = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not readable YAML ({type(exc).__name__})") from None
        return value if isinstance(value, dict) else {}

    def labels_changed_since_run(self) -> bool | None:
        """Whether the labels file the run trained from has changed since (its SHA-256 against data.json's);
        None when the run recorded no labels file or hash."""
        sources = self.data.get("sources") if self.has_data() else None
        if not isinstance(sources, dict) or not sources.get("labels") or not sources.get("labels_sha256"):
            return None
        path = Path(sources["labels"])
        now = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return now != sources["labels_sha256"]

    def sentences(self) -> list[Sentence] | None:
        """The cached sentence table (None for runs written before it was cached)."""
        path = self.path / self.SENTENCES
        return read_jsonl(path) if path.is_file() else None  # type: ignore[return-value]

    def data_sources(self) -> tuple[str | None, str | None]:
        """(seeds folder, labels file) the run's gold came from: data.json sources, else the saved config."""
        sources = self.data.get("sources") if self.has_data() else None
        if isinstance(sources, dict) and "labels" in sources:
            return sources.get("seeds"), sources.get("labels")
        # the saved mapping, not load_config: the run folder sits below the config layer, and data.seeds /
        # data.labels are plain paths there (null: the bundled seeds), so nothing is lost
        config = self.saved_config()
        if config is None:
            raise InputError(f"{self.path}: neither {self.DATA} nor {self.CONFIG} says where its gold labels are")
        data = config.get("data") if isinstance(config.get("data"), dict) else {}
        seeds, labels = data.get("seeds"), data.get("labels")
        return (str(seeds) if seeds else None), (str(labels) if labels else None)

    @cached_property
    def gold(self) -> list[dict[str, Any]]:
        """Gold records of the labelled corpus the run was trained from (current labels, cached sentences)."""
        from warta.gold.labels import load_gold
        from warta.gold.sources import read_sources

        seeds, labels = self.data_sources()
        sources = self.data.get("sources") if self.has_data() else None
        extra, _ = read_sources((sources or {}).get("extra") or [])  # data.extra: labelled sentences with text
        sentences = self.sentences()
        if extra and sentences is not None:
            extra_ids = {record["id"] for record in extra}
            sentences = [s for s in sentences if s["id"] not in extra_ids]
        return load_gold(seeds_dir=seeds, labels_path=labels, sentences=sentences) + extra


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise InputError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    return split


def resolve_model_folder(path: str | Path) -> tuple[Path, str]:
    """(model folder, run name) of a run folder (RUN/model/model.json) or of a model folder (DIR/model.json);
    the run name of a bare model folder is its parent's name when the folder is called ``model``."""
    path = Path(path)
    if RunFolder.holds_model(path):
        return path / RunFolder.MODEL, path.resolve().name
    if (path / RunFolder.MODEL_CARD).is_file():
        folder = path.resolve()
        return path, folder.parent.name if folder.name == RunFolder.MODEL else folder.name
    if not path.exists():
        raise InputError(f"{path}: run folder not found")
    raise InputError(f"{path}: not a run folder from `warta train` (no {RunFolder.MODEL}/{RunFolder.MODEL_CARD})")
