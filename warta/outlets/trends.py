"""Coverage over time (--by month|week|quarter): each outlet's and the pooled profile per period, with the
same article-cluster intervals as the whole-sample profile, and plain lines where a period stands out.

An article's date is its records' `date` (the manifest column) or `published` field, read by
warta.outlets.dates.parse_date; undated articles and unreadable dates are counted and reported, never
silently dropped from the whole-sample profile (they only have no period). A period "differs from the
outlet's own average" when the outlet's whole-sample figure lies outside the period's 95% interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warta.outlets.dates import parse_date, period_of
from warta.outlets.options import ALL
from warta.outlets.sentences import Group
from warta.outlets.shrinkage import extreme_outlets
from warta.outlets.statistics import outlet_profile
from warta.schema import LAYERS

# Up to this many outlets every one gets a trend (small multiples); beyond, the pooled line plus the
# TREND_EXTREMES most pro and most against outlets.
MAX_SMALL_MULTIPLES = 12
TREND_EXTREMES = 3
MAX_UNREADABLE_LISTED = 20
# A period with fewer articles gets no plain line: its interval reflects its sentences only (one or two
# articles cannot show how the outlet covered the story that month).
MIN_ARTICLES_FOR_LINE = 3


class ArticleDates:
    """Streams records; keeps each article's first non-empty date text (one string per article): the record's
    date/published field, else the manifest's date for its article_id (`warta label` records carry no date)."""

    FIELDS = ("date", "published")

    def __init__(self, manifest_dates: dict[str, str] | None = None) -> None:
        self.raw: dict[tuple[str, str], str | None] = {}
        self.manifest_dates = manifest_dates or {}

    def add(self, group: str, article: str, record: dict[str, Any]) -> None:
        key = (group, article)
        if self.raw.get(key):
            return
        value = next((record[f] for f in self.FIELDS if record.get(f) not in (None, "")), None)
        value = value if value is not None else self.manifest_dates.get(article) or None
        self.raw[key] = None if value is None else str(value)


def manifest_dates(path: str | Path) -> dict[str, str]:
    """article_id -> date text of a manifest CSV (warta.text.corpus.read_manifest's layout)."""
    from warta.text.corpus import read_manifest

    return {row["article_id"]: row["date"] for row in read_manifest(Path(path)) if row.get("date")}


def _subgroup(group: Group, name: str, rows: list[int]) -> Group:
    sub = Group(name)
    sub.articles = [group.articles[i] for i in rows]
    sub.sums = {part: [mat[i] for i in rows] for part, mat in group.sums.items()}
    sub.counts = [group.counts[i] for i in rows]
    sub.sentences = sum(sub.counts)
    return sub


def _lines(name: str, overall: dict[str, Any], periods: dict[str, dict[str, Any]]) -> tuple[list[str], int]:
    """Plain lines for the periods whose interval excludes the outlet's own average, and how many checks were made."""
    out: list[str] = []
    if len(periods) < 2:
        return out, 0
    checks = len(periods) * (1 + len(LAYERS["type"]) + len(LAYERS["frame"]))
    label = "All outlets together" if name == ALL else name
    mean = overall["stance_index"]["all"]["value"]
    periods = {when: fig for when, fig in periods.items() if fig["articles"] >= MIN_ARTICLES_FOR_LINE}
    checks = len(periods) * (1 + len(LAYERS["type"]) + len(LAYERS["frame"]))
    for period, fig in periods.items():
        index = fig["stance_index"]["all"]
        if mean is not None and index["value"] is not None and not index["ci"][0] <= mean <= index["ci"][1]:
            side = "more pro" if index["value"] > mean else "more against"
            out.append(f"{label}, {period}: {side} than its own average — stance index {index['value']:+.2f} "
                       f"(95% interval {index['ci'][0]:+.2f} to {index['ci'][1]:+.2f}) against {mean:+.2f} over the "
                       f"whole sample ({fig['articles']} articles)")
        for layer in ("type", "frame"):
            for lab in LAYERS[layer]:
                share, avg = fig[f"{layer}_share"][lab], overall[f"{layer}_share"][lab]["value"]
                if share["value"] is None or avg is None or share["ci"][0] <= avg <= share["ci"][1]:
                    continue
                word = "more" if share["value"] > avg else "less"
                out.append(f"{label}, {period}: {word} {lab.replace('_', ' ')} than its own average — "
                           f"{100 * share['value']:.0f}% (95% interval {100 * share['ci'][0]:.0f}–{100 * share['ci'][1]:.0f}%) "
                           f"against {100 * avg:.0f}% ({fig['articles']} articles)")
    return out, checks


def trends(
    groups: dict[str, Group], dates: ArticleDates, outlets: dict[str, dict[str, Any]], period: str, n_boot: int, seed: int,
) -> dict[str, Any]:
    """{"period", "dated_articles", "undated_articles", "unreadable": {"count", "examples"}, "periods", "shown",
    "outlets": {name: {period: figures}}, "lines"}; `groups` are the (deduplicated) per-article sums."""
    article_period: dict[tuple[str, str], str] = {}
    undated, unreadable, examples = 0, 0, []
    for name, group in groups.items():
        if name == ALL:
            continue
        for article in group.articles:
            day, reason = parse_date(dates.raw.get((name, article)))
            if day is not None:
                article_period[(name, article)] = period_of(day, period)
            elif reason is None:
                undated += 1
            else:
                unreadable += 1
                if len(examples) < MAX_UNREADABLE_LISTED:
                    examples.append({"outlet": name, "article_id": article, "date": dates.raw[(name, article)],
                                     "reason": reason})
    names = [n for n in outlets if n != ALL]
    shown = names if len(names) <= MAX_SMALL_MULTIPLES else extreme_outlets(outlets, TREND_EXTREMES)
    figures: dict[str, dict[str, Any]] = {}
    for name in [*shown, ALL]:
        group = groups[name]
        rows: dict[str, list[int]] = {}
        for i, article in enumerate(group.articles):
            key = tuple(article.split("\x00", 1)) if name == ALL else (name, article)
            when = article_period.get(key)  # type: ignore[arg-type]
            if when is not None:
                rows.setdefault(when, []).append(i)
        figures[name] = {when: outlet_profile(_subgroup(group, f"{name} {when}", idx), 0, n_boot, seed)[0]
                         for when, idx in sorted(rows.items())}
    lines, checks = [], 0
    for name in [ALL, *shown]:
        found, made = _lines(name, outlets[name], figures[name])
        lines += found
        checks += made
    return {
        "period": period,
        "dated_articles": len(article_period),
        "undated_articles": undated,
        "unreadable": {"count": unreadable, "examples": examples},
        "periods": sorted({p for per in figures.values() for p in per}),
        "shown": shown,
        "outlets": figures,
        "lines": lines,
        "checks": checks,  # each a 95% interval: about 1 in 20 lines can be chance
    }
