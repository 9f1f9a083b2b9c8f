"""`warta outlets`: per-outlet profiles with uncertainty, and the model-vs-gold gap per outlet."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Optional

import typer

from warta.cli._app import app
from warta.errors import InputError


class Use(str, enum.Enum):
    labels = "labels"
    probs = "probs"


def _pct(x: float | None) -> str:
    return "   -" if x is None else f"{100 * x:4.0f}"


def _index_text(figure: dict[str, Any]) -> str:
    if figure["value"] is None:
        return f"{'-':>21}"
    lo, hi = figure["ci"]
    return f"{figure['value']:+.2f} [{lo:+.2f},{hi:+.2f}]".rjust(21)


def render_profile_summary(profile: dict[str, Any]) -> str:
    """Terminal table: counts, type mix (%), stance index with 95% interval, dominant frame; pair notes."""
    from warta.schema import LAYERS

    types = LAYERS["type"]
    width = max(8, *(len(name) for name in profile["outlets"])) + 2
    head = (
        f"{'outlet':<{width}}{'art':>4}{'sent':>6}  "
        + "".join(f"{t[:5]:>6}" for t in types)
        + f"  {'stance all':>21}{'own voice':>21}{'quoted':>21}  dominant frame"
    )
    lines = [
        f"type mix in %, stance index = (pro - against) / n in [-1, 1] with 95% interval; "
        f"use={profile['settings']['use']}, seed={profile['settings']['seed']}, n_boot={profile['settings']['n_boot']}",
        head,
    ]
    for name, outlet in profile["outlets"].items():
        mark = "*" if outlet["below_min_sentences"] else " "
        index = outlet["stance_index"]
        lines.append(
            f"{(name + mark):<{width}}{outlet['articles']:>4}{outlet['sentences']:>6}  "
            + "".join(f"{_pct(outlet['type_share'][t]['value']):>6}" for t in types)
            + f"  {_index_text(index['all'])}{_index_text(index['own_voice'])}{_index_text(index['quoted'])}"
            + f"  {outlet['dominant_frame']}"
        )
    if any(o["below_min_sentences"] for o in profile["outlets"].values()):
        lines.append(f"* fewer than --min-sentences {profile['settings']['min_sentences']}: listed, not compared")
    lines.append("")
    lines.append("between outlets (pooled-article bootstrap test, Bonferroni over pairs; method in outlets.json):")
    lines.extend(f"  {pair['note']}" for pair in profile["distances"]["pairs"])
    if not profile["distances"]["pairs"]:
        lines.append("  only one outlet: nothing to compare")
    lines.extend(f"warning: {w}" for w in profile["distances"]["warnings"])
    return "\n".join(lines)


def render_compare_summary(comparison: dict[str, Any]) -> str:
    """Terminal table of the per-outlet gap between predicted and gold profiles."""
    counts = comparison["sentences"]
    width = max(8, *(len(name) for name in comparison["outlets"])) + 2

    def cell(figure: dict[str, Any], signed: bool) -> str:
        if figure["value"] is None:
            return f"{'-':>24}"
        lo, hi = figure["ci"]
        fmt = "+.3f" if signed else ".3f"
        return f"{figure['value']:{fmt}} [{lo:{fmt}},{hi:{fmt}}]".rjust(24)

    lines = [
        f"joined {counts['joined']} sentences by id ({counts['gold_only']} gold only, {counts['pred_only']} "
        f"predictions only); use={comparison['settings']['use']}; 95% intervals",
        "share gap = mean |pred share - gold share| over a layer's labels; index diff = pred - gold",
        f"{'outlet':<{width}}{'art':>4}{'sent':>6}{'type gap':>24}{'stance gap':>24}{'frame gap':>24}"
        f"{'index diff (all)':>24}{'(own voice)':>24}{'(quoted)':>24}",
    ]
    for name, outlet in comparison["outlets"].items():
        mark = "*" if outlet["below_min_sentences"] else " "
        gap, diff = outlet["share_gap"], outlet["stance_index_diff"]
        lines.append(
            f"{(name + mark):<{width}}{outlet['articles']:>4}{outlet['sentences']:>6}"
            + cell(gap["type"], False) + cell(gap["stance"], False) + cell(gap["frame"], False)
            + cell(diff["all"], True) + cell(diff["own_voice"], True) + cell(diff["quoted"], True)
        )
    if any(o["below_min_sentences"] for o in comparison["outlets"].values()):
        lines.append(f"* fewer than --min-sentences {comparison['settings']['min_sentences']} sentences")
    return "\n".join(lines)


def render_extras_summary(profile: dict[str, Any]) -> str:
    """Terminal lines for --adjust (raw vs corrected stance index, instability) and syndication."""
    from warta.outlets.adjust import instability_words

    lines = []
    syn = profile.get("syndication")
    if syn:
        lines.append(f"syndication: {syn['clusters']} near-verbatim sentence groups across outlets "
                     f"({syn['sentences_flagged']} sentences); merged {syn['merged']} copies")
    adjusted = profile.get("adjusted")
    if adjusted:
        lines.append(f"--adjust {adjusted['method']} with run {adjusted['run']} "
                     f"({adjusted['calibration']['sentences']} held-out sentences): stance index raw -> corrected [95%]")
        for name, entry in adjusted["outlets"].items():
            raw = profile["outlets"][name]["stance_index"]["all"]["value"]
            fig = entry["stance_index"]["all"]
            if fig.get("value") is not None and raw is not None:
                lines.append(f"  {name:<24}{raw:+.2f} -> {fig['value']:+.2f} [{fig['ci'][0]:+.2f},{fig['ci'][1]:+.2f}]")
        lines.extend(f"  {w}" for w in instability_words(adjusted))
        lines.extend(f"warning: {w}" for w in adjusted["warnings"])
    return "\n".join(lines)


@app.command("outlets")
def outlets_cli(
    files: Optional[list[Path]] = typer.Argument(
        None, help="Labelled JSONL files: gold labels or `warta label` / cv/oof.jsonl predictions.", show_default=False
    ),
    out: Path = typer.Option(..., "--out", help="Output folder (created if missing)."),
    by: str = typer.Option("outlet", "--by", help="Record field that names the group to profile."),
    use: Use = typer.Option(Use.labels, "--use", help="labels: hard labels; probs: expected shares from 'probs'."),
    min_sentences: int = typer.Option(
        10, "--min-sentences", min=0, help="Groups with fewer sentences are listed and flagged but not compared."
    ),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of every bootstrap (same seed, same figures)."),
    n_boot: int = typer.Option(2000, "--n-boot", min=100, max=1_000_000, help="Bootstrap resamples."),
    labels: Optional[Path] = typer.Option(
        None, "--labels", help="Gold labels JSONL (e.g. seeds/labels.jsonl) merged by id onto FILE... or --gold."
    ),
    gold: Optional[Path] = typer.Option(None, "--gold", help="Gold JSONL: compare its profile with --pred's."),
    pred: Optional[Path] = typer.Option(None, "--pred", help="Prediction JSONL to compare with --gold."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
    adjust: str = typer.Option(
        "none", "--adjust",
        help="Correct shares for RUN's measured errors: none (default, by measurement: bench/quantify_*_results.md), "
        "acc, pacc, em (experimental), cc-probs. Needs --run.",
    ),
    run: Optional[Path] = typer.Option(
        None, "--run", help="Run folder whose held-out predictions (cv/oof.jsonl, predictions/test.jsonl) calibrate "
        "--adjust; also feeds the report's methods section."
    ),
    evidence: int = typer.Option(3, "--evidence", min=0, help="Top-K supporting sentences per outlet and label."),
    dedupe_syndicated: bool = typer.Option(
        False, "--dedupe-syndicated", help="Count a sentence printed (near-)verbatim by several outlets once "
        "(earliest article by date where known, else first in input order)."
    ),
) -> None:
    """Profile outlets (type mix, stance index, frames, with 95% intervals) or, with --gold/--pred,
    measure per outlet how far the predicted profile is from the gold one."""
    from warta.outlets import writing as lib
    from warta.outlets.compare import compare_files
    from warta.outlets.profile import profile_files

    options = {"by": by, "use": use.value, "min_sentences": min_sentences, "n_boot": n_boot, "seed": seed}
    if gold is not None or pred is not None:
        if files:
            raise InputError("give either FILE... or --gold and --pred, not both")
        if gold is None or pred is None:
            raise InputError("--gold and --pred go together")
        json_path, csv_path = lib.check_outputs(out, lib.COMPARE_FILES, force)
        comparison = compare_files(gold, pred, labels=labels, progress=True, **options)
        lib.write_text(json_path, lib.json_text(comparison))
        lib.write_text(csv_path, lib.csv_text(lib.compare_rows(comparison)))
        typer.echo(render_compare_summary(comparison))
        typer.echo(f"wrote {json_path}, {csv_path}")
        return
    if not files:
        raise InputError("no input: give FILE... (labelled JSONL) or --gold GOLD --pred PRED")
    from warta.outlets.adjust import ADJUST_METHODS
    from warta.outlets.report import render_report

    if adjust not in ADJUST_METHODS:
        raise InputError(f"--adjust {adjust}: expected one of {', '.join(ADJUST_METHODS)}")
    if adjust != "none" and run is None:
        raise InputError(f"--adjust {adjust} needs --run RUN (the run whose held-out errors correct the shares)")
    json_path, csv_path, pairs_path, html_path = lib.check_outputs(out, lib.PROFILE_FILES, force)
    profile = profile_files(
        files, labels=labels, progress=True, adjust=adjust, run=run, evidence=evidence,
        dedupe_syndicated=dedupe_syndicated, **options,
    )
    lib.write_text(json_path, lib.json_text(profile))
    lib.write_text(csv_path, lib.csv_text(lib.outlet_rows(profile)))
    lib.write_text(pairs_path, lib.csv_text(lib.pair_rows(profile), lib.PAIR_COLUMNS))
    lib.write_text(html_path, render_report(profile))
    typer.echo(render_profile_summary(profile))
    typer.echo(render_extras_summary(profile))
    typer.echo(f"wrote {json_path}, {csv_path}, {pairs_path}, {html_path}")
