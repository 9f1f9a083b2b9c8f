"""`warta annotate select|import|agreement` and `warta corpus audit`: growing the labelled corpus."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer

from warta.cli._app import app, corpus_app, echo_err
from warta.safe_io import claim_output, claim_output_folder
from warta.schema import LAYER_NAMES

annotate_app = typer.Typer(help="Choose sentences to label, round-trip them through Label Studio, measure agreement.",
                           no_args_is_help=True)
app.add_typer(annotate_app, name="annotate")

# What `annotate select` writes into its --out folder (warta.annotate.batch.make_batch).
BATCH_FILES = ("tasks.json", "config.xml", "batch.csv", "selection.json")


@annotate_app.command("select")
def select_cli(
    run: Path = typer.Argument(..., help="Run folder whose `warta label` output LABELLED is."),
    labelled: Path = typer.Argument(..., help="`warta label` JSONL output (records with probs)."),
    out: Path = typer.Option(..., "--out", help="Batch folder: tasks.json, config.xml, batch.csv, selection.json."),
    n: int = typer.Option(200, "--n", min=1, help="Sentences to select."),
    seed: int = typer.Option(0, "--seed", help="Seed (clustering, tie-breaks, outlet order)."),
    labels: Optional[list[Path]] = typer.Option(
        None, "--labels", help="Gold label files whose ids are excluded (repeatable; default: the seeds' labels)."),
    uncertainty: str = typer.Option("entropy", "--uncertainty", help="entropy (mean normalised) or margin (1 - p1 + p2)."),
    threshold: float = typer.Option(0.8, "--near-duplicate", min=0.0, max=1.0,
                                    help="Character n-gram TF-IDF cosine at which two sentences count as near-duplicates."),
    clusters: Optional[int] = typer.Option(None, "--clusters", min=1, help="k-means clusters (default: N)."),
    per_outlet_cap: Optional[int] = typer.Option(None, "--per-outlet-cap", min=1, help="At most this many per outlet."),
    by_date: bool = typer.Option(False, "--by-date", help="Balance over outlet × month (record field `date`)."),
    force: bool = typer.Option(False, "--force", help="Replace the batch files in an existing --out folder."),
) -> None:
    """Choose uncertain, diverse, outlet-balanced sentences and write Label Studio tasks, config and a CSV."""
    from warta.annotate.batch import make_batch

    claim_output_folder(out, BATCH_FILES, force=force, inputs=[labelled, *(labels or [])])
    summary = make_batch(run, labelled, out, n=n, seed=seed, label_files=labels or [], method=uncertainty,
                         threshold=threshold, clusters=clusters, per_outlet_cap=per_outlet_cap, by_date=by_date,
                         force=force)
    excluded = ", ".join(f"{k} {v}" for k, v in summary["excluded"].items()) or "none"
    per = ", ".join(f"{k} {v}" for k, v in summary["per_group"].items())
    typer.echo(f"selected {summary['n_selected']} of {summary['candidates']} candidates ({per})")
    typer.echo(f"excluded: {excluded}")
    typer.echo(f"wrote {out}/tasks.json, config.xml, batch.csv, selection.json")
    if summary["n_selected"] < n:
        echo_err(f"note: only {summary['n_selected']} sentences qualified (asked for {n})")


@annotate_app.command("import")
def import_cli(
    export: Path = typer.Argument(..., help="Label Studio JSON export, or the batch CSV filled in."),
    out: Path = typer.Option(..., "--out", help="Labels JSONL to write."),
    annotator: Optional[str] = typer.Option(
        None, "--annotator", help="Annotator name for every record (default: Label Studio user / CSV column)."),
    per_annotator: Optional[Path] = typer.Option(
        None, "--per-annotator", help="Also write every annotator's labels to DIR/<annotator>.jsonl (for `agreement`)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT."),
) -> None:
    """Turn annotations into warta label records; print each skipped or conflicting item, exit 1 if any."""
    from warta.annotate.imports import label_order, read_annotations
    from warta.jsonl import write_jsonl

    claim_output(out, force=force, inputs=[export])
    if per_annotator is not None:
        claim_output_folder(per_annotator, (), force=force, inputs=[export], what="--per-annotator")
    result = read_annotations(export, annotator)
    by_annotator = {}
    if per_annotator is not None:  # every file claimed before any is written
        by_annotator = {claim_output(per_annotator / (re.sub(r"[^\w.@-]+", "_", name) + ".jsonl"), force=force,
                                     inputs=[export, out], what="--per-annotator"): (name, records)
                        for name, records in sorted(result.by_annotator.items())}
    for line in result.skipped:
        echo_err(f"skipped: {line}")
    n = write_jsonl(out, label_order(result.records))
    typer.echo(f"wrote {n} label records to {out} ({len(result.skipped)} skipped, {result.unannotated} not annotated)")
    for path, (name, records) in by_annotator.items():
        typer.echo(f"wrote {write_jsonl(path, label_order(records))} label records of {name} to {path}")
    if result.skipped:
        raise typer.Exit(1)


def _fmt(value: Optional[float]) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def render_agreement(result: dict, max_rows: int = 20) -> str:
    lines = [f"annotators: {', '.join(result['annotators'])}; overlap {result['overlap']} sentences"]
    lines.append(f"{'layer':<8}{'n':>5}{'alpha':>8}   pair: kappa (observed)")
    for layer, figures in result["layers"].items():
        pairs = "; ".join(f"{name}: {_fmt(p['kappa']).strip()} ({_fmt(p['observed']).strip()})"
                          for name, p in figures["pairs"].items())
        lines.append(f"{layer:<8}{figures['n']:>5}{_fmt(figures['alpha']):>8}   {pairs}")
    for layer, figures in result["layers"].items():
        for pair in figures["pairs"].values():
            labels = figures["labels"]
            lines.append("")
            lines.append(f"{layer}: {pair['a']} (rows) vs {pair['b']} (columns)")
            lines.append(f"{'':<16}" + "".join(f"{label[:12]:>13}" for label in labels))
            for label, row in zip(labels, pair["confusion"]):
                lines.append(f"{label[:15]:<16}" + "".join(f"{v:>13}" for v in row))
    disagreements = result["disagreements"]
    lines.append("")
    lines.append(f"{len(disagreements)} sentences with a disagreement" + (f" (first {max_rows})" if len(disagreements) > max_rows else ""))
    for item in disagreements[:max_rows]:
        labels = "; ".join(f"{who}: " + "/".join(str(v) for v in given.values()) for who, given in item["labels"].items())
        text = (item["text"] or "")[:90]
        lines.append(f"{item['id']}  [{', '.join(item['layers'])}]  {labels}  {text}")
    return "\n".join(lines)


@annotate_app.command("agreement")
def agreement_cli(
    files: list[Path] = typer.Argument(..., help="Two or more label JSONL files, one annotator each."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the figures as JSON."),
    max_rows: int = typer.Option(20, "--max-rows", min=0, help="Disagreeing sentences printed (JSON lists all)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
) -> None:
    """Krippendorff's alpha and pairwise Cohen's kappa per layer on the overlap, confusions, disagreements."""
    from warta.annotate.agreement import agreement, load_annotations, seed_texts
    from warta.jsonl import write_json

    if out is not None:
        claim_output(out, force=force, inputs=files)
    annotations = load_annotations(files)
    ids = {i for by_id in annotations.values() for i, r in by_id.items() if not r.get("text")}
    texts = seed_texts() if ids else {}
    result = agreement(annotations, texts=texts)
    typer.echo(render_agreement(result, max_rows))
    if out is not None:
        write_json(out, result)
        echo_err(f"wrote {out}")


def render_audit(result: dict, top: int) -> str:
    lines = [(f"audited {result['audited']} sentences with out-of-fold predictions from {result['run']} "
              f"({result['test_sentences_not_audited']} test sentences not audited)")]
    if result.get("labels_changed_since_run"):
        lines.append("note: the gold labels changed since this run was trained; audited against the current labels")
    for layer, figures in result["layers"].items():
        lines.append("")
        lines.append(f"{layer}: {figures['flagged']} of {figures['n']} flagged; top {min(top, figures['flagged'])} "
                     "(self-confidence = model probability of the given label)")
        for item in figures["issues"][:top]:
            lines.append(f"{item['rank']:>3}. {item['id']}  given {item['given']} -> suggested {item['suggested']} "
                         f"(p {item['model_confidence']:.2f}; given {item['self_confidence']:.2f})  {(item['text'] or '')[:100]}")
    return "\n".join(lines)


def refused_summary(refused: list[str]) -> list[str]:
    """`ID: reason` lines as one line per reason with a count and an example id (the JSON --out lists all)."""
    by_reason: dict[str, list[str]] = {}
    for line in refused:
        ident, _, reason = line.partition(": ")
        by_reason.setdefault(reason or line, []).append(ident)
    return [f"{len(ids)} record(s) {reason} (e.g. {ids[0]}; all listed in --out)" if len(ids) > 1
            else f"{ids[0]}: {reason}" for reason, ids in by_reason.items()]


@corpus_app.command("audit")
def audit_cli(
    run: Path = typer.Argument(..., help="Run folder trained with --cv (uses RUN/cv/oof.jsonl)."),
    top: int = typer.Option(10, "--top", min=0, help="Suspects printed per layer (JSON lists all)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the full audit as JSON."),
    layer: Optional[list[str]] = typer.Option(None, "--layer", help=f"Layers to audit (default all: {', '.join(LAYER_NAMES)})."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
) -> None:
    """Likely gold-label errors per layer from out-of-fold probabilities (cleanlab); changes nothing."""
    from warta.annotate.audit import audit
    from warta.jsonl import write_json

    if out is not None:
        claim_output(out, force=force)
    result = audit(run, layers=layer)
    typer.echo(render_audit(result, top))  # the result first, then what was left out (counted, not listed)
    for line in refused_summary(result["refused"]):
        echo_err(f"not audited: {line}")
    if out is not None:
        write_json(out, result)
        echo_err(f"wrote {out}")
