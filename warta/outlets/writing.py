"""Flat tables (outlets.csv, distances.csv, compare.csv) and safe file writing."""


import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from warta import jsonl
from warta.errors import InputError
from warta.jsonl import write_text_atomic
from warta.outlets.constants import PAIR_STATS
from warta.safe_io import csv_safe


def outlet_rows(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per outlet (ALL last) for outlets.csv."""
    rows = []
    for name, outlet in profile["outlets"].items():
        row: dict[str, Any] = {
            "outlet": name,
            "articles": outlet["articles"],
            "sentences": outlet["sentences"],
            "below_min_sentences": outlet["below_min_sentences"],
        }
        for block in ("type_share", "stance_share", "frame_share"):
            for label, figure in outlet[block].items():
                row[f"{block}.{label}"] = figure["value"]
                row[f"{block}.{label}.ci_lo"], row[f"{block}.{label}.ci_hi"] = figure["ci"]
        for subset, figure in outlet["stance_index"].items():
            row[f"stance_index.{subset}"] = figure["value"]
            lo, hi = figure["ci"] if figure["ci"] else (None, None)
            row[f"stance_index.{subset}.ci_lo"], row[f"stance_index.{subset}.ci_hi"] = lo, hi
            row[f"stance_index.{subset}.n"] = figure["n"]
        adjusted = profile.get("adjusted", {}).get("outlets", {}).get(name)
        if adjusted:
            row["adjust_method"] = profile["adjusted"]["method"]
            for layer, block in adjusted["layers"].items():
                row[f"{layer}_share.corrected_unstable"] = block.get("unstable")
                for label, fig in block.get("shares", {}).items():
                    row[f"{layer}_share.{label}.corrected"] = fig["value"]
                    row[f"{layer}_share.{label}.corrected_ci_lo"], row[f"{layer}_share.{label}.corrected_ci_hi"] = fig["ci"]
            for subset, fig in adjusted["stance_index"].items():
                row[f"stance_index.{subset}.corrected"] = fig.get("value")
                lo, hi = fig.get("ci") or (None, None)
                row[f"stance_index.{subset}.corrected_ci_lo"], row[f"stance_index.{subset}.corrected_ci_hi"] = lo, hi
        row["dominant_frame"] = outlet["dominant_frame"]
        row["notes"] = "; ".join(outlet["notes"])
        rows.append(row)
    return rows


PAIR_COLUMNS = (
    ["a", "b", "articles_a", "articles_b"]
    + [f"{key}.{name}" for key, _, _ in PAIR_STATS for name in ("value", "noise", "p", "p_adj", "differs")]
    + ["note"]
)


def pair_rows(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per outlet pair for distances.csv (columns: PAIR_COLUMNS)."""
    rows = []
    for pair in profile["distances"]["pairs"]:
        row: dict[str, Any] = {"a": pair["a"], "b": pair["b"], "articles_a": pair["articles"][0], "articles_b": pair["articles"][1]}
        for key, _, _ in PAIR_STATS:
            test = pair.get("tests", {}).get(key, {})
            for name in ("value", "noise", "p", "p_adj", "differs"):
                row[f"{key}.{name}"] = test.get(name)
        row["note"] = pair["note"]
        rows.append(row)
    return rows


def compare_rows(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per outlet for compare.csv."""
    rows = []
    for name, outlet in comparison["outlets"].items():
        row: dict[str, Any] = {"outlet": name, "articles": outlet["articles"], "sentences": outlet["sentences"]}
        for layer, figure in outlet["share_gap"].items():
            row[f"share_gap.{layer}"] = figure["value"]
            row[f"share_gap.{layer}.ci_lo"], row[f"share_gap.{layer}.ci_hi"] = figure["ci"] or (None, None)
        for subset, figure in outlet["stance_index_diff"].items():
            row[f"stance_index_diff.{subset}"] = figure["value"]
            row[f"stance_index_diff.{subset}.ci_lo"], row[f"stance_index_diff.{subset}.ci_hi"] = figure["ci"] or (None, None)
            row[f"stance_index.{subset}.gold"] = figure["gold"]
            row[f"stance_index.{subset}.pred"] = figure["pred"]
        rows.append(row)
    return rows


# --- writing ---------------------------------------------------------------------------------

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


def csv_text(rows: list[dict[str, Any]], columns: Iterable[str] = ()) -> str:
    """CSV with `columns` then any other keys of the rows in first-seen order; None as empty."""
    import csv
    import io

    columns = list(columns)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[csv_safe(column) for column in columns], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # Text cells that a spreadsheet would run as a formula are escaped (OWASP); numbers pass.
        writer.writerow({csv_safe(key): ("" if value is None else csv_safe(value)) for key, value in row.items()})
    return buffer.getvalue()
