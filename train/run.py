"""`warta train`: a validated config in, a run folder out.

Run folder (``runs/<name>-<timestamp>/`` unless ``output.folder`` or ``out`` names it;
layout: warta.runfolder.RunFolder): config.yaml, data.json, sentences.jsonl, labels.json,
model/, metrics.json, predictions/{dev,test}.jsonl (model id "<run>/<kind>"), train.log,
env.json, and cv/ with cross-validation (see warta.train.cv).

The model is fitted on train, tuned / early-stopped on dev, and scored on dev
(optimistic: it was used for selection) and test (held out).
"""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warta import distributed
from warta.config import RunConfig, dump_config
from warta.errors import InputError
from warta.models import model_class
from warta.records import model_id as make_model_id
from warta.runfolder import RunFolder
from warta.train.cv import cross_validate
from warta.train.data import LabelledData, fingerprint
from warta.train.fit import (  # noqa: F401  (build_model, fit_model, prediction_records: public here too)
    build_model,
    fit_model,
    predict_batch_size,
    prediction_records,
    score,
    training_summary,
)
from warta.train.sources import load_run_data, with_supplement

log = logging.getLogger("warta.train")

RUN_FILES = RunFolder.FILES


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
    for package in ("warta", "numpy", "scipy", "scikit-learn", "torch", "transformers", "tokenizers",
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


# --- the run -------------------------------------------------------------------------


def train(
    config: RunConfig,
    *,
    out: str | Path | None = None,
    data: LabelledData | None = None,
    cv: int | str | None = None,
    force: bool = False,
    progress: bool = True,
    n_boot: int = 1000,
) -> RunResult:
    """Fit, save, predict dev/test, score, and write the run folder; `cv` adds K-fold (int) or
    leave-one-outlet-out ("outlet") cross-validation. The written supplement, if any, joins the fitted sentences.

    `data` replaces the config's labelled corpus (tests use it); `progress`
    echoes the log to stderr and shows progress bars.
    """
    if cv is not None and cv not in ("outlet", "outlet-purged") and (not isinstance(cv, int) or cv < 2):
        raise InputError(f"--cv {cv}: expected K >= 2, 'outlet' or 'outlet-purged'")
    if distributed.is_distributed() and not model_class(config.model.kind).distributed_training:  # nothing to share
        raise InputError(f"model.kind {config.model.kind}: multi-process training (WORLD_SIZE="
                         f"{distributed.world_size()}) is for the encoder kinds; run `warta train` without torchrun")
    if data is None:
        data = load_run_data(config.data)
    train_records = data.split_records("train")
    dev_records = data.split_records("dev")
    test_records = data.split_records("test")
    if not train_records or not dev_records:
        raise InputError("splits: train and dev must both hold sentences")
    distributed.init()
    target, problem = distributed.broadcast(_target(config, out, force) if distributed.is_main() else None)
    if problem:  # rank 0 decided the folder (timestamps differ between ranks) and whether it may be used
        raise InputError(problem)
    model = build_model(config)  # a missing pretrained model fails here, before the run folder exists
    if not distributed.is_main():
        return _train_other_rank(config, model, data, target, cv, n_boot)
    folder = RunFolder(target).prepare(force=force)
    distributed.barrier()  # the other ranks wait until the folder is ready (their Trainers look into it)
    run_dir = folder.path
    model_id = make_model_id(run_dir.name, config.model.kind)
    labels_all = None
    with _RunLog(run_dir / RunFolder.LOG, echo=progress):
        folder.write_config(dump_config(config))
        folder.write_data(fingerprint(data, list(config.layers)))
        folder.write_sentences(data.records)
        log.info(
            "run %s: %s model, layers %s; %d train / %d dev / %d test sentences",
            run_dir, config.model.kind, ", ".join(config.layers), len(train_records), len(dev_records), len(test_records),
        )
        timing: dict[str, float] = {}
        started = time.perf_counter()
        model = fit_model(config, model, with_supplement(data, train_records), dev_records, folder.checkpoints_dir(),
                          progress=progress)
        timing["fit_s"] = round(time.perf_counter() - started, 3)
        log.info("fitted in %.2f s", timing["fit_s"])
        model.save(folder.model_dir)
        labels_all = {layer: list(model.labels[layer]) for layer in config.layers}
        folder.write_labels(labels_all)
        batch = predict_batch_size(config)
        metrics: dict[str, Any] = {}
        for name, records in (("dev", dev_records), ("test", test_records)):
            started = time.perf_counter()
            predictions = prediction_records(model, records, model_id, batch)
            timing[f"predict_{name}_s"] = round(time.perf_counter() - started, 3)
            folder.write_predictions(name, predictions)
            if records:
                metrics[name] = score(records, predictions, config, labels_all, n_boot=n_boot)
                log.info(
                    "%s macro-F1: %s", name,
                    ", ".join(f"{layer} {m['macro_f1']:.3f}" for layer, m in metrics[name].items()),
                )
        metrics["training"] = training_summary(model)
        metrics["timing"] = timing
        folder.write_metrics(metrics)
        folder.write_env(environment())
        cv_result = None
        if cv is not None:
            cv_result = cross_validate(config, data, folder, k=cv, progress=progress, n_boot=n_boot)
        log.info("run folder: %s", run_dir)
    return RunResult(run_dir=run_dir, model=model, metrics=metrics, cv=cv_result, timing=timing)


def _target(config: RunConfig, out: str | Path | None, force: bool) -> tuple[Path, str | None]:
    """(run folder, why it cannot be used or None); checked before any slow work."""
    target = run_dir_for(config, out)
    if target.is_dir() and any(target.iterdir()) and not force:
        return target, f"{target}: folder exists and is not empty (use --force to overwrite its run files)"
    return target, None


def _train_other_rank(config: RunConfig, model: Any, data: LabelledData, target: Path, cv: int | str | None,
                      n_boot: int) -> RunResult:
    """A rank > 0 of a multi-process run: train alongside rank 0 and write nothing (rank 0 writes the folder)."""
    distributed.barrier()  # rank 0 has prepared (or --force cleared) the folder
    checkpoints = RunFolder(target).checkpoints_dir()  # rank 0's Trainer saves there; all ranks load the best
    model = fit_model(config, model, with_supplement(data, data.split_records("train")), data.split_records("dev"),
                      checkpoints, progress=False)
    if cv is not None:
        cross_validate(config, data, RunFolder(target), k=cv, progress=False, n_boot=n_boot)
    return RunResult(run_dir=target, model=model, metrics={})
