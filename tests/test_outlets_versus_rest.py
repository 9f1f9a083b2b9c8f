"""Each outlet against the pooled rest (warta.outlets.versus_rest): BH adjustment, false calls under the null,
true differences found, shrinkage of small outlets (warta.outlets.shrinkage)."""

import numpy as np
import pytest

from warta.outlets import profile_outlets
from warta.outlets.shrinkage import extreme_outlets
from warta.outlets.versus_rest import benjamini_hochberg

TYPES = ("fact", "quote", "opinion", "speculation")
FRAMES = ("economic", "human_interest", "responsibility", "conflict", "morality", "none")


def corpus(n_outlets, articles, sentences, lean=None, seed=0):
    """Records of n outlets; lean maps outlet index -> P(pro) (else 1/3 for every outlet)."""
    rng = np.random.default_rng(seed)
    records = []
    for o in range(n_outlets):
        p_pro = (lean or {}).get(o, 1 / 3)
        for a in range(articles):
            for i in range(sentences):
                stance = "pro" if rng.random() < p_pro else ("against" if rng.random() < 0.5 else "neutral")
                records.append({"id": f"o{o}-a{a}-{i}", "article_id": f"o{o}-a{a}", "outlet": f"o{o:02d}", "role": "body",
                                "type": TYPES[rng.integers(4)], "stance": stance, "frame": FRAMES[rng.integers(6)]})
    return records


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # sorted 0.01, 0.03, 0.04, 0.20 (m = 4): 0.04, 0.06, 0.0533, 0.20 -> running min from the top
    assert benjamini_hochberg(p)[:4] == pytest.approx([0.04, 0.0533333, 0.0533333, 0.20])
    assert np.isnan(benjamini_hochberg(p)[4])
    assert np.all(benjamini_hochberg(np.array([0.9, 0.99])) <= 1.0)


def test_same_mix_everywhere_calls_few_outlets_different():
    profile = profile_outlets(corpus(40, 4, 8, seed=1), n_boot=200)
    entries = profile.distances["versus_rest"]["outlets"]
    calls = sum(any(t["differs"] for t in e["tests"].values()) for e in entries.values())
    assert calls <= 2  # FDR 5% with no true difference: expected ~0-1 outlets called on any measure
    assert all(e["tests"]["stance_index_all"]["p"] > 0 for e in entries.values())


def test_a_leaning_outlet_is_found_and_the_null_is_shared_by_article_count():
    profile = profile_outlets(corpus(30, 6, 10, lean={3: 0.9}, seed=2), n_boot=200)
    rest = profile.distances["versus_rest"]
    leaning = rest["outlets"]["o03"]["tests"]["stance_index_all"]
    assert leaning["differs"] is True and leaning["value"] > leaning["noise"] > 0
    assert "more pro than the rest" in rest["outlets"]["o03"]["note"]
    assert rest["null_draws"] >= 2 * 30 / 0.05  # resolves the smallest BH threshold
    assert extreme_outlets(profile.outlets, 3)[0] == "o03"


def test_small_outlets_are_shrunk_more_than_large_ones():
    records = corpus(20, 8, 10, seed=3)
    records += [{"id": f"tiny-{i}", "article_id": "tiny-a", "outlet": "tiny", "role": "body", "type": "fact",
                 "stance": "pro", "frame": "economic"} for i in range(3)]
    profile = profile_outlets(records, n_boot=200, min_sentences=1)
    tiny = profile.outlets["tiny"]
    assert tiny["stance_index"]["all"]["value"] == 1.0
    pooled = profile.outlets["ALL"]["stance_index"]["all"]["value"]
    assert pooled <= tiny["shrunk"]["stance_index"]["all"] < 0.5  # pulled most of the way to the pool
    big_weights = [o["shrunk"]["weight"] for n, o in profile.outlets.items() if n not in ("ALL", "tiny")]
    assert tiny["shrunk"]["weight"] < min(big_weights)
