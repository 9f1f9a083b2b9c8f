"""Splits: no near-duplicate crosses a split or fold, 000/002 rewrites stay together, the file regenerates."""

from __future__ import annotations

import copy
import json
from collections import Counter

import numpy as np
import pytest
from cli_runner import run_warta

from warta.errors import InputError
from warta.gold.groups import NEAR_DUPLICATE, near_duplicate_groups, similarity_matrix
from warta.gold.labels import load_gold
from warta.gold.splits import (
    SPLIT_NAMES,
    default_splits_path,
    dumps_splits,
    load_splits,
    make_splits,
    seed_splits,
    split_problems,
    write_splits,
)

# 000/002 sentence pairs judged by reading to be rewrites of each other
# (002 restates, merges or splits 000's sentences). Listed before the
# similarity thresholds were chosen; the grouping must keep each pair together.
REWRITE_PAIRS_000_002 = [
    ("000-000", "002-005"), ("000-010", "002-010"), ("000-013", "002-010"), ("000-011", "002-011"),
    ("000-012", "002-011"), ("000-015", "002-008"), ("000-015", "002-009"), ("000-016", "002-012"),
    ("000-018", "002-013"), ("000-019", "002-014"), ("000-020", "002-015"), ("000-021", "002-015"),
    ("000-024", "002-018"), ("000-025", "002-019"), ("000-029", "002-020"), ("000-030", "002-021"),
    ("000-031", "002-022"), ("000-032", "002-022"), ("000-036", "002-023"), ("000-037", "002-023"),
    ("000-036", "002-027"), ("000-039", "002-024"),
]


@pytest.fixture(scope="module")
def gold():
    return load_gold()


@pytest.fixture(scope="module")
def stored():
    return load_splits()


def by_prefix(ids):
    return {i[:7]: i for i in ids}


def test_stored_splits_regenerate_exactly(stored):
    regenerated = seed_splits(seed=stored.seed, k=stored.k)
    assert dumps_splits(regenerated) == default_splits_path().read_text(encoding="utf-8")


def test_stored_splits_cover_the_labelled_corpus_without_problems(stored, gold):
    ids = [r["id"] for r in gold]
    assert split_problems(stored, ids) == []
    assert sorted(stored.train + stored.dev + stored.test) == sorted(ids)
    assert set(stored.folds) == set(stored.train) | set(stored.dev)
    assert stored.k == 5 and set(stored.folds.values()) == set(range(5))


def test_no_group_crosses_splits_or_folds(stored):
    split_of = {i: name for name in SPLIT_NAMES for i in getattr(stored, name)}
    groups = {}
    for sentence_id, group in stored.groups.items():
        groups.setdefault(group, []).append(sentence_id)
    for members in groups.values():
        assert len({split_of[m] for m in members}) == 1, members
        in_pool = [m for m in members if m in stored.folds]
        assert len({stored.folds[m] for m in in_pool}) <= 1, members


def test_no_near_duplicate_pair_is_split_apart(stored, gold):
    # checked on the similarity itself, not through the group ids
    split_of = {i: name for name in SPLIT_NAMES for i in getattr(stored, name)}
    sim = similarity_matrix([r["text"] for r in gold])
    ids = [r["id"] for r in gold]
    rows, cols = np.nonzero(np.triu(sim >= NEAR_DUPLICATE, k=1))
    assert len(rows) > 10  # the corpus does have near-copies
    for i, j in zip(rows, cols):
        assert split_of[ids[i]] == split_of[ids[j]], (ids[i], ids[j], sim[i, j])
        if ids[i] in stored.folds:
            assert stored.folds[ids[i]] == stored.folds[ids[j]]


def test_000_002_rewrite_pairs_share_a_group(stored, gold):
    groups = near_duplicate_groups(gold)
    full = by_prefix(groups)
    for a, b in REWRITE_PAIRS_000_002:
        assert groups[full[a]] == groups[full[b]], (a, b)
        assert stored.groups[full[a]] == stored.groups[full[b]], (a, b)


def test_unrelated_sentences_are_not_grouped(gold):
    groups = near_duplicate_groups(gold)
    sizes = Counter(groups.values())
    full = by_prefix(groups)
    # the Salesforce layoff and the Klarna recession warning are different content
    assert groups[full["000-024"]] != groups[full["003-002"]]
    assert max(sizes.values()) <= 25  # no chaining of the whole story into one group
    assert len(sizes) >= 60


def test_test_split_size_and_type_balance(stored, gold):
    by_id = {r["id"]: r for r in gold}
    n = len(gold)
    assert 0.20 * n <= len(stored.test) <= 0.25 * n
    assert len(stored.dev) > 0 and len(stored.train) > len(stored.test)
    overall = Counter(r["type"] for r in gold)
    test = Counter(by_id[i]["type"] for i in stored.test)
    for label, count in overall.items():
        assert abs(test[label] / len(stored.test) - count / n) <= 0.05, (label, test, overall)
    for fold in range(stored.k):
        fit, held = stored.fold_ids(fold)
        assert held and set(fit).isdisjoint(held)
        assert len({by_id[i]["type"] for i in held}) == 4  # every type in every fold


def test_make_splits_is_deterministic_and_seeded(gold):
    first, again = make_splits(gold, seed=7), make_splits(gold, seed=7)
    assert dumps_splits(first) == dumps_splits(again)
    other = make_splits(gold, seed=8, k=3)
    assert split_problems(other, [r["id"] for r in gold]) == []
    assert set(other.folds.values()) == {0, 1, 2}


def test_exact_copies_across_articles_are_grouped():
    records = [
        {"id": "a-0", "article_id": "a", "text": "Klarna memangkas 1.200 karyawan pada 2024.", "type": "fact"},
        {"id": "b-0", "article_id": "b", "text": "Klarna memangkas 1.200 karyawan pada 2024.", "type": "fact"},
        {"id": "c-0", "article_id": "c", "text": "Harga kopi naik tajam di pasar Jakarta pekan ini.", "type": "fact"},
        {"id": "d-0", "article_id": "d", "text": "“Ini solusi setengah hati,” kritik pengamat.", "type": "quote"},
    ]
    groups = near_duplicate_groups(records)
    assert groups["a-0"] == groups["b-0"]
    assert len({groups["a-0"], groups["c-0"], groups["d-0"]}) == 3


# --- planted defects ------------------------------------------------------------------


def test_split_problems_catch_planted_defects(stored):
    multi = next(g for g, n in Counter(stored.groups.values()).items() if n > 1)
    member = next(i for i, g in stored.groups.items() if g == multi)
    broken = copy.deepcopy(stored)
    home = next(name for name in SPLIT_NAMES if member in getattr(broken, name))
    away = "test" if home != "test" else "train"
    getattr(broken, home).remove(member)
    getattr(broken, away).append(member)
    broken.folds.pop(member, None)
    if away != "test":
        broken.folds[member] = (stored.folds.get(member, 0) + 1) % stored.k
    problems = split_problems(broken)
    assert any(p.startswith(f"group {multi} straddles splits") for p in problems)

    overlap = copy.deepcopy(stored)
    overlap.test.append(overlap.train[0])
    assert f"{overlap.train[0]}: in both train and test" in split_problems(overlap)

    no_fold = copy.deepcopy(stored)
    no_fold.folds.pop(no_fold.train[0])
    assert "folds do not cover exactly the train+dev ids" in split_problems(no_fold)


def test_load_splits_reports_bad_files_in_one_line(tmp_path, stored):
    with pytest.raises(InputError, match="file not found"):
        load_splits(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.json: malformed JSON"):
        load_splits(bad)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"seed": 1, "k": 5, "train": []}), encoding="utf-8")
    with pytest.raises(InputError, match="missing key"):
        load_splits(partial)
    leaky = stored.to_json()
    leaky["test"] = leaky["test"] + [leaky["train"][0]]
    leaky_path = tmp_path / "leaky.json"
    leaky_path.write_text(json.dumps(leaky), encoding="utf-8")
    with pytest.raises(InputError, match="in both train and test"):
        load_splits(leaky_path)


def test_write_splits_refuses_to_overwrite(tmp_path, stored):
    path = write_splits(stored, tmp_path / "s.json")
    with pytest.raises(InputError, match="exists"):
        write_splits(stored, path)
    write_splits(stored, path, force=True)
    assert load_splits(path).test == stored.test


def test_groups_cover_only_labelled_sentences(stored, gold):
    assert set(stored.groups) == {r["id"] for r in gold}
    assert all(r["role"] in ("title", "body") for r in gold)


# --- command line ------------------------------------------------------------------------


def test_cli_split_check_write_and_refuse(tmp_path):
    out = tmp_path / "splits.json"
    written = run_warta("corpus", "split", "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert out.read_text(encoding="utf-8") == default_splits_path().read_text(encoding="utf-8")
    assert "near-duplicate groups" in written.stdout

    refused = run_warta("corpus", "split", "--out", str(out))
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"error: {out}: already exists (use --force to overwrite)"

    out.write_text("{}", encoding="utf-8")
    stale = run_warta("corpus", "split", "--out", str(out), "--check")
    assert stale.returncode == 1
    assert stale.stderr.strip() == f"{out}: out of date (regenerate with `warta corpus split --force`)"
