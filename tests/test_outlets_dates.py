"""warta.outlets.dates: the accepted and refused date formats of the module doc, and the periods."""

from datetime import date

import pytest

from warta.outlets.dates import parse_date, period_of

ACCEPTED = [
    ("2025-12-22", date(2025, 12, 22)),
    ("2025-12-22T10:30:00+07:00", date(2025, 12, 22)),
    ("2025-12-22 10:30", date(2025, 12, 22)),
    ("2025/12/22", date(2025, 12, 22)),
    ("22/12/2025", date(2025, 12, 22)),
    ("22-12-2025", date(2025, 12, 22)),
    ("22.12.2025", date(2025, 12, 22)),
    ("Senin (22/12/2025)", date(2025, 12, 22)),
    ("Senin, 22/12/2025 10:30 WIB", date(2025, 12, 22)),
    ("7 September 2025", date(2025, 9, 7)),
    ("07 Sep 2025", date(2025, 9, 7)),
    ("7 Agt 2025", date(2025, 8, 7)),
    ("Minggu, 7 September 2025", date(2025, 9, 7)),
    ("Minggu, 7 September 2025 | 14:05 WIB", date(2025, 9, 7)),
    ("Jumat, Desember 5, 2025", date(2025, 12, 5)),
    ("Desember 5, 2025", date(2025, 12, 5)),
    ("Thursday, 4 December 2025", date(2025, 12, 4)),
    ("  1 Mei 2024  ", date(2024, 5, 1)),
]
REFUSED = [
    ("22/12/25", "two-digit year"),
    ("12/22/2025", "month 22 does not exist"),
    ("31/02/2025", "no such day"),
    ("September 2025", "no day"),
    ("2025", "no day"),
    ("kemarin", "relative"),
    ("2 jam lalu", "relative"),
    ("1850-01-01", "outside 1900..2100"),
    ("7 Brumaire 2025", "unknown month name"),
    ("soon", "not a date format"),
    (20251222, "not text"),
]


@pytest.mark.parametrize("text, expected", ACCEPTED)
def test_accepted_formats(text, expected):
    assert parse_date(text) == (expected, None)


@pytest.mark.parametrize("text, reason", REFUSED)
def test_refused_formats_say_why(text, reason):
    day, why = parse_date(text)
    assert day is None and reason in why


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_is_undated_not_refused(text):
    assert parse_date(text) == (None, None)


def test_periods():
    day = date(2025, 9, 7)
    assert (period_of(day, "month"), period_of(day, "quarter"), period_of(day, "week")) == ("2025-09", "2025-Q3", "2025-W36")
    assert period_of(date(2026, 1, 1), "week") == "2026-W01"
    with pytest.raises(ValueError):
        period_of(day, "year")
