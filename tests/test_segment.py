from __future__ import annotations

import pytest

from warta.text.segment import remove_footnote_marks, split_paragraphs, split_sentences


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Karyawan menjadi 3.800 orang. Namun PHK berlanjut.", ["Karyawan menjadi 3.800 orang.", "Namun PHK berlanjut."]),
        ("Hemat Rp 32,7 miliar per tahun. Itu besar.", ["Hemat Rp 32,7 miliar per tahun.", "Itu besar."]),
        ("Tumbuh 3.5 persen tahun ini. Ya.", ["Tumbuh 3.5 persen tahun ini.", "Ya."]),
        ("Prof. Budi tinggal di Jl. Sudirman no. 5 sejak lama. Dia senang.", ["Prof. Budi tinggal di Jl. Sudirman no. 5 sejak lama.", "Dia senang."]),
        ("PT Maju Tbk. membukukan laba. Saham naik.", ["PT Maju Tbk. membukukan laba.", "Saham naik."]),
        ("“Kami berlebihan.” Lalu dia pergi.", ["“Kami berlebihan.”", "Lalu dia pergi."]),
        ("“Saham turun. Kami rugi,” ujar Budi. Selesai.", ["“Saham turun.", "Kami rugi,” ujar Budi.", "Selesai."]),
        ("kepuasan pelanggan2. Investor senang.", ["kepuasan pelanggan.", "Investor senang."]),
        ("Apa yang salah? Banyak!", ["Apa yang salah?", "Banyak!"]),
        ("  ", []),
    ],
)
def test_split_sentences(paragraph, expected):
    assert split_sentences(paragraph) == expected


def test_footnote_marks_spare_short_model_names():
    assert remove_footnote_marks("Standar web3. Forum G20. Pelanggan2.") == "Standar web3. Forum G20. Pelanggan2."
    assert remove_footnote_marks("layanan pelanggan12, lalu") == "layanan pelanggan, lalu"


def test_split_paragraphs_matches_split_sentences_paragraph_by_paragraph():
    paragraphs = [
        "Karyawan menjadi 3.800 orang. Namun PHK berlanjut.",
        "",
        "Prof. Budi tinggal di Jl. Sudirman no. 5 sejak lama. Dia senang",
        "“Saham turun. Kami rugi,” ujar Budi.",
        "Satu kalimat tanpa titik",
        "kepuasan pelanggan2. Investor senang.",
    ]
    assert split_paragraphs(paragraphs) == [split_sentences(p) for p in paragraphs]
    assert split_paragraphs([]) == []
