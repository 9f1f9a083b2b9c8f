"""Coverage over time (warta.outlets.trends, `warta outlets --by month|week|quarter`)."""

import json

from tests.cli_runner import run_in_process
from warta.outlets import profile_outlets

TYPES = ("fact", "quote", "opinion", "speculation")


def dated_corpus():
    """Outlet A turns pro in March; B stays against; each article has a date in a different printed format."""
    records = []
    formats = {1: "Senin (13/01/2025)", 2: "7 Februari 2025", 3: "Minggu, 9 Maret 2025 | 10:00 WIB"}
    for outlet in ("A", "B"):
        for month in (1, 2, 3):
            for a in range(4):
                art = f"{outlet}-{month}-{a}"
                stance = "pro" if outlet == "A" and month == 3 else "against"
                for i in range(6):
                    records.append({"id": f"{art}-{i}", "article_id": art, "outlet": outlet, "role": "body",
                                    "text": f"kalimat {i} {art}", "type": TYPES[i % 4],
                                    "stance": stance if i % 3 else "neutral", "frame": "economic",
                                    "date": formats[month] if i == 0 else ""})
    records += [{"id": f"u-{i}", "article_id": "undated", "outlet": "A", "role": "body", "text": f"u {i}", "type": "fact",
                 "stance": "neutral", "frame": "none"} for i in range(3)]
    records += [{"id": f"x-{i}", "article_id": "odd", "outlet": "B", "role": "body", "text": f"x {i}", "type": "fact",
                 "stance": "neutral", "frame": "none", "published": "kemarin"} for i in range(3)]
    return records


def test_periods_counts_and_the_period_that_stands_out():
    profile = profile_outlets(dated_corpus(), n_boot=300, period="month")
    trend = profile.trends
    assert trend["periods"] == ["2025-01", "2025-02", "2025-03"]
    assert trend["dated_articles"] == 24 and trend["undated_articles"] == 1 and trend["unreadable"]["count"] == 1
    assert trend["unreadable"]["examples"][0]["reason"].startswith("relative date")
    march = trend["outlets"]["A"]["2025-03"]
    assert march["articles"] == 4 and march["stance_index"]["all"]["value"] > 0.5
    assert trend["outlets"]["ALL"]["2025-01"]["articles"] == 8
    assert any(line.startswith("A, 2025-03: more pro than its own average") for line in trend["lines"])
    assert not any(line.startswith("B, ") and "stance index" in line for line in trend["lines"])
    # the undated and unreadable articles still count in the whole-sample profile
    assert profile.outlets["A"]["articles"] == 13 and profile.outlets["B"]["articles"] == 13


def test_cli_by_quarter_writes_the_trend_section_for_model_labels(tmp_path):
    records = [r | {"model": "somerun/tfidf", "probs": None} for r in dated_corpus()]
    for r in records:
        r.pop("probs")
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    res = run_in_process("outlets", str(data), "--by", "quarter", "--out", str(tmp_path / "o"), "--n-boot", "200")
    assert res.returncode == 0, res.stderr
    assert "coverage over time per quarter: 1 periods, 24 dated articles, 1 undated, 1 with an unreadable date" in res.stdout
    assert "unreadable date: B article odd: 'kemarin'" in res.stdout
    page = (tmp_path / "o" / "report.html").read_text()
    assert "<h2>Coverage over time</h2>" in page and 'alt="stance over time"' in page
    saved = json.loads((tmp_path / "o" / "outlets.json").read_text())
    assert saved["settings"]["by"] == "outlet" and saved["trends"]["period"] == "quarter"


def test_unknown_period_is_one_clear_error():
    import pytest

    from warta.errors import InputError

    with pytest.raises(InputError, match="a period is one of month, week, quarter"):
        profile_outlets(dated_corpus(), n_boot=200, period="year")


def test_a_manifest_dates_records_that_carry_no_date(tmp_path):
    """`warta label` records carry no date: --manifest joins the manifest's date column by article_id."""
    records = [{k: v for k, v in r.items() if k not in ("date", "published")} for r in dated_corpus()]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("article_id,file,date\n" + "".join(
        f"{a},{a}.txt,{d}\n" for a, d in (("A-1-0", "Senin (13/01/2025)"), ("A-3-0", "9 Maret 2025"), ("B-2-1", "kemarin"))))
    trend = profile_outlets(records, n_boot=200, period="month", manifest=manifest).trends
    assert trend["dated_articles"] == 2 and trend["unreadable"]["count"] == 1 and trend["periods"] == ["2025-01", "2025-03"]
