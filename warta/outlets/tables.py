"""Flat tables: outlets.csv, distances.csv and compare.csv rows, and the CSV text they are written as."""


from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from warta.outlets.pairs import PAIR_STATS
from warta.safe_io import csv_safe

if TYPE_CHECKING:
    from warta.outlets.profile import Profile


def outlet_rows(profile: Profile) -> list[dict[str, Any]]:
    """One flat row per outlet (ALL last) for outlets.csv."""
    rows = []
    for name, outlet in profile.outlets.items():
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
        adjusted = (profile.adjusted or {}).get("outlets", {}).get(name)
        if adjusted:
            row["adjust_method"] = profile.adjusted["method"]
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


TEST_FIELDS = ("value", "noise", "p", "q", "p_adj", "differs")
PAIR_COLUMNS = (
    ["outlet", "versus", "articles", "articles_versus"]
    + [f"{key}.{name}" for key, _, _ in PAIR_STATS for name in TEST_FIELDS]
    + ["note"]
)
REST = "all other outlets"


def pair_rows(profile: Profile) -> list[dict[str, Any]]:
    """distances.csv (columns: PAIR_COLUMNS): one row per outlet against all the others pooled (q = FDR-adjusted
    p), then one per requested pair (--pairs; p_adj = Bonferroni over the pairs requested)."""
    rows = []
    pooled = sum(o["articles"] for n, o in profile.outlets.items() if n != "ALL")
    tests = [(name, REST, entry["articles"], pooled - entry["articles"], entry)
             for name, entry in profile.distances["versus_rest"]["outlets"].items()]
    tests += [(pair["a"], pair["b"], *pair["articles"], pair) for pair in profile.distances.get("pairs", {}).get("pairs", [])]
    for name, versus, articles, articles_versus, entry in tests:
        row: dict[str, Any] = {"outlet": name, "versus": versus, "articles": articles, "articles_versus": articles_versus}
        for key, _, _ in PAIR_STATS:
            test = entry.get("tests", {}).get(key, {})
            for field in TEST_FIELDS:
                row[f"{key}.{field}"] = test.get(field)
        row["note"] = entry["note"]
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
