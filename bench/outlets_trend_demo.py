"""A dated input for `warta outlets --by month`: the written supplement (seeds/written/part-*.jsonl, hand
labels) with FICTIONAL publication dates, written in the formats Indonesian outlets print, plus a few
undated and unreadable ones, so the trend report has something to show. No news text is invented: the
sentences are the supplement's own; only the `date` field is made up (deterministically, seeded).

    python bench/outlets_trend_demo.py /tmp/dated.jsonl
    warta outlets /tmp/dated.jsonl --by month --out /tmp/trend --force
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

HARI = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember")


def printed(day: date, style: int) -> str:
    """The same date as different outlets print it."""
    return [
        f"{HARI[day.weekday()]} ({day:%d/%m/%Y})",
        f"{day.day} {BULAN[day.month - 1]} {day.year}",
        f"{HARI[day.weekday()]}, {day.day} {BULAN[day.month - 1]} {day.year} | 10:{day.day:02d} WIB",
        day.isoformat(),
        f"{day:%d/%m/%Y} 08:15 WIB",
    ][style % 5]


def main(out: Path, seed: int = 0) -> None:
    rng = random.Random(seed)
    root = Path(__file__).resolve().parents[1] / "seeds" / "written"
    records = [json.loads(line) for path in sorted(root.glob("part-*.jsonl")) for line in path.open(encoding="utf-8")]
    articles = sorted({r["article_id"] for r in records})
    dates: dict[str, str | None] = {}
    start = date(2025, 1, 6)
    for i, article in enumerate(articles):
        if i % 29 == 7:
            dates[article] = None  # undated
        elif i % 31 == 11:
            dates[article] = "kemarin"  # unreadable: relative
        else:
            dates[article] = printed(start + timedelta(days=rng.randrange(0, 330)), rng.randrange(5))
    with out.open("w", encoding="utf-8") as fh:
        for r in records:
            if dates[r["article_id"]] is not None:
                r["date"] = dates[r["article_id"]]
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} sentences of {len(articles)} articles to {out} "
          f"({sum(d is None for d in dates.values())} undated, {sum(d == 'kemarin' for d in dates.values())} unreadable)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "dated.jsonl"))
