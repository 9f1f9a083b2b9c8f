"""Each outlet against the pooled rest, with false-discovery-rate control: the between-outlets test
that scales to every Indonesian outlet (all pairs grow with the square of the outlets; at 1,000
outlets a Bonferroni cut-off of 1e-7 can call nothing).

Statistic per outlet o and measure: the Jensen-Shannon distance between o's type (frame) mix and
the mix of every other outlet pooled; the difference between o's stance index and the rest's.
Null ("o is a random draw of articles"): draw o's article count from the pool of all articles with
replacement, the rest being the pool total minus the drawn articles, and recompute the statistic.
The null depends on o only through its article count, so outlets with the same number of articles
share one set of null draws (this is what makes 1,700 outlets cheap). Outlets with more than
EXACT_NULL_ARTICLES articles draw their sums from the normal approximation of the resampled sums.
p = (1 + #null >= observed) / (1 + #null); q = Benjamini-Hochberg adjusted p over the outlets tested
on that measure; an outlet "differs from the rest" when q < 0.05 (expected share of false calls
among the outlets called: at most 5%)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from warta.outlets.options import ALL, ALPHA
from warta.outlets.pairs import EXACT_NULL_ARTICLES, PAIR_STATS, null_sums, pair_statistics
from warta.outlets.sentences import PARTS
from warta.outlets.statistics import rounded, seeded_rng

VERSUS_REST_METHOD = (
    "each outlet against all other outlets pooled: pooled-article bootstrap null (the outlet's article count "
    "drawn with replacement from every article; the rest = all articles minus the drawn ones); "
    "p = (1 + #null >= observed) / (1 + #null); q = Benjamini-Hochberg adjusted p over the outlets tested on "
    "that measure; 'differs' when q < 0.05; 'noise' = the null's 95% quantile (one outlet alone)"
)
# Null draws: enough that the smallest Benjamini-Hochberg threshold (0.05 / outlets) holds ~2 draws.
MAX_NULL_DRAWS = 400_000
# Rows x articles of one chunk of null draws held at once.
CHUNK_ROWS = 20_000


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values): q_(i) = min_{j >= i} m p_(j) / j, capped at 1; NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    q[ok] = adjusted
    return q


def null_draws(tested: int, n_boot: int) -> int:
    return int(min(MAX_NULL_DRAWS, max(n_boot, math.ceil(2 * max(1, tested) / ALPHA))))


def versus_rest(
    profiles: dict[str, dict[str, Any]], matrices: dict[str, dict[str, np.ndarray]], n_boot: int, seed: int
) -> dict[str, Any]:
    """{"method", "comparisons", "null_draws", "outlets": {name: {"articles", "tests": {key: {...}}, "note"}}, "warnings"}."""

    names = [n for n in profiles if n != ALL]
    pool = {part: np.vstack([matrices[n][part] for n in names]) for part in PARTS}
    total = {part: mat.sum(axis=0) for part, mat in pool.items()}
    tested = [n for n in names if not profiles[n]["below_min_sentences"]] if len(names) > 1 else []
    n_null = null_draws(len(tested), n_boot)
    observed_sums = {part: np.stack([matrices[n][part].sum(axis=0) for n in tested]) if tested else np.zeros((0, total[part].size))
                     for part in PARTS}
    observed = pair_statistics(observed_sums, {part: total[part] - observed_sums[part] for part in PARTS})
    by_count: dict[int, list[int]] = {}
    for i, name in enumerate(tested):
        by_count.setdefault(profiles[name]["articles"], []).append(i)
    p = {key: np.full(len(tested), np.nan) for key, _, _ in PAIR_STATS}
    noise = {key: np.full(len(tested), np.nan) for key, _, _ in PAIR_STATS}
    for count, members in sorted(by_count.items()):
        rng = seeded_rng(seed, "versus rest", str(count))
        # null magnitudes, kept sorted per measure: p-values by binary search
        spreads: dict[str, list[np.ndarray]] = {key: [] for key, _, _ in PAIR_STATS}
        chunk = max(1, min(n_null, CHUNK_ROWS * 10 // max(1, min(count, EXACT_NULL_ARTICLES))))
        for start in range(0, n_null, chunk):
            rows = min(n_null, start + chunk) - start
            drawn = null_sums(pool, rows, rng, n_draw=count)
            rest = {part: np.clip(total[part] - drawn[part], 0.0, None) for part in PARTS}
            null = pair_statistics(drawn, rest)
            for key in spreads:
                spreads[key].append(np.abs(null[key]))
        for key in spreads:
            spread = np.concatenate(spreads[key])
            spread = np.sort(spread[np.isfinite(spread)])
            if spread.size == 0:
                continue
            value = np.abs(observed[key][members])
            below = np.searchsorted(spread, value - 1e-12, side="left")
            p[key][members] = np.where(np.isfinite(value), (1 + spread.size - below) / (1 + spread.size), np.nan)
            noise[key][members] = float(np.quantile(spread, 1 - ALPHA))
    q = {key: benjamini_hochberg(p[key]) for key in p}
    outlets: dict[str, Any] = {}
    for i, name in enumerate(tested):
        tests = {}
        for key, _, _ in PAIR_STATS:
            value = observed[key][i]
            if not np.isfinite(p[key][i]) or not np.isfinite(value):
                tests[key] = {"value": None, "noise": None, "p": None, "q": None, "differs": None}
                continue
            tests[key] = {"value": rounded(float(value)), "noise": rounded(float(noise[key][i])),
                          "p": rounded(float(p[key][i])), "q": rounded(float(q[key][i])), "differs": bool(q[key][i] < ALPHA)}
        outlets[name] = {"articles": profiles[name]["articles"], "tests": tests}
    for name in names:
        if name not in outlets:
            reason = ("fewer than --min-sentences sentences" if profiles[name]["below_min_sentences"]
                      else "only one outlet: no rest to compare with")
            outlets[name] = {"articles": profiles[name]["articles"], "skipped": reason}
    for name, entry in outlets.items():
        entry["note"] = rest_note(name, entry)
    warnings = []
    if tested and (1 + n_null) * ALPHA / max(1, len(tested)) < 1:
        warnings.append(f"{n_null} null draws cannot resolve the smallest FDR threshold 0.05/{len(tested)}; "
                        "the strongest differences may be missed")
    return {
        "method": VERSUS_REST_METHOD,
        "comparisons": {key: int(np.isfinite(p[key]).sum()) for key, _, _ in PAIR_STATS},
        "null_draws": n_null,
        "outlets": {name: outlets[name] for name in names},
        "warnings": warnings,
    }


def rest_note(name: str, entry: dict[str, Any]) -> str:
    """One plain line: where an outlet differs from all the others pooled, or why it was not compared."""
    from warta.outlets.pairs import PAIR_STAT_WORDS

    if entry.get("skipped"):
        return f"{name}: not compared ({entry['skipped']})"
    parts = []
    for key, test in entry["tests"].items():
        if not test.get("differs"):
            continue
        if key.endswith("_js"):
            parts.append(f"{PAIR_STAT_WORDS[key]} (distance from the rest {test['value']:.2f}, "
                         f"chance alone up to {test['noise']:.2f})")
        else:
            lean = "more pro" if test["value"] > 0 else "more against"
            parts.append(f"{PAIR_STAT_WORDS[key]}: {lean} than the rest by {abs(test['value']):.2f} "
                         f"(chance alone up to {test['noise']:.2f})")
    if parts:
        caveat = " — one article: this says the article differs, not the outlet" if entry["articles"] == 1 else ""
        return f"{name}: differs from the other outlets in " + "; ".join(parts) + caveat
    reason = " (one article: outlet cannot be separated from article)" if entry["articles"] == 1 else ""
    return f"{name}: no difference from the other outlets larger than chance{reason}"
