"""`warta corpus build|stats|validate|split`: the sentence table, its counts, its gold labels and splits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import corpus_app, echo_err
from warta.errors import InputError
from warta.gold.labels import (
    default_labels_path,
    load_gold,
    load_labels,
    merge_labels,
    seed_sentences,
    validate_labels,
)
from warta.gold.sources import is_source, validate_source
from warta.gold.splits import (
    DEFAULT_K,
    DEFAULT_SEED,
    SPLITS_FILE,
    dumps_splits,
    make_splits,
    split_summary,
    write_splits,
)
from warta.jsonl import read_jsonl
from warta.safe_io import claim_output
from warta.schema import LABELLED_ROLES, LAYERS
from warta.text.corpus import DEFAULT_MAX_ARTICLE_BYTES, build_corpus, corpus_stats, default_seeds_dir
from warta.text.sanitise import terminal_safe


@corpus_app.command("build")
def build_cli(
    out: Path = typer.Option(..., "--out", help="Output JSONL, one sentence per line."),
    seeds: Optional[Path] = typer.Option(None, "--seeds", help="Folder of .txt articles (default: bundled seeds)."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Manifest CSV (default: SEEDS/manifest.csv)."),
    max_article_bytes: int = typer.Option(
        DEFAULT_MAX_ARTICLE_BYTES, "--max-article-bytes", min=1, help="Largest article file read; larger ones are skipped."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing OUT."),
) -> None:
    """Clean, de-duplicate and segment the seed articles into a sentence table."""
    seeds_dir = seeds or default_seeds_dir()
    report = build_corpus(seeds_dir, out, manifest=manifest, on_error=lambda exc: echo_err(f"skipped: {exc}"),
                          max_bytes=max_article_bytes, force=force)
    for warning in collapse_notes(report.warnings):
        echo_err(f"warning: {warning}")
    dropped = f" ({report.dropped_lines} line(s) dropped by cleaning: page furniture, duplicates)" if report.dropped_lines else ""
    typer.echo(f"wrote {report.sentences} sentences from {report.articles} articles to {out}{dropped}")
    if report.errors:
        echo_err(f"{len(report.errors)} input(s) skipped")
        raise typer.Exit(1)


# Notes of one kind beyond this many are counted in one line, not printed one by one.
SHOWN_NOTES_PER_KIND = 3


def note_kind(note: str) -> str:
    """A note with its file name and figures set aside: `a.txt: cleaning dropped 26 of 45 lines` and
    `b.txt: cleaning dropped 3 of 9 lines` are one kind."""
    text = note.split(": ", 1)[1] if ": " in note else note
    text = re.sub(r"\d+(?:[.,]\d+)*", "N", re.sub(r"\([^)]*\)", "", text))
    return re.sub(r"\s+([;,.])", r"\1", " ".join(text.split()))


def collapse_notes(notes: list[str], shown: int = SHOWN_NOTES_PER_KIND) -> list[str]:
    """The first `shown` notes of each kind, then one line counting the rest of that kind."""
    seen: dict[str, int] = {}
    lines = []
    for note in notes:
        kind = note_kind(note)
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= shown:
            lines.append(note)
    lines.extend(f"{n - shown} more input(s) with this note: {kind}" for kind, n in seen.items() if n > shown)
    return lines


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
        seen = {label for counts in per_outlet.values() for label in counts}
        # schema order first, then anything unexpected (a typo shows up as its own column)
        labels = [label for label in LAYERS.get(layer, ()) if label in seen] + sorted(seen - set(LAYERS.get(layer, ())))
        totals = {label: sum(counts.get(label, 0) for counts in per_outlet.values()) for label in labels}
        lines.append("")
        lines.append(f"{layer:<24}" + "".join(f"{label[:14]:>15}" for label in labels))
        for outlet, counts in [*per_outlet.items(), ("ALL", totals)]:
            lines.append(f"{outlet:<24}" + "".join(f"{counts.get(label, 0):>15}" for label in labels))
    # Outlet and label names come from user files: shown with control/bidi characters escaped.
    return "\n".join(terminal_safe(line) for line in lines)


@corpus_app.command("stats")
def stats_cli(
    file: Path = typer.Argument(..., help="Sentence JSONL (corpus, labels merged, or predictions)."),
    labels: Optional[Path] = typer.Option(
        None, "--labels", help="Gold labels JSONL to merge onto FILE by sentence id before counting."
    ),
) -> None:
    """Print sentence counts per outlet and role, and label counts per layer and outlet where present."""
    records = read_jsonl(file)
    if labels is not None:
        try:
            records = merge_labels(records, load_labels(labels))
        except InputError as exc:
            if str(exc).startswith(str(labels)):
                raise
            raise InputError(f"{labels}: {exc}") from None
    typer.echo(render_stats(corpus_stats(records)))


@corpus_app.command("validate")
def validate_cli(
    labels: Optional[Path] = typer.Option(None, "--labels", help="Labels JSONL (default: SEEDS/labels.jsonl)."),
    seeds: Optional[Path] = typer.Option(None, "--seeds", help="Folder of seed articles (default: bundled seeds)."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="Manifest CSV (default: SEEDS/manifest.csv)."),
) -> None:
    """Check the gold labels against the sentence table (or a labelled source); print each problem, exit 1 on any."""
    seeds_dir = seeds or default_seeds_dir()
    labels_path = labels or default_labels_path(seeds_dir)
    sentences = seed_sentences(seeds_dir, manifest)
    label_lines = load_labels(labels_path)
    default = default_labels_path(seeds_dir)
    if is_source(label_lines) and labels_path.resolve() != default.resolve():
        # a labelled source (`warta annotate import` output, data.extra): records carry their own
        # text and need not cover the seeds; they must not re-label a sentence the seed gold labels
        seed_labels = load_labels(default) if default.is_file() else []
        problems = validate_source(label_lines, sentences, seed_labels)
        for problem in problems:
            typer.echo(f"{labels_path}: {problem}")
        if problems:
            echo_err(f"{len(problems)} problem(s) in {labels_path}")
            raise typer.Exit(1)
        articles = {r["article_id"] for r in label_lines}
        typer.echo(f"ok: {len(label_lines)} labelled sentences from {len(articles)} articles, a labelled source "
                   f"usable as data.extra ({labels_path})")
        return
    problems = validate_labels(sentences, label_lines)
    for problem in problems:
        typer.echo(f"{labels_path}: {problem}")
    if problems:
        echo_err(f"{len(problems)} problem(s) in {labels_path}")
        raise typer.Exit(1)
    labelled = sum(1 for s in sentences if s["role"] in LABELLED_ROLES)
    typer.echo(f"ok: {len(label_lines)} labels cover all {labelled} title/body sentences ({labels_path})")


def render_split_summary(summary: dict) -> str:
    """Split sizes and type counts as plain text."""
    types = LAYERS["type"]
    lines = [f"{summary['groups']} near-duplicate groups (largest: {summary['largest_group']} sentences)"]
    lines.append(f"{'split':<10}{'n':>5}{'share':>7}" + "".join(f"{t:>13}" for t in types))
    for name, row in summary["splits"].items():
        lines.append(f"{name:<10}{row['n']:>5}{row['share']:>7.2f}" + "".join(f"{row['type'].get(t, 0):>13}" for t in types))
    for fold, row in summary["folds"].items():
        lines.append(f"{'fold ' + str(fold):<10}{row['n']:>5}{'':>7}" + "".join(f"{row['type'].get(t, 0):>13}" for t in types))
    return "\n".join(lines)


@corpus_app.command("split")
def split_cli(
    out: Optional[Path] = typer.Option(None, "--out", help="Splits JSON to write (default: SEEDS/splits.json)."),
    seeds: Optional[Path] = typer.Option(None, "--seeds", help="Folder of seed articles (default: bundled seeds)."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Labels JSONL (default: SEEDS/labels.jsonl)."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", min=0, max=2**32 - 1, help="Seed of the group assignment."),
    k: int = typer.Option(DEFAULT_K, "--k", min=2, max=100, help="Cross-validation folds over train+dev."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing splits file."),
    check: bool = typer.Option(False, "--check", help="Only check that OUT equals what would be written; exit 1 if not."),
) -> None:
    """Group near-duplicate sentences and write leakage-free test/dev/train splits and K folds."""
    seeds_dir = seeds or default_seeds_dir()
    path = out or seeds_dir / SPLITS_FILE
    if not check:  # before the work, not after
        claim_output(path, force=force, inputs=[labels or default_labels_path(seeds_dir)])
    gold = load_gold(seeds_dir, labels)
    splits = make_splits(gold, seed=seed, k=k)
    if check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != dumps_splits(splits):
            echo_err(f"{path}: out of date (regenerate with `warta corpus split --force`)")
            raise typer.Exit(1)
        typer.echo(f"{path}: up to date")
        return
    write_splits(splits, path, force=force)
    typer.echo(render_split_summary(split_summary(splits, gold)))
    typer.echo(f"wrote {path}")
