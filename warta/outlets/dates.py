"""Article dates as Indonesian outlets print them, and the periods of a trend (--by month|week|quarter).

ACCEPTED (a leading weekday, Indonesian or English, with or without comma or brackets, is ignored; so is a
trailing time and time zone such as "10:30 WIB"):

    2025-12-22, 2025-12-22T10:30:00+07:00, 2025-12-22 10:30   ISO 8601 (date part)
    2025/12/22                                                 year first, slashes
    22/12/2025, 22-12-2025, 22.12.2025                         day first (Indonesian order)
    Senin (22/12/2025), Senin, 22/12/2025 10:30 WIB            weekday + day first
    7 September 2025, 07 Sep 2025, 7 Agt 2025                   day, month name or abbreviation, year
    Minggu, 7 September 2025 | 14:05 WIB                        weekday + the same
    Desember 5, 2025 / Jumat, Desember 5, 2025                  month name, day, year
    month names: Indonesian (Januari .. Desember, Jan, Feb, Mar, Apr, Mei, Jun, Jul, Agu/Agt/Ags, Sep/Sept,
    Okt, Nov, Des) and English (January .. December and their abbreviations)

REFUSED (with the reason; the article is counted as having an unreadable date):

    22/12/25                 two-digit year (which century?)
    12/22/2025               month first (US order): month 22 does not exist
    31/02/2025               no such day
    September 2025, 2025     no day
    kemarin, 2 jam lalu      relative dates (the crawl time is unknown)
    1850-01-01, 2199-01-01   outside 1900..2100
"""

from __future__ import annotations

import re
from datetime import date

from warta.outlets.options import PERIODS

MONTHS = {
    **{name: i for i, name in enumerate(("januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus",
                                          "september", "oktober", "november", "desember"), start=1)},
    **{name: i for i, name in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                          "september", "october", "november", "december"), start=1)},
    "jan": 1, "feb": 2, "peb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "agu": 8, "agt": 8, "ags": 8, "aug": 8,
    "sep": 9, "sept": 9, "okt": 10, "oct": 10, "nov": 11, "nop": 11, "des": 12, "dec": 12,
}
WEEKDAYS = ("senin", "selasa", "rabu", "kamis", "jumat", "jum'at", "sabtu", "minggu", "ahad",
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            "sen", "sel", "rab", "kam", "jum", "sab", "min", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
RELATIVE = ("lalu", "kemarin", "hari ini", "yang lalu", "ago", "yesterday", "today", "baru saja")

_WEEKDAY = re.compile(r"^\s*(?:%s)\b[\s,.(|-]*" % "|".join(map(re.escape, WEEKDAYS)), re.IGNORECASE)
_TIME = re.compile(r"[\s,|-]*\(?\s*(?:pukul\s*)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:wib|wita|wit|utc|gmt)?(?:\s*[+-]\d{2}:?\d{2})?\s*\)?\s*$",
                   re.IGNORECASE)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_YMD = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_DMY = re.compile(r"^\(?(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\)?$")
_D_MONTH_Y = re.compile(r"^(\d{1,2})\s+([a-z']+)\.?\s+(\d{4})$", re.IGNORECASE)
_MONTH_D_Y = re.compile(r"^([a-z']+)\.?\s+(\d{1,2}),?\s+(\d{4})$", re.IGNORECASE)


def _build(year: int, month: int, day: int, text: str) -> tuple[date | None, str | None]:
    if not 1900 <= year <= 2100:
        return None, f"year {year} outside 1900..2100"
    if not 1 <= month <= 12:
        return None, f"month {month} does not exist (day first: DD/MM/YYYY)"
    try:
        return date(year, month, day), None
    except ValueError:
        return None, f"no such day: {text!r}"


def parse_date(text: object) -> tuple[date | None, str | None]:
    """(date, None) for an accepted date, (None, reason) for a refused one, (None, None) when empty (undated)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, None
    if not isinstance(text, str):
        return None, f"not text: {text!r}"
    raw = text.strip()
    lowered = raw.lower()
    if any(word in lowered for word in RELATIVE):
        return None, "relative date (the crawl time is unknown)"
    match = _ISO.match(raw)
    if match:
        return _build(int(match[1]), int(match[2]), int(match[3]), raw)
    core = _WEEKDAY.sub("", raw).strip()
    core = core.split("|")[0].strip() if "|" in core else core
    core = _TIME.sub("", core).strip().strip(",").strip()
    if match := _YMD.match(core):
        return _build(int(match[1]), int(match[2]), int(match[3]), raw)
    if match := _DMY.match(core):
        if len(match[3]) == 2:
            return None, "two-digit year (which century?)"
        return _build(int(match[3]), int(match[2]), int(match[1]), raw)
    for pattern, day_first in ((_D_MONTH_Y, True), (_MONTH_D_Y, False)):
        if match := pattern.match(core):
            day, name = (match[1], match[2]) if day_first else (match[2], match[1])
            month = MONTHS.get(name.lower())
            if month is None:
                return None, f"unknown month name {name!r}"
            return _build(int(match[3]), month, int(day), raw)
    if re.fullmatch(r"(?:[a-z]+\s+)?\d{4}", core, re.IGNORECASE):
        return None, "no day"
    return None, "not a date format warta reads (see warta.outlets.dates)"


def period_of(day: date, period: str) -> str:
    """'2025-09' (month), '2025-Q3' (quarter), '2025-W37' (ISO week)."""
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
