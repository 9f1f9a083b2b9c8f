from __future__ import annotations

import pytest

from warta.errors import InputError
from warta.text.decode import clean_lines, decode_bytes, normalise_line, repair_mojibake


def test_utf8_is_decoded_as_utf8():
    decoded = decode_bytes("Rp 32,7 miliar “kata”".encode("utf-8"), "a.txt")
    assert decoded.encoding == "utf-8"
    assert decoded.text == "Rp 32,7 miliar “kata”"


def test_cp1252_file_falls_back():
    decoded = decode_bytes("“Kami” berlebihan – kata CEO".encode("cp1252"), "old.txt")
    assert decoded.encoding == "cp1252"
    assert decoded.text == "“Kami” berlebihan – kata CEO"


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "empty file"), (b"  \n\n", "empty file"), (b"\x00\x01\x02PNG\x00" * 50, "binary file")],
)
def test_unusable_bytes_name_the_file_and_the_problem(data, problem):
    with pytest.raises(InputError, match=rf"^bad\.txt: {problem}"):
        decode_bytes(data, "bad.txt")


def test_control_heavy_bytes_are_refused():
    with pytest.raises(InputError, match="cannot decode"):
        decode_bytes(bytes(range(1, 32)) * 20 + b"\x81\x8d", "noise.bin")


def test_orphaned_quote_bytes_become_curly_quotes():
    # 001's damage: UTF-8 “ ” read as latin-1, continuation bytes lost.
    text = "perusahaan \u00e2kebablasan\u00e2 dalam. \u00e2Investor ingin,\u00e2 ujar dia."
    assert repair_mojibake(text) == "perusahaan “kebablasan” dalam. “Investor ingin,” ujar dia."


def test_intact_mojibake_is_repaired_by_ftfy():
    broken = "“kebablasan” dan café".encode("utf-8").decode("latin-1")
    assert repair_mojibake(f"kata {broken} itu") == "kata “kebablasan” dan café itu"
    assert repair_mojibake("kata \u00e2\u20ac\u0153ya\u00e2\u20ac\x9d itu") == "kata “ya” itu"


def test_a_circumflex_inside_a_word_is_kept():
    assert repair_mojibake("château dan pâté") == "château dan pâté"


def test_spaces_and_invisible_characters_are_normalised_and_quotes_kept():
    assert normalise_line('  Dia\u00a0berkata  "ya,"  lalu \u201epergi\u201d\u200b ') == 'Dia berkata "ya," lalu \u201epergi\u201d'


def test_the_users_characters_survive_cleaning_even_where_mojibake_is_repaired():
    # straight and curly quotes, guillemets, backtick, acute, a ligature and full-width letters:
    # none of them is something cleaning must change (docs/text-cleaning.md)
    line = "Dia berkata \"ya\" lalu 'tidak', \u00abnon\u00bb \u2018x\u2019 `y\u00b4 \ufb01nal \uff21\uff29"
    assert clean_lines(line) == [line]
    broken = "café".encode("utf-8").decode("latin-1")  # makes ftfy run on the whole text
    assert clean_lines(f"{line} {broken}") == [f"{line} café"]


def test_clean_lines_drops_blank_lines():
    assert clean_lines("Satu.\n\n   \nDua.\r\n") == ["Satu.", "Dua."]
