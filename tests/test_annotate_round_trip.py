"""The annotation loop end to end: train → label new articles → select → annotate (CSV and a
Label Studio export) → import → validate → train with data.extra. TF-IDF, data written here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cli_runner import run_warta

from warta.jsonl import read_jsonl

REPO = Path(__file__).resolve().parent.parent
FAST = ["--set", "model.c_values=[0.3, 3.0]", "--set", "model.char_ngrams=[2, 4]"]
ARTICLES = {
    "harian-a/gudang.txt": [
        "Gudang Logistik Ganti 80 Pekerja dengan Robot",
        "Sebuah perusahaan logistik mengganti 80 pekerja gudang dengan robot pemilah paket bulan lalu.",
        "Manajer gudang mengatakan robot itu bekerja tiga kali lebih cepat.",
        "Para pekerja yang terdampak dikabarkan belum menerima pesangon.",
        "Perusahaan seharusnya menjelaskan nasib pekerja sebelum memasang robot.",
    ],
    "bisnis-b/kasir.txt": [
        "Jaringan Ritel Pasang Kasir Swalayan di 200 Gerai",
        "Jaringan ritel itu memasang mesin kasir swalayan di 200 gerai sejak Januari.",
        "Menurut direksi, biaya operasional turun 15 persen.",
        "Serikat pekerja menilai kebijakan itu mengorbankan kasir senior.",
        "Analis memperkirakan ritel lain akan mengikuti langkah tersebut.",
    ],
}
# what the annotator chose for each sentence, by its text (guidelines v1.0)
GOLD = {
    "Gudang Logistik Ganti 80 Pekerja dengan Robot": ("fact", "neutral", "economic"),
    "Sebuah perusahaan logistik mengganti 80 pekerja gudang dengan robot pemilah paket bulan lalu.":
        ("fact", "neutral", "economic"),
    "Manajer gudang mengatakan robot itu bekerja tiga kali lebih cepat.": ("quote", "pro", "economic"),
    "Para pekerja yang terdampak dikabarkan belum menerima pesangon.": ("speculation", "against", "human_interest"),
    "Perusahaan seharusnya menjelaskan nasib pekerja sebelum memasang robot.": ("opinion", "against", "responsibility"),
    "Jaringan Ritel Pasang Kasir Swalayan di 200 Gerai": ("fact", "neutral", "none"),
    "Jaringan ritel itu memasang mesin kasir swalayan di 200 gerai sejak Januari.": ("fact", "neutral", "none"),
    "Menurut direksi, biaya operasional turun 15 persen.": ("quote", "pro", "economic"),
    "Serikat pekerja menilai kebijakan itu mengorbankan kasir senior.": ("quote", "against", "conflict"),
    "Analis memperkirakan ritel lain akan mengikuti langkah tersebut.": ("quote", "pro", "economic"),
}


def test_select_annotate_import_validate_train(tmp_path):
    news = tmp_path / "news"
    for name, lines in ARTICLES.items():
        (news / name).parent.mkdir(parents=True, exist_ok=True)
        (news / name).write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    base, grown = tmp_path / "base", tmp_path / "grown"
    assert run_warta("train", str(REPO / "configs" / "tfidf.yaml"), *FAST, "--out", str(base), "-q").returncode == 0
    labelled = tmp_path / "labelled.jsonl"
    assert run_warta("label", str(base), str(news), "--out", str(labelled), "-q").returncode == 0
    batch = tmp_path / "batch"
    selected = run_warta("annotate", "select", str(base), str(labelled), "--n", "10", "--out", str(batch), "--seed", "0")
    assert selected.returncode == 0, (selected.stdout + selected.stderr)

    # half the batch is labelled in the spreadsheet, the other half in Label Studio
    with (batch / "batch.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["text"] for row in rows} == set(GOLD)
    for row in rows[:5]:
        row["type"], row["stance"], row["frame"] = GOLD[row["text"]]
        row["annotator"] = "dewi"
    with (tmp_path / "filled.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tasks = json.loads((batch / "tasks.json").read_text(encoding="utf-8"))
    for number, task in enumerate(tasks, start=1):  # the shape of a Label Studio 1.23 JSON export
        task["id"] = number
        if task["data"]["text"] in {row["text"] for row in rows[5:]}:
            labels = GOLD[task["data"]["text"]]
            task["annotations"] = [{
                "id": 100 + number, "completed_by": 7, "was_cancelled": False,
                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
                "result": [{"from_name": layer, "to_name": "text", "type": "choices", "value": {"choices": [label]}}
                           for layer, label in zip(("type", "stance", "frame"), labels)],
            }]
    (tmp_path / "export.json").write_text(json.dumps(tasks), encoding="utf-8")

    sources = []
    for name, source in (("csv", tmp_path / "filled.csv"), ("ls", tmp_path / "export.json")):
        out = tmp_path / f"labels-{name}.jsonl"
        imported = run_warta("annotate", "import", str(source), "--out", str(out))
        assert imported.returncode == 0 and "wrote 5 label records" in (imported.stdout + imported.stderr), (imported.stdout + imported.stderr)
        checked = run_warta("corpus", "validate", "--labels", str(out))
        assert checked.returncode == 0 and "usable as data.extra" in (checked.stdout + checked.stderr), (checked.stdout + checked.stderr)
        sources.append(out)
    records = [r for path in sources for r in read_jsonl(path)]
    assert {r["annotator"] for r in records} == {"dewi", "ls-user-7"}
    assert all((r["type"], r["stance"], r["frame"]) == GOLD[r["text"]] for r in records)

    extra = "data.extra=[" + ", ".join(str(p) for p in sources) + "]"
    trained = run_warta("train", str(REPO / "configs" / "tfidf.yaml"), *FAST, "--set", extra, "--out", str(grown), "-q")
    assert trained.returncode == 0, (trained.stdout + trained.stderr)
    before = json.loads((base / "data.json").read_text())
    after = json.loads((grown / "data.json").read_text())
    assert sum(after["sizes"].values()) == sum(before["sizes"].values()) + 10
    new_ids = {r["id"] for r in records}
    assert new_ids <= {i for ids in after["ids"].values() for i in ids}
    assert [Path(p).name for p in after["sources"]["extra"]] == ["labels-csv.jsonl", "labels-ls.jsonl"]
    from warta.eval.evaluate import run_gold

    gold = {r["id"]: r for r in run_gold(grown)}
    assert all(gold[r["id"]]["frame"] == r["frame"] for r in records)  # evaluate/compare read the imported gold


def test_validate_catches_defects_in_an_imported_file(tmp_path):
    from warta.gold.labels import default_labels_path, load_labels
    from warta.text.corpus import sentence_id

    text = "Bank itu memangkas 40 petugas layanan."
    good = {"id": sentence_id("x/a", 1, text), "type": "fact", "stance": "neutral", "frame": "economic",
            "annotator": "dewi", "annotated_at": "2026-12-01T10:00:00+00:00", "guideline_version": "1.0",
            "text": text, "article_id": "x/a", "outlet": "x", "role": "body", "index": 1}
    seed = load_labels(default_labels_path())[0]
    bad = [
        good,
        dict(good),  # duplicate
        {**good, "id": sentence_id("x/a", 2, text), "index": 2, "text": "Teks diubah."},  # edited text
        {**good, "id": sentence_id("x/a", 3, text), "index": 3, "frame": "ekonomi"},
        {**good, "id": sentence_id("x/a", 4, text), "index": 4, "guideline_version": "0.9"},
        {**good, "id": sentence_id("x/a", 5, text), "index": 5, "role": "heading"},
        {**good, "id": sentence_id("x/a", 6, text), "index": 6, "tone": "x"},
        {**good, "id": seed["id"]},  # a seed sentence the seed gold already labels
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in bad), encoding="utf-8")
    result = run_warta("corpus", "validate", "--labels", str(path))
    assert result.returncode == 1
    for expected in ("line 2", "duplicate id", "id does not match its text", "frame 'ekonomi'", "guideline '0.9'",
                     "role 'heading'", "unknown field(s) tone", "already labelled in the seed gold"):
        assert expected in (result.stdout + result.stderr), expected
    # the seed gold itself still gets the full-coverage check
    assert run_warta("corpus", "validate").returncode == 0
