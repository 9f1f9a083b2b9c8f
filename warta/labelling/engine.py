"""Batch-label new articles with a trained model: streaming, resumable, in input order.

Pipeline: the input walk (warta.labelling.inputs) yields units lazily; preparation
workers (separate processes, so cleaning and segmentation run beside the
model on another core) turn them into sentence records; the main process
collects whole articles into bounded buffers, labels each buffer (length-
sorted batches for the transformer), encodes it and appends it to FILE.partial.

Modules: run options and the run itself here; buffering, labelling and
writing in order in warta.labelling.buffers; FILE.partial, its checkpoint and
`--resume` (byte-identical to an uninterrupted run) in warta.labelling.checkpoint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from warta.errors import InputError, WartaError
from warta.labelling.buffers import BufferedWriter, progress_bar
from warta.labelling.checkpoint import PartialOutput, check_output, partial_paths
from warta.labelling.inputs import iter_items
from warta.labelling.items import STDIN, InputOptions, Problem, RunTotals, WalkStats
from warta.labelling.output import encoder_for, format_for
from warta.labelling.workers import Stage, prepared_units, start_pool
from warta.safe_io import OutputError
from warta.safe_io import describe as describe_os_error
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES


@dataclass
class LabelSummary(RunTotals):
    """What a `label_articles` run did (counts include the part done before a resume)."""

    notes: list[str] = field(default_factory=list)
    dropped_lines: int = 0
    resumed_units: int = 0


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


def _fingerprint(
    inputs: Sequence[str | Path], options: InputOptions, format: str, model_id: str, labeller, buffer_sentences: int,
    buffer_units: int,
) -> dict[str, Any]:
    cap = {} if options.max_article_bytes == DEFAULT_MAX_ARTICLE_BYTES else {"max_article_bytes": options.max_article_bytes}
    return {
        **cap,
        "model": model_id,
        "inputs": [STDIN if str(given) == STDIN else str(Path(given).resolve()) for given in inputs],
        "outlet": options.outlet,
        "manifest": str(options.manifest.resolve()) if options.manifest else None,
        "format": format,
        "buffer_sentences": buffer_sentences,
        "buffer_units": buffer_units,
        "batch_size": getattr(labeller, "batch_size", None),
    }


def label_articles(
    model: str | Path | Any,
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    outlet: str | None = None,
    manifest: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    batch_size: int | None = None,
    device: str = "auto",
    quantize: bool = False,
    workers: int | None = None,
    buffer_sentences: int | None = None,
    buffer_units: int = 4096,
    checkpoint_seconds: float = 1.0,
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    progress: bool = False,
    on_problem: Callable[[Problem], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    stdin: BinaryIO | None = None,
) -> LabelSummary:
    """Label every sentence of `inputs` with `model` (a run folder, a model folder or a loaded model) into `out`.

    Raises WartaError for unusable arguments or output state, and InputError
    when no article at all could be labelled (no output is left behind then).
    Problems with single inputs go to `on_problem` and are counted, never raised.
    """
    from warta.fast_inference import load_labeller

    out = Path(out)
    fmt = format_for(out, format)
    _check_numbers(workers=workers, batch_size=batch_size, max_article_bytes=max_article_bytes,
                   buffer_sentences=buffer_sentences, buffer_units=buffer_units)
    check_output(out, resume, force)
    if not inputs:
        raise WartaError("no INPUT given (files, folders or - for stdin)")
    own_files = frozenset(path.resolve() for path in (out, *partial_paths(out)))
    for given in inputs:
        if str(given) != STDIN and Path(given).resolve() in own_files:
            raise WartaError(f"{given}: is this run's own output (--out {out}); write the output elsewhere")
    options = InputOptions(
        outlet=outlet or None,
        manifest=Path(manifest) if manifest else None,
        exclude=own_files,
        max_article_bytes=max_article_bytes,
    )
    if options.manifest is not None and not options.manifest.is_file():
        raise InputError(f"{options.manifest}: manifest not found")

    with ExitStack() as stack:
        labeller = load_labeller(model, device=device, batch_size=batch_size, quantize=quantize)
        from warta.runfolder import RunFolder

        if isinstance(model, (str, Path)) and RunFolder.holds_model(model):
            RunFolder(model).check_labels_agree(labeller.labels)  # a run folder whose labels.json was altered
        n_workers = default_workers(labeller.kind, labeller.device) if workers is None else workers
        # TF-IDF labels beside preparation (in each worker); a transformer labels buffers here.
        stage = Stage(fmt, labeller if labeller.in_preparation else None)
        pool = start_pool(n_workers, stage)
        if pool is not None:
            stack.callback(pool.close)
        buffer_sentences = buffer_sentences or labeller.buffer_sentences
        fingerprint = _fingerprint(inputs, options, fmt, labeller.model_id, labeller, buffer_sentences, buffer_units)
        encoder = encoder_for(fmt, labeller.labels, labeller.model_id)
        partial = PartialOutput(out, fingerprint, encoder.header, resume)
        stack.callback(partial.close)

        summary = LabelSummary(out=out, format=fmt, model_id=labeller.model_id, resumed_units=partial.resumed_units)
        start = time.perf_counter()
        stats = WalkStats()
        items = iter_items(inputs, options, skip=partial.state.units, stats=stats, stdin=stdin)
        bar = progress_bar(progress, partial.state)
        stack.callback(bar.close)
        writer = BufferedWriter(labeller, encoder, partial, summary, bar, buffer_sentences, buffer_units,
                                 checkpoint_seconds, on_problem, on_note)
        try:
            for prepared in prepared_units(items, stage, pool):
                writer.add(prepared)
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

        state = writer.state
        summary.units = state.units
        summary.articles, summary.sentences, summary.predicted = state.articles, state.sentences, state.predicted
        summary.skipped = state.skipped
        summary.ignored_files = stats.ignored_files
        summary.dropped_lines = state.dropped
        if state.articles == 0:
            partial.abandon()
            ignored = f", {stats.ignored_files} file(s) in folders ignored: not .txt or .jsonl" if stats.ignored_files else ""
            excluded = (f", {stats.excluded_files} file(s) not read because they are this run's own output"
                        if stats.excluded_files else "")
            raise InputError(f"nothing could be labelled ({state.skipped} input(s) skipped{ignored}{excluded})")
        partial.finish(fmt, labeller.labels)
        summary.seconds = time.perf_counter() - start
        return summary


def _check_numbers(**values: int | None) -> None:
    """Numeric options the library refuses (the CLI checks them too): one line each, before any work."""
    minimum = {"workers": 0, "batch_size": 1, "max_article_bytes": 1, "buffer_sentences": 1, "buffer_units": 1}
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum[name]):
            raise WartaError(f"--{name.replace('_', '-')} {value}: must be a whole number >= {minimum[name]}")


