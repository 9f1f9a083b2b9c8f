"""Outlet profiles: shares, cluster-bootstrap intervals, between-outlet tests, gold-vs-pred gaps, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_warta
from scipy.stats import beta

from warta.errors import InputError
from warta.outlets.compare import compare_profiles
from warta.outlets.options import ALL
from warta.outlets.profile import profile_files, profile_outlets
from warta.outlets.statistics import jeffreys_interval
from warta.outlets.tables import outlet_rows


def sentence(outlet, article, i, type_, stance, frame, role="body", **extra):
    return {
        "id": f"{article}-{i:03d}", "article_id": article, "outlet": outlet, "role": role, "index": i,
        "text": f"kalimat {i} artikel {article}", "type": type_, "stance": stance, "frame": frame, **extra,
    }


def article(outlet, name, rows):
    """rows: (count, type, stance, frame) runs."""
    out, i = [], 0
    for count, type_, stance, frame in rows:
        for _ in range(count):
            out.append(sentence(outlet, name, i, type_, stance, frame))
            i += 1
    return out


@pytest.fixture
def two_article_outlet():
    """Outlet A: a1 (10 sentences) and a2 (30 sentences), very unlike each other."""
    a1 = article("A", "a1", [(6, "fact", "pro", "economic"), (2, "fact", "neutral", "economic"),
                             (2, "quote", "against", "economic")])
    a2 = article("A", "a2", [(6, "fact", "against", "none"), (9, "opinion", "against", "none"),
                             (15, "opinion", "against", "conflict")])
    return a1 + a2


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --- shares and intervals, hand-computed ------------------------------------------------------


def test_shares_and_cluster_bootstrap_intervals_match_hand_computation(two_article_outlet):
    profile = profile_outlets(two_article_outlet, n_boot=2000, seed=1, min_sentences=1)
    a = profile.outlets["A"]
    assert (a["articles"], a["sentences"]) == (2, 40)
    # Shares are sentence-weighted: fact = (8 + 6) / 40, not the mean of the article shares (0.5).
    assert a["type_share"]["fact"]["value"] == pytest.approx(14 / 40)
    assert a["type_share"]["quote"]["value"] == pytest.approx(2 / 40)
    assert a["type_share"]["opinion"]["value"] == pytest.approx(24 / 40)
    assert a["type_share"]["speculation"]["value"] == 0.0
    # Two articles: a resample is a1a1 (p=1/4), a1a2 (1/2) or a2a2 (1/4), so the 2.5/97.5
    # percentiles are the single-article figures: fact 6/30 and 8/10.
    assert a["type_share"]["fact"]["ci"] == pytest.approx([0.2, 0.8])
    # ... which is wider than the Jeffreys interval of 14/40, so the envelope is the bootstrap's.
    jeffreys = jeffreys_interval(14, 40)
    assert 0.2 < jeffreys[0] and jeffreys[1] < 0.8
    # Stance index (pro - against) / n: all = (6 - 32) / 40; a1 alone 0.4, a2 alone -1.
    index = a["stance_index"]
    assert index["all"]["value"] == pytest.approx(-0.65)
    assert index["all"]["ci"] == pytest.approx([-1.0, 0.4])
    assert index["all"]["n"] == 40
    # Own voice = the 38 non-quote sentences: (6 - 30) / 38; a1's own voice alone is 6/8.
    assert index["own_voice"]["value"] == pytest.approx(-24 / 38, abs=1e-4)
    assert index["own_voice"]["ci"] == pytest.approx([-1.0, 0.75])
    assert index["own_voice"]["n"] == 38
    # Quoted = a1's two quotes, both against: the bootstrap cannot vary them, the
    # sentence-level (Dirichlet) interval keeps two sentences from looking certain.
    assert index["quoted"]["value"] == -1.0 and index["quoted"]["n"] == 2
    assert index["quoted"]["ci"][0] == -1.0 and index["quoted"]["ci"][1] > -0.6
    # Frames: economic 10/40, conflict 15/40, none 15/40; the dominant frame ignores "none".
    frames = a["frame_share"]
    assert frames["economic"]["value"] == pytest.approx(0.25)
    assert frames["conflict"]["value"] == pytest.approx(0.375)
    assert frames["economic"]["ci"] == pytest.approx([0.0, 1.0])
    assert a["dominant_frame"] == "conflict"
    # Stance shares carry intervals too.
    assert a["stance_share"]["against"]["value"] == pytest.approx(32 / 40)
    assert a["stance_share"]["against"]["ci"] == pytest.approx([0.2, 1.0])


def test_json_schema_has_the_issue_keys(two_article_outlet):
    profile = profile_outlets(two_article_outlet, n_boot=200, min_sentences=1)
    assert set(profile.to_dict()) >= {"outlets", "distances"}
    assert list(profile.outlets) == ["A", ALL]
    outlet = profile.outlets["A"]
    assert set(outlet) >= {"articles", "sentences", "type_share", "stance_share", "stance_index", "frame_share", "dominant_frame"}
    assert set(outlet["stance_index"]) == {"all", "own_voice", "quoted"}
    for block in ("type_share", "stance_share", "frame_share"):
        for figure in outlet[block].values():
            assert set(figure) >= {"value", "ci"} and len(figure["ci"]) == 2
            assert 0.0 <= figure["ci"][0] <= figure["value"] <= figure["ci"][1] <= 1.0
    json.dumps(profile.to_dict())  # plain JSON types only


def test_jeffreys_interval_definition():
    assert jeffreys_interval(0, 10) == (0.0, pytest.approx(beta.ppf(0.975, 0.5, 10.5)))
    assert jeffreys_interval(10, 10) == (pytest.approx(beta.ppf(0.025, 10.5, 0.5)), 1.0)
    lo, hi = jeffreys_interval(3, 10)
    assert lo == pytest.approx(beta.ppf(0.025, 3.5, 7.5)) and hi == pytest.approx(beta.ppf(0.975, 3.5, 7.5))


def test_one_article_one_sentence_outlet_gets_a_wide_interval_not_a_crash(two_article_outlet):
    lone = [sentence("B", "b1", 0, "opinion", "pro", "morality", role="title")]
    profile = profile_outlets(two_article_outlet + lone, n_boot=500, min_sentences=1)
    b = profile.outlets["B"]
    assert (b["articles"], b["sentences"]) == (1, 1)
    opinion = b["type_share"]["opinion"]
    assert opinion["value"] == 1.0
    assert opinion["ci"] == pytest.approx([beta.ppf(0.025, 1.5, 0.5), 1.0], abs=1e-4)
    assert opinion["ci"][1] - opinion["ci"][0] > 0.5
    assert b["type_share"]["fact"]["ci"] == pytest.approx([0.0, beta.ppf(0.975, 0.5, 1.5)], abs=1e-4)
    assert b["stance_index"]["all"]["value"] == 1.0
    lo, hi = b["stance_index"]["all"]["ci"]
    assert hi == 1.0 and lo < 0.0  # one sentence cannot show a lean
    assert b["stance_index"]["quoted"] == {"value": None, "ci": None, "n": 0}
    assert b["dominant_frame"] == "morality"
    assert any("one article" in note for note in b["notes"])
    versus_rest = profile.distances["versus_rest"]["outlets"]["B"]
    assert versus_rest["tests"]["stance_index_all"]["differs"] is False


def test_all_row_pools_every_outlet(two_article_outlet):
    lone = [sentence("B", "b1", 0, "fact", "pro", "economic")]
    everything = profile_outlets(two_article_outlet + lone, n_boot=200, min_sentences=1).to_dict()["outlets"][ALL]
    assert (everything["articles"], everything["sentences"]) == (3, 41)
    assert everything["type_share"]["fact"]["value"] == pytest.approx(15 / 41, abs=1e-4)


def test_headings_are_skipped_and_need_no_labels(two_article_outlet):
    heading = {"id": "a1-099", "article_id": "a1", "outlet": "A", "role": "heading", "index": 99, "text": "Sub"}
    with_heading = profile_outlets(two_article_outlet + [heading], n_boot=200, min_sentences=1).to_dict()
    assert with_heading["outlets"]["A"]["sentences"] == 40


# --- determinism -----------------------------------------------------------------------------


def random_outlets(seed=3, outlets=("X", "Y"), articles=6):
    rng = np.random.default_rng(seed)
    records = []
    for outlet in outlets:
        for a in range(articles):
            for i in range(int(rng.integers(3, 12))):
                records.append(sentence(
                    outlet, f"{outlet}{a}", i, rng.choice(["fact", "quote", "opinion", "speculation"]),
                    rng.choice(["pro", "against", "neutral"]), rng.choice(["economic", "conflict", "none"]),
                ))
    return records


def test_bootstrap_is_deterministic_under_a_seed():
    records = random_outlets()
    first = profile_outlets(records, seed=5, n_boot=300)
    assert profile_outlets(records, seed=5, n_boot=300) == first
    other = profile_outlets(records, seed=6, n_boot=300)
    assert other.outlets["X"]["stance_index"]["all"]["value"] == first.outlets["X"]["stance_index"]["all"]["value"]
    assert other.outlets["X"]["stance_index"]["all"]["ci"] != first.outlets["X"]["stance_index"]["all"]["ci"]


def test_an_outlets_intervals_do_not_depend_on_the_other_outlets_present():
    records = random_outlets(outlets=("X", "Y", "Z"))
    alone = profile_outlets([r for r in records if r["outlet"] == "X"], seed=2, n_boot=300)
    together = profile_outlets(records, seed=2, n_boot=300)
    own = {k: v for k, v in together.outlets["X"].items() if k != "shrunk"}  # shrinkage uses the others, by design
    assert {k: v for k, v in alone.outlets["X"].items() if k != "shrunk"} == own
    assert together.outlets["X"]["shrunk"]["weight"] is not None


# --- between outlets ----------------------------------------------------------------------


def test_one_article_each_is_never_called_different_however_unlike():
    records = article("P", "p1", [(30, "fact", "pro", "economic")]) + article("Q", "q1", [(30, "opinion", "against", "conflict")])
    distances = profile_outlets(records, n_boot=500, pairs=(("P", "Q"),)).distances
    pair = distances["pairs"]["pairs"][0]
    assert pair["tests"]["type_js"]["value"] == 1.0
    assert not any(test["differs"] for test in pair["tests"].values())
    assert "one article each" in pair["note"]
    for name in ("P", "Q"):
        entry = distances["versus_rest"]["outlets"][name]
        assert entry["tests"]["type_js"]["value"] == 1.0 and entry["tests"]["type_js"]["p"] == 1.0
        assert not any(test["differs"] for test in entry["tests"].values())
        assert "one article" in entry["note"]


def test_consistent_difference_over_many_articles_is_called_different():
    records = []
    for a in range(8):
        records += article("P", f"p{a}", [(5, "fact", "pro", "economic"), (1, "opinion", "neutral", "none")])
        records += article("Q", f"q{a}", [(5, "opinion", "against", "conflict"), (1, "fact", "neutral", "none")])
    profile = profile_outlets(records, n_boot=1000, pairs=(("P", "Q"),))
    tests = profile.distances["pairs"]["pairs"][0]["tests"]
    assert tests["stance_index_all"]["value"] == pytest.approx(10 / 6, abs=1e-4)
    for key in ("type_js", "frame_js", "stance_index_all", "stance_index_own_voice"):
        assert tests[key]["differs"] is True, key
        assert tests[key]["value"] > tests[key]["noise"]
    # Each against the rest (here: the other one): the same difference, FDR-controlled.
    rest = profile.distances["versus_rest"]["outlets"]["P"]["tests"]
    assert rest["stance_index_all"]["value"] == pytest.approx(10 / 6, abs=1e-4)
    for key in ("type_js", "frame_js", "stance_index_all", "stance_index_own_voice"):
        assert rest[key]["differs"] is True and rest[key]["q"] < 0.05, key
    # Outlets with the same mix are not called different.
    same = random_outlets(seed=11, outlets=("X", "Y"), articles=8)
    distances = profile_outlets(same, n_boot=500, pairs=(("X", "Y"),)).distances
    assert not any(t["differs"] for t in distances["pairs"]["pairs"][0]["tests"].values())
    assert not any(t["differs"] for e in distances["versus_rest"]["outlets"].values() for t in e["tests"].values())


def test_large_outlets_null_approximation_matches_exact_resampling(monkeypatch):
    import warta.outlets.pairs as outlets

    rng = np.random.default_rng(4)

    def article_sums(m):
        sizes = rng.integers(3, 30, size=m)
        parts = {"type": np.array([rng.multinomial(n, [0.5, 0.25, 0.15, 0.1]) for n in sizes], float),
                 "stance": np.array([rng.multinomial(n, [0.2, 0.2, 0.6]) for n in sizes], float),
                 "frame": np.array([rng.multinomial(n, [0.3, 0.1, 0.1, 0.1, 0.1, 0.3]) for n in sizes], float)}
        quoted = parts["type"][:, 1:2] / sizes[:, None]
        parts["own"], parts["quoted"] = parts["stance"] * (1 - quoted), parts["stance"] * quoted
        return parts

    a, b = article_sums(250), article_sums(250)
    monkeypatch.setattr(outlets, "EXACT_NULL_ARTICLES", 10**9)
    _, exact = outlets._pair_test("a", a, "b", b, 4000, 0)
    monkeypatch.setattr(outlets, "EXACT_NULL_ARTICLES", 100)
    _, normal = outlets._pair_test("a", a, "b", b, 4000, 0)
    for key in exact:
        for q in (0.5, 0.95, 0.99):
            assert np.quantile(normal[key], q) == pytest.approx(np.quantile(exact[key], q), rel=0.12), (key, q)


def test_js_distance_is_scipys_base_2(two_article_outlet):
    from scipy.spatial.distance import jensenshannon

    lone = article("B", "b1", [(3, "fact", "pro", "economic"), (1, "quote", "against", "none")])
    profile = profile_outlets(two_article_outlet + lone, n_boot=200, min_sentences=1)
    expected = jensenshannon([14, 2, 24, 0], [3, 1, 0, 0], base=2)
    assert profile.distances["type"]["A"]["B"] == pytest.approx(expected, abs=1e-4)
    assert profile.distances["type"]["B"]["A"] == profile.distances["type"]["A"]["B"]


def test_small_outlets_are_listed_and_flagged_but_not_compared(two_article_outlet):
    small = article("S", "s1", [(3, "fact", "pro", "economic")])
    profile = profile_outlets(two_article_outlet + small, min_sentences=10, n_boot=200)
    assert profile.outlets["S"]["below_min_sentences"] is True
    assert profile.outlets["A"]["below_min_sentences"] is False
    small_entry = profile.distances["versus_rest"]["outlets"]["S"]
    assert "tests" not in small_entry and "min-sentences" in small_entry["skipped"]
    assert "not compared" in small_entry["note"]
    (pair,) = profile_outlets(two_article_outlet + small, min_sentences=10, n_boot=200, pairs=(("A", "S"),)).distances["pairs"]["pairs"]
    assert "tests" not in pair and "S" in pair["skipped"] and "not compared" in pair["note"]
    assert [row["outlet"] for row in outlet_rows(profile)] == ["A", "S", ALL]


# --- bad input -------------------------------------------------------------------------------


def test_missing_layer_error_names_file_line_and_layer(tmp_path, two_article_outlet):
    records = [dict(r) for r in two_article_outlet]
    del records[3]["stance"]
    path = write_jsonl(tmp_path / "gold.jsonl", records)
    with pytest.raises(InputError, match=r"gold\.jsonl:4: .*no 'stance' label"):
        profile_files([path], n_boot=200)


def test_unknown_label_and_duplicate_id_are_errors(tmp_path, two_article_outlet):
    records = [dict(r) for r in two_article_outlet]
    records[0]["frame"] = "sports"
    with pytest.raises(InputError, match="unknown frame label 'sports'"):
        profile_outlets(records, n_boot=200)
    path = write_jsonl(tmp_path / "dup.jsonl", two_article_outlet + two_article_outlet[:1])
    with pytest.raises(InputError, match=r"dup\.jsonl:41: duplicate sentence id a1-000 \(first at .*dup\.jsonl:1\)"):
        profile_files([path], n_boot=200)


def test_no_labelled_sentences_is_an_error():
    with pytest.raises(InputError, match="no title/body sentences"):
        profile_outlets([{"id": "h", "article_id": "a", "outlet": "o", "role": "heading"}], n_boot=200)


# --- probabilities ------------------------------------------------------------------------


def prob_records():
    return [
        {"id": "s1", "article_id": "a", "outlet": "O", "role": "title", "type": "fact", "stance": "pro", "frame": "economic",
         "probs": {"type": {"fact": 0.6, "quote": 0.4, "opinion": 0.0, "speculation": 0.0},
                   "stance": {"pro": 1.0, "against": 0.0, "neutral": 0.0},
                   "frame": {"economic": 1.0}}},
        {"id": "s2", "article_id": "a", "outlet": "O", "role": "body", "type": "opinion", "stance": "against", "frame": "none",
         "probs": {"type": {"fact": 0.2, "opinion": 0.8},
                   "stance": {"pro": 0.0, "against": 0.5, "neutral": 0.5},
                   "frame": {"none": 1.0}}},
    ]


def test_probs_mode_uses_expected_shares():
    o = profile_outlets(prob_records(), use="probs", n_boot=200, min_sentences=1).to_dict()["outlets"]["O"]
    shares = {label: f["value"] for label, f in o["type_share"].items()}
    assert shares == pytest.approx({"fact": 0.4, "quote": 0.2, "opinion": 0.4, "speculation": 0.0})
    assert o["stance_index"]["all"]["value"] == pytest.approx(0.25)
    # Own voice weighs each sentence by P(not quote): s1 0.6, s2 1.0.
    assert o["stance_index"]["own_voice"]["value"] == pytest.approx((0.6 - 0.5) / 1.6, abs=1e-4)
    assert o["stance_index"]["own_voice"]["n"] == pytest.approx(1.6)
    assert o["stance_index"]["quoted"]["value"] == pytest.approx(1.0)
    assert o["stance_index"]["quoted"]["n"] == pytest.approx(0.4)
    # Hard labels give the labelled figures instead.
    hard = profile_outlets(prob_records(), use="labels", n_boot=200, min_sentences=1).to_dict()["outlets"]["O"]
    assert hard["type_share"]["fact"]["value"] == 0.5


def test_probs_mode_errors_name_the_file_and_the_layer(tmp_path):
    records = prob_records()
    no_probs = [{k: v for k, v in r.items() if k != "probs"} for r in records]
    path = write_jsonl(tmp_path / "gold.jsonl", no_probs)
    with pytest.raises(InputError, match=r"gold\.jsonl:1: no 'probs'"):
        profile_files([path], use="probs", n_boot=200)
    del records[1]["probs"]["frame"]
    path = write_jsonl(tmp_path / "pred.jsonl", records)
    with pytest.raises(InputError, match=r"pred\.jsonl:2: no probabilities for layer 'frame'"):
        profile_files([path], use="probs", n_boot=200)
    records = prob_records()
    records[0]["probs"]["stance"] = {"pro": 0.5, "against": 0.1}
    with pytest.raises(InputError, match="stance probabilities sum to 0.6000"):
        profile_outlets(records, use="probs", n_boot=200)


# --- gold against predictions ---------------------------------------------------------------


def test_compare_profiles_gap_by_hand():
    gold = article("G", "g1", [(1, "fact", "pro", "economic"), (1, "fact", "against", "economic"),
                               (1, "quote", "neutral", "none"), (1, "opinion", "neutral", "none")])
    pred = [dict(r) for r in gold]
    pred[1].update(type="quote", stance="pro")
    pred.append(sentence("G", "g9", 0, "fact", "pro", "none"))  # not in gold: ignored, counted
    result = compare_profiles(gold, pred, n_boot=300, min_sentences=1)
    assert result["sentences"] == {"joined": 4, "gold_only": 0, "pred_only": 1}
    g = result["outlets"]["G"]
    # type shares gold (.5, .25, .25, 0) vs pred (.25, .5, .25, 0): mean |diff| = .5 / 4
    assert g["share_gap"]["type"]["value"] == pytest.approx(0.125)
    # stance gold (pro .25, against .25, neutral .5) vs pred (.5, 0, .5): (.25 + .25 + 0) / 3
    assert g["share_gap"]["stance"]["value"] == pytest.approx(1 / 6, abs=1e-4)
    assert g["share_gap"]["frame"]["value"] == 0.0
    assert g["stance_index_diff"]["all"]["value"] == pytest.approx(0.5)
    assert (g["stance_index_diff"]["all"]["gold"], g["stance_index_diff"]["all"]["pred"]) == (0.0, 0.5)
    lo, hi = g["share_gap"]["type"]["ci"]
    assert lo <= 0.125 <= hi
    same = compare_profiles(gold, gold, n_boot=300, min_sentences=1)["outlets"]["G"]
    assert same["share_gap"]["type"] == {"value": 0.0, "ci": [0.0, 0.0]}


def test_compare_needs_only_id_and_labels_from_predictions():
    gold = article("G", "g1", [(3, "fact", "pro", "economic"), (1, "quote", "against", "none")])
    gold.append({"id": "g1-h", "article_id": "g1", "outlet": "G", "role": "heading", "index": 9, "text": "Sub"})
    pred = [{"id": r["id"], "text": r["text"], "type": "fact", "stance": "pro", "frame": "economic"} for r in gold[:4]]
    pred.append({"id": "g1-h", "role": "heading", "type": None, "stance": None, "frame": None, "probs": None})
    result = compare_profiles(gold, pred, n_boot=200, min_sentences=1)
    assert result["sentences"] == {"joined": 4, "gold_only": 0, "pred_only": 0}
    diff = result["outlets"]["G"]["stance_index_diff"]
    assert diff["all"]["value"] == pytest.approx(1.0 - 0.5)
    # gold has one quote (against); the predictions have none, so the quoted comparison is undefined
    assert diff["quoted"] == {"value": None, "ci": None, "gold": -1.0, "pred": None}


def test_compare_without_overlap_is_an_error():
    gold = article("G", "g1", [(2, "fact", "pro", "economic")])
    pred = article("G", "h1", [(2, "fact", "pro", "economic")])
    with pytest.raises(InputError, match="no sentence id is in both"):
        compare_profiles(gold, pred, n_boot=200)


# --- command line ---------------------------------------------------------------------------


def test_cli_writes_outputs_refuses_to_overwrite_and_reports_errors(tmp_path, two_article_outlet):
    lone = article("B", "b1", [(12, "fact", "pro", "economic")])
    data = write_jsonl(tmp_path / "gold.jsonl", two_article_outlet + lone)
    out = tmp_path / "report"
    result = run_warta("outlets", str(data), "--out", str(out), "--n-boot", "300")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"outlets.json", "outlets.csv", "distances.csv", "report.html"}
    saved = json.loads((out / "outlets.json").read_text(encoding="utf-8"))
    assert saved == profile_files([data], n_boot=300).to_dict()  # the CLI writes what the library returns
    header = (out / "outlets.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"outlet", "articles", "sentences", "type_share.fact", "type_share.fact.ci_lo", "stance_index.own_voice.ci_hi",
            "dominant_frame"} <= set(header)
    assert any(line.split()[:3] == ["A", "2", "40"] for line in result.stdout.splitlines())
    again = run_warta("outlets", str(data), "--out", str(out))
    assert again.returncode == 2
    assert again.stderr.strip() == f"error: {out / 'outlets.json'}: already exists (use --force to overwrite)"
    assert run_warta("outlets", str(data), "--out", str(out), "--force", "--n-boot", "200").returncode == 0
    broken = write_jsonl(tmp_path / "broken.jsonl", [{k: v for k, v in two_article_outlet[0].items() if k != "frame"}])
    failed = run_warta("outlets", str(broken), "--out", str(tmp_path / "x"))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().startswith(f"error: {broken}:1: ") and "'frame'" in failed.stderr


def test_cli_gold_vs_pred(tmp_path, two_article_outlet):
    gold = write_jsonl(tmp_path / "gold.jsonl", two_article_outlet)
    pred_records = [dict(r, probs={"type": {r["type"]: 1.0}, "stance": {r["stance"]: 1.0}, "frame": {r["frame"]: 1.0}})
                    for r in two_article_outlet]
    pred = write_jsonl(tmp_path / "oof.jsonl", pred_records)
    out = tmp_path / "gap"
    result = run_warta("outlets", "--gold", str(gold), "--pred", str(pred), "--out", str(out), "--use", "probs", "--n-boot", "200")
    assert result.returncode == 0, result.stderr
    comparison = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert comparison["sentences"]["joined"] == 40
    assert comparison["outlets"]["A"]["share_gap"]["type"]["value"] == 0.0
    assert (out / "compare.csv").exists()
    both = run_warta("outlets", str(gold), "--gold", str(gold), "--pred", str(pred), "--out", str(out))
    assert both.returncode == 2 and "not both" in both.stderr


def test_cli_merges_gold_labels_onto_the_seed_corpus(tmp_path):
    corpus = tmp_path / "seeds.jsonl"
    assert run_warta("corpus", "build", "--out", str(corpus)).returncode == 0
    labels = Path(__file__).resolve().parent.parent / "seeds" / "labels.jsonl"
    out = tmp_path / "outlets"
    result = run_warta("outlets", str(corpus), "--labels", str(labels), "--out", str(out), "--n-boot", "300")
    assert result.returncode == 0, result.stderr
    profile = json.loads((out / "outlets.json").read_text(encoding="utf-8"))
    assert profile["outlets"][ALL]["sentences"] == 137 and profile["outlets"][ALL]["articles"] == 5
    # Every seed outlet is one article: none may be called different from the rest.
    assert all("one article" in entry["note"] for entry in profile["distances"]["versus_rest"]["outlets"].values())
    assert not any(t["differs"] for e in profile["distances"]["versus_rest"]["outlets"].values() for t in e["tests"].values())


def test_single_outlet_writes_an_empty_pairs_table_with_header(tmp_path, two_article_outlet):
    data = write_jsonl(tmp_path / "gold.jsonl", two_article_outlet)
    result = run_warta("outlets", str(data), "--out", str(tmp_path / "o"), "--n-boot", "200")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "o" / "distances.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and lines[0].startswith("outlet,versus,articles,articles_versus,type_js.value")
    assert "only one outlet" in lines[1]
    assert "only one outlet: nothing to compare" in result.stdout
