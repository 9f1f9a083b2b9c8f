"""`warta corpus build|stats`: the sentence table and its counts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import corpus_app, echo_err
from warta.corpus import build_corpus, corpus_stats, default_seeds_dir
from warta.jsonl import read_jsonl


@corpus_app.command("build")
def build_cli(
    out: Path = typer.Option(..., "--out", help="Output JSONL, one sentence per line."),
    seeds: Optional[Path] = typer.Option(None, "--seeds", help="Folder of .txt articles (default: bundled seeds)."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Manifest CSV (default: SEEDS/manifest.csv)."),
) -> None:
    """Clean, de-duplicate and segment the seed articles into a sentence table."""
    seeds_dir = seeds or default_seeds_dir()
    report = build_corpus(seeds_dir, out, manifest=manifest, on_error=lambda exc: echo_err(f"skipped: {exc}"))
    for warning in report.warnings:
        echo_err(f"warning: {warning}")
    typer.echo(f"wrote {report.sentences} sentences from {report.articles} articles to {out}")
    if report.errors:
        echo_err(f"{len(report.errors)} input(s) skipped")
        raise typer.Exit(1)


def render_stats(stats: dict) -> str:
    """The stats dict as a plain-text table."""
    lines = [f"{'outlet':<24}{'articles':>9}{'title':>7}{'heading':>9}{'body':>7}{'total':>7}"]
    rows = list(stats["outlets"].items()) + [("ALL", stats["total"])]
    for outlet, row in rows:
        roles = row["roles"]
        lines.append(
            f"{outlet:<24}{row['articles']:>9}{roles.get('title', 0):>7}{roles.get('heading', 0):>9}"
            f"{roles.get('body', 0):>7}{row['sentences']:>7}"
        )
    for layer, per_outlet in stats.get("labels", {}).items():
        labels = sorted({label for counts in per_outlet.values() for label in counts})
        lines.append("")
        lines.append(f"{layer:<24}" + "".join(f"{label[:14]:>15}" for label in labels))
        for outlet, counts in per_outlet.items():
            lines.append(f"{outlet:<24}" + "".join(f"{counts.get(label, 0):>15}" for label in labels))
    return "\n".join(lines)


@corpus_app.command("stats")
def stats_cli(file: Path = typer.Argument(..., help="Sentence JSONL (corpus, labels merged, or predictions).")) -> None:
    """Print sentence counts per outlet and role, and label counts where present."""
    typer.echo(render_stats(corpus_stats(read_jsonl(file))))
