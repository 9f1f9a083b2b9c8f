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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warta.errors import InputError, WartaError
from warta.labelling.items import InputOptions, LabelSummary, Problem, file_digest
from warta.labelling.job import LabelHooks, LabelJob, job_and_hooks
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
from warta.labelling.shards import Plan, Segment, plan_shards, shard_items
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES

__all__ = ["MANIFEST", "label_with_ray", "marker_name", "ray_session", "run_ray", "shard_name"]

# --- model ------------------------------------------------------------------------


def model_folder(run: str | Path) -> tuple[Path, str, dict[str, Any]]:
    """(model folder, model id as the local engine writes it, model card) of a run folder or a model folder."""
    from warta.models.base import read_model_card
    from warta.records import model_id
    from warta.runfolder import resolve_model_folder

    folder, name = resolve_model_folder(Path(run))
    card = read_model_card(folder)
    return folder.resolve(), model_id(name, str(card.get("kind"))), card


def _model_fingerprint(folder: Path) -> str:
    """The model folder's content (every file's name and bytes, weights included)."""
    from warta.labelling.labeller import model_digest

    return model_digest(folder)[:32]


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
    for spec, renamed in zip(batch["segments"], batch["renames"]):
        segments = [Segment(**s) for s in json.loads(spec)]
        renames = {int(at): (new_id, note) for at, (new_id, note) in json.loads(renamed).items()}
        prefixes: list[str] = []
        texts: list[str | None] = []
        problems: list[list[str]] = []
        notes: list[str] = []
        articles = units = 0
        for position, item in enumerate(shard_items(segments, options, renames)):
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
    """A Ray actor: loads the model once (the local engine's labeller: the same code, the same numbers),
    labels and encodes whole shards."""

    def __init__(self, folder: str, model_id: str, device: str, batch_size: int | None):
        from warta.labelling.labeller import load_labeller
        from warta.labelling.output import encoder_for

        labeller = load_labeller(folder, device=device, batch_size=batch_size, model_id=model_id)
        self.labels, self._rows = labeller.labels, labeller.label
        self.encoder = encoder_for("jsonl", self.labels, model_id)

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


def _dataset(todo: list[tuple[int, list[Segment]]], job: LabelJob, plan: Plan, folder: Path, model_id: str, kind: str):
    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # no per-run INFO lines in the CLI's output
    ray.data.DataContext.get_current().enable_progress_bars = False
    # No more actors (model copies to load) than shards to label.
    actors = min(job.actors or _default_actors(kind, job.gpus_per_actor), len(todo))
    device = "cuda" if job.gpus_per_actor > 0 else ("cpu" if job.device == "auto" else job.device)
    items = [{"shard": index, "segments": json.dumps([asdict(s) for s in segments]),
              "renames": json.dumps(plan.shard_renames(index))} for index, segments in todo]
    ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    ds = ds.map_batches(_prepare, batch_size=1, num_cpus=1,
                        fn_kwargs={"options": job.input_options(), "cwd": os.getcwd()})
    return ds.map_batches(
        _LabelShards,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=job.cpus_per_actor,
        num_gpus=job.gpus_per_actor or None,
        fn_constructor_kwargs={"folder": str(folder), "model_id": model_id, "device": device,
                               "batch_size": job.batch_size},
    )


# --- the run ------------------------------------------------------------------------


def label_with_ray(model: str | Path, inputs: Sequence[str | Path], out: str | Path, **options: Any) -> LabelSummary:
    """Label every sentence of `inputs` into the shard folder `out` on Ray (see the module docstring).

    The keyword form of a ray job: `options` are the fields of LabelJob and
    LabelHooks (warta.labelling.job). Problems with single inputs are
    collected (manifest, summary, `on_problem` at the end), never raised; a
    run that labels nothing raises InputError.
    """
    job, hooks = job_and_hooks(model, inputs, out, **{"engine": "ray", **options})
    job.check()
    return run_ray(job, hooks)


@dataclass
class _ShardRun:
    """A ray-engine run's plan and output folder state, as the driver goes."""

    plan: Plan
    folder: Path
    card: dict[str, Any]
    run_fingerprint: str
    book: ManifestBook
    summary: LabelSummary
    done: dict[int, dict[str, Any]]


def run_ray(job: LabelJob, hooks: LabelHooks) -> LabelSummary:
    """Run a checked job on Ray (see the module docstring)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise WartaError('--engine ray needs Ray: pip install -e ".[ray]"') from None
    run = _open_run(job)
    start = time.perf_counter()
    for index, shard in enumerate(run.plan.shards):
        # Shards of inputs already known to be unusable (missing, binary, ...) need no worker.
        if index not in run.done and all(seg.kind == "problem" for seg in shard):
            meta = {"units": len(shard), "articles": 0, "sentences": 0, "predicted": 0, "notes": [],
                    "problems": [[seg.message.split(": ", 1)[0], seg.message] for seg in shard]}
            _commit(job, run, index, b"", meta)
    todo = [(i, shard) for i, shard in enumerate(run.plan.shards) if i not in run.done]
    if todo:
        with ray_session(job.address, job.num_cpus) as ray_start:
            run.summary.ray_start_seconds = ray_start
            ds = _dataset(todo, job, run.plan, run.folder, run.summary.model_id, run.card.get("kind", ""))
            for row in ds.iter_rows():
                _commit(job, run, int(row["shard"]), row["data"], json.loads(row["meta"]))
                run.book.write("running", force=False)
                if hooks.on_shard:
                    hooks.on_shard(len(run.done), len(run.plan.shards))
    summary = _complete(run, hooks)
    summary.seconds = time.perf_counter() - start
    if summary.articles == 0:
        raise InputError(f"nothing could be labelled ({summary.skipped} input(s) skipped)")
    return summary


def _open_run(job: LabelJob) -> _ShardRun:
    """Plan the shards, check the output folder against the plan's fingerprints, keep the valid shards (resume)."""
    out, fmt = job.out, job.output_format
    options = job.input_options()
    folder, model_id, card = model_folder(job.model)
    labels = _card_labels(card)
    plan = plan_shards(job.inputs, options, job.shard_units, skip_dirs=[out])
    settings = {"outlet": options.outlet, "manifest": str(options.manifest.resolve()) if options.manifest else None,
                "format": fmt, "shard_units": job.shard_units}
    if options.manifest:  # the manifest's content: titles, outlets and ids come from it
        settings["manifest_digest"] = file_digest(options.manifest)
    if job.max_article_bytes != DEFAULT_MAX_ARTICLE_BYTES:
        settings["max_article_bytes"] = job.max_article_bytes
    fingerprints = {"inputs": plan.fingerprint({}), "model": f"{model_id}:{_model_fingerprint(folder)}",
                    "options": hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:32]}
    run_fingerprint = hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode()).hexdigest()[:32]
    existing = read_json(out / MANIFEST) if (out / MANIFEST).is_file() else None
    check_out(out, existing, fingerprints, job.resume, job.force)
    out.mkdir(parents=True, exist_ok=True)
    if job.force:
        clear(out)
    for stale in out.glob(f"{SHARD_PREFIX}*.tmp"):
        stale.unlink()

    summary = LabelSummary(out=out, format=fmt, model_id=model_id, engine="ray", shards=len(plan.shards),
                           units=plan.units, ignored_files=plan.ignored_files)
    head = {"version": MANIFEST_VERSION, "engine": "ray", "model": model_id, "format": fmt,
            "inputs": [str(Path(p).resolve()) for p in job.inputs], "settings": settings,
            "fingerprints": fingerprints, "run_fingerprint": run_fingerprint, "labels": labels}
    book = ManifestBook(out, head, plan, fmt)
    done = complete_shards(out, run_fingerprint, fmt, len(plan.shards)) if job.resume else {}
    for index, marker in done.items():
        book.mark(index, marker)
    summary.resumed_shards = len(done)
    book.write("running")
    return _ShardRun(plan, folder, card, run_fingerprint, book, summary, done)


def _commit(job: LabelJob, run: _ShardRun, index: int, data: bytes, meta: dict[str, Any]) -> None:
    run.done[index] = commit_shard(job.out, index, job.output_format, data, meta, run.run_fingerprint,
                                   run.book.head["labels"])
    run.book.mark(index, run.done[index])


def _complete(run: _ShardRun, hooks: LabelHooks) -> LabelSummary:
    """Totals from the shard markers; the manifest marked complete; skipped inputs reported."""
    summary, done = run.summary, run.done
    for index in sorted(done):
        marker = done[index]
        summary.articles += marker["articles"]
        summary.sentences += marker["sentences"]
        summary.predicted += marker["predicted"]
        summary.skipped += len(marker["skipped"])
        summary.problems.extend(message for _, message in marker["skipped"])
    skipped = [{"source": source, "message": message} for i in sorted(done) for source, message in done[i]["skipped"]]
    totals = {k: getattr(summary, k) for k in ("units", "articles", "sentences", "predicted", "skipped")}
    run.book.write("complete", {"totals": totals, "ignored_files": run.plan.ignored_files, "skipped_inputs": skipped})
    if hooks.on_problem:
        for entry in skipped:
            hooks.on_problem(Problem(entry["message"], entry["source"]))
    return summary
