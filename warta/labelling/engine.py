"""Batch-label new articles with a trained model: streaming, resumable, in input order.

Pipeline: the input walk (warta.labelling.inputs) yields units lazily; preparation
workers (separate processes, so cleaning and segmentation run beside the
model on another core) turn them into sentence records; the main process
collects whole articles into bounded buffers, labels each buffer (length-
sorted batches for the transformer), encodes it and appends it to FILE.partial.

Modules: the job and its checks in warta.labelling.job; the run itself here; buffering, labelling and
writing in order in warta.labelling.buffers; FILE.partial, its checkpoint and
`--resume` (byte-identical to an uninterrupted run) in warta.labelling.checkpoint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from warta.errors import InputError, WartaError
from warta.labelling.buffers import BufferedWriter, progress_bar
from warta.labelling.checkpoint import PartialOutput, Progress, check_output, partial_paths
from warta.labelling.inputs import iter_items
from warta.labelling.items import STDIN, InputOptions, LabelSummary, WalkStats, file_digest
from warta.labelling.job import LabelHooks, LabelJob, job_and_hooks
from warta.labelling.output import encoder_for
from warta.labelling.workers import Prepared, Stage, prepared_units, start_pool
from warta.runfolder import RunFolder
from warta.safe_io import OutputError
from warta.safe_io import describe as describe_os_error
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES

# --- preparation ----------------------------------------------------------------


def default_workers(kind: str, device: str) -> int:
    """Preparation processes: all cores beside a CPU TF-IDF model, one beside a CPU transformer
    (torch uses the cores), most cores feeding a GPU."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    from warta.models import kind_facts

    if kind_facts(kind).uses_encoder:  # an encoder uses the cores
        return max(1, min(cores - 1, 8)) if device == "cuda" else 1
    return max(1, min(cores, 8))


# --- the run -------------------------------------------------------------------


def label_articles(model: str | Path | Any, inputs: Sequence[str | Path], out: str | Path, **options: Any) -> LabelSummary:
    """Label every sentence of `inputs` with `model` (a run folder, a model folder or a loaded model) into `out`.

    The keyword form of a local job: `options` are the fields of LabelJob and
    LabelHooks (warta.labelling.job). Raises WartaError for unusable arguments
    or output state, and InputError when no article at all could be labelled
    (no output is left behind then). Problems with single inputs go to
    `on_problem` and are counted, never raised.
    """
    job, hooks = job_and_hooks(model, inputs, out, **options)
    if job.engine != "local":
        raise WartaError(f"--engine {job.engine}: label_articles runs the local engine (use warta.labelling.job.label)")
    job.check()
    return run_local(job, hooks)


def run_local(job: LabelJob, hooks: LabelHooks) -> LabelSummary:
    """Run a checked job on this machine (see the module docstring)."""
    from warta.labelling.labeller import load_labeller

    fmt = job.output_format
    check_output(job.out, job.resume, job.force)
    options = job.input_options(exclude=_own_files(job))
    with ExitStack() as stack:
        labeller = load_labeller(job.model, device=job.device, batch_size=job.batch_size, backend=job.inference_backend)
        if isinstance(job.model, (str, Path)) and RunFolder.holds_model(job.model):
            RunFolder(job.model).check_labels_agree(labeller.labels)  # a run folder whose labels.json was altered
        n_workers = default_workers(labeller.kind, labeller.device) if job.workers is None else job.workers
        # TF-IDF labels beside preparation (in each worker); a transformer labels buffers here.
        stage = Stage(fmt, labeller if labeller.in_preparation else None)
        pool = start_pool(n_workers, stage)
        if pool is not None:
            stack.callback(pool.close)
        buffer_sentences = job.buffer_sentences or labeller.buffer_sentences
        fingerprint = _fingerprint(job, options, fmt, labeller, buffer_sentences)
        encoder = encoder_for(fmt, labeller.labels, labeller.model_id)
        partial = PartialOutput(job.out, fingerprint, encoder.header, job.resume, count_lines=fmt != "csv")
        stack.callback(partial.close)

        summary = LabelSummary(out=job.out, format=fmt, model_id=labeller.model_id, resumed_units=partial.resumed_units)
        start = time.perf_counter()
        stats = WalkStats()
        items = iter_items(job.inputs, options, skip=partial.state.units, stats=stats, stdin=hooks.stdin,
                           ledger=partial.ledger)
        bar = progress_bar(hooks.progress, partial.state)
        stack.callback(bar.close)
        writer = BufferedWriter(labeller, encoder, partial, summary, bar, buffer_sentences, job.buffer_units,
                                job.checkpoint_seconds, hooks)
        _write_all(prepared_units(items, stage, pool), writer, partial)
        _fill_summary(summary, writer.state, stats)
        if writer.state.articles == 0:
            partial.abandon()
            raise InputError(_nothing_labelled(writer.state.skipped, stats))
        partial.finish(fmt, labeller.labels)
        summary.seconds = time.perf_counter() - start
        return summary


def _own_files(job: LabelJob) -> frozenset[Path]:
    """The run's output and partial files, refused as inputs and never read from a walked folder."""
    own = frozenset(path.resolve() for path in (job.out, *partial_paths(job.out)))
    for given in job.inputs:
        if str(given) != STDIN and Path(given).resolve() in own:
            raise WartaError(f"{given}: is this run's own output (--out {job.out}); write the output elsewhere")
    return own


def _fingerprint(job: LabelJob, options: InputOptions, format: str, labeller, buffer_sentences: int) -> dict[str, Any]:
    """What must not change between a run and its --resume: the model (by content), the options that shape the
    bytes written (the inputs are checked unit by unit as they are read: warta.labelling.items.UnitLedger)."""
    cap = {} if options.max_article_bytes == DEFAULT_MAX_ARTICLE_BYTES else {"max_article_bytes": options.max_article_bytes}
    return {
        **cap,
        "model": labeller.model_id,
        "model_digest": labeller.model_digest,
        "device": labeller.device,
        "manifest_digest": file_digest(options.manifest) if options.manifest else None,
        "inputs": [STDIN if str(given) == STDIN else str(Path(given).resolve()) for given in job.inputs],
        "outlet": options.outlet,
        "manifest": str(options.manifest.resolve()) if options.manifest else None,
        "format": format,
        "buffer_sentences": buffer_sentences,
        "buffer_units": job.buffer_units,
        "batch_size": getattr(labeller, "batch_size", None),
    }


def _write_all(prepared: Iterator[Prepared], writer: BufferedWriter, partial: PartialOutput) -> None:
    """Label and write every prepared unit; on an interruption or a write error, checkpoint what is complete."""
    try:
        for unit in prepared:
            writer.add(unit)
        writer.finish()
        partial.commit(writer.state)
    except KeyboardInterrupt:
        # Record what was fully written, so --resume loses nothing already done.
        partial.commit(writer.state)
        raise
    except OSError as exc:  # a full disk, a quota, an I/O error while writing the output
        try:
            partial.commit(writer.state)
            kept = f"{writer.state.articles} finished article(s) are kept in {partial.partial}"
        except OSError:
            kept = f"articles up to the last checkpoint are kept in {partial.partial}"
        where = exc.filename or partial.partial
        raise OutputError(
            f"{where}: cannot write ({describe_os_error(exc)}); {kept}; fix the cause and rerun with --resume"
        ) from None


def _fill_summary(summary: LabelSummary, state: Progress, stats: WalkStats) -> None:
    summary.units = state.units
    summary.articles, summary.sentences, summary.predicted = state.articles, state.sentences, state.predicted
    summary.skipped = state.skipped
    summary.ignored_files = stats.ignored_files
    summary.dropped_lines = state.dropped


def _nothing_labelled(skipped: int, stats: WalkStats) -> str:
    ignored = f", {stats.ignored_files} file(s) in folders ignored: not .txt or .jsonl" if stats.ignored_files else ""
    excluded = (f", {stats.excluded_files} file(s) not read because they are this run's own output"
                if stats.excluded_files else "")
    return f"nothing could be labelled ({skipped} input(s) skipped{ignored}{excluded})"
