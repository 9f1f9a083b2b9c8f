"""Duplicated articles within an outlet (warta.outlets.duplicates): counted once by default, said so."""

from warta.outlets import profile_outlets
from warta.outlets.summary import render_corrected_summary


def article(outlet, art, texts, stance="pro"):
    return [{"id": f"{art}-{i}", "article_id": art, "outlet": outlet, "role": "body", "text": t,
             "type": "fact", "stance": stance, "frame": "economic"} for i, t in enumerate(texts)]


BASE = [f"Kalimat nomor {i} tentang pekerja dan mesin." for i in range(10)]


def corpus():
    records = article("A", "a0", BASE)
    for copy in range(5):  # the same story filed five more times, one with changed spacing and case
        texts = BASE if copy else [t.upper().replace(" ", "  ") for t in BASE]
        records += article("A", f"a-copy{copy}", texts)
    records += article("A", "a-near", BASE[:9] + ["Satu kalimat yang diganti."])  # 9 of 10 shared: Jaccard 9/11
    records += article("A", "a-other", [f"Berita lain {i}." for i in range(10)], stance="against")
    records += article("B", "b0", BASE)  # the same text in another outlet is syndication, not a duplicate
    return records


def test_exact_and_near_copies_within_an_outlet_count_once():
    profile = profile_outlets(corpus(), n_boot=200)
    assert profile.outlets["A"]["articles"] == 2 and profile.outlets["A"]["sentences"] == 20
    assert profile.outlets["B"]["articles"] == 1
    assert profile.outlets["ALL"]["articles"] == 3
    dup = profile.duplicates
    assert dup["articles_dropped"] == 6 and dup["sentences_dropped"] == 60 and dup["counted_once"] is True
    (group,) = dup["groups"]
    assert group["kept"] == "a0"
    kinds = {d["article_id"]: d["kind"] for d in group["dropped"]}
    assert kinds["a-near"] == "near" and kinds["a-copy0"] == "exact" and len(kinds) == 6
    assert "6 repeated article(s) within an outlet (60 sentences) counted once" in render_corrected_summary(profile)
    assert profile.outlets["A"]["stance_index"]["all"]["value"] == 0.0  # one pro and one against article, not 7:1


def test_keep_duplicates_counts_every_copy():
    profile = profile_outlets(corpus(), n_boot=200, keep_duplicates=True)
    assert profile.outlets["A"]["articles"] == 8
    assert profile.duplicates["articles_dropped"] == 6 and profile.duplicates["counted_once"] is False
