"""`warta label`: batch-label new articles with a trained run (streaming, resumable), on this machine or on Ray.

The command parses its options into a LabelJob (warta.labelling.job), runs it
and prints one summary line; skipped inputs and notes go to stderr.

Fault injection for resume tests: with WARTA_LABEL_STOP_AFTER=N in the
environment, the process kills itself (SIGKILL, as `kill -9` would) right after
its N-th checkpoint (local engine) or N-th finished shard (ray engine).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import app, echo_err
from warta.cli.corpus import SHOWN_NOTES_PER_KIND, note_kind
from warta.labelling.items import LabelSummary
from warta.labelling.job import DEFAULT_SHARD_UNITS, LabelHooks, LabelJob
from warta.labelling.labeller import BACKENDS, DEFAULT_BACKEND
from warta.safe_io import refuse_protected_output
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES
from warta.text.sanitise import terminal_safe

# Per input file, this many problems are printed; the rest are counted.
SHOWN_PROBLEMS_PER_SOURCE = 20
EXIT_INTERRUPTED = 130
STOP_AFTER_ENV = "WARTA_LABEL_STOP_AFTER"


class _ProblemPrinter:
    """Prints each skipped input on one line, at most SHOWN_PROBLEMS_PER_SOURCE per file."""

    def __init__(self) -> None:
        self.per_source: dict[str, int] = {}

    def __call__(self, problem) -> None:
        source = problem.source or problem.message
        seen = self.per_source.get(source, 0) + 1
        # Only a bounded number of sources is tracked (constant memory on endless streams).
        if len(self.per_source) < 10_000 or source in self.per_source:
            self.per_source[source] = seen
        if seen <= SHOWN_PROBLEMS_PER_SOURCE:
            _print_err(f"skipped: {problem.message}")
        if seen == SHOWN_PROBLEMS_PER_SOURCE:
            _print_err(f"skipped: {source}: further problems in this input are counted, not shown")


class _NotePrinter:
    """Notes on single inputs: the first SHOWN_NOTES_PER_KIND of each kind as they happen (none under -q),
    the rest counted and reported in one line per kind after the summary (`warta corpus build`'s rule)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.per_kind: dict[str, int] = {}

    def __call__(self, note: str) -> None:
        kind = note_kind(note)
        seen = self.per_kind.get(kind, 0) + 1
        if len(self.per_kind) < 10_000 or kind in self.per_kind:  # bounded on endless streams
            self.per_kind[kind] = seen
        if not self.quiet and seen <= SHOWN_NOTES_PER_KIND:
            _print_err(f"note: {note}")

    def counted(self) -> list[str]:
        """One line per kind of note with more than were shown."""
        if self.quiet:
            return []
        return [f"note: {n - SHOWN_NOTES_PER_KIND} more input(s) with this note: {kind}"
                for kind, n in self.per_kind.items() if n > SHOWN_NOTES_PER_KIND]


def _print_err(message: str) -> None:
    """One line on stderr above the progress bar (tqdm redraws the bar below it)."""
    from tqdm import tqdm

    tqdm.write(terminal_safe(message), file=sys.stderr)
    sys.stderr.flush()  # a block-buffered stderr (an embedding caller's) still gets each line as it happens


def render_summary(summary: LabelSummary) -> str:
    """One closing line, either engine: articles, sentences, where, time, what was resumed or skipped."""
    if summary.engine == "ray":
        where = f"{summary.out}/ [{summary.shards} {summary.format} shard(s), {summary.model_id}]"
        resumed = (f" ({summary.resumed_shards} shard(s) complete from an earlier run)"
                   if summary.resumed_shards else "")
        readable = ""
    else:
        where = f"{summary.out} [{summary.format}, {summary.model_id}]"
        resumed = (f" (resumed after {summary.resumed_units} input unit(s) done earlier)"
                   if summary.resumed_units else "")
        readable = " (not .txt/.jsonl)"
    skipped = f"; {summary.skipped} input(s) skipped" if summary.skipped else ""
    ignored = f"; {summary.ignored_files} file(s) in folders ignored{readable}" if summary.ignored_files else ""
    if summary.dropped_lines:
        ignored += f"; {summary.dropped_lines} line(s) dropped by cleaning (page furniture, duplicates)"
    return (
        f"labelled {summary.articles} articles, {summary.sentences} sentences "
        f"({summary.predicted} with predictions) into {where} "
        f"in {summary.seconds:.1f} s ({summary.sentences_per_second:,.0f} sentences/s){resumed}{skipped}{ignored}"
    )


def _stop_after(count_env: str | None):
    """The WARTA_LABEL_STOP_AFTER fault injection: a callback that kills this process at its N-th call."""
    if not count_env:
        return None
    calls = {"n": 0}

    def maybe_stop(*_args) -> None:
        calls["n"] += 1
        if calls["n"] >= int(count_env):
            os.kill(os.getpid(), signal.SIGKILL)

    return maybe_stop


def _hooks(engine: str, quiet: bool, notes: _NotePrinter) -> LabelHooks:
    stop = _stop_after(os.environ.get(STOP_AFTER_ENV))

    def on_shard(done: int, total: int) -> None:
        if not quiet:
            print(f"\rshards {done}/{total}", end="", file=sys.stderr, flush=True)
        if stop:
            stop()

    return LabelHooks(
        progress=not quiet and engine == "local",
        on_problem=_ProblemPrinter() if engine == "local" else lambda problem: echo_err(f"skipped: {problem.message}"),
        on_note=notes,
        on_shard=on_shard,
        on_commit=stop,
        stdin=getattr(sys.stdin, "buffer", None),  # None: started with stdin closed
    )


def _interrupted(job: LabelJob) -> str:
    if job.engine == "ray":
        return f"\ninterrupted: finished shards are kept in {job.out}; rerun with --resume to continue"
    from warta.labelling.checkpoint import partial_paths

    partial, ckpt = partial_paths(job.out)
    if partial.is_file() and ckpt.is_file():
        return f"interrupted: finished articles are kept in {partial}; rerun with --resume to continue"
    return "interrupted before any article was written; nothing to resume (rerun the command)"


@app.command("label")
def label_cli(
    run: Path = typer.Argument(..., help="Run folder from `warta train` (or a model folder with model.json)."),
    inputs: list[str] = typer.Argument(
        ..., help="Articles: .txt files (one article each), .jsonl files (one article per line), folders, or - (stdin)."
    ),
    out: Path = typer.Option(..., "--out", help="Output file, one record per sentence (--engine ray: a folder)."),
    format: Optional[str] = typer.Option(
        None, "--format", help="jsonl, csv or parquet (default: from the --out suffix, else jsonl)."
    ),
    outlet: Optional[str] = typer.Option(None, "--outlet", help="Outlet for articles whose record names none."),
    manifest: Optional[Path] = typer.Option(
        None, "--manifest", help="Manifest CSV (article_id, file, outlet, url, title, date) for .txt inputs."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run of the same command."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output (and discard an unfinished run)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Sentences per model batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (transformer runs; TF-IDF runs on CPU)."),
    backend: str = typer.Option(
        DEFAULT_BACKEND, "--backend",
        help=f"How an encoder model (hybrid, transformer, ensemble) runs on the CPU: {', '.join(BACKENDS)}. "
             "torch-bf16: ~1.8x faster on CPUs with bf16 instructions (avx512_bf16, AMX), labels measured "
             "unchanged on training sentences, 1-2 in 120 unseen ones moved; onnx: ONNX Runtime fp32, the same "
             "labels, 1.0-1.2x faster (needs the fast extra); *-int8: ~2-2.5x faster, but changes 2-24% of a "
             "layer's labels on unseen text. Recorded in each record's model id.",
    ),
    quantize: bool = typer.Option(
        False, "--quantize", help="Same as --backend onnx-int8 (torch-int8 without onnxruntime)."
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=0, max=256,
        help="Processes cleaning and segmenting beside the model (0: in-process; default: by cores).",
    ),
    max_article_bytes: int = typer.Option(
        DEFAULT_MAX_ARTICLE_BYTES, "--max-article-bytes", min=1,
        help="Largest article read (a .txt file, a JSONL line, stdin); larger ones are skipped and reported.",
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar and no notes (skipped inputs and errors are still shown)."
    ),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or ray (a Ray cluster; --out DIR)."),
    address: Optional[str] = typer.Option(None, "--address", help="--engine ray: cluster address (default: local Ray)."),
    actors: Optional[int] = typer.Option(None, "--actors", min=1, help="--engine ray: labelling actors (model copies)."),
    gpus_per_actor: float = typer.Option(0.0, "--gpus-per-actor", min=0.0, help="--engine ray: GPUs per actor."),
    shard_units: int = typer.Option(
        DEFAULT_SHARD_UNITS, "--shard-units", min=1, help="--engine ray: input units per shard."
    ),
) -> None:
    """Label every sentence of new articles (type, stance, frame, probabilities) with a trained model.

    Exit codes: 0 all inputs labelled; 1 labelled, but some inputs were skipped
    (each reported on one line); 2 nothing labelled, or bad arguments; 130
    interrupted (rerun with --resume).
    """
    from warta.labelling import label

    # The overwrite rule (warta.safe_io.claim_output), the part --force never lifts: an input, a file
    # inside a walked input folder or a run/model folder. An existing --out: --force/--resume (the job).
    refuse_protected_output(out, [*inputs, manifest])

    job = LabelJob(
        run, inputs, out, format=format, outlet=outlet, manifest=manifest, resume=resume, force=force,
        batch_size=batch_size, device=device, max_article_bytes=max_article_bytes, engine=engine, backend=backend,
        quantize=quantize, workers=workers, address=address, actors=actors, gpus_per_actor=gpus_per_actor, shard_units=shard_units,
    )
    if os.environ.get(STOP_AFTER_ENV):  # fault injection: a checkpoint after every buffer, so "the N-th" never depends on speed
        job = dataclasses.replace(job, checkpoint_seconds=0.0)
    try:
        notes = _NotePrinter(quiet)
        summary = label(job, _hooks(engine, quiet, notes))
    except KeyboardInterrupt:
        echo_err(_interrupted(job))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if engine == "ray" and not quiet:
        print(file=sys.stderr)
    typer.echo(render_summary(summary))
    for line in notes.counted():  # results first, then what was only counted
        echo_err(line)
    raise typer.Exit(summary.exit_code)
