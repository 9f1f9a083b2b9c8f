from __future__ import annotations

import pytest

from warta.errors import InputError
from warta.jsonl import read_jsonl
from warta.text.corpus import Article, article_sentences, build_corpus, corpus_stats, iter_seed_articles, sentence_id


@pytest.fixture(scope="module")
def seed_records(seeds_dir) -> dict[str, list[dict]]:
    return {a.article_id: article_sentences(a) for a in iter_seed_articles(seeds_dir)}


def test_every_seed_sentence_boundary_is_frozen(seed_records, frozen_segmentation):
    # Hand-checked output; a change here changes every label's sentence id.
    got = {aid: [[r["role"], r["text"]] for r in records] for aid, records in seed_records.items()}
    assert got.keys() == frozen_segmentation.keys()
    for article_id, expected in frozen_segmentation.items():
        assert got[article_id] == expected, f"segmentation of seed {article_id} changed"


def test_seed_sentence_counts(seed_records):
    assert {aid: len(r) for aid, r in seed_records.items()} == {"000": 43, "001": 14, "002": 31, "003": 39, "004": 21}


def test_mojibake_quotes_of_seed_001_are_repaired(seed_records):
    texts = [r["text"] for r in seed_records["001"]]
    assert any("“kebablasan”" in t for t in texts)
    assert any(t.startswith("“Investor tidak hanya ingin efisiensi") and "nyata,” ujar" in t for t in texts)
    assert not any("\u00e2" in r["text"] for records in seed_records.values() for r in records)


def test_seed_003_keeps_one_copy_of_its_article(seed_records):
    texts = [r["text"] for r in seed_records["003"]]
    assert len(texts) == len(set(texts))
    assert texts[0] == "CEO Klarna Peringatkan: PHK AI Bisa Memicu Resesi Ekonomi"
    assert not any("Dibaca oleh" in t or "newsletter" in t or "pihak ketiga" in t for t in texts)


def test_no_boilerplate_survives_in_any_seed(seed_records):
    banned = ["Beranda", "TINGGALKAN", "Silakan masukkan", "Lihat Asli", "Baca Juga", "New Post", "Most Popular",
              "Sumber:", "zonagadget", "Berikan ilmu", "Desember 5"]
    for records in seed_records.values():
        for r in records:
            assert not any(b in r["text"] for b in banned), r["text"]


def test_headings_are_short_section_lines(seed_records):
    headings = {r["text"] for records in seed_records.values() for r in records if r["role"] == "heading"}
    assert {"Risiko Resesi Jangka Pendek", "Melihat ke Depan", "Kesamaan dengan Perusahaan Lain"} <= headings


def test_records_carry_stable_ids(seed_records):
    record = seed_records["000"][6]
    assert record == {
        "id": sentence_id("000", 6, record["text"]),
        "article_id": "000",
        "outlet": "kompas.com",
        "role": "body",
        "index": 6,
        "text": "Siemiatkowski mengaku, memangkas karyawan menjadi 3.800 orang dari sebelumnya 5.000 orang pada tahun lalu.",
    }
    assert record["id"].startswith("000-006-")
    # Case and spacing do not move the hash; the words do.
    assert sentence_id("a", 1, "Satu  Dua.") == sentence_id("a", 1, "satu dua")
    assert sentence_id("a", 1, "Satu dua.") != sentence_id("a", 1, "Satu tiga.")


def test_build_corpus_writes_jsonl(seeds_dir, tmp_path):
    out = tmp_path / "corpus.jsonl"
    report = build_corpus(seeds_dir, out)
    records = read_jsonl(out)
    assert report.articles == 5 and report.sentences == len(records) == 148
    assert report.errors == []
    stats = corpus_stats(records)
    assert stats["outlets"]["kompas.com"] == {"articles": 1, "roles": {"body": 42, "heading": 1}, "sentences": 43}
    assert stats["total"]["sentences"] == 148


def test_folder_with_one_bad_file_processes_the_good_ones(tmp_path):
    (tmp_path / "good.txt").write_text("Judul Berita\nKlarna merekrut lagi. Investor senang.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01" * 40)
    (tmp_path / "latin.txt").write_bytes("Judul Lain\nHarga naik – kata “ekonom”.\n".encode("cp1252"))
    (tmp_path / "nav.txt").write_text("New Post\nMost Popular\n", encoding="utf-8")
    errors: list[str] = []
    out = tmp_path / "out.jsonl"
    report = build_corpus(tmp_path, out, on_error=lambda exc: errors.append(str(exc)))
    assert report.articles == 2
    assert sorted(errors) == [
        f"{tmp_path / 'binary.txt'}: binary file (contains NUL bytes), not text",
        f"{tmp_path / 'empty.txt'}: empty file",
        f"{tmp_path / 'nav.txt'}: no sentences found after cleaning",
    ]
    texts = [r["text"] for r in read_jsonl(out)]
    assert "Harga naik – kata “ekonom”." in texts
    assert report.warnings[0] == f"{tmp_path / 'latin.txt'}: not valid UTF-8, decoded as cp1252"
    # the skipped navigation-only file also says what cleaning removed (never a silent loss)
    assert report.warnings[1].startswith(f"{tmp_path / 'nav.txt'}: cleaning dropped 2 of 2 lines (100% of the text")
    assert len(report.warnings) == 2


def test_nothing_processable_is_an_error(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(InputError, match="nothing could be processed"):
        build_corpus(tmp_path, tmp_path / "out.jsonl", on_error=lambda exc: None)


def test_article_with_only_boilerplate_has_no_labelled_sentences():
    records = article_sentences(Article("x", "Jumat, Desember 5, 2025\nNew Post\nMost Popular\n"))
    assert records == []
