"""Between-outlet tests: pooled-article bootstrap null, Jensen-Shannon and stance-index distances."""


from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon

from warta.outlets.constants import (
    _PARTS,
    ALL,
    ALPHA,
    PAIR_METHOD,
    PAIR_STAT_WORDS,
    PAIR_STATS,
)
from warta.outlets.statistics import _index, _replicate_sums, _rng, _round

# Null draws per pair: 100 per pair compared, so the Bonferroni tail (0.05/pairs) holds ~5 draws;
# capped so all pairs together cost at most ~_NULL_BUDGET article draws; never below --n-boot.
_NULL_DRAWS_PER_PAIR = 100
_NULL_BUDGET = 400_000_000
_MAX_PAIR_WARNINGS = 20
# Above this many articles an outlet's resampled null sums come from their normal (CLT)
# approximation: same mean and covariance as exact resampling, a cost independent of size.
_EXACT_NULL_ARTICLES = 200


def _null_sums(pooled: dict[str, np.ndarray], n_null: int, rng: np.random.Generator, n_draw: int) -> dict[str, np.ndarray]:
    """Sums of `n_draw` rows drawn with replacement from the pool: exact resampling for small
    outlets, the normal approximation (mean n*mu, covariance n*Sigma of the pool's rows) above
    _EXACT_NULL_ARTICLES articles."""
    if n_draw <= _EXACT_NULL_ARTICLES:
        return _replicate_sums(pooled, n_null, rng, n_draw=n_draw)
    stacked = np.hstack([pooled[part] for part in _PARTS])
    mean = stacked.mean(axis=0)
    covariance = np.cov(stacked, rowvar=False, bias=True)
    draws = rng.multivariate_normal(n_draw * mean, n_draw * covariance, size=n_null, method="eigh")
    np.clip(draws, 0.0, None, out=draws)
    out, start = {}, 0
    for part in _PARTS:
        width = pooled[part].shape[1]
        out[part] = draws[:, start:start + width]
        start += width
    return out


# --- between outlets ------------------------------------------------------------------


def _pair_statistics(sums: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The pairwise statistics for observed sums (1-d) or replicate sums (2-d)."""
    stats = {}
    for key, part, kind in PAIR_STATS:
        if kind == "js":
            p, q = np.atleast_2d(sums[part]), np.atleast_2d(other[part])
            stats[key] = jensenshannon(p, q, axis=1, base=2)
        else:
            name = {"all": "stance", "own_voice": "own", "quoted": "quoted"}[part]
            stats[key] = np.atleast_1d(_index(sums[name]) - _index(other[name]))
    return stats


def _pair_test(
    name_a: str, a: dict[str, np.ndarray], name_b: str, b: dict[str, np.ndarray], n_null: int, seed: int
) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """Observed statistics with raw p-values, and the null magnitudes (for the adjusted noise level)."""
    n_a = next(iter(a.values())).shape[0]
    n_b = next(iter(b.values())).shape[0]
    pooled = {part: np.vstack([a[part], b[part]]) for part in _PARTS}
    rng = _rng(seed, name_a, "\x00", name_b)
    null_a = _null_sums(pooled, n_null, rng, n_draw=n_a)
    null_b = _null_sums(pooled, n_null, rng, n_draw=n_b)
    observed = _pair_statistics({p: m.sum(axis=0) for p, m in a.items()}, {p: m.sum(axis=0) for p, m in b.items()})
    null = _pair_statistics(null_a, null_b)
    tests, spreads = {}, {}
    for key, _, _ in PAIR_STATS:
        value = float(observed[key][0])
        spread = np.abs(null[key][np.isfinite(null[key])])
        if not np.isfinite(value) or spread.size == 0:
            tests[key] = {"value": None, "noise": None, "p": None, "p_adj": None, "differs": None}
            continue
        p = (1 + int(np.sum(spread >= abs(value) - 1e-12))) / (1 + spread.size)
        tests[key] = {"value": _round(value), "p": _round(p)}
        spreads[key] = spread
    return tests, spreads


class _NullTail:
    """The top of a sorted null spread: enough for any quantile >= 0.95 (the noise level is at
    1 - 0.05/pairs), 1/20 of the memory. Keeping every pair's whole null (n_boot floats x 5
    statistics) grew to ~40 GB for 1,000 outlets (499,500 pairs)."""

    def __init__(self, spread: np.ndarray):
        self.size = spread.size
        self.start = int(np.floor((spread.size - 1) * (1.0 - ALPHA)))
        self.tail = np.sort(spread)[self.start:]

    def quantile(self, q: float) -> float:
        """np.quantile(spread, q) for q >= 1 - ALPHA, exactly: the order statistics below the tail are
        replaced by the tail's minimum, which leaves those at and above position `start` unchanged."""
        if q < 1.0 - ALPHA:
            raise ValueError(f"quantile {q} below the kept tail")
        full = np.concatenate([np.full(self.start, self.tail[0]), self.tail])
        return float(np.quantile(full, q))


def _pair_note(pair: dict) -> str:
    a, b = pair["a"], pair["b"]
    if pair.get("skipped"):
        return f"{a} vs {b}: not compared ({pair['skipped']})"
    differs = [key for key, test in pair["tests"].items() if test.get("differs")]
    if differs:
        parts = []
        for key in differs:
            t = pair["tests"][key]
            if key.endswith("_js"):
                parts.append(f"{PAIR_STAT_WORDS[key]} (JS {t['value']:.2f}, chance alone up to {t['noise']:.2f}, adj. p {t['p_adj']:.3g})")
            else:
                lean = "more pro" if t["value"] > 0 else "more against"
                parts.append(f"{PAIR_STAT_WORDS[key]}: {a} {lean} by {abs(t['value']):.2f} (chance alone up to {t['noise']:.2f}, adj. p {t['p_adj']:.3g})")
        return f"{a} vs {b}: differs in " + "; ".join(parts)
    reason = ""
    if pair["articles"] == [1, 1]:
        reason = " (one article each: outlet cannot be separated from article)"
    elif min(pair["articles"]) < 3:
        reason = f" (only {pair['articles'][0]} and {pair['articles'][1]} articles)"
    return f"{a} vs {b}: no difference larger than its uncertainty{reason}"


def _null_draws(articles: list[int], pairs: int, n_boot: int) -> int:
    """How many null draws a pair gets: enough for the Bonferroni tail, within the work budget."""
    pool = sum(articles)
    cost = sum(n if pool > 4 * n else n + pool for n in articles if n <= _EXACT_NULL_ARTICLES) + 1
    affordable = _NULL_BUDGET // (pairs * cost)
    return int(max(n_boot, min(_NULL_DRAWS_PER_PAIR * pairs, affordable)))


def _distances(profiles: dict, matrices: dict[str, dict[str, np.ndarray]], n_boot: int, seed: int) -> dict[str, Any]:
    names = [name for name in profiles if name != ALL]
    distance = {layer: {a: {} for a in names} for layer in ("type", "frame")}
    for layer in ("type", "frame"):
        for a in names:
            for b in names:
                p = matrices[a][layer].sum(axis=0)
                q = matrices[b][layer].sum(axis=0)
                distance[layer][a][b] = _round(float(jensenshannon(p, q, base=2))) if a != b else 0.0
    pairs = []
    candidates = sum(
        1 for i, a in enumerate(names) for b in names[i + 1:]
        if not (profiles[a]["below_min_sentences"] or profiles[b]["below_min_sentences"])
    )
    spreads: dict[int, dict[str, _NullTail]] = {}
    warnings = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pair: dict[str, Any] = {"a": a, "b": b, "articles": [profiles[a]["articles"], profiles[b]["articles"]]}
            flagged = [n for n in (a, b) if profiles[n]["below_min_sentences"]]
            if flagged:
                pair["skipped"] = f"fewer than --min-sentences sentences: {', '.join(flagged)}"
            else:
                n_null = _null_draws(pair["articles"], candidates, n_boot)
                pair["null_draws"] = n_null
                if candidates / (n_null + 1) >= ALPHA:
                    warnings.append(
                        f"{a} vs {b}: {n_null} null draws cannot resolve p < 0.05/{candidates} pairs; "
                        "this pair can never be called different (raise --n-boot)"
                    )
                pair["tests"], spread = _pair_test(a, matrices[a], b, matrices[b], n_null, seed)
                spreads[len(pairs)] = {key: _NullTail(values) for key, values in spread.items()}
            pairs.append(pair)
    # Bonferroni within each measure over the pairs compared on it, so more outlets
    # do not mean more false alarms; "noise" is the matching tail quantile of the null.
    comparisons = {}
    for key, _, _ in PAIR_STATS:
        made = [i for i, pair in enumerate(pairs) if "tests" in pair and pair["tests"][key]["p"] is not None]
        comparisons[key] = len(made)
        for i in made:
            test = pairs[i]["tests"][key]
            adjusted = min(1.0, len(made) * test["p"])
            test["noise"] = _round(spreads[i][key].quantile(1.0 - ALPHA / len(made)))
            test["p_adj"] = _round(adjusted)
            test["differs"] = adjusted < ALPHA
    for pair in pairs:
        pair["note"] = _pair_note(pair)
    if len(warnings) > _MAX_PAIR_WARNINGS:
        # Thousands of outlets: one line per pair would bury the report (and the terminal).
        warnings = warnings[:_MAX_PAIR_WARNINGS] + [
            f"... and {len(warnings) - _MAX_PAIR_WARNINGS} more pairs whose null draws cannot resolve the "
            "Bonferroni threshold (raise --n-boot, or compare fewer outlets)"
        ]
    return {
        "metric": "Jensen-Shannon distance (base 2, in [0, 1]) of the sentence-weighted label distributions",
        "type": distance["type"],
        "frame": distance["frame"],
        "method": PAIR_METHOD,
        "comparisons": comparisons,
        "pairs": pairs,
        "warnings": warnings,
    }
