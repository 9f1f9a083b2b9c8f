"""`warta label`: batch-label new articles with a trained run (streaming, resumable)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import app, echo_err
from warta.errors import WartaError
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES
from warta.text.sanitise import terminal_safe

# Per input file, this many problems are printed; the rest are counted.
SHOWN_PROBLEMS_PER_SOURCE = 20
EXIT_INTERRUPTED = 130


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


def _print_err(message: str) -> None:
    """One line on stderr above the progress bar (tqdm redraws the bar below it)."""
    from tqdm import tqdm

    tqdm.write(terminal_safe(message), file=sys.stderr)


def render_summary(summary) -> str:
    """One closing line: articles, sentences, skipped inputs, time."""
    resumed = f" (resumed after {summary.resumed_units} input unit(s) done earlier)" if summary.resumed_units else ""
    skipped = f"; {summary.skipped} input(s) skipped" if summary.skipped else ""
    ignored = (
        f"; {summary.ignored_files} file(s) in folders ignored (not .txt/.jsonl)" if summary.ignored_files else ""
    )
    dropped = getattr(summary, "dropped_lines", 0)
    if dropped:
        ignored += f"; {dropped} line(s) dropped by cleaning (page furniture, duplicates)"
    return (
        f"labelled {summary.articles} articles, {summary.sentences} sentences "
        f"({summary.predicted} with predictions) into {summary.out} [{summary.format}, {summary.model_id}] "
        f"in {summary.seconds:.1f} s ({summary.sentences_per_second:,.0f} sentences/s){resumed}{skipped}{ignored}"
    )


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
    quantize: bool = typer.Option(
        False, "--quantize", help="Transformer on CPU: int8 dynamic quantization (faster, slightly different probs)."
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", min=0, max=256,
        help="Processes cleaning and segmenting beside the model (0: in-process; default: by cores).",
    ),
    max_article_bytes: int = typer.Option(
        DEFAULT_MAX_ARTICLE_BYTES, "--max-article-bytes", min=1,
        help="Largest article read (a .txt file, a JSONL line, stdin); larger ones are skipped and reported.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or ray (a Ray cluster; --out DIR)."),
    address: Optional[str] = typer.Option(None, "--address", help="--engine ray: cluster address (default: local Ray)."),
    actors: Optional[int] = typer.Option(None, "--actors", min=1, help="--engine ray: labelling actors (model copies)."),
    gpus_per_actor: float = typer.Option(0.0, "--gpus-per-actor", min=0.0, help="--engine ray: GPUs per actor."),
    shard_units: int = typer.Option(500, "--shard-units", min=1, help="--engine ray: input units per shard."),
) -> None:
    """Label every sentence of new articles (type, stance, frame, probabilities) with a trained model.

    Exit codes: 0 all inputs labelled; 1 labelled, but some inputs were skipped
    (each reported on one line); 2 nothing labelled, or bad arguments; 130
    interrupted (rerun with --resume).
    """
    if engine == "ray":
        from warta.cli.label_ray import run_ray

        if quantize or workers is not None:
            raise WartaError("--quantize and --workers apply to --engine local only")

        options = {"format": format, "outlet": outlet, "manifest": manifest, "resume": resume, "force": force,
                   "address": address, "actors": actors, "gpus_per_actor": gpus_per_actor, "batch_size": batch_size,
                   "device": device, "shard_units": shard_units}
        run_ray(run, inputs, out, options, quiet)
    if engine != "local":
        raise WartaError(f"--engine {engine}: expected local or ray")
    from warta.labelling.checkpoint import partial_paths
    from warta.labelling.engine import label_articles

    try:
        summary = label_articles(
            run,
            inputs,
            out,
            format=format,
            outlet=outlet,
            manifest=manifest,
            resume=resume,
            force=force,
            batch_size=batch_size,
            device=device,
            quantize=quantize,
            workers=workers,
            max_article_bytes=max_article_bytes,
            progress=not quiet,
            on_problem=_ProblemPrinter(),
            on_note=lambda note: _print_err(f"note: {note}"),
            stdin=getattr(sys.stdin, "buffer", None),  # None: started with stdin closed
        )
    except KeyboardInterrupt:
        partial, ckpt = partial_paths(out)
        if partial.is_file() and ckpt.is_file():
            echo_err(f"interrupted: finished articles are kept in {partial}; rerun with --resume to continue")
        else:
            echo_err("interrupted before any article was written; nothing to resume (rerun the command)")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    typer.echo(render_summary(summary))
    raise typer.Exit(summary.exit_code)
