"""User-facing errors: the CLI prints their message on one line, no traceback."""

from __future__ import annotations

from typing import Any


class WartaError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class InputError(WartaError):
    """One input (file, line, record) is unusable; the message names it."""


class MissingExtra(WartaError):
    """An optional package (a pyproject extra) that a command needs is not installed."""


# Extras that exist for developers, named only when no user-facing extra installs the package.
_DEVELOPER_EXTRAS = ("test", "bench")


def extra_for(module: str) -> str | None:
    """The pyproject extra that installs `module` (read from warta's installed metadata: one source of truth).

    A distribution name matches its top-level module after PEP 503 normalisation
    (label-studio-sdk -> label_studio_sdk, ray[data] -> ray). None: no extra installs it.
    """
    import re
    from importlib import metadata

    top = module.split(".")[0].lower()
    try:
        requires = metadata.requires("warta") or []
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return None
    found: list[str] = []
    for requirement in requires:
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if name and extra and re.sub(r"[-_.]+", "_", name.group(1)).lower() == top:
            found.append(extra.group(1))
    users = [e for e in found if e not in _DEVELOPER_EXTRAS]
    return (users or found or [None])[0]


def missing_extra_message(module: str, what: str | None = None, extra: str | None = None) -> str:
    """One line: which optional package is missing, for what, and the pip command that installs it."""
    top = module.split(".")[0]
    extra = extra or extra_for(top)
    install = f'pip install -e ".[{extra}]"' if extra else f"pip install {top}"
    return f"{what or 'this command'} needs the optional package {top!r}, which is not installed: {install}"


def require_extra(module: str, what: str | None = None, extra: str | None = None):
    """`import module`, or MissingExtra naming the extra to install (never a bare ModuleNotFoundError).

    A ModuleNotFoundError about some *other* module (a broken install inside the package)
    is not this package missing, and propagates unchanged.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] != module.split(".")[0]:
            raise
        raise MissingExtra(missing_extra_message(module, what, extra)) from None


def validation_message(source: str, exc: Any) -> str:
    """The one place a pydantic ValidationError becomes `SOURCE: key.path: message` (first error, count of others)."""
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors:
        loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "value_error":  # our validators' own sentences, without pydantic's prefix
            message = message.removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif "input" in error and error["type"] not in ("model_type",) and not isinstance(error["input"], dict):
            message = f"{message} (got {error['input']!r})"
        parts.append(f"{loc}: {message}")
    more = f" (and {len(parts) - 1} more: {'; '.join(parts[1:])})" if len(parts) > 1 else ""
    return f"{source}: {parts[0]}{more}"
