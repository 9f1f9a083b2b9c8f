"""Fill a batch.csv as the spreadsheet annotator would (labels chosen by hand under seeds/GUIDELINES.md v1.0).

Usage: python fill_batch.py BATCH.csv FILLED.csv  (the demo batch of docs/annotation-round-trip.md, section 6)
"""
import csv
import sys

LABELS = {  # id: (type, stance, frame, note)
    "contoh-harian/pemda-004-afa094b4": ("fact", "neutral", "none", "dijadwalkan: a plan stated as a present state"),
    "contoh-bisnis/ecommerce-006-6e07e532": ("quote", "against", "human_interest", "reported speech: menuturkan"),
    "contoh-harian/bank-cs-001-5c1956e4": ("fact", "neutral", "none", "deployment described, no cost/people/blame"),
    "contoh-bisnis/ecommerce-003-64e33577": ("quote", "pro", "economic", "group source: Analis memperkirakan; spread = inevitable"),
    "contoh-harian/bank-cs-006-deee1754": ("speculation", "against", "human_interest", "dikabarkan, unattributed"),
    "contoh-bisnis/asuransi-000-559815a0": ("fact", "neutral", "economic", "title; plain replacement report -> neutral/economic"),
    "contoh-harian/bank-cs-004-eb3353ee": ("quote", "against", "conflict", "serikat pekerja menilai: union vs bank"),
    "contoh-bisnis/ecommerce-002-92872109": ("quote", "pro", "economic", "mengklaim; faster resolution (cf. 000-010)"),
    "contoh-harian/pemda-003-dab9a82b": ("quote", "against", "human_interest", "reported feeling of a group source (khawatir)"),
    "contoh-bisnis/ecommerce-007-72bd04cd": ("quote", "neutral", "responsibility", "menyatakan akan: company acts for affected staff"),
    "contoh-harian/bank-cs-007-0dfab4ca": ("opinion", "against", "responsibility", "seharusnya; call for limits"),
    "contoh-bisnis/ecommerce-005-1983d7e5": ("fact", "pro", "economic", "investors reward the cut"),
}
with open(sys.argv[1], encoding="utf-8", newline="") as handle:
    rows = list(csv.DictReader(handle))
for row in rows:
    row["type"], row["stance"], row["frame"], row["note"] = LABELS[row["id"]]
    row["annotator"] = "ann2"
with open(sys.argv[2], "w", encoding="utf-8", newline="") as handle:
    writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
print(f"filled {len(rows)} rows")
