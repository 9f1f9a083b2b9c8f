"""User-facing errors: the CLI prints their message on one line, no traceback."""

from __future__ import annotations


class WartaError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class InputError(WartaError):
    """One input (file, line, record) is unusable; the message names it."""
