"""Outlet profiles: how much fact, quotation, opinion and speculation each outlet
prints, where its own voice and its quoted sources stand, which frames it uses,
and how sure we can be about each figure.

Uncertainty (95%):
- Shares and stance indices: the *wider* of two intervals.
  (a) An article-cluster bootstrap: resample the outlet's ARTICLES with
      replacement (sentences of one article are not independent), recompute
      the sentence-weighted figure, take the 2.5/97.5 percentiles.
  (b) A sentence-level interval that treats sentences as independent:
      Jeffreys (Beta(x+1/2, n-x+1/2)) for a share, Dirichlet(counts+1/2)
      for the stance index.
  (a) cannot see article-to-article variation when an outlet has one or two
  articles (it collapses to a point); (b) ignores that sentences of one
  article are alike. Taking the envelope never claims more certainty than
  either. Own voice / quoted indices use the replicates in which the subset
  is not empty. With --use probs every figure is an expected value: a
  sentence counts P(label) towards each label and P(quote) towards "quoted".
- Between outlets: a difference "exceeds its uncertainty" when a pooled-
  article bootstrap test rejects "same outlet": pool both outlets' articles,
  redraw each outlet's article count from the pool, recompute the statistic
  (Jensen-Shannon distance, |stance-index difference|);
  p = (1 + #null >= observed) / (1 + #null), Bonferroni-adjusted over the m
  outlet pairs compared on that measure (p_adj = min(1, m p) < 0.05). The
  "noise" reported beside it is the matching null quantile (1 - 0.05/m): the
  largest value chance alone reaches. Two outlets with one article each can
  never differ this way: outlet cannot be told from article. Outlets with more
  than 200 articles draw their null sums from the normal approximation of
  the resampled sums (same mean and covariance), which keeps many-outlet
  reports fast.

All resampling is seeded: the same records, seed and n_boot give identical output.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.special import betaincinv  # the Beta quantile; scipy.stats is slow to import

from warta.errors import InputError
from warta.jsonl import iter_jsonl
from warta.schema import LABELLED_ROLES, LAYERS

ALL = "ALL"
CONFIDENCE = 0.95
ALPHA = 1.0 - CONFIDENCE
STANCE_SUBSETS = ("all", "own_voice", "quoted")
USES = ("labels", "probs")
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
INTERVAL_METHOD = (
    "95% interval = the wider of an article-cluster bootstrap percentile interval "
    "(articles resampled with replacement within the outlet) and a sentence-level interval "
    "treating sentences as independent (Jeffreys for shares, Dirichlet(counts+1/2) for the stance index)"
)
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
# Above this many articles an outlet's resampled null sums come from their normal (CLT)
# approximation: same mean and covariance as exact resampling, a cost independent of size.
_EXACT_NULL_ARTICLES = 200
_QUOTE = LAYERS["type"].index("quote")
_PRO = LAYERS["stance"].index("pro")
_AGAINST = LAYERS["stance"].index("against")
# Matrices kept per article: the three layers plus stance split by voice.
_PARTS = ("type", "stance", "frame", "own", "quoted")
# Bound on the (replicates x articles) weight matrix held at once.
_CHUNK_CELLS = 4_000_000


# --- reading and validating records ------------------------------------------------


def _where(path: str | Path | None, lineno: int) -> str:
    return f"{path}:{lineno}" if path is not None else f"record {lineno}"


def _label_vector(record: dict[str, Any], layer: str, use: str, where: str) -> np.ndarray:
    """One-hot of the label, or the normalised probabilities under --use probs."""
    labels = LAYERS[layer]
    if use == "probs":
        probs = record.get("probs")
        if not isinstance(probs, dict):
            raise InputError(
                f"{where}: no 'probs' in the record (--use probs needs prediction files, "
                "e.g. `warta label` output or cv/oof.jsonl)"
            )
        layer_probs = probs.get(layer)
        if not isinstance(layer_probs, dict):
            raise InputError(f"{where}: no probabilities for layer '{layer}' in 'probs'")
        vector = np.zeros(len(labels))
        for label, p in layer_probs.items():
            if label not in labels:
                raise InputError(f"{where}: unknown {layer} label '{label}' in probs (expected one of {', '.join(labels)})")
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not np.isfinite(p) or p < 0:
                raise InputError(f"{where}: probability of {layer} '{label}' is not a number >= 0: {p!r}")
            vector[labels.index(label)] = float(p)
        total = vector.sum()
        if abs(total - 1.0) > 0.01:
            raise InputError(f"{where}: {layer} probabilities sum to {total:.4f}, not 1")
        return vector / total
    label = record.get(layer)
    if label is None or label == "":
        raise InputError(
            f"{where}: sentence {record.get('id', '?')} has no '{layer}' label "
            "(warta outlets needs type, stance and frame on every title/body sentence)"
        )
    if label not in labels:
        raise InputError(f"{where}: unknown {layer} label '{label}' (expected one of {', '.join(labels)})")
    vector = np.zeros(len(labels))
    vector[labels.index(label)] = 1.0
    return vector


@dataclass
class _Sentence:
    """A labelled title/body sentence reduced to what profiles need."""

    id: str
    group: str
    article: str
    vectors: dict[str, np.ndarray]


def _voice_vectors(record: dict[str, Any], use: str, where: str) -> dict[str, np.ndarray]:
    """Label vectors per layer plus the stance split into own voice and quoted (weighted by P(quote))."""
    vectors = {layer: _label_vector(record, layer, use, where) for layer in LAYERS}
    quoted = vectors["type"][_QUOTE]
    vectors["own"] = vectors["stance"] * (1.0 - quoted)
    vectors["quoted"] = vectors["stance"] * quoted
    return vectors


def _sentence(record: dict[str, Any], by: str, use: str, where: str) -> _Sentence | None:
    """Validate one record; None for headings (they carry no labels)."""
    role = record.get("role")
    if role is None:
        raise InputError(f"{where}: record has no 'role' field (title, heading or body)")
    if role not in LABELLED_ROLES:
        return None
    for name in ("id", "article_id"):
        if record.get(name) in (None, ""):
            raise InputError(f"{where}: record has no '{name}' field")
    group = record.get(by)
    if group is None or group == "":
        raise InputError(f"{where}: record has no '{by}' field (--by {by})")
    group = str(group)
    if group == ALL:
        raise InputError(f"{where}: '{ALL}' is reserved for the all-outlets row; rename that {by}")
    return _Sentence(str(record["id"]), group, str(record["article_id"]), _voice_vectors(record, use, where))


def _located(records: Iterable[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, record in enumerate(records, start=1):
        yield _where(None, i), record


def _located_files(paths: Iterable[str | Path], progress: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in paths:
        lines = iter_jsonl(path)
        if progress:
            from tqdm import tqdm

            # disable=None: the bar shows on a terminal only, never in logs or pipes
            lines = tqdm(lines, desc=f"reading {Path(path).name}", unit=" records", file=sys.stderr, disable=None, leave=False)
        for lineno, record in lines:
            yield _where(path, lineno), record


def _with_labels(located: Iterable[tuple[str, dict[str, Any]]], labels_path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Gold label lines (seeds/labels.jsonl layout) merged onto sentence records by id."""
    from warta.labels import load_labels, merge_labels

    located = list(located)
    try:
        merged = merge_labels([record for _, record in located], load_labels(labels_path))
    except InputError as exc:
        if str(exc).startswith(str(labels_path)):
            raise
        raise InputError(f"{labels_path}: {exc}") from None
    except KeyError as exc:  # a sentence record without an id
        raise InputError(f"{labels_path}: cannot merge, a sentence record has no {exc} field") from None
    return [(where, record) for (where, _), record in zip(located, merged)]


# --- per-article sums ---------------------------------------------------------------


@dataclass
class _Group:
    """Per-article sums of label vectors for one outlet (or ALL)."""

    name: str
    articles: list[str] = field(default_factory=list)
    sums: dict[str, list[np.ndarray]] = field(default_factory=lambda: {part: [] for part in _PARTS})
    sentences: int = 0
    _index: dict[str, int] = field(default_factory=dict)

    def add(self, article: str, vectors: dict[str, np.ndarray]) -> None:
        i = self._index.get(article)
        if i is None:
            i = self._index[article] = len(self.articles)
            self.articles.append(article)
            for part in _PARTS:
                self.sums[part].append(np.zeros_like(vectors[part]))
        for part in _PARTS:
            self.sums[part][i] += vectors[part]
        self.sentences += 1

    def matrices(self) -> dict[str, np.ndarray]:
        return {part: np.vstack(rows) for part, rows in self.sums.items()}


def _collect(located: Iterable[tuple[str, dict[str, Any]]], by: str, use: str) -> dict[str, _Group]:
    """Stream records into per-group, per-article sums; ALL last."""
    groups: dict[str, _Group] = {}
    everything = _Group(ALL)
    seen: dict[str, str] = {}
    for where, record in located:
        sentence = _sentence(record, by, use, where)
        if sentence is None:
            continue
        if sentence.id in seen:
            raise InputError(f"{where}: duplicate sentence id {sentence.id} (first at {seen[sentence.id]})")
        seen[sentence.id] = where
        groups.setdefault(sentence.group, _Group(sentence.group)).add(sentence.article, sentence.vectors)
        everything.add(f"{sentence.group}\x00{sentence.article}", sentence.vectors)
    if not groups:
        raise InputError("no title/body sentences to profile")
    ordered = {name: groups[name] for name in sorted(groups)}
    ordered[ALL] = everything
    return ordered


# --- resampling ------------------------------------------------------------------------


def _rng(seed: int, *names: str) -> np.random.Generator:
    """A stream per outlet (or pair) so one outlet's figures do not depend on the others present."""
    keys = [zlib.crc32(name.encode("utf-8")) for name in names]
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *keys])


def _replicate_sums(
    matrices: dict[str, np.ndarray], n_boot: int, rng: np.random.Generator, draw_from: int | None = None,
    n_draw: int | None = None,
) -> dict[str, np.ndarray]:
    """Bootstrap sums: each replicate draws `n_draw` rows with replacement from the first
    `draw_from` rows (default: all rows, as many as there are) and adds up each matrix."""
    m = next(iter(matrices.values())).shape[0]
    draw_from = m if draw_from is None else draw_from
    n_draw = draw_from if n_draw is None else n_draw
    out = {name: np.empty((n_boot, mat.shape[1])) for name, mat in matrices.items()}
    gather = 4 * n_draw < draw_from  # few draws from many rows: add the drawn rows directly
    chunk = max(1, _CHUNK_CELLS // (n_draw if gather else max(draw_from, n_draw)))
    for start in range(0, n_boot, chunk):
        rows = min(n_boot, start + chunk) - start
        picks = rng.integers(0, draw_from, size=(rows, n_draw))
        if gather:
            for name, mat in matrices.items():
                out[name][start:start + rows] = mat[picks].sum(axis=1)
            continue
        # how often each row is drawn in each replicate, via one flat bincount
        picks += draw_from * np.arange(rows)[:, None]
        weights = np.bincount(picks.ravel(), minlength=rows * draw_from).reshape(rows, draw_from).astype(float)
        for name, mat in matrices.items():
            out[name][start:start + rows] = weights @ mat[:draw_from]
    return out


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


def _percentiles(values: np.ndarray) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = np.quantile(values, [ALPHA / 2, 1 - ALPHA / 2])
    return float(lo), float(hi)


def jeffreys_interval(x: float, n: float) -> tuple[float, float]:
    """95% Jeffreys interval for x successes out of n (fractional counts allowed)."""
    if n <= 0:
        return 0.0, 1.0
    lo = 0.0 if x <= 0 else float(betaincinv(x + 0.5, n - x + 0.5, ALPHA / 2))
    hi = 1.0 if x >= n else float(betaincinv(x + 0.5, n - x + 0.5, 1 - ALPHA / 2))
    return lo, hi


def _shares(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / sums.sum(axis=-1, keepdims=True)


def _index(stance_sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (stance_sums[..., _PRO] - stance_sums[..., _AGAINST]) / stance_sums.sum(axis=-1)


def _envelope(*intervals: tuple[float, float] | None, lo: float, hi: float) -> list[float]:
    present = [iv for iv in intervals if iv is not None]
    low = min(iv[0] for iv in present)
    high = max(iv[1] for iv in present)
    return [_round(max(lo, low)), _round(min(hi, high))]


def _round(x: float | None, digits: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


# --- one outlet -------------------------------------------------------------------------


def _share_block(layer: str, observed: np.ndarray, replicates: np.ndarray) -> dict[str, dict[str, Any]]:
    n = observed.sum()
    point = observed / n
    boot = _shares(replicates)
    block = {}
    for k, label in enumerate(LAYERS[layer]):
        block[label] = {
            "value": _round(point[k]),
            "ci": _envelope(_percentiles(boot[:, k]), jeffreys_interval(observed[k], n), lo=0.0, hi=1.0),
        }
    return block


def _index_block(observed: np.ndarray, replicates: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    n = float(observed.sum())
    if n <= 1e-12:
        return {"value": None, "ci": None, "n": 0}
    dirichlet = rng.dirichlet(observed + 0.5, size=n_boot)
    independent = _percentiles(dirichlet[:, _PRO] - dirichlet[:, _AGAINST])
    return {
        "value": _round(_index(observed)),
        "ci": _envelope(_percentiles(_index(replicates)), independent, lo=-1.0, hi=1.0),
        "n": _round(n, 3) if n != round(n) else int(round(n)),
    }


def _dominant_frame(frame_share: dict[str, dict[str, Any]]) -> str:
    """The most frequent frame other than 'none' ('none' only if no frame is used at all)."""
    framed = [(v["value"], label) for label, v in frame_share.items() if label != "none" and v["value"]]
    if not framed:
        return "none"
    best = max(v for v, _ in framed)
    return next(label for v, label in framed if v == best)  # ties: first in label order


def _outlet_profile(group: _Group, min_sentences: int, n_boot: int, seed: int) -> tuple[dict[str, Any], dict]:
    matrices = group.matrices()
    rng = _rng(seed, group.name)
    replicates = _replicate_sums(matrices, n_boot, rng)
    observed = {part: mat.sum(axis=0) for part, mat in matrices.items()}
    notes = []
    below = group.sentences < min_sentences and group.name != ALL
    if below:
        notes.append(f"only {group.sentences} sentences (< --min-sentences {min_sentences}): listed, not compared")
    if len(group.articles) == 1:
        notes.append("one article: intervals reflect its sentence count only; outlet and article cannot be told apart")
    elif len(group.articles) < 5:
        notes.append(f"only {len(group.articles)} articles: article-to-article variation is poorly known")
    profile = {
        "articles": len(group.articles),
        "sentences": group.sentences,
        "below_min_sentences": below,
        "notes": notes,
        "type_share": _share_block("type", observed["type"], replicates["type"]),
        "stance_share": _share_block("stance", observed["stance"], replicates["stance"]),
        "stance_index": {
            "all": _index_block(observed["stance"], replicates["stance"], rng, n_boot),
            "own_voice": _index_block(observed["own"], replicates["own"], rng, n_boot),
            "quoted": _index_block(observed["quoted"], replicates["quoted"], rng, n_boot),
        },
        "frame_share": _share_block("frame", observed["frame"], replicates["frame"]),
    }
    profile["dominant_frame"] = _dominant_frame(profile["frame_share"])
    return profile, matrices


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
    spreads: dict[int, dict[str, np.ndarray]] = {}
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
                pair["tests"], spreads[len(pairs)] = _pair_test(a, matrices[a], b, matrices[b], n_null, seed)
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
            test["noise"] = _round(float(np.quantile(spreads[i][key], 1.0 - ALPHA / len(made))))
            test["p_adj"] = _round(adjusted)
            test["differs"] = adjusted < ALPHA
    for pair in pairs:
        pair["note"] = _pair_note(pair)
    return {
        "metric": "Jensen-Shannon distance (base 2, in [0, 1]) of the sentence-weighted label distributions",
        "type": distance["type"],
        "frame": distance["frame"],
        "method": PAIR_METHOD,
        "comparisons": comparisons,
        "pairs": pairs,
        "warnings": warnings,
    }


# --- public API ---------------------------------------------------------------------------


def _check_options(by: str, use: str, min_sentences: int, n_boot: int) -> None:
    if use not in USES:
        raise InputError(f"--use {use}: expected one of {', '.join(USES)}")
    if not by:
        raise InputError("--by: empty field name")
    if min_sentences < 0:
        raise InputError(f"--min-sentences {min_sentences}: must be >= 0")
    if n_boot < 100:
        raise InputError(f"--n-boot {n_boot}: use at least 100 resamples")


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
    profile = _profiles_from(
        located,
        options.get("by", "outlet"),
        options.get("use", "labels"),
        options.get("min_sentences", 10),
        options.get("n_boot", 2000),
        options.get("seed", 0),
    )
    profile["settings"]["files"] = [str(p) for p in paths] + ([f"labels: {labels}"] if labels is not None else [])
    return profile


# --- model against gold -------------------------------------------------------------------


def _gap_figures(gold: dict[str, np.ndarray], pred: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Share gaps (mean |pred - gold| over labels) and index differences, for 1-d or 2-d sums."""
    figures = {}
    for layer in LAYERS:
        figures[f"share_gap.{layer}"] = np.mean(np.abs(_shares(pred[layer]) - _shares(gold[layer])), axis=-1)
    for subset, part in zip(STANCE_SUBSETS, ("stance", "own", "quoted")):
        figures[f"index_diff.{subset}"] = _index(pred[part]) - _index(gold[part])
    return figures


def _compare_group(name: str, sentences: list[tuple[str, dict, dict]], min_sentences: int, n_boot: int, seed: int) -> dict:
    articles: dict[str, int] = {}
    for article, _, _ in sentences:
        articles.setdefault(article, len(articles))
    m = len(articles)
    # One row per sentence (sentence-level resampling) and one per article (cluster resampling).
    per_sentence = {}
    for part in _PARTS:
        per_sentence[f"gold.{part}"] = np.vstack([gold_vectors[part] for _, gold_vectors, _ in sentences])
        per_sentence[f"pred.{part}"] = np.vstack([pred_vectors[part] for _, _, pred_vectors in sentences])
    owner = np.array([articles[article] for article, _, _ in sentences])
    per_article = {}
    for key, mat in per_sentence.items():
        sums = np.zeros((m, mat.shape[1]))
        np.add.at(sums, owner, mat)
        per_article[key] = sums
    rng = _rng(seed, "compare", name)
    by_article = _replicate_sums(per_article, n_boot, rng)
    by_sentence = _replicate_sums(per_sentence, n_boot, rng)

    def split(sums: dict[str, np.ndarray]) -> tuple[dict, dict]:
        return ({p: sums[f"gold.{p}"] for p in _PARTS}, {p: sums[f"pred.{p}"] for p in _PARTS})

    observed_gold, observed_pred = split({k: v.sum(axis=0) for k, v in per_sentence.items()})
    observed = _gap_figures(observed_gold, observed_pred)
    boot_article = _gap_figures(*split(by_article))
    boot_sentence = _gap_figures(*split(by_sentence))

    def entry(key: str, lo: float, hi: float) -> dict[str, Any]:
        value = float(observed[key])
        if not np.isfinite(value):
            return {"value": None, "ci": None}
        return {
            "value": _round(value),
            "ci": _envelope(_percentiles(boot_article[key]), _percentiles(boot_sentence[key]), lo=lo, hi=hi),
        }

    result = {
        "articles": m,
        "sentences": len(sentences),
        "below_min_sentences": name != ALL and len(sentences) < min_sentences,
        "share_gap": {layer: entry(f"share_gap.{layer}", 0.0, 1.0) for layer in LAYERS},
        "stance_index_diff": {},
        "gold_share": {layer: dict(zip(LAYERS[layer], map(_round, _shares(observed_gold[layer])))) for layer in LAYERS},
        "pred_share": {layer: dict(zip(LAYERS[layer], map(_round, _shares(observed_pred[layer])))) for layer in LAYERS},
    }
    for subset, part in zip(STANCE_SUBSETS, ("stance", "own", "quoted")):
        block = entry(f"index_diff.{subset}", -2.0, 2.0)
        block["gold"] = _round(float(_index(observed_gold[part]))) if observed_gold[part].sum() > 1e-12 else None
        block["pred"] = _round(float(_index(observed_pred[part]))) if observed_pred[part].sum() > 1e-12 else None
        result["stance_index_diff"][subset] = block
    return result


def _compare_located(
    gold: Iterable[tuple[str, dict[str, Any]]],
    pred: Iterable[tuple[str, dict[str, Any]]],
    by: str,
    use: str,
    min_sentences: int,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    _check_options(by, use, min_sentences, n_boot)
    gold_sentences: dict[str, _Sentence] = {}
    for where, record in gold:
        sentence = _sentence(record, by, "labels", where)
        if sentence is not None:
            if sentence.id in gold_sentences:
                raise InputError(f"{where}: duplicate sentence id {sentence.id} in gold")
            gold_sentences[sentence.id] = sentence
    if not gold_sentences:
        raise InputError("gold: no title/body sentences")
    groups: dict[str, list[tuple[str, dict, dict]]] = {}
    matched: set[str] = set()
    pred_only = 0
    for where, record in pred:
        # Prediction records need only id and labels (e.g. predictions/test.jsonl carries no
        # outlet): outlet, article and role come from gold.
        if record.get("role") is not None and record.get("role") not in LABELLED_ROLES:
            continue  # headings carry no labels
        ident = record.get("id")
        if ident in (None, ""):
            raise InputError(f"{where}: record has no 'id' field")
        reference = gold_sentences.get(str(ident))
        if reference is None:
            pred_only += 1
            continue
        if reference.id in matched:
            raise InputError(f"{where}: duplicate sentence id {reference.id} in predictions")
        matched.add(reference.id)
        # Each side's own type label decides own voice vs quoted.
        predicted = _voice_vectors(record, use, where)
        row = (reference.article, reference.vectors, predicted)
        groups.setdefault(reference.group, []).append(row)
        groups.setdefault(ALL, []).append((f"{reference.group}\x00{reference.article}", reference.vectors, predicted))
    if not matched:
        raise InputError("no sentence id is in both the gold and the prediction file")
    names = sorted(n for n in groups if n != ALL) + [ALL]
    return {
        "settings": _settings(
            by, use, min_sentences, n_boot, seed,
            gap="share_gap = mean over labels of |pred share - gold share|; stance_index_diff = pred - gold",
            interval_method=(
                "95% interval = the wider of a paired article-cluster bootstrap and a paired sentence bootstrap "
                "(gold and prediction resampled together)"
            ),
        ),
        "sentences": {"joined": len(matched), "gold_only": len(gold_sentences) - len(matched), "pred_only": pred_only},
        "outlets": {name: _compare_group(name, groups[name], min_sentences, n_boot, seed) for name in names},
    }


def compare_profiles(
    gold: Iterable[dict[str, Any]],
    pred: Iterable[dict[str, Any]],
    *,
    by: str = "outlet",
    use: str = "labels",
    min_sentences: int = 10,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-outlet gap between the profile from gold labels and from predictions, joined by sentence id.

    `use` applies to the predictions only (gold has labels, not probabilities).
    """
    return _compare_located(_located(gold), _located(pred), by, use, min_sentences, n_boot, seed)


def compare_files(
    gold_path: str | Path, pred_path: str | Path, labels: str | Path | None = None, progress: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """compare_profiles over two JSONL files; errors name file and line.
    `labels` is merged onto the gold file's sentences by id first (see profile_files)."""
    gold = _located_files([gold_path], progress)
    if labels is not None:
        gold = _with_labels(gold, labels)
    result = _compare_located(
        gold,
        _located_files([pred_path], progress),
        options.get("by", "outlet"),
        options.get("use", "labels"),
        options.get("min_sentences", 10),
        options.get("n_boot", 2000),
        options.get("seed", 0),
    )
    result["settings"]["gold"] = str(gold_path) + (f" + labels {labels}" if labels is not None else "")
    result["settings"]["pred"] = str(pred_path)
    return result


# --- flat tables ----------------------------------------------------------------------------


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
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a folder")
    paths = [out_dir / name for name in names]
    if not force:
        for path in paths:
            if path.exists():
                raise InputError(f"{path}: already exists (use --force to overwrite)")
    return paths


def write_text(path: str | Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def json_text(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def csv_text(rows: list[dict[str, Any]], columns: Iterable[str] = ()) -> str:
    """CSV with `columns` then any other keys of the rows in first-seen order; None as empty."""
    import csv
    import io

    columns = list(columns)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: ("" if value is None else value) for key, value in row.items()})
    return buffer.getvalue()
