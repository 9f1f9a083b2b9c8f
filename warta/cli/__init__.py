"""The `warta` command line: thin wrappers over library functions.

Each module under warta.cli registers its commands on the shared typer app;
importing them here is what puts them on the command line. `run` is the one
place where whatever goes wrong becomes one line on stderr and an exit code:
usage errors, user errors (WartaError), file-system errors, an interrupt, a
standard output that cannot be written, and, as a last resort, a bug.
"""

from __future__ import annotations

import errno
import os
import sys

try:  # typer >= 0.24 vendors its own click; its exceptions are not the `click` package's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

from warta.cli import (
    annotate,  # noqa: F401  (registers commands)
    corpus,  # noqa: F401  (registers commands)
    evaluate,  # noqa: F401  (registers commands)
    label,  # noqa: F401  (registers commands)
    models,  # noqa: F401  (registers commands)
    outlets,  # noqa: F401  (registers commands)
    train,  # noqa: F401  (registers commands)
)
from warta.cli._app import app, echo_err, library_noise
from warta.errors import WartaError, extra_for, missing_extra_message

_Abort = getattr(click_errors, "Abort", None) or __import__("typer").Abort
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _usage_line(exc: click_errors.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else "warta"
    return f"error: {' '.join(exc.format_message().split())} (see `{command} --help`)"


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _rank_prefix() -> str:
    """Under torchrun every rank reports; rank 0's line reads as in one process."""
    try:
        from warta import distributed

        return "" if distributed.is_main() else f"rank {distributed.rank()}: "
    except Exception:  # no torch.distributed: a plain process
        return ""


def echo_help(text: str) -> None:
    import typer

    typer.echo(text, err=True)


# Options naming a file or folder: an empty value (an unset shell variable) would become "."
# after typer's Path conversion, i.e. the current folder, so it is refused before parsing.
_PATH_OPTIONS = frozenset({"--out", "--seeds", "--manifest", "--labels", "--data", "--gold", "--pred"})


def _empty_path_option(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg in _PATH_OPTIONS and i + 1 < len(args) and args[i + 1] == "":
            return arg
        name, sep, value = arg.partition("=")
        if sep and name in _PATH_OPTIONS and value == "":
            return name
    return None


def _is_quiet(args: list[str]) -> bool:
    """-q/--quiet anywhere before `--` (train and label define it; the app layer honours it for libraries)."""
    words = args[: args.index("--")] if "--" in args else args
    return any(arg in ("-q", "--quiet") for arg in words)


def run(args: list[str] | None = None) -> int:
    """Run the CLI on `args` (default: sys.argv[1:]) and return the exit code; never raises.

    Library warnings are collected while the command runs and printed after it as one line
    each with a count (none under -q, where library progress bars are also off).
    """
    argv = list(sys.argv[1:] if args is None else args)
    quiet = _is_quiet(argv)
    with library_noise(quiet) as tally:
        code = _run(args)
    if not quiet:
        for line in tally.lines():
            echo_err(line)
    return code


# Words that read as a boolean value. After a flag (`--force true`) the parser would take them
# for a positional argument (an input file named "true"); refused before parsing instead.
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "1", "0"})


def _flag_given_a_value(args: list[str]) -> str | None:
    """`--force true` (a flag followed by a boolean word) -> the flag's name, else None."""
    if not any(arg.lower() in _BOOLEAN_WORDS for arg in args[1:]):
        return None  # the common case: no need to build the command tree
    import typer.main

    command = typer.main.get_command(app)
    position = 0
    while position < len(args) and getattr(command, "commands", None) and args[position] in command.commands:
        command = command.commands[args[position]]
        position += 1
    flags = {name for param in getattr(command, "params", ()) if getattr(param, "is_flag", False)
             for name in (*param.opts, *param.secondary_opts)}
    for i in range(position, len(args) - 1):
        if args[i] == "--":
            return None
        if args[i] in flags and args[i + 1].lower() in _BOOLEAN_WORDS:
            return args[i]
    return None


def _run(args: list[str] | None) -> int:
    argv = list(sys.argv[1:] if args is None else args)
    empty = _empty_path_option(argv)
    if empty:
        echo_err(f"error: {empty}: empty path (an unset variable?); give a file or folder name")
        return EXIT_USAGE
    flag = _flag_given_a_value(argv)
    if flag:
        echo_err(f"error: {flag} is a flag and takes no value: write {flag} alone to turn it on, "
                 "or leave it out (see --help)")
        return EXIT_USAGE
    try:
        try:
            result = app(args=args, prog_name="warta", standalone_mode=False)
        finally:
            if sys.stdout is not None:
                sys.stdout.flush()  # a full or closed stdout shows up here, inside the handlers
        return result if isinstance(result, int) else 0
    except click_errors.NoArgsIsHelpError as exc:
        echo_help(exc.ctx.get_help() if exc.ctx is not None else "")
        return EXIT_USAGE
    except click_errors.UsageError as exc:
        echo_err(_usage_line(exc))
        return EXIT_USAGE
    except _Abort:
        echo_err("interrupted")
        return EXIT_INTERRUPTED
    except click_errors.ClickException as exc:  # e.g. a bad file given to a click.File option
        echo_err(f"error: {' '.join(exc.format_message().split())}")
        return exc.exit_code
    except WartaError as exc:
        echo_err(f"{_rank_prefix()}error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        echo_err("interrupted")
        return EXIT_INTERRUPTED
    except OSError as exc:
        if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EPIPE, errno.EBADF, errno.EIO, errno.EDQUOT):
            echo_err(f"error: <stdout>: cannot write ({exc.strerror or exc})")
            _silence_stdout()
        else:
            where = f"{exc.filename}: " if exc.filename else ""
            echo_err(f"error: {where}{exc.strerror or exc}")
        return EXIT_USAGE
    except ModuleNotFoundError as exc:  # an optional package imported without require_extra: still one line
        if exc.name and extra_for(exc.name):
            echo_err(f"{_rank_prefix()}error: {missing_extra_message(exc.name)}")
            return EXIT_USAGE
        if os.environ.get("WARTA_DEBUG"):
            raise
        echo_err(f"error: internal error (ModuleNotFoundError: {exc}); a required package is missing: "
                 'reinstall warta (pip install -e .); set WARTA_DEBUG=1 for the traceback')
        return EXIT_USAGE
    except (MemoryError, RecursionError) as exc:
        echo_err(f"error: out of {'memory' if isinstance(exc, MemoryError) else 'stack'} "
                 "(an input too large or too deeply nested?)")
        return EXIT_USAGE
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("WARTA_DEBUG"):
            raise
        echo_err(f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); "
                 "set WARTA_DEBUG=1 for the traceback")
        return EXIT_USAGE


def main() -> None:
    """Console entry point: user errors become one line and an exit code, never a traceback."""
    sys.exit(run())
