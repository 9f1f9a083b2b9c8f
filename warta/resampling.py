"""Resampling and intervals behind every uncertainty figure warta prints: one bootstrap, one percentile
interval, one stance index.

- The bootstrap draws units (sentences, or articles for a cluster bootstrap) with replacement:
  `bootstrap_indices` yields blocks of resample rows (row = the drawn unit numbers), `bootstrap_counts`
  the same draws as multiplicities (how often each unit is drawn in each resample), and
  `cluster_counts` maps article multiplicities onto the article's sentences. Blocks keep memory bounded
  (at most `BLOCK_CELLS` drawn numbers at once); the block size is part of the random stream
  (numpy's bounded integers use 32-bit halves of 64-bit words within one call): the blocking rule is
  fixed here, so every caller draws the same numbers for the same (n, n_boot, draw, seed).
- `percentile_interval`: the equal-tailed percentile interval (numpy's linear interpolation) at `level`.
- `stance_index`: (pro - against) / n over the last axis of stance counts (or shares).

Callers: warta.metrics (sentence bootstrap of accuracy and macro-F1), warta.outlets.statistics and
warta.outlets.pairs (article-cluster bootstrap of shares and indices, pair nulls), warta.outlets.quantify
(corrected shares, target and calibration resampled together), warta.train.profile_error (paired
sentence bootstrap of the stance-index error).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from warta.schema import LAYERS

LEVEL = 0.95
BLOCK_CELLS = 4_000_000  # drawn numbers held at once (32 MB of int64)
STANCE_LABELS = LAYERS["stance"]


def rng_for(seed: int | np.random.Generator) -> np.random.Generator:
    """A generator: `seed` itself when it is one, else numpy's default generator seeded with it."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def bootstrap_indices(
    n: int, n_boot: int, rng: np.random.Generator | int, draw: int | None = None, gather: bool = False,
) -> Iterator[np.ndarray]:
    """Blocks of resample rows: each row holds `draw` (default `n`) unit numbers drawn with replacement from
    range(n); n_boot rows in all. A block holds at most BLOCK_CELLS numbers of the wider of (rows x n)
    multiplicities and (rows x draw) draws; `gather` (the caller sums the drawn rows, never builds n-wide
    multiplicities: few draws from many units) bounds the draws alone."""
    rng = rng_for(rng)
    draw = n if draw is None else draw
    block = max(1, BLOCK_CELLS // max(draw if gather else max(n, draw), 1))
    for start in range(0, n_boot, block):
        yield rng.integers(0, n, size=(min(n_boot, start + block) - start, draw))


def bootstrap_counts(
    n: int, n_boot: int, rng: np.random.Generator | int, draw: int | None = None, gather: bool = False,
) -> Iterator[np.ndarray]:
    """The draws of `bootstrap_indices` (same blocks, same numbers) as multiplicities, shape (rows, n): how
    often each unit is drawn in each resample."""
    for picks in bootstrap_indices(n, n_boot, rng, draw, gather):
        rows = picks.shape[0]
        picks += n * np.arange(rows)[:, None]  # one flat bincount for the whole block
        yield np.bincount(picks.ravel(), minlength=rows * n).reshape(rows, n)


def cluster_counts(groups: np.ndarray | None, n: int, n_boot: int, rng: np.random.Generator | int) -> np.ndarray:
    """(n_boot, n) multiplicities of n sentences under a cluster bootstrap: each resample draws as many
    clusters as there are (groups[i] = sentence i's cluster, numbered from 0) and a sentence counts as
    often as its cluster is drawn; groups None resamples the sentences themselves."""
    if groups is None:
        return np.concatenate(list(bootstrap_counts(n, n_boot, rng))).astype(float)
    g = int(groups.max()) + 1
    per_group = np.concatenate(list(bootstrap_counts(g, n_boot, rng))).astype(float)
    return per_group[:, groups]


def percentile_interval(samples: np.ndarray, level: float = LEVEL, axis: int | None = 0) -> np.ndarray:
    """(2, ...) lower and upper bounds of the equal-tailed percentile interval of `samples` along `axis`."""
    tail = (1 - level) / 2
    return np.quantile(samples, [tail, 1 - tail], axis=axis)


def stance_index(counts: np.ndarray, labels: Sequence[str] = STANCE_LABELS) -> np.ndarray:
    """(pro - against) / n over the last axis of stance counts, or of shares (n = 1); NaN where n = 0."""
    labels = list(labels)
    pro, against = labels.index("pro"), labels.index("against")
    counts = np.asarray(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts[..., pro] - counts[..., against]) / counts.sum(axis=-1)
