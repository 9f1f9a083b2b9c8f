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
        if result.cv.get("scheme") == "outlet":
            purged = ", near-duplicates purged" if result.cv.get("purge_near_duplicates") else ""
            lines.append(f"leave-one-outlet-out CV over all labelled sentences ({result.cv['k']} outlets{purged}; "
                         "macro-F1 mean ± std over folds; pooled out-of-fold):")
        else:
            lines.append(f"{result.cv['k']}-fold CV on train+dev (macro-F1 mean ± std over folds; pooled out-of-fold):")
        for layer, figures in result.cv["summary"].items():
            pooled = result.cv["pooled_oof"].get(layer, {})
            lines.append(
                f"{layer:<8}{figures['macro_f1']['mean']:.3f} ± {figures['macro_f1']['std']:.3f}   "
                f"pooled {pooled.get('macro_f1', float('nan')):.3f} {_ci(pooled.get('macro_f1_ci'))}"
            )
    lines.extend(render_extras(result))
    lines.append("")
    lines.append(f"run folder: {result.run_dir}")
    return "\n".join(lines)


def parse_cv(value: str | None) -> int | str | None:
    """--cv: an integer K >= 2 or 'outlet'."""
    from warta.errors import InputError

    if value is None or value in ("outlet", "outlet-purged"):
        return value
    try:
        k = int(value)
    except ValueError:
        raise InputError(f"--cv {value}: expected an integer K >= 2, 'outlet' or 'outlet-purged'") from None
    if k < 2:
        raise InputError(f"--cv {value}: K must be at least 2")
    if k > 100:  # refused before training, not after it
        raise InputError(f"--cv {value}: K must be at most 100")
    return k


def render_extras(result: Any) -> list[str]:
    """Per-outlet profile error (--cv outlet), mean ± sd over seeds (--seeds), the refit (--refit)."""
    from warta.train.profile_error import render_outlet_error

    lines: list[str] = []
    if result.cv and "outlet_error" in result.cv:
        lines += ["", "per-outlet profile error of the out-of-fold predictions:"]
        lines += render_outlet_error(result.cv["outlet_error"], row_heading="held-out outlet")
    seeds = result.metrics.get("seeds")
    if seeds:
        lines += ["", f"{seeds['n']} seeds {seeds['seeds']} (macro-F1 mean ± sd; model and predictions: first seed):"]
        parts = [(name, seeds["summary"].get(name, {})) for name in ("test", "dev")]
        if result.cv and "seeds" in result.cv:
            parts.append(("cv pooled", result.cv["seeds"]["summary"]))
        for name, summary in parts:
            if summary:
                lines.append(f"{name:<10}" + "  ".join(
                    f"{layer} {m['macro_f1']['mean']:.3f} ± {m['macro_f1']['sd']:.3f}" for layer, m in summary.items()))
        error = (result.cv or {}).get("seeds", {}).get("outlet_error_summary")
        if error:
            lines.append("outlet profile error over seeds (mean over outlets): " + "  ".join(
                f"{layer} {m['mean']:.1f} ± {m['sd']:.1f} pts" for layer, m in error["share_error_points"].items())
                + f"  |stance idx error| {error['stance_index_abs_error']['mean']:.3f} ± "
                  f"{error['stance_index_abs_error']['sd']:.3f}")
    refit = result.metrics.get("refit")
    if refit:
        lines += ["", f"shipped model: refit on {refit['n_sentences']} labelled sentences"
                      + (f" + {refit['n_supplement']} supplement" if refit["n_supplement"] else "")
                      + f" with {plain_settings(refit['hyperparameters'])} (figures above are held-out; "
                        "model-eval/ made them)"]
    return lines


def plain_settings(value: Any) -> str:
    """Chosen settings in words, not a Python dict: {'best_c': {'type': 30.0}} -> 'best_c: type 30'."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {plain_settings(item)}" if isinstance(item, dict) else f"{key} {plain_settings(item)}"
                         for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return "/".join(plain_settings(item) for item in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


@app.command("train")
def train_cli(
    config: Path = typer.Argument(..., help="Training config (YAML), e.g. configs/tfidf.yaml."),
    overrides: Optional[list[str]] = typer.Option(
        None, "--set", metavar="KEY.PATH=VALUE",
        help="Override a config key: --set train.epochs=3 (repeatable; value parsed as YAML).",
    ),
    cv: Optional[str] = typer.Option(
        None, "--cv", metavar="K|outlet|outlet-purged",
        help="Also run K-fold grouped CV on train+dev, or leave-one-outlet-out CV over all labelled sentences "
             "(outlet-purged: also drop the held-out outlet's near-duplicates from training).",
    ),
    seeds: int = typer.Option(1, "--seeds", min=1, metavar="N", help="Run N seeds (seed, seed+1, ...): mean ± sd."),
    refit: Optional[str] = typer.Option(
        None, "--refit", metavar="all", help="After evaluation, ship a model refit on every labelled sentence.",
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", metavar="DIR", help="Run folder (default: <output.root>/<config name>-<timestamp>)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the run files of an existing --out folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or log lines on stderr."),
) -> None:
    """Train a model (TF-IDF baseline or transformer) on the labelled corpus; write model, metrics, predictions."""
    from warta import distributed
    from warta.config import load_config
    from warta.safe_io import claim_run_folder
    from warta.text.corpus import default_seeds_dir
    from warta.train.experiment import train_experiment
    from warta.train.folds import kfold_plan
    from warta.train.sources import load_run_data

    run_config = load_config(config, overrides or [])
    k = parse_cv(cv)
    if out is not None:  # the one overwrite rule (warta.safe_io), before any work
        sources = run_config.data
        claim_run_folder(out, force=force, inputs=[sources.labels, sources.splits, sources.seeds or default_seeds_dir(),
                                                   *sources.extra, *sources.supplement])
    data = load_run_data(run_config.data)
    if isinstance(k, int):  # K folds the data cannot hold are refused before anything is trained
        kfold_plan(data, k, run_config.seed, next(iter(run_config.layers)))
    # under torchrun only rank 0 shows progress, writes the run folder and prints the table
    result = train_experiment(run_config, out=out, data=data, cv=k, seeds=seeds, refit=refit, force=force,
                              progress=not quiet and distributed.is_main())
    distributed.close()
    if distributed.is_main():
        typer.echo(render_run(result))
