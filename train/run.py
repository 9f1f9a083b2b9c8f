"""`warta train`: a validated config in, a run folder out.

Run folder (``runs/<name>-<timestamp>/`` unless ``output.folder`` or ``out`` names it):

    config.yaml              the resolved config (every default filled in, data paths absolute)
    data.json                fingerprint: sentence ids per split, label counts, file hashes
    labels.json              layer -> ordered labels (probability column order)
    model/                   model.json + weights (load with warta.models.load_model)
    metrics.json             {"dev": {LAYER: ...}, "test": {LAYER: ...}, "training": ..., "timing": ...}
    predictions/dev.jsonl    prediction records (warta.records.Prediction), model "<run>/<kind>"
    predictions/test.jsonl
    train.log                what happened, step by step
    env.json                 versions, device, threads
    cv/metrics.json, cv/oof.jsonl   with cross-validation (see warta.train.cv)

The model is fitted on train, tuned / early-stopped on dev, and scored on dev
(optimistic: it was used for selection) and test (held out).
"""

from __future__ import annotations

import logging
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warta.train.data import LabelledData, fingerprint, load_data, targets

from warta.config import RunConfig, TfidfRunConfig, TransformerRunConfig, dump_config
from warta.errors import InputError
from warta.jsonl import write_json, write_jsonl
from warta.records import Prediction, predictions_from_matrices
from warta.records import model_id as make_model_id

log = logging.getLogger("warta.train")

RUN_FILES = (
    "config.yaml", "data.json", "labels.json", "model", "metrics.json", "predictions", "train.log", "env.json", "cv",
)


@dataclass
class RunResult:
    """What `train` produced: the folder, the fitted model and the figures it wrote."""

    run_dir: Path
    model: Any
    metrics: dict[str, Any]
    cv: dict[str, Any] | None = None
    timing: dict[str, float] = field(default_factory=dict)


# --- run folder ----------------------------------------------------------------------


def run_dir_for(config: RunConfig, out: str | Path | None = None, now: datetime | None = None) -> Path:
    """`out`, else output.folder, else <output.root>/<name>-<YYYYmmdd-HHMMSS>."""
    if out is not None:
        return Path(out)
    if config.output.folder is not None:
        return Path(config.output.folder)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(config.output.root) / f"{config.name or 'run'}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def prepare_run_dir(run_dir: Path, force: bool = False) -> Path:
    """Create the folder; an existing non-empty one needs `force` (then only run files are replaced)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir}: exists and is not a folder")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not force:
            raise InputError(f"{run_dir}: folder exists and is not empty (use --force to overwrite its run files)")
        for name in RUN_FILES:
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot create run folder ({exc.strerror})") from None
    return run_dir


class _RunLog:
    """Attach train.log (and stderr when `echo`) to the warta.train logger for one run."""

    def __init__(self, path: Path, echo: bool):
        self.handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
        self.handlers[0].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        if echo:
            stream = logging.StreamHandler(sys.stderr)
            stream.setFormatter(logging.Formatter("%(message)s"))
            self.handlers.append(stream)
        self.previous_level = log.level

    def __enter__(self) -> _RunLog:
        for handler in self.handlers:
            log.addHandler(handler)
        log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: Any) -> None:
        for handler in self.handlers:
            log.removeHandler(handler)
            handler.close()
        log.setLevel(self.previous_level)


# --- environment ---------------------------------------------------------------------


def environment() -> dict[str, Any]:
    """Versions of the libraries that shape results, and the device used."""
    from importlib import metadata

    versions = {}
    for package in ("warta", "numpy", "scipy", "scikit-learn", "skops", "torch", "transformers", "tokenizers",
                    "accelerate", "safetensors", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "cpu_count": _cpu_count(),
        "git_commit": _git_commit(),
    }
    if "torch" in sys.modules or versions.get("torch"):
        import torch

        cuda = torch.cuda.is_available()
        env["device"] = torch.cuda.get_device_name(0) if cuda else "cpu"
        env["cuda"] = torch.version.cuda if cuda else None
        env["bf16_supported"] = bool(cuda and torch.cuda.is_bf16_supported())
        env["torch_threads"] = torch.get_num_threads()
    return env


def _cpu_count() -> int | None:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


# --- models --------------------------------------------------------------------------


def build_model(config: RunConfig) -> Any:
    """An unfitted model of the config's kind (a transformer loads its pretrained encoder here)."""
    layers = list(config.layers)
    if isinstance(config, TfidfRunConfig):
        from warta.models.tfidf import TfidfClassifier

        m = config.model
        return TfidfClassifier(
            layers=layers,
            word_ngrams=m.word_ngrams,
            char_ngrams=m.char_ngrams,
            min_df=m.min_df,
            max_features=m.max_features,
            sublinear_tf=m.sublinear_tf,
            cue_features=m.cue_features,
            cue_weight=m.cue_weight,
            cue_layers=m.cue_layers,
            class_weight=m.class_weight,
            c_values=m.c_values,
            max_iter=m.max_iter,
        )
    if isinstance(config, TransformerRunConfig):
        import torch
        from warta.models.transformer import TransformerClassifier

        m, t = config.model, config.train
        if t.cpu_threads:
            torch.set_num_threads(t.cpu_threads)
        model = TransformerClassifier.from_pretrained(
            m.name_or_path, layers=layers, pooling=m.pooling, dropout=m.dropout, max_length=m.max_length,
            lowercase=m.lowercase, seed=config.seed,
        )
        log.info("transformer %s: lowercase=%s, pooling=%s", m.name_or_path, model.lowercase, m.pooling)
        return model
    raise TypeError(f"unknown config type {type(config).__name__}")


def fit_model(
    config: RunConfig,
    model: Any,
    train_records: Sequence[dict[str, Any]],
    dev_records: Sequence[dict[str, Any]],
    work_dir: Path,
    progress: bool = True,
) -> Any:
    """Fit `model` (from build_model) on train, tuning C / early-stopping on dev."""
    layers = list(config.layers)
    train_texts = [r["text"] for r in train_records]
    dev_texts = [r["text"] for r in dev_records]
    train_targets, dev_targets = targets(list(train_records), layers), targets(list(dev_records), layers)
    if isinstance(config, TfidfRunConfig):
        model.fit(train_texts, train_targets, dev_texts, dev_targets)
        for layer in layers:
            by_c = " ".join(f"{c}:{f1:.3f}" for c, f1 in model.tuning_.get(layer, {}).items())
            log.info("tfidf %s: C=%s (dev macro-F1 by C: %s)", layer, model.best_c_[layer], by_c or "not tuned")
        return model
    t = config.train
    try:
        model.fit(
            train_texts, train_targets, dev_texts, dev_targets,
            work_dir=work_dir, epochs=t.epochs, max_steps=t.max_steps, batch_size=t.batch_size,
            eval_batch_size=t.eval_batch_size, learning_rate=t.learning_rate, weight_decay=t.weight_decay,
            warmup_ratio=t.warmup_ratio, early_stopping_patience=t.early_stopping_patience,
            class_weighted=t.class_weighted, group_by_length=t.group_by_length, bf16=t.bf16,
            logging_steps=t.logging_steps, dataloader_workers=t.dataloader_workers, seed=config.seed,
            progress=progress,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # checkpoints: the best one is already loaded
    return model


def predict_batch_size(config: RunConfig) -> int:
    return config.train.predict_batch_size if isinstance(config, TfidfRunConfig) else config.train.eval_batch_size


def prediction_records(
    model: Any, records: Sequence[Mapping[str, Any]], model_id: str, batch_size: int
) -> list[Prediction]:
    """Prediction records (warta.records) of `records` from one predict_proba call."""
    probs = model.predict_proba([r["text"] for r in records], batch_size=batch_size)
    return predictions_from_matrices(records, probs, model.labels, model_id)


def score(
    gold: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]], config: RunConfig, labels: dict,
    n_boot: int = 1000,
) -> dict[str, Any]:
    from warta.metrics import evaluate_predictions

    return evaluate_predictions(gold, predictions, list(config.layers), labels, n_boot=n_boot, seed=config.seed)


def training_summary(model: Any) -> dict[str, Any]:
    """What model selection chose (C per layer, or the best epoch's dev score)."""
    if getattr(model, "kind", None) == "tfidf":
        return {"best_c": model.best_c_, "dev_macro_f1_by_c": model.tuning_}
    return {
        "best_dev_macro_f1_mean": getattr(model, "best_dev_macro_f1_", None),
        "history": getattr(model, "history_", []),
    }


# --- the run -------------------------------------------------------------------------


def train(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    data: LabelledData | None = None,
    cv: int | None = None,
    force: bool = False,
    progress: bool = True,
    n_boot: int = 1000,
) -> RunResult:
    """Fit, save, predict dev/test, score, and write the run folder; `cv` adds K-fold cross-validation.

    `data` replaces the config's labelled corpus (tests use it); `progress`
    echoes the log to stderr and shows progress bars.
    """
    if cv is not None and cv < 2:
        raise InputError(f"--cv {cv}: K must be at least 2")
    data = data or load_data(config.data.labels, config.data.splits, config.data.seeds)
    train_records = data.split_records("train")
    dev_records = data.split_records("dev")
    test_records = data.split_records("test")
    if not train_records or not dev_records:
        raise InputError("splits: train and dev must both hold sentences")
    target = run_dir_for(config, out)
    if target.is_dir() and any(target.iterdir()) and not force:  # fail before any slow work
        raise InputError(f"{target}: folder exists and is not empty (use --force to overwrite its run files)")
    model = build_model(config)  # a missing pretrained model fails here, before the run folder exists
    run_dir = prepare_run_dir(target, force=force)
    model_id = make_model_id(run_dir.name, config.model.kind)
    labels_all = None
    with _RunLog(run_dir / "train.log", echo=progress):
        (run_dir / "config.yaml").write_text(dump_config(config), encoding="utf-8")
        write_json(run_dir / "data.json", fingerprint(data, list(config.layers)))
        log.info(
            "run %s: %s model, layers %s; %d train / %d dev / %d test sentences",
            run_dir, config.model.kind, ", ".join(config.layers), len(train_records), len(dev_records), len(test_records),
        )
        timing: dict[str, float] = {}
        started = time.perf_counter()
        model = fit_model(config, model, train_records, dev_records, run_dir / "checkpoints", progress=progress)
        timing["fit_s"] = round(time.perf_counter() - started, 3)
        log.info("fitted in %.2f s", timing["fit_s"])
        model.save(run_dir / "model")
        labels_all = {layer: list(model.labels[layer]) for layer in config.layers}
        write_json(run_dir / "labels.json", labels_all)
        batch = predict_batch_size(config)
        metrics: dict[str, Any] = {}
        for name, records in (("dev", dev_records), ("test", test_records)):
            started = time.perf_counter()
            predictions = prediction_records(model, records, model_id, batch)
            timing[f"predict_{name}_s"] = round(time.perf_counter() - started, 3)
            write_jsonl(run_dir / "predictions" / f"{name}.jsonl", predictions)
            if records:
                metrics[name] = score(records, predictions, config, labels_all, n_boot=n_boot)
                log.info(
                    "%s macro-F1: %s", name,
                    ", ".join(f"{layer} {m['macro_f1']:.3f}" for layer, m in metrics[name].items()),
                )
        metrics["training"] = training_summary(model)
        metrics["timing"] = timing
        write_json(run_dir / "metrics.json", metrics)
        write_json(run_dir / "env.json", environment())
        cv_result = None
        if cv is not None:
            from warta.train.cv import cross_validate

            cv_result = cross_validate(config, data, run_dir, k=cv, progress=progress, n_boot=n_boot)
        log.info("run folder: %s", run_dir)
    return RunResult(run_dir=run_dir, model=model, metrics=metrics, cv=cv_result, timing=timing)
