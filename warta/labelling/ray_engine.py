"""`warta label --engine ray`: the labelling pipeline on a Ray cluster, sharded and resumable.

The driver plans the inputs into fixed-size shards (warta.labelling.shards:
consecutive input units, boundaries a function of the inputs alone). A Ray
Data pipeline runs over the shards still to do:

    shards --map_batches(_prepare)--> sentences --map_batches(_LabelShards, actor pool)--> encoded lines

`_prepare` reads a shard's units with the local engine's walker and cleans,
de-duplicates and segments each article with the local engine's
`prepare_item`; `_LabelShards` actors load the run's model once
(`warta.models.load_model`, on a GPU when `gpus_per_actor` > 0) and encode
the lines with the local engine's encoder, so every record is byte for byte
what `warta label` writes. (On CPUs Ray fuses the two steps into the actors.)

The driver writes each finished shard as DIR/part-NNNNN.jsonl (or .parquet)
through a temporary file and rename, then its completion marker
DIR/part-NNNNN.done, atomically. DIR/manifest.json records the fingerprints
(inputs, model, options), the shards with their counts and completion state,
and the skipped inputs. `resume=True` checks the fingerprints, skips shards
whose marker is valid and redoes the rest: a run killed at any point resumes
to the same files as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warta.errors import InputError, WartaError
from warta.labelling.items import InputOptions, Problem, RunTotals
from warta.labelling.shard_folder import (
    MANIFEST,
    MANIFEST_VERSION,
    SHARD_PREFIX,
    ManifestBook,
    check_out,
    clear,
    commit_shard,
    complete_shards,
    marker_name,
    read_json,
    shard_name,
)
from warta.labelling.shards import (
    DEFAULT_SHARD_UNITS,
    Segment,
    plan_shards,
    shard_items,
)

__all__ = ["MANIFEST", "RaySummary", "label_with_ray", "marker_name", "ray_session", "shard_name"]

# Test hook: seconds the driver waits after committing each shard (lets a test kill a run mid-way).
_DELAY_ENV = "WARTA_RAY_SHARD_DELAY"


@dataclass
class RaySummary(RunTotals):
    """What a ray-engine run did (counts include shards completed before a resume)."""

    shards: int = 0
    resumed_shards: int = 0
    ray_start_seconds: float = 0.0


# --- model ------------------------------------------------------------------------


def model_folder(run: str | Path) -> tuple[Path, str, dict[str, Any]]:
    """(model folder, model id as the local engine writes it, model card) of a run folder or a model folder."""
    from warta.models.base import read_model_card
    from warta.records import model_id

    from warta.runfolder import resolve_model_folder

    folder, name = resolve_model_folder(run)
    card = read_model_card(folder)
    return folder.resolve(), model_id(name, str(card.get("kind"))), card


def _model_fingerprint(folder: Path) -> str:
    """model.json's content and every model file's name and size (cheap; weights are not re-hashed)."""
    digest = hashlib.sha256((folder / "model.json").read_bytes())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(folder).as_posix()}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:32]


def _card_labels(card: dict[str, Any]) -> dict[str, list[str]]:
    from warta.schema import LAYER_NAMES

    labels = card.get("labels") or {}
    return {layer: list(labels[layer]) for layer in LAYER_NAMES if layer in labels}


# --- the two pipeline steps (run in Ray workers) ----------------------------------


def _prepare(batch: dict[str, Any], options: InputOptions, cwd: str) -> dict[str, list]:
    """Shards -> their units prepared as the local engine prepares them (one JSON payload per shard)."""
    from warta.labelling.workers import prepare_item

    if os.path.isdir(cwd) and os.getcwd() != cwd:
        os.chdir(cwd)  # relative input paths (and folder outlets) resolve as in the driver
    payloads = []
    for spec in batch["segments"]:
        segments = [Segment(**s) for s in json.loads(spec)]
        prefixes: list[str] = []
        texts: list[str | None] = []
        problems: list[list[str]] = []
        notes: list[str] = []
        articles = units = 0
        for position, item in enumerate(shard_items(segments, options)):
            units += 1
            _, sentences, problem, item_notes = prepare_item(position, item, "jsonl")
            notes.extend(item_notes)
            if problem is not None:
                problems.append([problem.source, problem.message])
                continue
            articles += 1
            prefixes.extend(sentences.prefixes)
            texts.extend(sentences.texts)
        payloads.append(json.dumps({"prefixes": prefixes, "texts": texts, "problems": problems, "notes": notes,
                                    "articles": articles, "units": units}, ensure_ascii=False))
    return {"shard": list(batch["shard"]), "payload": payloads}


class _LabelShards:
    """A Ray actor: loads the model once, labels and encodes whole shards."""

    def __init__(self, folder: str, model_id: str, device: str, batch_size: int | None):
        from warta.labelling.output import encoder_for

        try:  # the local engine's labeller, where there is one: the same code, the same numbers
            from warta.fast_inference import load_labeller
        except ImportError:
            load_labeller = None
        if load_labeller is not None:
            labeller = load_labeller(folder, device=device, batch_size=batch_size, model_id=model_id)
            self.labels, self._rows = labeller.labels, labeller.label
        else:
            from warta.models import load_model

            self.model = load_model(folder, device=device)  # a kind without a device drops it
            self.labels = _card_labels({"labels": self.model.labels})
        self.batch_size = batch_size
        self.encoder = encoder_for("jsonl", self.labels, model_id)

    def _rows(self, texts: list[str]) -> tuple[list, list]:
        """Per sentence: probabilities of every layer, rounded as the local engine rounds; winning index per layer."""
        import numpy as np

        from warta.records import PROB_DECIMALS

        probs = self.model.predict_proba(texts, batch_size=self.batch_size) if self.batch_size else \
            self.model.predict_proba(texts)
        matrices = [np.asarray(probs[layer], dtype=np.float64) for layer in self.labels]
        winners = np.column_stack([m.argmax(axis=1) for m in matrices]).tolist()
        return np.round(np.hstack(matrices), PROB_DECIMALS).tolist(), winners

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        from warta.labelling.output import label_present

        shards, datas, metas = [], [], []
        for shard, payload in zip(batch["shard"], batch["payload"]):
            prepared = json.loads(payload)
            texts = prepared.pop("texts")
            rows, winners = label_present(texts, self._rows)
            data = self.encoder.encode(prepared.pop("prefixes"), rows, winners)
            prepared.update(sentences=len(texts), predicted=sum(1 for text in texts if text is not None))
            shards.append(int(shard))
            datas.append(data)
            metas.append(json.dumps(prepared, ensure_ascii=False))
        return {"shard": shards, "data": datas, "meta": metas}


# --- Ray ------------------------------------------------------------------------------


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int | None):
    """Connect to `address`, or start a local Ray with this machine's CPUs (and GPUs); reuse one already started."""
    import ray

    if ray.is_initialized():
        yield 0.0
        return
    start = time.perf_counter()
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError) as exc:
            reason = " ".join(str(exc).split())[:300]
            raise WartaError(f"--address {address}: cannot connect to the Ray cluster ({reason})") from None
    else:
        cpus = num_cpus or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
        ray.init(num_cpus=cpus, **kwargs)
    try:
        yield time.perf_counter() - start
    finally:
        ray.shutdown()


def _default_actors(kind: str, gpus_per_actor: float) -> int:
    import ray

    resources = ray.cluster_resources()
    if gpus_per_actor > 0:
        return max(1, int(resources.get("GPU", 0) // gpus_per_actor))
    # TF-IDF: every core runs the whole shard pipeline; a CPU transformer: one actor, torch uses the cores.
    from warta.models import kind_facts

    return 1 if kind_facts(kind).uses_encoder else max(1, int(resources.get("CPU", 1)))


def _dataset(todo: list[tuple[int, list[Segment]]], options: InputOptions, folder: Path, model_id: str, kind: str,
             actors: int | None, gpus_per_actor: float, cpus_per_actor: float, batch_size: int | None, device: str):
    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # no per-run INFO lines in the CLI's output
    ray.data.DataContext.get_current().enable_progress_bars = False
    # No more actors (model copies to load) than shards to label.
    actors = min(actors or _default_actors(kind, gpus_per_actor), len(todo))
    if gpus_per_actor > 0:
        device = "cuda"
    elif device == "auto":
        device = "cpu"
    items = [{"shard": index, "segments": json.dumps([asdict(s) for s in segments])} for index, segments in todo]
    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    ds = ds.map_batches(_prepare, batch_size=1, num_cpus=1, fn_kwargs={"options": options, "cwd": os.getcwd()})
    return ds.map_batches(
        _LabelShards,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor,
        num_gpus=gpus_per_actor or None,
        fn_constructor_kwargs={"folder": str(folder), "model_id": model_id, "device": device,
                               "batch_size": batch_size},
    )


# --- the run ------------------------------------------------------------------------


def label_with_ray(
    model: str | Path,
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    outlet: str | None = None,
    manifest: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    address: str | None = None,
    actors: int | None = None,
    gpus_per_actor: float = 0.0,
    cpus_per_actor: float = 1.0,
    batch_size: int | None = None,
    device: str = "auto",
    shard_units: int = DEFAULT_SHARD_UNITS,
    num_cpus: int | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    on_shard: Callable[[int, int], None] | None = None,
) -> RaySummary:
    """Label every sentence of `inputs` into the shard folder `out` on Ray (see the module docstring).

    Problems with single inputs are collected (manifest, summary, `on_problem` at
    the end), never raised; a run that labels nothing raises InputError.
    """
    out = Path(out)
    fmt = format or "jsonl"
    if fmt not in ("jsonl", "parquet"):
        raise WartaError(f"--format {fmt}: --engine ray writes jsonl or parquet shards")
    if batch_size is not None and batch_size < 1:
        raise WartaError(f"--batch-size {batch_size}: must be at least 1")
    if not inputs:
        raise WartaError("no INPUT given (files or folders)")
    options = InputOptions(outlet=outlet or None, manifest=Path(manifest) if manifest else None)
    if options.manifest is not None and not options.manifest.is_file():
        raise InputError(f"{options.manifest}: manifest not found")
    folder, model_id, card = model_folder(model)
    labels = _card_labels(card)

    plan = plan_shards(inputs, options, shard_units, skip_dirs=[out])
    settings = {"outlet": options.outlet, "manifest": str(options.manifest.resolve()) if options.manifest else None,
                "format": fmt, "shard_units": shard_units}
    fingerprints = {"inputs": plan.fingerprint({}), "model": f"{model_id}:{_model_fingerprint(folder)}",
                    "options": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]}
    run_fingerprint = hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode()).hexdigest()[:32]
    existing = read_json(out / MANIFEST) if (out / MANIFEST).is_file() else None
    check_out(out, existing, fingerprints, resume, force)
    out.mkdir(parents=True, exist_ok=True)
    if force:
        clear(out)
    for stale in out.glob(f"{SHARD_PREFIX}*.tmp"):
        stale.unlink()

    summary = RaySummary(out=out, format=fmt, model_id=model_id, shards=len(plan.shards), units=plan.units,
                         ignored_files=plan.ignored_files)
    head = {"version": MANIFEST_VERSION, "engine": "ray", "model": model_id, "format": fmt,
            "inputs": [str(Path(p).resolve()) for p in inputs], "settings": settings, "fingerprints": fingerprints,
            "run_fingerprint": run_fingerprint, "labels": labels}
    book = ManifestBook(out, head, plan, fmt)
    done = complete_shards(out, run_fingerprint, fmt, len(plan.shards)) if resume else {}
    for index, marker in done.items():
        book.mark(index, marker)
    summary.resumed_shards = len(done)
    book.write("running")

    start = time.perf_counter()
    todo = [(i, shard) for i, shard in enumerate(plan.shards) if i not in done]
    # Shards of inputs already known to be unusable (missing, binary, ...) need no worker.
    for index, shard in [(i, shard) for i, shard in todo if all(seg.kind == "problem" for seg in shard)]:
        meta = {"units": len(shard), "articles": 0, "sentences": 0, "predicted": 0, "notes": [],
                "problems": [[seg.message.split(": ", 1)[0], seg.message] for seg in shard]}
        done[index] = commit_shard(out, index, fmt, b"", meta, run_fingerprint, labels)
        book.mark(index, done[index])
    todo = [(i, shard) for i, shard in todo if i not in done]
    delay = float(os.environ.get(_DELAY_ENV, "0") or 0)
    if todo:
        with ray_session(address, num_cpus) as ray_start:
            summary.ray_start_seconds = ray_start
            ds = _dataset(todo, options, folder, model_id, card.get("kind", ""), actors, gpus_per_actor,
                          cpus_per_actor, batch_size, device)
            for row in ds.iter_rows():
                index = int(row["shard"])
                done[index] = commit_shard(out, index, fmt, row["data"], json.loads(row["meta"]), run_fingerprint,
                                            labels)
                book.mark(index, done[index])
                book.write("running", force=False)
                if on_shard:
                    on_shard(len(done), len(plan.shards))
                if delay:
                    time.sleep(delay)

    for index in sorted(done):
        marker = done[index]
        summary.articles += marker["articles"]
        summary.sentences += marker["sentences"]
        summary.predicted += marker["predicted"]
        summary.skipped += len(marker["skipped"])
        summary.problems.extend(message for _, message in marker["skipped"])
    skipped = [{"source": source, "message": message} for i in sorted(done) for source, message in done[i]["skipped"]]
    totals = {k: getattr(summary, k) for k in ("units", "articles", "sentences", "predicted", "skipped")}
    book.write("complete", {"totals": totals, "ignored_files": plan.ignored_files, "skipped_inputs": skipped})
    summary.seconds = time.perf_counter() - start
    if on_problem:
        for entry in skipped:
            on_problem(Problem(entry["message"], entry["source"]))
    if summary.articles == 0:
        raise InputError(f"nothing could be labelled ({summary.skipped} input(s) skipped)")
    return summary
