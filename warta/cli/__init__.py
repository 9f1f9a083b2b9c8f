"""The `warta` command line: thin wrappers over library functions.

Each module under warta.cli registers its commands on the shared typer app;
importing them here is what puts them on the command line.
"""

from __future__ import annotations

import sys

from warta.cli import (
    annotate,  # noqa: F401  (registers commands)
    corpus,  # noqa: F401  (registers commands)
    evaluate,  # noqa: F401  (registers commands)
    label,  # noqa: F401  (registers commands)
    models,  # noqa: F401  (registers commands)
    outlets,  # noqa: F401  (registers commands)
    train,  # noqa: F401  (registers commands)
)
from warta.cli._app import app, echo_err
from warta.errors import WartaError


def main() -> None:
    """Console entry point: user errors become one line and an exit code, never a traceback."""
    try:
        app()  # standalone: click reports usage errors and exits with the command's code
    except WartaError as exc:
        from warta import distributed

        # under torchrun every rank reports; rank 0's line reads as in one process
        echo_err(f"{'' if distributed.is_main() else f'rank {distributed.rank()}: '}error: {exc}")
        sys.exit(exc.exit_code)
