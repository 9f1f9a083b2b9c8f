"""`warta evaluate` and `warta compare`: scores of a run, and of one run against another."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import app, echo_err
from warta.errors import InputError
from warta.safe_io import claim_output


@app.command("evaluate")
def evaluate_cli(
    run: Path = typer.Argument(..., help="Run folder written by `warta train`."),
    split: Optional[str] = typer.Option(
        None, "--split", help="test (default), dev, or cv (out-of-fold predictions of `warta train --cv`)."
    ),
    data: Optional[Path] = typer.Option(
        None,
        "--data",
        help="Score on this labelled JSONL instead: one sentence per line with text and any of "
        "type/stance/frame (null or absent: not labelled on that layer); optional id (else file#idx, "
        "else line-N), outlet (adds per-outlet share error and stance-index error), role (heading rows "
        "are skipped).",
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the metrics JSON here (default: in the run folder)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, max=1_000_000, help="Bootstrap resamples for the 95% CIs (0: none)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the bootstrap."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Sentences per prediction batch."),
    card: Optional[str] = typer.Option(
        None, "--card", metavar="NAME",
        help="With --data: also record these figures under NAME in the run's model card (README.md); "
        "the same NAME replaces its earlier figures.",
    ),
) -> None:
    """Accuracy, macro-F1 with 95% bootstrap CIs, per-class scores, confusion matrix and ECE per layer."""
    from warta.eval.evaluate import default_eval_path, evaluate_run, render_report

    if data is not None and split is not None:
        raise InputError("--split and --data: give one (--data scores the run on that file instead of a split)")
    if card is not None and (data is None or not card.strip()):
        raise InputError("--card NAME records an external evaluation: give it with --data FILE and a non-empty NAME")
    split = split or "test"
    if out is not None:  # the one overwrite rule (warta.safe_io.claim_output), before any work
        claim_output(out, force=force, inputs=[data])
    target = out if out is not None else default_eval_path(run, split, data)
    metrics = evaluate_run(run, split=split, data=data, n_boot=n_boot, seed=seed, out=target, batch_size=batch_size)
    source = f"data {data}" if data is not None else f"split {split}"
    typer.echo(render_report(metrics, title=f"run {run}  ·  {source}"), nl=False)
    echo_err(f"wrote {target}")
    if card is not None:
        from warta.train.model_card import append_external_evaluation

        echo_err(f"wrote {append_external_evaluation(run, card.strip(), metrics)} (model card, '{card.strip()}')")


@app.command("compare")
def compare_cli(
    run_a: Path = typer.Argument(..., help="Run folder A (the reference)."),
    run_b: Path = typer.Argument(..., help="Run folder B (differences are B - A)."),
    split: str = typer.Option("test", "--split", help="test, dev, or cv (out-of-fold predictions)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the full comparison JSON here."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
    n_boot: int = typer.Option(2000, "--n-boot", min=1, max=1_000_000, help="Paired bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the bootstrap."),
    max_flips: int = typer.Option(20, "--max-flips", min=0, help="Flipped sentences listed per layer (JSON has all)."),
) -> None:
    """Macro-F1 of B minus A per layer on the shared sentences: paired-bootstrap CI, p-value, flipped sentences."""
    from warta.eval.compare import compare_runs, render_comparison

    if out is not None:  # the one overwrite rule (warta.safe_io.claim_output), before any work
        claim_output(out, force=force)
    result = compare_runs(run_a, run_b, split=split, n_boot=n_boot, seed=seed, out=out)
    typer.echo(render_comparison(result, max_flips=max_flips))
    if out is not None:
        echo_err(f"wrote {out}")
