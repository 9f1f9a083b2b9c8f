"""Build first_pass.jsonl: the writers' labels (parts C and D) for the ids of the blind second pass.

Rerun from the repository root: `python seeds/written/agreement/extract_first_pass.py`.
The ids are those of `second_pass.jsonl`; every one must be labelled in part C or part D, or the
script stops naming the missing id. It also says whether those ids are the blind sample as drawn: one
`random.Random(19)`, `sample` of 50 part C body ids (file order), then 50 part D body ids.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = [HERE.parent / "part-c.jsonl", HERE.parent / "part-d.jsonl"]
KEEP = ("id", "type", "stance", "frame", "guideline_version", "note", "text")


SEED, PER_PART = 19, 50


def drawn_sample(parts: list[list[dict]]) -> set[str]:
    rng = random.Random(SEED)
    drawn: set[str] = set()
    for records in parts:
        drawn.update(rng.sample([r["id"] for r in records if r.get("role") == "body"], PER_PART))
    return drawn


def main() -> int:
    wanted = [json.loads(line)["id"] for line in (HERE / "second_pass.jsonl").read_text("utf-8").splitlines() if line.strip()]
    parts = [[json.loads(line) for line in part.read_text("utf-8").splitlines() if line.strip()] for part in PARTS]
    labels = {record["id"]: record for records in parts for record in records}
    missing = [i for i in wanted if i not in labels]
    if missing:
        print(f"first pass: {len(missing)} ids of second_pass.jsonl not labelled in parts C/D, e.g. {missing[0]}", file=sys.stderr)
        return 1
    with (HERE / "first_pass.jsonl").open("w", encoding="utf-8") as out:
        for ident in wanted:
            record = {k: labels[ident][k] for k in KEEP if k in labels[ident]}
            record["annotator"] = "writers-first-pass"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    same = drawn_sample(parts) == set(wanted)
    print(f"wrote {len(wanted)} first-pass labels to {HERE / 'first_pass.jsonl'}; "
          f"ids {'are' if same else 'are NOT'} the seed-{SEED} sample of {PER_PART} body sentences per part")
    return 0


if __name__ == "__main__":
    sys.exit(main())
