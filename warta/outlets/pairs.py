"""Tests of requested outlet pairs (--pairs A,B): pooled-article bootstrap null, Jensen-Shannon and
stance-index distances, Bonferroni over the pairs requested. (Every outlet is tested against the pooled
rest in versus_rest.py; all pairs grow with the square of the outlets and are not run by default.)

Pairs are tested in batches of pairs with the same article counts: each pair keeps its own random
stream and its own pool (the null is that pair's pooled articles), only the arithmetic is shared."""


from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import rel_entr

from warta.outlets.options import ALL, ALPHA
from warta.outlets.sentences import AGAINST, PARTS, PRO
from warta.outlets.statistics import replicate_sums, rounded, seeded_rng
from warta.resampling import bootstrap_counts, stance_index

# Pairwise statistics, in report order: (key, layer or subset, kind).
PAIR_STATS = (
    ("type_js", "type", "js"),
    ("frame_js", "frame", "js"),
    ("stance_index_all", "all", "index"),
    ("stance_index_own_voice", "own_voice", "index"),
    ("stance_index_quoted", "quoted", "index"),
)
PAIR_STAT_WORDS = {
    "type_js": "type mix",
    "frame_js": "frame mix",
    "stance_index_all": "stance (all sentences)",
    "stance_index_own_voice": "stance (own voice)",
    "stance_index_quoted": "stance (quoted sources)",
}
PAIR_METHOD = (
    "pooled-article bootstrap test of 'same outlet' (both outlets' articles pooled, each outlet's "
    "article count redrawn from the pool); p = (1 + #null >= observed) / (1 + #null); "
    "'differs' when the Bonferroni-adjusted p (times the number of outlet pairs compared on that measure) < 0.05; "
    "'noise' = the null's 1 - 0.05/pairs quantile"
)

# Null draws per pair: 100 per pair compared, so the Bonferroni tail (0.05/pairs) holds ~5 draws;
# capped so all pairs together cost at most ~_NULL_BUDGET article draws; never below --n-boot.
_NULL_DRAWS_PER_PAIR = 100
_NULL_BUDGET = 400_000_000
_MAX_PAIR_WARNINGS = 20
# Above this many articles an outlet's resampled null sums come from their normal (CLT)
# approximation: same mean and covariance as exact resampling, a cost independent of size.
EXACT_NULL_ARTICLES = 200
# Replicate x (articles + columns) cells of one batch of pairs (~8 bytes x 4 per cell held at once).
_BATCH_CELLS = 4_000_000


def null_sums(pooled: dict[str, np.ndarray], n_null: int, rng: np.random.Generator, n_draw: int) -> dict[str, np.ndarray]:
    """Sums of `n_draw` rows drawn with replacement from the pool: exact resampling for small
    outlets, the normal approximation (mean n*mu, covariance n*Sigma of the pool's rows) above
    EXACT_NULL_ARTICLES articles."""
    if n_draw <= EXACT_NULL_ARTICLES:
        return replicate_sums(pooled, n_null, rng, n_draw=n_draw)
    stacked = np.hstack([pooled[part] for part in PARTS])
    mean = stacked.mean(axis=0)
    covariance = np.cov(stacked, rowvar=False, bias=True)
    draws = rng.multivariate_normal(n_draw * mean, n_draw * covariance, size=n_null, method="eigh")
    np.clip(draws, 0.0, None, out=draws)
    out, start = {}, 0
    for part in PARTS:
        width = pooled[part].shape[1]
        out[part] = draws[:, start:start + width]
        start += width
    return out


# --- between outlets ------------------------------------------------------------------


def _js_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """scipy's jensenshannon(p, q, axis=1, base=2) row by row: the same operations in the same
    order (so the same floats), without its per-call overhead (it was most of the time)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / np.sum(p, axis=1, keepdims=True)
        q = q / np.sum(q, axis=1, keepdims=True)
        m = (p + q) / 2.0
        js = np.sum(rel_entr(p, m), axis=1) + np.sum(rel_entr(q, m), axis=1)
        js /= np.log(2)
        return np.sqrt(js / 2.0)


def pair_statistics(sums: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The pairwise statistics for observed sums (1-d) or replicate sums (2-d)."""
    stats = {}
    for key, part, kind in PAIR_STATS:
        if kind == "js":
            stats[key] = _js_rows(np.atleast_2d(sums[part]), np.atleast_2d(other[part]))
        else:
            name = {"all": "stance", "own_voice": "own", "quoted": "quoted"}[part]
            stats[key] = np.atleast_1d(stance_index(sums[name]) - stance_index(other[name]))
    return stats


def _pair_test(
    name_a: str, a: dict[str, np.ndarray], name_b: str, b: dict[str, np.ndarray], n_null: int, seed: int
) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """Observed statistics with raw p-values, and the null magnitudes (for the adjusted noise level)."""
    n_a = next(iter(a.values())).shape[0]
    n_b = next(iter(b.values())).shape[0]
    pooled = {part: np.vstack([a[part], b[part]]) for part in PARTS}
    rng = seeded_rng(seed, name_a, "\x00", name_b)
    null_a = null_sums(pooled, n_null, rng, n_draw=n_a)
    null_b = null_sums(pooled, n_null, rng, n_draw=n_b)
    observed = pair_statistics({p: m.sum(axis=0) for p, m in a.items()}, {p: m.sum(axis=0) for p, m in b.items()})
    null = pair_statistics(null_a, null_b)
    tests, spreads = {}, {}
    for key, _, _ in PAIR_STATS:
        value = float(observed[key][0])
        spread = np.abs(null[key][np.isfinite(null[key])])
        if not np.isfinite(value) or spread.size == 0:
            tests[key] = {"value": None, "noise": None, "p": None, "p_adj": None, "differs": None}
            continue
        p = (1 + int(np.sum(spread >= abs(value) - 1e-12))) / (1 + spread.size)
        tests[key] = {"value": rounded(value), "p": rounded(p)}
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
                parts.append(f"{PAIR_STAT_WORDS[key]} (distance {t['value']:.2f}, chance alone up to {t['noise']:.2f})")
            else:
                lean = "more pro" if t["value"] > 0 else "more against"
                parts.append(f"{PAIR_STAT_WORDS[key]}: {a} {lean} by {abs(t['value']):.2f} (chance alone up to {t['noise']:.2f})")
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
    cost = sum(n if pool > 4 * n else n + pool for n in articles if n <= EXACT_NULL_ARTICLES) + 1
    affordable = _NULL_BUDGET // (pairs * cost)
    return int(max(n_boot, min(_NULL_DRAWS_PER_PAIR * pairs, affordable)))


def _draw_counts(rng: np.random.Generator, m: int, n_draw: int, n_null: int, out: np.ndarray) -> None:
    """How often each of the pool's m rows is drawn in each of n_null replicates of n_draw draws,
    written to out (n_null x m). The same random numbers as statistics.replicate_sums (the one
    bootstrap, warta.resampling, with the same blocks), so a pair's null is the one the per-pair code drew."""
    start = 0
    for counts in bootstrap_counts(m, n_null, rng, draw=n_draw, gather=4 * n_draw < m):
        out[start:start + len(counts)] = counts
        start += len(counts)


def _top_quantile(values: np.ndarray, size: np.ndarray, q: float) -> np.ndarray:
    """np.quantile(row's finite values, q) for each row (linear method, same floats), where each
    row holds its `size` finite values and -inf elsewhere; only the top of each row is sorted."""
    n = values.shape[1]
    virtual = (size - 1) * q
    prev = np.floor(virtual)
    gamma = virtual - prev
    prev = prev.astype(np.intp)
    above = virtual >= size - 1
    prev[above] = size[above] - 1
    nxt = np.where(above, prev, prev + 1)
    k = int(max(1, np.max(size - prev, initial=1)))
    top = np.sort(np.partition(values, n - k, axis=1)[:, n - k:], axis=1)
    rows = np.arange(values.shape[0])
    a = top[rows, np.clip(k - size + prev, 0, k - 1)]
    b = top[rows, np.clip(k - size + nxt, 0, k - 1)]
    diff = b - a
    out = a + diff * gamma
    late = gamma >= 0.5
    out[late] = (b - diff * (1 - gamma))[late]
    return out


def _xlogx(x: np.ndarray) -> np.ndarray:
    """x log x with 0 log 0 = 0 (np.log is vectorised; scipy's xlogy is several times slower)."""
    return x * np.log(x + (x == 0))


def _column_statistics(sums: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """pair_statistics for sums laid out label-first (labels x pairs x replicates): whole-array
    operations per label instead of short rows. JS as H(m) - (H(p) + H(q)) / 2 (the same quantity
    as scipy's sum of relative entropies, equal up to rounding; tiny negatives are clipped to 0)."""
    stats = {}
    for key, part, kind in PAIR_STATS:
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "js":
                c, d = sums[part], other[part]
                tc, td = c.sum(axis=0), d.sum(axis=0)
                acc = np.zeros(tc.shape)
                for ck, dk in zip(c, d):
                    pk, qk = ck / tc, dk / td
                    mk = (pk + qk) * 0.5
                    acc += _xlogx(pk) + _xlogx(qk) - 2.0 * _xlogx(mk)
                stats[key] = np.sqrt(np.maximum(acc, 0.0) / (2.0 * np.log(2)))
            else:
                name = {"all": "stance", "own_voice": "own", "quoted": "quoted"}[part]
                c, d = sums[name], other[name]
                stats[key] = (c[PRO] - c[AGAINST]) / c.sum(axis=0) - (d[PRO] - d[AGAINST]) / d.sum(axis=0)
    return stats


def _batch_tests(
    pairs: list[tuple[str, str]], matrices: dict, sums: dict, n_a: int, n_b: int, n_null: int, seed: int,
    q: dict[str, float],
) -> list[tuple[dict[str, dict], dict[str, float]]]:
    """_pair_test for pairs whose outlets have n_a and n_b articles (both exact-resampled), with each
    statistic's noise at its quantile q[key] instead of the null itself."""
    size_b, m = len(pairs), n_a + n_b
    w_a, w_b = np.empty((size_b, n_null, m)), np.empty((size_b, n_null, m))
    for i, (a, b) in enumerate(pairs):
        rng = seeded_rng(seed, a, "\x00", b)
        _draw_counts(rng, m, n_a, n_null, w_a[i])
        _draw_counts(rng, m, n_b, n_null, w_b[i])
    w_a, w_b = w_a.transpose(0, 2, 1), w_b.transpose(0, 2, 1)
    null_a, null_b, obs_a, obs_b = {}, {}, {}, {}
    for part in PARTS:
        # pooled articles, columns first: (pairs, columns, articles); sums (columns, pairs, replicates)
        pooled = np.stack([np.vstack([matrices[a][part], matrices[b][part]]).T for a, b in pairs])
        null_a[part] = np.matmul(pooled, w_a).transpose(1, 0, 2)
        null_b[part] = np.matmul(pooled, w_b).transpose(1, 0, 2)
        obs_a[part] = np.stack([sums[a][part] for a, _ in pairs], axis=1)[:, :, None]
        obs_b[part] = np.stack([sums[b][part] for _, b in pairs], axis=1)[:, :, None]
    del w_a, w_b
    null = _column_statistics(null_a, null_b)
    observed = _column_statistics(obs_a, obs_b)  # same arithmetic as the null, so ties stay ties
    shown = pair_statistics({p: obs_a[p][:, :, 0].T for p in PARTS}, {p: obs_b[p][:, :, 0].T for p in PARTS})
    out: list[tuple[dict[str, dict], dict[str, float]]] = [({}, {}) for _ in pairs]
    for key, _, _ in PAIR_STATS:
        value = observed[key][:, 0]
        spread = np.abs(null[key])
        finite = np.isfinite(spread)
        size = finite.sum(axis=1)
        with np.errstate(invalid="ignore"):
            count = ((spread >= np.abs(value)[:, None] - 1e-12) & finite).sum(axis=1)
        spread[~finite] = -np.inf
        ok = np.isfinite(value) & (size > 0)
        noise = np.full(size_b, np.nan)
        if ok.any():
            noise[ok] = _top_quantile(spread[ok], size[ok], q[key])
        for i, (tests, noises) in enumerate(out):
            if not ok[i]:
                tests[key] = {"value": None, "noise": None, "p": None, "p_adj": None, "differs": None}
                continue
            tests[key] = {"value": rounded(float(shown[key][i])), "p": rounded((1 + int(count[i])) / (1 + int(size[i])))}
            noises[key] = float(noise[i])
    return out


def distance_matrix(names: list[str], matrices: dict, layer: str) -> dict[str, dict[str, float]]:
    """Jensen-Shannon distances (base 2) between every two outlets' mixes, one row at a time."""
    sums = np.stack([matrices[name][layer].sum(axis=0) for name in names])
    out = {}
    for i, a in enumerate(names):
        row = _js_rows(np.repeat(sums[i:i + 1], len(names), axis=0), sums)
        out[a] = {b: (rounded(float(row[j])) if j != i else 0.0) for j, b in enumerate(names)}
    return out


def _run_tests(
    jobs: list[tuple[int, str, str, int, int]], matrices: dict, sums: dict, n_boot: int, candidates: int, seed: int,
    q: dict[str, float], progress: Callable[[int, int], None] | None,
) -> dict[int, tuple[dict[str, dict], dict[str, float], int]]:
    """Every compared pair's tests and noise levels, batched by article counts: {pair index: (tests, noise, n_null)}."""
    groups: dict[tuple[int, int], list[tuple[int, str, str]]] = {}
    for index, a, b, n_a, n_b in jobs:
        groups.setdefault((n_a, n_b), []).append((index, a, b))
    results, done = {}, 0
    for (n_a, n_b), members in groups.items():
        n_null = _null_draws([n_a, n_b], candidates, n_boot)
        if max(n_a, n_b) > EXACT_NULL_ARTICLES:  # normal approximation: per pair, as before
            for index, a, b in members:
                tests, spreads = _pair_test(a, matrices[a], b, matrices[b], n_null, seed)
                noise = {key: float(np.quantile(spread, q[key])) for key, spread in spreads.items()}
                results[index] = (tests, noise, n_null)
                done += 1
            if progress:
                progress(done, len(jobs))
            continue
        batch = max(1, _BATCH_CELLS // (n_null * (n_a + n_b + sum(sums[members[0][1]][p].size for p in PARTS))))
        for start in range(0, len(members), batch):
            chunk = members[start:start + batch]
            tested = _batch_tests([(a, b) for _, a, b in chunk], matrices, sums, n_a, n_b, n_null, seed, q)
            for (index, _, _), (tests, noise) in zip(chunk, tested):
                results[index] = (tests, noise, n_null)
            done += len(chunk)
            if progress:
                progress(done, len(jobs))
    return results


def pair_tests(
    requested: list[tuple[str, str]], profiles: dict, matrices: dict[str, dict[str, np.ndarray]], n_boot: int, seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Tests of the requested outlet pairs (--pairs A,B), Bonferroni over them. `progress(done, total)` is
    called as pair tests finish."""
    names = [name for name in profiles if name != ALL]
    sums = {name: {part: mat.sum(axis=0) for part, mat in matrices[name].items()} for name in names}
    pairs: list[dict[str, Any]] = []
    jobs = []
    for a, b in requested:
        pair: dict[str, Any] = {"a": a, "b": b, "articles": [profiles[a]["articles"], profiles[b]["articles"]]}
        flagged = [n for n in (a, b) if profiles[n]["below_min_sentences"]]
        if flagged:
            pair["skipped"] = f"fewer than --min-sentences sentences: {', '.join(flagged)}"
        else:
            jobs.append((len(pairs), a, b, *pair["articles"]))
        pairs.append(pair)
    candidates = len(jobs)
    # The noise level is the null's 1 - 0.05/k quantile, k = pairs compared on that measure. k is
    # planned as the pairs whose observed value is finite; a pair whose whole null is undefined
    # lowers it, and then the noise levels are drawn again (same streams) at the right quantile.
    planned = _planned_comparisons(jobs, sums)
    results = _run_tests(jobs, matrices, sums, n_boot, candidates, seed, _quantiles(planned), progress)
    made = {key: [i for i, _, _, _, _ in jobs if results[i][0][key]["p"] is not None] for key, _, _ in PAIR_STATS}
    if any(len(made[key]) != planned[key] for key in made):
        results = _run_tests(jobs, matrices, sums, n_boot, candidates, seed,
                             _quantiles({key: len(v) for key, v in made.items()}), None)
    warnings = []
    for index, a, b, _, _ in jobs:
        tests, _, n_null = results[index]
        pairs[index]["null_draws"] = n_null
        if candidates / (n_null + 1) >= ALPHA:
            warnings.append(
                f"{a} vs {b}: {n_null} null draws cannot resolve p < 0.05/{candidates} pairs; "
                "this pair can never be called different (raise --n-boot)"
            )
        pairs[index]["tests"] = tests
    # Bonferroni within each measure over the pairs compared on it, so more outlets
    # do not mean more false alarms; "noise" is the matching tail quantile of the null.
    comparisons = {}
    for key, _, _ in PAIR_STATS:
        comparisons[key] = len(made[key])
        for i in made[key]:
            test = pairs[i]["tests"][key]
            adjusted = min(1.0, len(made[key]) * test["p"])
            test["noise"] = rounded(results[i][1][key])
            test["p_adj"] = rounded(adjusted)
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
        "method": PAIR_METHOD,
        "comparisons": comparisons,
        "pairs": pairs,
        "warnings": warnings,
    }


def _planned_comparisons(jobs: list, sums: dict) -> dict[str, int]:
    """How many pairs have a finite observed value on each measure (a pair with an undefined null is rarer)."""
    planned = {key: 0 for key, _, _ in PAIR_STATS}
    step = 50_000
    for start in range(0, len(jobs), step):
        chunk = jobs[start:start + step]
        observed = pair_statistics(
            {part: np.stack([sums[a][part] for _, a, _, _, _ in chunk]) for part in PARTS},
            {part: np.stack([sums[b][part] for _, _, b, _, _ in chunk]) for part in PARTS},
        )
        for key in planned:
            planned[key] += int(np.isfinite(observed[key]).sum())
    return planned


def _quantiles(comparisons: dict[str, int]) -> dict[str, float]:
    return {key: 1.0 - ALPHA / max(1, k) for key, k in comparisons.items()}
