"""`warta label --engine ray`: the CLI side of warta.labelling.ray_engine (called from warta.cli.label)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from warta.cli._app import echo_err
from warta.errors import WartaError

EXIT_INTERRUPTED = 130


def render_ray_summary(summary) -> str:
    """One closing line: shards, articles, sentences, skipped inputs, time."""
    resumed = f" ({summary.resumed_shards} shard(s) complete from an earlier run)" if summary.resumed_shards else ""
    skipped = f"; {summary.skipped} input(s) skipped" if summary.skipped else ""
    ignored = f"; {summary.ignored_files} file(s) in folders ignored" if summary.ignored_files else ""
    return (
        f"labelled {summary.articles} articles, {summary.sentences} sentences ({summary.predicted} with predictions) "
        f"into {summary.out}/ [{summary.shards} {summary.format} shard(s), {summary.model_id}] in "
        f"{summary.seconds:.1f} s ({summary.sentences_per_second:,.0f} sentences/s){resumed}{skipped}{ignored}"
    )


def run_ray(run: Path, inputs: list[str], out: Path, options: dict[str, Any], quiet: bool) -> None:
    """Run the ray engine with the CLI's options; print skipped inputs (one line each) and the summary."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise WartaError('--engine ray needs Ray: pip install -e ".[ray]"') from None
    from warta.labelling.ray_engine import label_with_ray

    def on_shard(done: int, total: int) -> None:
        if not quiet:
            print(f"\rshards {done}/{total}", end="", file=sys.stderr, flush=True)

    try:
        summary = label_with_ray(
            run, inputs, out, on_problem=lambda problem: echo_err(f"skipped: {problem.message}"),
            on_shard=on_shard, **options,
        )
    except KeyboardInterrupt:
        echo_err(f"\ninterrupted: finished shards are kept in {out}; rerun with --resume to continue")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if not quiet:
        print(file=sys.stderr)
    typer.echo(render_ray_summary(summary))
    raise typer.Exit(summary.exit_code)
