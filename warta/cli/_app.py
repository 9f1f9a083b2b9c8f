"""The typer application objects every CLI module registers its commands on, and the app layer's
handling of library noise: `library_noise` collects Python warnings into one line each with a
count and, under -q, silences library progress bars and advisory logging."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import typer


def _flags_show_no_type() -> None:
    """A flag's help row shows no type. typer's rich help puts `<bool>` in the type column of every
    flag (`--force <bool>`), which reads as if the option took a value; it takes none."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "flags_without_type", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) and not getattr(self, "count", False) else shown(self, ctx)

    display_type_rich.flags_without_type = True
    TyperOption.display_type_rich = display_type_rich


_flags_show_no_type()
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


# Distinct warnings kept (a stream of ever-new messages cannot grow memory without bound).
MAX_DISTINCT_WARNINGS = 50
# Under -q: progress bars of tqdm, huggingface_hub and transformers ("Writing model shards"),
# and transformers' advisory log lines, are switched off through their documented variables.
QUIET_ENVIRONMENT = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


class WarningTally:
    """Python warnings seen during a command, counted per (category, first line of the message)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.other = 0

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        first = str(message).strip().splitlines()[0] if str(message).strip() else ""
        key = (category.__name__, " ".join(first.split())[:300].rstrip(":"))
        if key in self.counts or len(self.counts) < MAX_DISTINCT_WARNINGS:
            self.counts[key] += 1
        else:
            self.other += 1

    def lines(self) -> list[str]:
        """One line per distinct warning, most frequent first, with its count."""
        out = [f"warning: {name}{f' (x{n})' if n > 1 else ''}: {text}" for (name, text), n in self.counts.most_common()]
        if self.other:
            out.append(f"warning: {self.other} further warning(s) of other kinds not shown")
        return out


@contextmanager
def _loaded_libraries_silenced() -> Iterator[None]:
    """Libraries already imported read their variables at import time: told directly, and restored after."""
    import sys

    restore = []
    if "transformers" in sys.modules:
        try:
            from transformers.utils import logging as hf_logging

            verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            restore.append(lambda: (hf_logging.set_verbosity(verbosity),
                                    hf_logging.enable_progress_bar() if bars else None))
        except Exception:  # an old or partial install: its noise is not worth an error
            pass
    if "huggingface_hub" in sys.modules:
        try:
            from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

            hub_off = are_progress_bars_disabled()
            disable_progress_bars()
            restore.append(lambda: None if hub_off else enable_progress_bars())
        except Exception:
            pass
    try:
        yield
    finally:
        for undo in reversed(restore):
            undo()


@contextmanager
def library_noise(quiet: bool) -> Iterator[WarningTally]:
    """Collect warnings for the command's duration (printed by the caller, unless quiet);
    under `quiet`, switch library progress bars and advisory logging off. Restores all on exit."""
    saved = {name: os.environ.get(name) for name in QUIET_ENVIRONMENT}
    tally = WarningTally()
    with warnings.catch_warnings():
        # every occurrence reaches the tally (it counts them); the interpreter's default
        # ignores (deprecations inside libraries, resource and import warnings) stay
        warnings.simplefilter("always")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.showwarning = tally
        if quiet:
            os.environ.update(QUIET_ENVIRONMENT)
        try:
            with _loaded_libraries_silenced() if quiet else nullcontext():
                yield tally
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
