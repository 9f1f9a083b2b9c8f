"""`warta outlets`: per-outlet profiles with uncertainty, and the model-vs-gold gap per outlet."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import app
from warta.errors import InputError
from warta.outlets.options import DEFAULTS


class Use(str, enum.Enum):
    labels = "labels"
    probs = "probs"


@app.command("outlets")
def outlets_cli(
    files: Optional[list[Path]] = typer.Argument(
        None, help="Labelled JSONL files: gold labels or `warta label` / cv/oof.jsonl predictions.", show_default=False
    ),
    out: Path = typer.Option(..., "--out", help="Output folder (created if missing)."),
    by: str = typer.Option(
        DEFAULTS.by, "--by", help="Record field that names the group to profile; or month, week, quarter: "
        "profile each outlet per period too (coverage over time, from the records' date/published field)."
    ),
    use: Use = typer.Option(Use(DEFAULTS.use), "--use", help="labels: hard labels; probs: expected shares from 'probs'."),
    min_sentences: int = typer.Option(
        DEFAULTS.min_sentences, "--min-sentences", min=0, help="Groups with fewer sentences are listed and flagged but not compared."
    ),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", min=0, max=2**32 - 1, help="Seed of every bootstrap (same seed, same figures)."),
    n_boot: int = typer.Option(DEFAULTS.n_boot, "--n-boot", min=100, max=1_000_000, help="Bootstrap resamples."),
    labels: Optional[Path] = typer.Option(
        None, "--labels", help="Gold labels JSONL (e.g. seeds/labels.jsonl) merged by id onto FILE... or --gold."
    ),
    gold: Optional[Path] = typer.Option(None, "--gold", help="Gold JSONL: compare its profile with --pred's."),
    pred: Optional[Path] = typer.Option(None, "--pred", help="Prediction JSONL to compare with --gold."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    adjust: str = typer.Option(
        DEFAULTS.adjust, "--adjust",
        help="Correct shares for RUN's measured errors: none (default, by measurement: bench/quantify_*_results.md), "
        "acc, pacc, em (experimental), cc-probs. Needs --run.",
    ),
    run: Optional[Path] = typer.Option(
        None, "--run", help="Run folder whose held-out predictions (cv/oof.jsonl, predictions/test.jsonl) calibrate "
        "--adjust; also feeds the report's methods section."
    ),
    evidence: int = typer.Option(DEFAULTS.evidence, "--evidence", min=0, help="Top-K supporting sentences per outlet and label."),
    dedupe_syndicated: bool = typer.Option(
        DEFAULTS.dedupe_syndicated, "--dedupe-syndicated", help="Count a sentence printed (near-)verbatim by several outlets once "
        "(earliest article by date where known, else first in input order)."
    ),
    manifest: Optional[Path] = typer.Option(
        None, "--manifest", help="With --by month|week|quarter: a manifest CSV whose date column dates the articles "
        "by article_id (for `warta label` output, whose records carry no date)."
    ),
    keep_duplicates: bool = typer.Option(
        DEFAULTS.keep_duplicates, "--keep-duplicates", help="Count an article repeated (exactly or nearly) within "
        "one outlet every time; by default each is counted once."
    ),
    pairs: Optional[list[str]] = typer.Option(
        None, "--pairs", help="Also test outlet A against outlet B (A,B; repeatable). Every outlet is always "
        "tested against all the others pooled.", show_default=False, metavar="A,B",
    ),
) -> None:
    """Profile outlets (type mix, stance index, frames, with 95% intervals) or, with --gold/--pred,
    measure per outlet how far the predicted profile is from the gold one."""
    from warta.outlets import output
    from warta.outlets.between import parse_pairs
    from warta.outlets.options import PERIODS, OutletOptions
    from warta.outlets.summary import render_compare_summary, render_corrected_summary, render_profile_summary

    period = by if by in PERIODS else None
    by = DEFAULTS.by if period else by
    options = OutletOptions(period=period, by=by, use=use.value, min_sentences=min_sentences, n_boot=n_boot, seed=seed, adjust=adjust,
                            run=run, evidence=evidence, dedupe_syndicated=dedupe_syndicated,
                            pairs=parse_pairs(pairs), keep_duplicates=keep_duplicates,
                            manifest=manifest)
    if gold is not None or pred is not None:
        if files:
            raise InputError("give either FILE... or --gold and --pred, not both")
        if gold is None or pred is None:
            raise InputError("--gold and --pred go together")
        from warta.outlets.compare import compare_files

        paths = output.check_outputs(out, output.COMPARE_FILES, force, inputs=[gold, pred, labels])
        comparison = compare_files(gold, pred, labels=labels, progress=True, options=options)
        output.write_comparison(comparison, paths)
        typer.echo(render_compare_summary(comparison))
        typer.echo(f"wrote {', '.join(map(str, paths))}")
        return
    if not files:
        raise InputError("no input: give FILE... (labelled JSONL) or --gold GOLD --pred PRED")
    from warta.outlets.profile import profile_files

    options.check()
    paths = output.check_outputs(out, output.PROFILE_FILES, force, inputs=[*files, labels])
    profile = profile_files(files, labels=labels, progress=True, options=options)
    output.write_profile(profile, paths)
    typer.echo(render_profile_summary(profile))
    typer.echo(render_corrected_summary(profile))
    typer.echo(f"wrote {', '.join(map(str, paths))}")
