"""Writing `warta outlets` results: the output files, checked before any work and written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from warta import jsonl
from warta.errors import InputError
from warta.jsonl import write_text_atomic
from warta.outlets.profile import Profile

PROFILE_FILES = ("outlets.json", "outlets.csv", "distances.csv", "report.html")
COMPARE_FILES = ("compare.json", "compare.csv")


def check_outputs(out_dir: str | Path, names: Iterable[str], force: bool) -> list[Path]:
    """The output paths; InputError if one exists and force is off (checked before any work)."""
    from warta.safe_io import check_output_path

    out_dir = Path(out_dir)
    if str(out_dir) == "":
        raise InputError("--out: empty path; give a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    paths = [out_dir / name for name in names]
    if not force:
        for path in paths:
            if os.path.lexists(path):
                raise InputError(f"{path}: already exists (use --force to overwrite)")
    check_output_path(paths[0])  # the folder can be created and written, before the work
    return paths


def write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    write_text_atomic(path, text)


def json_text(data: dict[str, Any]) -> str:
    return jsonl.json_text(data)


def write_profile(profile: Profile, paths: list[Path]) -> list[Path]:
    """outlets.json, outlets.csv, distances.csv and report.html at `paths` (from check_outputs(out, PROFILE_FILES))."""
    from warta.outlets.report import render_report
    from warta.outlets.tables import PAIR_COLUMNS, csv_text, outlet_rows, pair_rows

    json_path, csv_path, pairs_path, html_path = paths
    write_text(json_path, json_text(profile.to_dict()))
    write_text(csv_path, csv_text(outlet_rows(profile)))
    write_text(pairs_path, csv_text(pair_rows(profile), PAIR_COLUMNS))
    write_text(html_path, render_report(profile))
    return paths


def write_comparison(comparison: dict[str, Any], paths: list[Path]) -> list[Path]:
    """compare.json and compare.csv at `paths` (from check_outputs(out, COMPARE_FILES))."""
    from warta.outlets.tables import compare_rows, csv_text

    json_path, csv_path = paths
    write_text(json_path, json_text(comparison))
    write_text(csv_path, csv_text(compare_rows(comparison)))
    return paths
