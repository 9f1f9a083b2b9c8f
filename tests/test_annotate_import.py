"""`warta annotate import`: Label Studio JSON exports and the batch CSV -> label records."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from tests.conftest import DATA
from warta.annotate.imports import read_csv, read_labelstudio
from warta.annotate.labelstudio import write_csv
from warta.schema import GUIDELINE_VERSION
from warta.text.corpus import sentence_id

# exported by Label Studio 1.23.2 in the round trip of docs/annotation-round-trip.md: three annotated tasks,
# task 1 labelled identically by users 1 and 2, task 2 with a stance conflict, task 3 by user 1 only
REAL_EXPORT = DATA / "ls_export_1.23.2.json"


def choice(layer: str, value) -> dict:
    return {"from_name": layer, "to_name": "text", "type": "choices", "value": {"choices": value}}


def write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


def test_real_export(tmp_path):
    result = read_labelstudio(REAL_EXPORT)
    by_id = {r["id"]: r for r in result.records}
    assert set(by_id) == {"contoh-harian/pemda-004-afa094b4", "contoh-harian/bank-cs-001-5c1956e4"}
    agreed = by_id["contoh-harian/pemda-004-afa094b4"]
    assert (agreed["type"], agreed["stance"], agreed["frame"]) == ("fact", "neutral", "none")
    assert agreed["annotator"] == "ls-user-1,ls-user-2"
    assert agreed["guideline_version"] == GUIDELINE_VERSION
    assert agreed["annotated_at"].startswith("20") and agreed["annotated_at"].endswith("Z")
    # new sentences carry their text, article, outlet, role and index into the corpus
    assert agreed["text"] == "Uji coba dijadwalkan berlangsung hingga akhir tahun."
    assert (agreed["article_id"], agreed["outlet"], agreed["role"], agreed["index"]) == (
        "contoh-harian/pemda", "contoh-harian", "body", 4)
    (conflict,) = result.skipped
    assert conflict.startswith("contoh-bisnis/ecommerce-006-6e07e532: conflicting labels")
    assert "against" in conflict and "neutral" in conflict
    # every annotator's own labels are kept for agreement, the conflicting one included
    assert {k: len(v) for k, v in result.by_annotator.items()} == {"ls-user-1": 3, "ls-user-2": 2}
    assert next(r for r in result.by_annotator["ls-user-1"] if r["id"].startswith("contoh-bisnis"))["note"] == (
        "reported speech: menuturkan")


def test_malformed_cancelled_and_stale_items(tmp_path):
    tasks = json.loads(REAL_EXPORT.read_text(encoding="utf-8"))
    good = tasks[2]
    extra = []
    # a second save by the same user: the later one counts, no conflict with itself
    resaved = copy.deepcopy(good)
    first = resaved["annotations"][0]
    later = copy.deepcopy(first)
    later["updated_at"] = "2099-01-01T00:00:00Z"
    later["result"][2] = choice("frame", ["economic"])
    resaved["annotations"].append(later)
    extra.append(resaved)
    # malformed: two choices on a single-choice layer; a value outside the schema; a result item without value
    bad_items = {"type": choice("type", ["fact", "quote"]), "stance": choice("stance", ["maybe"]),
                 "frame": {"from_name": "frame", "to_name": "text", "type": "choices"}}
    for i, (layer, item) in enumerate(bad_items.items()):
        task = copy.deepcopy(good)
        task["id"] = 100 + i
        task["data"]["id"] = f"x-{i:03d}-abc"
        task["data"].pop("text")
        labels = {"type": choice("type", ["fact"]), "stance": choice("stance", ["neutral"]),
                  "frame": choice("frame", ["none"]), layer: item}
        task["annotations"] = [{**first, "result": list(labels.values())}]
        extra.append(task)
    cancelled = copy.deepcopy(good)
    cancelled["annotations"][0]["was_cancelled"] = True
    extra.append(cancelled)
    extra.append({"id": 200, "data": {"id": "y-000-abc", "text": "t"}, "annotations": []})
    extra.append("not a task")
    result = read_labelstudio(write(tmp_path / "export.json", extra))
    assert [r["id"] for r in result.records] == ["contoh-harian/bank-cs-001-5c1956e4"]
    assert result.records[0]["frame"] == "economic"  # the later save
    assert result.unannotated == 2  # the cancelled one and the empty one
    assert len(result.skipped) == 4
    skipped = "\n".join(result.skipped)
    assert "task 100 annotation 3: type needs exactly one choice" in skipped
    assert "(x-001-abc): stance 'maybe' is not one of pro, against, neutral" in skipped
    assert "task 102 annotation 3: malformed result item" in skipped
    assert "task 7: not a task with `data`" in skipped


def test_edited_text_heading_and_old_guideline(tmp_path):
    tasks = json.loads(REAL_EXPORT.read_text(encoding="utf-8"))
    edited = copy.deepcopy(tasks[2])
    edited["data"]["text"] += " Ditambah."
    heading = copy.deepcopy(tasks[0])
    heading["data"]["role"] = "heading"
    heading["annotations"] = heading["annotations"][:1]
    old = copy.deepcopy(tasks[1])
    old["data"]["guideline_version"] = "0.9"
    old["annotations"] = old["annotations"][:1]
    result = read_labelstudio(write(tmp_path / "e.json", [edited, heading, old]))
    assert not result.records
    assert "id does not match its text" in result.skipped[0]
    assert "only title/body sentences carry labels" in result.skipped[1]
    assert "guideline '0.9'" in result.skipped[2]


def test_cli_exit_codes_and_annotator(tmp_path):
    from typer.testing import CliRunner

    from warta.cli import app

    out = tmp_path / "labels.jsonl"
    result = CliRunner().invoke(app, ["annotate", "import", str(REAL_EXPORT), "--out", str(out),
                                      "--annotator", "rina", "--per-annotator", str(tmp_path / "by")])
    assert result.exit_code == 1  # the conflict is skipped
    assert "skipped: contoh-bisnis/ecommerce-006-6e07e532: conflicting labels" in result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["annotator"] for r in records} == {"rina"}
    assert (tmp_path / "by" / "rina.jsonl").is_file()
    clean = tmp_path / "clean.json"
    write(clean, [t for t in json.loads(REAL_EXPORT.read_text(encoding="utf-8")) if t["id"] != 2])
    ok = CliRunner().invoke(app, ["annotate", "import", str(clean), "--out", str(tmp_path / "ok.jsonl")])
    assert ok.exit_code == 0 and "wrote 2 label records" in ok.output
    again = CliRunner().invoke(app, ["annotate", "import", str(clean), "--out", str(tmp_path / "ok.jsonl")])
    assert "exists" in str(again.exception)


def test_csv_round_trip(tmp_path):
    texts = ["Bank itu memangkas 40 petugas layanan.", "Menurut analis, langkah itu keliru.",
             "Perusahaan akan merekrut lagi.", "Judul tanpa label.", "Kalimat yang belum dilabeli."]
    records = [{"id": sentence_id("demo/a", i, t), "article_id": "demo/a", "outlet": "demo", "role": "body",
                "index": i, "text": t, "type": "fact", "stance": "neutral", "frame": "none"} for i, t in enumerate(texts)]
    path = write_csv(records, tmp_path / "batch.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[0].update(type="fact", stance="neutral", frame="economic", annotator="dewi", note="head count")
    rows[1].update(type="quote", stance="against", frame="conflict", annotator="dewi", annotated_at="2026-11-30")
    rows[2].update(type="speculation", stance="against", annotator="dewi")  # frame left empty
    rows[3].update(type="fact", stance="neutral", frame="none", annotator="dewi", text="Teks diubah.")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = read_csv(path)
    assert [r["id"] for r in result.records] == [records[0]["id"], records[1]["id"]]
    first, second = result.records
    assert first["frame"] == "economic" and first["note"] == "head count" and first["annotator"] == "dewi"
    assert first["index"] == 0 and first["text"] == texts[0]
    assert second["annotated_at"] == "2026-11-30"
    assert result.unannotated == 1
    assert len(result.skipped) == 2
    assert "missing layer 'frame'" in result.skipped[0]
    assert "id does not match its text" in result.skipped[1]
    # without an annotator the row is skipped unless --annotator names one
    rows[0]["annotator"] = ""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow(rows[0])
    assert "no annotator" in read_csv(path).skipped[0]
    (named,) = read_csv(path, annotator="sari").records
    assert named["annotator"] == "sari" and named["annotated_at"]  # file time when the row gives none


def test_records_without_text_must_be_seed_sentences(frozen_segmentation):
    from warta.annotate.imports import ImportResult, join_to_corpus

    role, text = frozen_segmentation["000"][0]
    seed = {"id": sentence_id("000", 0, text), "role": role}
    heading = {"id": "000-009-head", "role": "heading"}
    records = [{"id": seed["id"], "type": "fact"}, {"id": "gone-001-abc", "type": "fact"},
               {"id": heading["id"], "type": "fact"}, {"id": "new-000-abc", "type": "fact", "text": "Baru."}]
    result = join_to_corpus(ImportResult(records=records, by_annotator={"a": list(records)}), [seed, heading])
    assert [r["id"] for r in result.records] == [seed["id"], "new-000-abc"]
    assert [r["id"] for r in result.by_annotator["a"]] == [seed["id"], "new-000-abc"]
    assert "no seed sentence with this id" in result.skipped[0]
    assert "sentence is a heading" in result.skipped[1]


def test_semicolon_csv_from_a_spreadsheet(tmp_path):
    text = "Bank itu memangkas 40 petugas layanan."
    ident = sentence_id("demo/a", 0, text)
    path = tmp_path / "saved.csv"
    path.write_text("\ufeffid;article_id;index;text;type;stance;frame;annotator\n"
                    f"{ident};demo/a;0;{text};fact;neutral;economic;dewi\n", encoding="utf-8")
    (record,) = read_csv(path).records
    assert (record["id"], record["frame"], record["index"]) == (ident, "economic", 0)


@pytest.mark.parametrize("content", ["{not json", '{"a": 1}'])
def test_unreadable_export(tmp_path, content):
    from warta.errors import InputError

    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match="bad.json"):
        read_labelstudio(path)
