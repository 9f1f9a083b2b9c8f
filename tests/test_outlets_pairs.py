"""Batched pair tests (warta.outlets.pairs): the same nulls, p-values and noise levels as one pair at a time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

import warta.outlets.pairs as pairs
from warta.outlets.pairs import PAIR_STATS
from warta.outlets.sentences import PARTS


def outlet(rng, articles, probs=False):
    sizes = rng.integers(1, 9, size=articles)
    def counts(k):
        if probs:
            return np.array([rng.dirichlet(np.ones(k)) * n for n in sizes])
        return np.array([rng.multinomial(n, np.ones(k) / k) for n in sizes], float)
    parts = {"type": counts(4), "stance": counts(3), "frame": counts(6)}
    quoted = parts["type"][:, 1:2] / sizes[:, None]
    parts["own"], parts["quoted"] = parts["stance"] * (1 - quoted), parts["stance"] * quoted
    return parts


@pytest.mark.parametrize("probs", [False, True])
def test_batched_tests_equal_the_per_pair_test(probs):
    rng = np.random.default_rng(7)
    names = [f"o{i}" for i in range(6)]
    matrices = {name: outlet(rng, 3, probs) for name in names}
    sums = {n: {p: m.sum(axis=0) for p, m in matrices[n].items()} for n in names}
    batch = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    q = {key: 1 - 0.05 / 15 for key, _, _ in PAIR_STATS}
    got = pairs._batch_tests(batch, matrices, sums, 3, 3, 700, 3, q)
    for (a, b), (tests, noise) in zip(batch, got):
        want, spreads = pairs._pair_test(a, matrices[a], b, matrices[b], 700, 3)
        for key in want:
            assert tests[key]["p"] == want[key]["p"], key
            assert tests[key]["value"] == want[key]["value"], key
            if key in spreads:
                assert noise[key] == pytest.approx(np.quantile(spreads[key], q[key]), rel=1e-9, abs=1e-12)


def test_top_quantile_is_numpys_linear_quantile():
    rng = np.random.default_rng(1)
    values = rng.random((40, 300))
    size = rng.integers(1, 301, size=40)
    for i, s in enumerate(size):
        values[i, : 300 - s] = -np.inf
        rng.shuffle(values[i])
    for q in (0.95, 0.999, 1 - 0.05 / 499_500, 0.5):
        got = pairs._top_quantile(values.copy(), size, q)
        want = [np.quantile(row[np.isfinite(row)], q) for row in values]
        assert np.array_equal(got, want), q


def test_js_rows_are_scipys_and_column_statistics_agree():
    rng = np.random.default_rng(2)
    p, q = rng.integers(0, 5, size=(500, 6)).astype(float), rng.integers(0, 5, size=(500, 6)).astype(float)
    p[0] = 0  # undefined, as in scipy
    want = jensenshannon(p, q, axis=1, base=2)
    got = pairs._js_rows(p, q)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got[1:], want[1:])
    a = {part: rng.integers(0, 4, size=(300, w)).astype(float) for part, w in zip(PARTS, (4, 3, 6, 3, 3))}
    b = {part: rng.integers(0, 4, size=(300, w)).astype(float) for part, w in zip(PARTS, (4, 3, 6, 3, 3))}
    rows = pairs.pair_statistics(a, b)
    cols = pairs._column_statistics({k: v.T for k, v in a.items()}, {k: v.T for k, v in b.items()})
    for key in rows:
        assert np.array_equal(np.isfinite(rows[key]), np.isfinite(cols[key])), key
        ok = np.isfinite(rows[key])
        assert np.allclose(rows[key][ok], cols[key][ok], rtol=0, atol=1e-7), key


def all_pairs(matrices):
    names = list(matrices)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]


def profiles_for(matrices):
    return {n: {"articles": next(iter(m.values())).shape[0], "below_min_sentences": False} for n, m in matrices.items()}


def reference(matrices, n_boot, seed):
    """The per-pair algorithm: _pair_test on every pair, Bonferroni noise from the whole null."""
    names = list(matrices)
    todo = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    out = {}
    for a, b in todo:
        n_null = pairs._null_draws([matrices[a]["type"].shape[0], matrices[b]["type"].shape[0]], len(todo), n_boot)
        out[a, b] = pairs._pair_test(a, matrices[a], b, matrices[b], n_null, seed)
    made = {key: sum(1 for t, _ in out.values() if t[key]["p"] is not None) for key, _, _ in PAIR_STATS}
    for tests, spreads in out.values():
        for key, spread in spreads.items():
            tests[key]["noise"] = pairs.rounded(float(np.quantile(spread, 1 - 0.05 / made[key])))
            tests[key]["p_adj"] = pairs.rounded(min(1.0, made[key] * tests[key]["p"]))
    return out


def test_distances_match_the_per_pair_algorithm_with_mixed_sizes_and_the_normal_path(monkeypatch):
    monkeypatch.setattr(pairs, "EXACT_NULL_ARTICLES", 4)  # outlets of 5+ articles take the normal approximation
    rng = np.random.default_rng(3)
    matrices = {f"o{i}": outlet(rng, int(k)) for i, k in enumerate([1, 2, 2, 3, 5, 6, 1])}
    got = pairs.pair_tests(all_pairs(matrices), profiles_for(matrices), matrices, 300, 4)
    want = reference(matrices, 300, 4)
    for pair in got["pairs"]:
        tests, _ = want[pair["a"], pair["b"]]
        for key, test in pair["tests"].items():
            for field in ("value", "p", "noise", "p_adj"):
                assert test[field] == tests[key].get(field), (pair["a"], pair["b"], key, field)
    for layer in ("type", "frame"):
        for a in matrices:
            for b in matrices:
                js = jensenshannon(matrices[a][layer].sum(axis=0), matrices[b][layer].sum(axis=0), base=2)
                assert pairs.distance_matrix(list(matrices), matrices, layer)[a][b] == (pairs.rounded(float(js)) if a != b else 0.0)


def test_noise_is_redrawn_when_fewer_pairs_are_compared_than_planned(monkeypatch):
    rng = np.random.default_rng(5)
    matrices = {f"o{i}": outlet(rng, 3) for i in range(5)}
    want = pairs.pair_tests(all_pairs(matrices), profiles_for(matrices), matrices, 300, 1)
    monkeypatch.setattr(pairs, "_planned_comparisons", lambda jobs, sums: {key: 1 for key, _, _ in PAIR_STATS})
    got = pairs.pair_tests(all_pairs(matrices), profiles_for(matrices), matrices, 300, 1)
    assert got == want


def test_progress_is_reported_up_to_every_pair():
    rng = np.random.default_rng(6)
    matrices = {f"o{i}": outlet(rng, 2 + i % 2) for i in range(6)}
    seen = []
    pairs.pair_tests(all_pairs(matrices), profiles_for(matrices), matrices, 200, 0, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (15, 15) and all(t == 15 for _, t in seen)
