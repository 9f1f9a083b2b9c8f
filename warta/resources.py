"""Bundled data (the seed corpus, the training configs), found the same way in a checkout and in a wheel.

The wheel installs ``seeds/`` and ``configs/`` as the package data
``warta/seeds`` and ``warta/configs`` (pyproject: package-dir
"warta.seeds" = "seeds", "warta.configs" = "configs"); a checkout or an
editable install reads them at the repository root.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLED = ("seeds", "configs")


def bundled_dir(name: str) -> Path:
    """The folder of bundled data `name` ("seeds" or "configs") as a filesystem path."""
    if name not in BUNDLED:
        raise ValueError(f"{name!r}: expected one of {', '.join(BUNDLED)}")
    installed = files("warta").joinpath(name)
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parent.parent / name


def bundled_config(name: str) -> Path | None:
    """The bundled config called `name` (e.g. "tfidf" -> configs/tfidf.yaml), or None."""
    path = bundled_dir("configs") / f"{name}.yaml"
    return path if path.is_file() else None


def bundled_config_names() -> list[str]:
    return sorted(p.stem for p in bundled_dir("configs").glob("*.yaml"))
