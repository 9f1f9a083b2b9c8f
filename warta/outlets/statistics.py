"""Resampling and intervals: seeded article-cluster bootstrap, Jeffreys and Dirichlet intervals, shares and indices."""


import zlib
from typing import Any

import numpy as np
from scipy.special import betaincinv  # the Beta quantile; scipy.stats is slow to import

from warta.outlets.options import ALL, ALPHA, CONFIDENCE
from warta.outlets.sentences import AGAINST, PRO, Group
from warta.resampling import bootstrap_counts, bootstrap_indices, stance_index
from warta.resampling import percentile_interval as resampled_interval
from warta.schema import LAYERS

INTERVAL_METHOD = (
    "95% interval = the wider of an article-cluster bootstrap percentile interval "
    "(articles resampled with replacement within the outlet) and a sentence-level interval "
    "treating sentences as independent (Jeffreys for shares, Dirichlet(counts+1/2) for the stance index)"
)

# --- resampling ------------------------------------------------------------------------


def seeded_rng(seed: int, *names: str) -> np.random.Generator:
    """A stream per outlet (or pair) so one outlet's figures do not depend on the others present."""
    keys = [zlib.crc32(name.encode("utf-8")) for name in names]
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *keys])


def replicate_sums(
    matrices: dict[str, np.ndarray], n_boot: int, rng: np.random.Generator, draw_from: int | None = None,
    n_draw: int | None = None,
) -> dict[str, np.ndarray]:
    """Bootstrap sums: each replicate draws `n_draw` rows with replacement from the first
    `draw_from` rows (default: all rows, as many as there are) and adds up each matrix."""
    m = next(iter(matrices.values())).shape[0]
    draw_from = m if draw_from is None else draw_from
    n_draw = draw_from if n_draw is None else n_draw
    out = {name: np.empty((n_boot, mat.shape[1])) for name, mat in matrices.items()}
    start = 0
    if 4 * n_draw < draw_from:  # few draws from many rows: add the drawn rows directly
        for picks in bootstrap_indices(draw_from, n_boot, rng, draw=n_draw, gather=True):
            for name, mat in matrices.items():
                out[name][start:start + len(picks)] = mat[picks].sum(axis=1)
            start += len(picks)
        return out
    for counts in bootstrap_counts(draw_from, n_boot, rng, draw=n_draw):
        weights = counts.astype(float)
        for name, mat in matrices.items():
            out[name][start:start + len(weights)] = weights @ mat[:draw_from]
        start += len(weights)
    return out


def percentile_interval(values: np.ndarray) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = resampled_interval(values, CONFIDENCE)
    return float(lo), float(hi)


def jeffreys_interval(x: float, n: float) -> tuple[float, float]:
    """95% Jeffreys interval for x successes out of n (fractional counts allowed)."""
    if n <= 0:
        return 0.0, 1.0
    lo = 0.0 if x <= 0 else float(betaincinv(x + 0.5, n - x + 0.5, ALPHA / 2))
    hi = 1.0 if x >= n else float(betaincinv(x + 0.5, n - x + 0.5, 1 - ALPHA / 2))
    return lo, hi


def shares_of(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / sums.sum(axis=-1, keepdims=True)


def envelope(*intervals: tuple[float, float] | None, lo: float, hi: float) -> list[float]:
    present = [iv for iv in intervals if iv is not None]
    low = min(iv[0] for iv in present)
    high = max(iv[1] for iv in present)
    return [rounded(max(lo, low)), rounded(min(hi, high))]


def rounded(x: float | None, digits: int = 4) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits) + 0.0  # + 0.0 turns -0.0 into 0.0


# --- one outlet -------------------------------------------------------------------------


def _share_block(layer: str, observed: np.ndarray, replicates: np.ndarray) -> dict[str, dict[str, Any]]:
    n = observed.sum()
    point = observed / n
    boot = shares_of(replicates)
    # every label's percentiles in one call when no replicate is undefined (the same floats as one by one)
    whole = resampled_interval(boot, CONFIDENCE) if np.isfinite(boot).all() else None
    block = {}
    for k, label in enumerate(LAYERS[layer]):
        bootstrap = (float(whole[0, k]), float(whole[1, k])) if whole is not None else percentile_interval(boot[:, k])
        block[label] = {
            "value": rounded(point[k]),
            "ci": envelope(bootstrap, jeffreys_interval(observed[k], n), lo=0.0, hi=1.0),
        }
    return block


def _index_block(observed: np.ndarray, replicates: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    n = float(observed.sum())
    if n <= 1e-12:
        return {"value": None, "ci": None, "n": 0}
    dirichlet = rng.dirichlet(observed + 0.5, size=n_boot)
    independent = percentile_interval(dirichlet[:, PRO] - dirichlet[:, AGAINST])
    return {
        "value": rounded(stance_index(observed)),
        "ci": envelope(percentile_interval(stance_index(replicates)), independent, lo=-1.0, hi=1.0),
        "n": rounded(n, 3) if n != round(n) else int(round(n)),
    }


def _dominant_frame(frame_share: dict[str, dict[str, Any]]) -> str:
    """The most frequent frame other than 'none' ('none' only if no frame is used at all)."""
    framed = [(v["value"], label) for label, v in frame_share.items() if label != "none" and v["value"]]
    if not framed:
        return "none"
    best = max(v for v, _ in framed)
    return next(label for v, label in framed if v == best)  # ties: first in label order


def outlet_profile(group: Group, min_sentences: int, n_boot: int, seed: int) -> tuple[dict[str, Any], dict]:
    matrices = group.matrices()
    rng = seeded_rng(seed, group.name)
    replicates = replicate_sums(matrices, n_boot, rng)
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
