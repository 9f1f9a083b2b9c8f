from __future__ import annotations

import pytest

from warta.text.clean import boilerplate_reason, structure_article


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Jumat, Desember 5, 2025", "date line"),
        ("Senin, 12 Mei 2025 14:30 WIB", "date line"),
        ("BerandaTeknologiKlarna Rekrut Lagi", "breadcrumb"),
        ("Home › Tekno › Gadget", "breadcrumb"),
        ("Sumber: kompas.com", "credit or byline"),
        ("Penulis: Budi Santoso | Editor: Ani", "credit or byline"),
        ("Baca Juga:", "link teaser"),
        ("Baca juga: Harga iPhone turun lagi", "link teaser"),
        ("Berlangganan newsletter FinTech Weekly", "subscription prompt"),
        ("TINGGALKAN KOMENTAR", "end of article"),
        ("Silakan masukkan komentar anda!", "comment form"),
        ("Halaman ini mungkin berisi konten pihak ketiga, yang disediakan untuk tujuan informasi saja.", "disclaimer"),
        ("Lihat Asli", "end of article"),
        ("New Post", "interface label"),
        ("Most Popular", "interface label"),
        ("RELATED ARTICLES", "end of article"),
        ("BACA SELENGKAPNYA DI SINI", "link teaser"),
        ("PILIHAN EDITOR", "interface label"),
        ("zonagadgethttps://www.zonagadget.co.id/", "link or address"),
    ],
)
def test_boilerplate_lines_are_recognised(line, reason):
    assert boilerplate_reason(line) == reason


@pytest.mark.parametrize(
    "line",
    [
        "Komentar Siemiatkowski menandai pergeseran yang signifikan di kalangan eksekutif teknologi.",
        "Pada awal September 2025, perusahaan ini melakukan PHK terhadap 4.000 karyawan.",
        "Risiko Resesi Jangka Pendek",
        "Sumber daya manusia tetap penting bagi perusahaan yang sedang tumbuh pesat.",
    ],
)
def test_article_text_is_not_boilerplate(line):
    assert boilerplate_reason(line) is None


def _roles(lines, title=None):
    paragraphs, _ = structure_article(lines, title=title)
    return [(p.role, p.text) for p in paragraphs]


def test_headline_headings_and_body():
    lines = [
        "Klarna Rekrut Manusia Lagi",
        "Klarna kembali membuka lowongan kerja.",
        "Melihat ke Depan",
        "Perusahaan lain mungkin menyusul.",
    ]
    assert _roles(lines) == [
        ("title", "Klarna Rekrut Manusia Lagi"),
        ("body", "Klarna kembali membuka lowongan kerja."),
        ("heading", "Melihat ke Depan"),
        ("body", "Perusahaan lain mungkin menyusul."),
    ]


def test_first_line_that_is_a_sentence_is_body_not_title():
    assert _roles(["Klarna memangkas 1.200 karyawan.", "Lalu merekrut lagi."])[0][0] == "body"


def test_known_title_drops_page_chrome_before_it():
    lines = ["Dibaca oleh eksekutif di mana-mana", "Judul Berita Ini", "Isi berita yang panjang dimulai di sini."]
    assert _roles(lines, title="Judul berita ini") == [
        ("title", "Judul Berita Ini"),
        ("body", "Isi berita yang panjang dimulai di sini."),
    ]


def test_repeated_article_and_near_duplicates_are_dropped():
    body = "Klarna secara agresif mengadopsi AI di layanan pelanggan, operasi, dan fungsi dukungan perusahaan."
    near = body.replace("secara agresif", "dengan agresif")
    paragraphs, dropped = structure_article(["Judul Satu", body, "Bagian Dua", near, body])
    assert [p.text for p in paragraphs] == ["Judul Satu", body, "Bagian Dua"]
    assert [d.reason for d in dropped] == ["duplicate paragraph", "duplicate paragraph"]


def test_short_lines_after_end_marker_and_trailing_footer_are_dropped():
    lines = [
        "Judul",
        "Kalimat isi artikel yang pertama.",
        "namasitus",
        "Slogan situs tanpa titik",
        "RELATED ARTICLES",
        "Judul artikel lain yang ditautkan",
    ]
    assert _roles(lines) == [("title", "Judul"), ("body", "Kalimat isi artikel yang pertama.")]


def test_dateline_is_stripped_from_the_lead():
    assert _roles(["JAKARTA, KOMPAS.com - Klarna merekrut lagi."]) == [("body", "Klarna merekrut lagi.")]
    assert _roles(["Telset.id – Klarna merekrut lagi."]) == [("body", "Klarna merekrut lagi.")]
