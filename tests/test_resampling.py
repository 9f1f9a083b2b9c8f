"""warta.resampling: the one bootstrap, percentile interval and stance index behind warta's uncertainty figures."""

from __future__ import annotations

import numpy as np
import pytest

from warta import resampling
from warta.resampling import (
    bootstrap_counts,
    bootstrap_indices,
    cluster_counts,
    percentile_interval,
    stance_index,
)


def test_indices_are_seeded_in_range_and_n_boot_rows_long():
    blocks = list(bootstrap_indices(7, 50, 3))
    rows = np.concatenate(blocks)
    assert rows.shape == (50, 7) and rows.min() >= 0 and rows.max() < 7
    assert np.array_equal(rows, np.concatenate(list(bootstrap_indices(7, 50, np.random.default_rng(3)))))
    assert not np.array_equal(rows, np.concatenate(list(bootstrap_indices(7, 50, 4))))
    drawn = np.concatenate(list(bootstrap_indices(100, 10, 0, draw=3)))
    assert drawn.shape == (10, 3) and drawn.max() < 100


def test_blocks_hold_at_most_block_cells_numbers(monkeypatch):
    monkeypatch.setattr(resampling, "BLOCK_CELLS", 40)
    assert [len(b) for b in bootstrap_indices(10, 9, 0)] == [4, 4, 1]  # 40 // max(n 10, draw 10)
    assert [len(b) for b in bootstrap_indices(100, 9, 0, draw=5)] == [1] * 9  # counts are 100 wide
    assert [len(b) for b in bootstrap_indices(100, 9, 0, draw=5, gather=True)] == [8, 1]  # draws alone


def test_counts_are_the_same_draws_as_indices():
    counts = np.concatenate(list(bootstrap_counts(6, 20, 5, draw=4)))
    picks = np.concatenate(list(bootstrap_indices(6, 20, 5, draw=4)))
    assert counts.shape == (20, 6) and (counts.sum(axis=1) == 4).all()
    assert np.array_equal(counts, np.stack([np.bincount(row, minlength=6) for row in picks]))


def test_cluster_counts_move_a_cluster_together():
    groups = np.array([0, 0, 1, 2, 2, 2])
    weights = cluster_counts(groups, 6, 200, 1)
    assert weights.shape == (200, 6)
    assert np.array_equal(weights[:, 0], weights[:, 1]) and np.array_equal(weights[:, 3], weights[:, 5])
    assert (weights[:, [0, 2, 3]].sum(axis=1) == 3).all()  # three clusters drawn per resample
    sentences = cluster_counts(None, 6, 200, 1)
    assert (sentences.sum(axis=1) == 6).all() and not np.array_equal(sentences[:, 0], sentences[:, 1])


def test_percentile_interval_is_numpys_equal_tailed_interval():
    samples = np.random.default_rng(0).normal(size=(1000, 3))
    lo, hi = percentile_interval(samples)
    assert np.allclose(lo, np.percentile(samples, 2.5, axis=0)) and np.allclose(hi, np.percentile(samples, 97.5, axis=0))
    assert percentile_interval(samples[:, 0], 0.5).tolist() == pytest.approx(np.percentile(samples[:, 0], [25, 75]))


def test_stance_index_of_counts_and_of_shares():
    # LAYERS["stance"] order: pro, against, neutral
    assert stance_index(np.array([3.0, 1.0, 4.0])) == pytest.approx(0.25)
    assert stance_index(np.array([[0.5, 0.2, 0.3], [0.0, 1.0, 0.0]])).tolist() == pytest.approx([0.3, -1.0])
    assert stance_index(np.array([0.4, 0.1]), labels=["against", "pro"]) == pytest.approx(-0.6)
    assert np.isnan(stance_index(np.zeros(3)))


def test_callers_reproduce_the_figures_of_e6f7de0():
    """metrics' CIs and the profile error's stance-index CI, as warta printed them before this module existed."""
    from warta.metrics import layer_metrics
    from warta.train.profile_error import outlet_profile_error

    result = layer_metrics(list("aabbbccabcabcaab"), list("abbbacccabcaabcb"), ["a", "b", "c"], n_boot=500, seed=3)
    assert result["accuracy_ci"] == [0.1875, 0.625]
    assert result["macro_f1_ci"] == [0.14285714285714285, 0.6175133689839568]
    stances = ["pro", "against", "neutral"]
    gold = [{"id": str(i), "outlet": f"o{i % 2}", "type": "fact", "stance": stances[i % 3], "frame": "none"}
            for i in range(30)]
    pred = [{**g, "stance": stances[(i * 7) % 3 if i % 4 else 0]} for i, g in enumerate(gold)]
    error = outlet_profile_error(gold, pred, ["type", "stance", "frame"], seed=1, n_boot=400)
    assert error["outlets"]["o0"]["stance_index"] == {"gold": 0.0, "pred": 0.5333, "error": 0.5333, "ci": [0.2, 1.0]}
    assert error["outlets"]["ALL"]["stance_index"]["ci"] == [0.0667, 0.5]
