"""The typer application objects every CLI module registers its commands on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="warta",
    help="Label Indonesian news sentences by type, stance and frame; profile outlets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
corpus_app = typer.Typer(help="Build, inspect and validate the sentence corpus.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


def echo_err(message: str) -> None:
    """Print one line to stderr (control, bidi and line-break characters shown escaped)."""
    from warta.text.sanitise import terminal_safe

    try:
        typer.echo(terminal_safe(str(message)), err=True)
    except (OSError, ValueError):  # stderr closed or full: nowhere left to report
        pass
