"""train/profile_error.py: per-outlet share and stance-index error, and the interval of their mean."""

from __future__ import annotations

from warta.train.profile_error import outlet_profile_error, render_outlet_error

STANCES = ["pro", "against", "neutral"]
LAYERS = ["type", "stance", "frame"]


def records(wrong: list[int], per_outlet: int = 30) -> tuple[list[dict], list[dict]]:
    """Gold balanced over stances; in outlet o the first wrong[o] pro sentences are predicted against."""
    gold, pred = [], []
    for o, n_wrong in enumerate(wrong):
        for i in range(per_outlet):
            g = {"id": f"{o}-{i}", "outlet": f"outlet-{o}", "type": "fact", "stance": STANCES[i % 3], "frame": "none"}
            gold.append(g)
            pred.append({**g, "stance": "against" if i % 3 == 0 and i // 3 < n_wrong else g["stance"]})
    return gold, pred


def test_the_mean_abs_stance_index_error_has_an_interval_over_outlets():
    error = outlet_profile_error(*records([0, 3, 6, 9]), LAYERS, seed=0, n_boot=2000)
    per_outlet = [abs(error["outlets"][f"outlet-{o}"]["stance_index"]["error"]) for o in range(4)]
    assert per_outlet == [0.0, 0.2, 0.4, 0.6]  # each wrong pro sentence moves the index by 2/30
    mean = error["mean_over_outlets"]
    low, high = mean["stance_index_abs_error_ci"]
    assert mean["stance_index_abs_error"] == 0.3
    assert 0.0 <= low < 0.3 < high <= 0.6  # around the mean, within the outlets' own errors
    # other outlets like these: when every outlet is off by the same amount there is nothing to resample
    same = outlet_profile_error(*records([6, 6, 6]), LAYERS, seed=0, n_boot=500)["mean_over_outlets"]
    assert same["stance_index_abs_error_ci"] == [0.4, 0.4]


def test_no_interval_without_resampling_or_with_one_outlet():
    gold, pred = records([3, 6])
    assert outlet_profile_error(gold, pred, LAYERS, n_boot=0)["mean_over_outlets"]["stance_index_abs_error_ci"] is None
    one = records([3])
    assert outlet_profile_error(*one, LAYERS, n_boot=200)["mean_over_outlets"]["stance_index_abs_error_ci"] is None


def test_the_table_prints_the_interval_beside_the_mean_in_points():
    error = outlet_profile_error(*records([0, 3, 6]), LAYERS, seed=0, n_boot=300)
    low, high = (round(v * 100) for v in error["mean_over_outlets"]["stance_index_abs_error_ci"])
    lines = render_outlet_error(error, row_heading="held-out outlet")
    assert lines[1].startswith("held-out outlet")
    assert [line.split()[0] for line in lines[2:5]] == ["outlet-0", "outlet-1", "outlet-2"]
    assert lines[-1].endswith(f"mean |error| 20.0  [{low}, {high}]")
