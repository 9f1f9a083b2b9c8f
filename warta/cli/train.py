"""`warta train CONFIG`: fit a model from a config and write a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from warta.cli._app import app


def _ci(ci: Any) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def render_run(result: Any) -> str:
    """Per-layer dev/test macro-F1 (test with its 95% CI), CV mean ± std, and the run folder."""
    lines = [f"{'layer':<8}{'dev F1':>8}{'test F1':>9}  {'test 95% CI':<17}{'test acc':>9}"]
    test, dev = result.metrics.get("test", {}), result.metrics.get("dev", {})
    for layer in dev or test:
        d, t = dev.get(layer, {}), test.get(layer, {})
        lines.append(
            f"{layer:<8}{d.get('macro_f1', float('nan')):>8.3f}{t.get('macro_f1', float('nan')):>9.3f}  "
            f"{_ci(t.get('macro_f1_ci')):<17}{t.get('accuracy', float('nan')):>9.3f}"
        )
    if result.cv:
        lines.append("")
        lines.append(f"{result.cv['k']}-fold CV on train+dev (macro-F1 mean ± std over folds; pooled out-of-fold):")
        for layer, figures in result.cv["summary"].items():
            pooled = result.cv["pooled_oof"].get(layer, {})
            lines.append(
                f"{layer:<8}{figures['macro_f1']['mean']:.3f} ± {figures['macro_f1']['std']:.3f}   "
                f"pooled {pooled.get('macro_f1', float('nan')):.3f} {_ci(pooled.get('macro_f1_ci'))}"
            )
    lines.append("")
    lines.append(f"run folder: {result.run_dir}")
    return "\n".join(lines)


@app.command("train")
def train_cli(
    config: Path = typer.Argument(..., help="Training config (YAML), e.g. configs/tfidf.yaml."),
    overrides: Optional[list[str]] = typer.Option(
        None, "--set", metavar="KEY.PATH=VALUE",
        help="Override a config key: --set train.epochs=3 (repeatable; value parsed as YAML).",
    ),
    cv: Optional[int] = typer.Option(None, "--cv", min=2, metavar="K", help="Also run K-fold grouped CV on train+dev."),
    out: Optional[Path] = typer.Option(
        None, "--out", metavar="DIR", help="Run folder (default: <output.root>/<config name>-<timestamp>)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the run files of an existing --out folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or log lines on stderr."),
) -> None:
    """Train a model (TF-IDF baseline or transformer) on the labelled corpus; write model, metrics, predictions."""
    from warta import distributed
    from warta.config import load_config
    from warta.train.run import train

    run_config = load_config(config, overrides or [])
    # under torchrun only rank 0 shows progress, writes the run folder and prints the table
    result = train(run_config, out=out, cv=cv, force=force, progress=not quiet and distributed.is_main())
    distributed.close()
    if distributed.is_main():
        typer.echo(render_run(result))
