"""Writing `warta outlets` results: the output files, checked before any work and written atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from warta import jsonl
from warta.jsonl import write_text_atomic
from warta.outlets.profile import Profile

PROFILE_FILES = ("outlets.json", "outlets.csv", "distances.csv", "report.html")
COMPARE_FILES = ("compare.json", "compare.csv")


def check_outputs(
    out_dir: str | Path, names: Iterable[str], force: bool, inputs: Iterable[str | Path | None] = ()
) -> list[Path]:
    """The output paths, claimed by the one overwrite rule before any work (warta.safe_io.claim_output_folder:
    an existing file needs force; an input, or a file in a run/model folder, is refused even with it)."""
    from warta.safe_io import claim_output_folder

    return claim_output_folder(out_dir, names, force=force, inputs=inputs)


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
