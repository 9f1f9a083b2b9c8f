"""`warta outlets --evidence K` and `--dedupe-syndicated`."""

from __future__ import annotations

import json

from tests.cli_runner import run_in_process
from warta.outlets.evidence import evidence
from warta.outlets.syndication import syndication


def _rec(i, outlet, article, text, stance="against", p=None, date=None, role="body"):
    rec = {"id": f"{outlet}-{i}", "article_id": article, "outlet": outlet, "role": role, "index": i, "text": text,
           "type": "fact", "stance": stance, "frame": "economic"}
    if p is not None:
        rec["probs"] = {"type": {"fact": 1.0, "quote": 0.0, "opinion": 0.0, "speculation": 0.0},
                        "stance": {"pro": (1 - p) / 2, "against": p, "neutral": (1 - p) / 2},
                        "frame": {"economic": 1.0, "human_interest": 0.0, "responsibility": 0.0, "conflict": 0.0,
                                  "morality": 0.0, "none": 0.0}}
    if date:
        rec["date"] = date
    return rec


def test_top_k_by_probability_of_the_label():
    recs = [_rec(i, "a", "a1", f"kalimat {i}", p=p) for i, p in enumerate([0.4, 0.9, 0.6, 0.8])]
    ev = evidence(recs, k=2)
    top = ev["a"]["stance"]["against"]
    assert [s["id"] for s in top] == ["a-1", "a-3"] and top[0]["p"] == 0.9
    assert top[0]["article_id"] == "a1" and top[0]["text"] == "kalimat 1"
    assert ev["a"]["stance"]["pro"] == []


def test_without_probs_first_in_input_order_and_headings_skipped():
    recs = [_rec(0, "a", "a1", "Judul", role="heading")] + [_rec(i, "a", "a1", f"k {i}") for i in range(1, 6)]
    ev = evidence(recs, k=3)
    assert [s["id"] for s in ev["a"]["stance"]["against"]] == ["a-1", "a-2", "a-3"]
    assert all(s["p"] is None for s in ev["a"]["stance"]["against"])
    assert evidence(recs, k=0) == {}


WIRE = "Klarna memangkas sekitar 1.200 karyawan dan menggantinya dengan kecerdasan buatan pada tahun 2024 lalu."


def test_syndicated_sentence_flagged_and_counted_once_for_the_earliest_article():
    recs = [
        _rec(0, "b", "b1", WIRE, date="2025-03-02"),
        _rec(1, "b", "b1", "Saham perusahaan naik tajam setelah pengumuman itu di bursa."),
        _rec(0, "a", "a1", WIRE + "", date="2025-03-01"),
        _rec(0, "c", "c1", WIRE.replace("sekitar", "kurang lebih"), date="2025-03-05"),
        _rec(1, "c", "c1", "Serikat pekerja menolak rencana tersebut dengan keras minggu ini."),
    ]
    kept, report = syndication(recs, dedupe=False)
    assert report["clusters"] == 1 and report["sentences_flagged"] == 3 and report["merged"] == 0 and len(kept) == 5
    assert report["groups"][0]["outlets"] == ["a", "b", "c"]
    kept, report = syndication(recs, dedupe=True)
    assert report["merged"] == 2 and report["groups"][0]["kept"] == "a-0"
    assert [r["id"] for r in kept] == ["b-1", "a-0", "c-1"]
    # a date missing anywhere: first in input order wins
    recs[2].pop("date")
    assert syndication(recs, dedupe=True)[1]["groups"][0]["kept"] == "b-0"


def test_same_outlet_repeats_are_not_syndication():
    recs = [_rec(0, "a", "a1", WIRE), _rec(1, "a", "a2", WIRE)]
    assert syndication(recs)[1]["clusters"] == 0


def test_cli_evidence_and_dedupe_in_json_and_report(tmp_path):
    recs = [_rec(0, "a", "a1", WIRE, p=0.9), _rec(1, "a", "a1", "Pasar tenaga kerja berubah cepat tahun ini.", p=0.5),
            _rec(0, "b", "b1", WIRE, p=0.8), _rec(1, "b", "b1", "Perusahaan lain menunggu hasil uji coba.", p=0.7)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "o"
    res = run_in_process("outlets", str(path), "--evidence", "1", "--dedupe-syndicated", "--out", str(out),
                         "--n-boot", "100", "--min-sentences", "1")
    assert res.returncode == 0, res.stderr
    profile = json.loads((out / "outlets.json").read_text())
    assert profile["evidence"]["a"]["stance"]["against"][0]["id"] == "a-0"
    assert profile["syndication"]["merged"] == 1 and profile["outlets"]["b"]["sentences"] == 1
    page = (out / "report.html").read_text()
    assert "Evidence behind each figure" in page and "Wire copy and syndication" in page and "1 copies merged" in page
    assert "<h2>Methods</h2>" in page and "merged 1 copies" in res.stdout


def test_blocked_similarity_matches_the_splits_matrix():
    import numpy as np

    from warta.gold.groups import similarity_matrix
    from warta.outlets.syndication import similar_pairs

    texts = [WIRE, WIRE.replace("sekitar", "kurang lebih"), "Saham naik tajam.", WIRE + " Kata dia.", "Serikat menolak."] * 3
    dense = set(zip(*(a.tolist() for a in np.nonzero(np.triu(similarity_matrix(texts) >= 0.8, k=1)))))
    blocked = set(zip(*(a.tolist() for a in similar_pairs(texts, 0.8, block=4))))
    assert dense == blocked and len(dense) > 10
