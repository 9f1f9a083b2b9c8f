"""Outlet profiles from records or files (the public entry points of `warta outlets`)."""


from collections.abc import Iterable
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.outlets.constants import CONFIDENCE, INTERVAL_METHOD
from warta.outlets.pairs import _distances
from warta.outlets.statistics import _outlet_profile
from warta.outlets.validation import (
    _check_options,
    _collect,
    _located,
    _located_files,
    _with_labels,
)
from warta.schema import LABELLED_ROLES, LAYERS
from warta.text.sanitise import clean_field


def _settings(by: str, use: str, min_sentences: int, n_boot: int, seed: int, **extra: Any) -> dict[str, Any]:
    """The options a result was computed with, recorded in its JSON."""
    return {
        "by": by, "use": use, "min_sentences": min_sentences, "n_boot": n_boot, "seed": seed,
        "confidence": CONFIDENCE, **extra,
    }


def _profiles_from(
    located: Iterable[tuple[str, dict[str, Any]]], by: str, use: str, min_sentences: int, n_boot: int, seed: int
) -> dict[str, Any]:
    _check_options(by, use, min_sentences, n_boot)
    groups = _collect(located, by, use)
    outlets, matrices = {}, {}
    for name, group in groups.items():
        outlets[name], matrices[name] = _outlet_profile(group, min_sentences, n_boot, seed)
    return {
        "settings": _settings(
            by, use, min_sentences, n_boot, seed,
            interval_method=INTERVAL_METHOD,
            roles=list(LABELLED_ROLES),
            labels={layer: list(labels) for layer, labels in LAYERS.items()},
        ),
        "outlets": outlets,
        "distances": _distances(outlets, matrices, n_boot, seed),
    }


def profile_outlets(
    records: Iterable[dict[str, Any]],
    *,
    by: str = "outlet",
    use: str = "labels",
    min_sentences: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Profile every outlet (records grouped by `by`) plus an ALL row; see the module doc for intervals.

    Records are gold or prediction records (id, article_id, outlet, role, type, stance, frame,
    probs for use="probs"); headings are skipped.
    """
    return _profiles_from(_located(records), by, use, min_sentences, n_boot, seed)


def profile_files(
    paths: Iterable[str | Path], labels: str | Path | None = None, progress: bool = False, **options: Any
) -> dict[str, Any]:
    """profile_outlets over JSONL files, read lazily; errors name file and line.

    `labels`: a gold labels JSONL ({"id", "type", "stance", "frame"} per line) merged onto the
    files' sentence records by id first (e.g. the corpus built by `warta corpus build`).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no input files")
    located = _located_files(paths, progress)
    if labels is not None:
        located = _with_labels(located, labels)
    # evidence, syndication flags and (with run) corrected shares need the records in memory
    extras = {"adjust": "none", "run": None, "evidence": 3, "dedupe_syndicated": False}
    extras.update({key: options.pop(key) for key in list(extras) if key in options})
    from warta.outlets.syndication import syndication as find_syndication

    located = list(located)
    by = options.get("by", "outlet")
    for _, record in located:
        # names and texts reach the report, the JSON and the terminal (evidence, syndication):
        # bidi overrides, invisible and control characters are removed once, here
        for key in (by, "article_id", "text"):
            if isinstance(record.get(key), str):
                record[key] = clean_field(record[key])
    kept, syndication = find_syndication([r for _, r in located], options.get("by", "outlet"),
                                         dedupe=bool(extras["dedupe_syndicated"]))
    kept_ids = {id(r) for r in kept}
    located = [(w, r) for w, r in located if id(r) in kept_ids]
    profile = _profiles_from(
        located,
        options.get("by", "outlet"),
        options.get("use", "labels"),
        options.get("min_sentences", 10),
        options.get("n_boot", 2000),
        options.get("seed", 0),
    )
    profile["settings"]["files"] = [str(p) for p in paths] + ([f"labels: {labels}"] if labels is not None else [])
    from warta.outlets.extras import add_extras

    add_extras(profile, [r for _, r in located], syndication=syndication, **extras)
    return profile
