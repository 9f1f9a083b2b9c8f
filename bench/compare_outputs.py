"""Regenerate the main outputs of warta and diff them against a reference folder.

    python bench/compare_outputs.py /work/before        # run from the repository root

The reference folder holds what an earlier commit wrote with the same commands
(see COMMANDS). Text outputs must be byte-identical once the output folder's
path is replaced by the reference folder's; metrics JSON must match
numerically (|a - b| <= 1e-9); files that carry times or versions (train.log,
env.json, model/) are not compared. Exit 0 when everything matches, 1 otherwise.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

# (name, argv after `python -m warta`, captured stdout file or None); {X} is the output folder.
COMMANDS = [
    ("corpus build", ["corpus", "build", "--out", "{X}/seeds.jsonl"], None),
    ("train", ["train", "configs/tfidf.yaml", "--cv", "5", "--out", "{X}/tfidf", "--force", "-q"], None),
    ("evaluate", ["evaluate", "{X}/tfidf"], "eval.txt"),
    ("label folder", ["label", "{X}/tfidf", "seeds/", "--out", "{X}/label.jsonl", "-q"], None),
    ("label txt", ["label", "{X}/tfidf", "seeds/*.txt", "--manifest", "seeds/manifest.csv", "--out", "{X}/label-txt.jsonl", "-q"], None),
    ("outlets", ["outlets", "{X}/seeds.jsonl", "--labels", "seeds/labels.jsonl", "--out", "{X}/outlets", "--force"], None),
    ("outlets label", ["outlets", "{X}/label.jsonl", "--out", "{X}/outlets-label", "--force"], None),
]
BYTES = [
    "seeds.jsonl", "label.jsonl", "label-txt.jsonl", "eval.txt",
    "tfidf/config.yaml", "tfidf/labels.json", "tfidf/data.json", "tfidf/eval-test.json",
    "outlets/outlets.json", "outlets/outlets.csv", "outlets/distances.csv", "outlets/report.html",
    "outlets-label/outlets.json", "outlets-label/outlets.csv", "outlets-label/distances.csv", "outlets-label/report.html",
]
NUMERIC = ["tfidf/metrics.json", "tfidf/cv/metrics.json"]
# Prediction records of `warta train`: since the one-record redesign (warta.records) they have the
# `warta label` key order and model ids "<run>/<kind>[/cv-fold-i]"; compared as parsed rows, values equal
# (bytes equal once the key order and the model field are normalised).
RECORDS = ["tfidf/predictions/dev.jsonl", "tfidf/predictions/test.jsonl", "tfidf/cv/oof.jsonl"]
MODEL_IDS = {"tfidf": "tfidf/tfidf"}  # old model id -> new (cv folds: old "tfidf/cv-fold-i" -> "tfidf/tfidf/cv-fold-i")


def normalised_rows(path: Path, new: bool) -> list[str]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not new:
            model = row["model"]
            row["model"] = MODEL_IDS.get(model) or model.replace("/cv-fold-", "/tfidf/cv-fold-")
            for layer in ("type", "stance", "frame"):
                row.setdefault(layer, None)
        rows.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    return rows


def numeric_diff(a, b, where: str = "") -> list[str]:
    if where.rsplit(".", 1)[-1].endswith("_s"):  # wall-clock timings (fit_s, predict_test_s, ...)
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for key in a.keys() & b.keys():
            out += numeric_diff(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in numeric_diff(x, y, f"{where}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return [] if math.isclose(a, b, rel_tol=0, abs_tol=1e-9) or (a != a and b != b) else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def main(ref: Path) -> int:
    ref = ref.resolve()
    with tempfile.TemporaryDirectory(prefix="warta-compare-") as tmp:
        for name, argv, stdout in COMMANDS:
            args = []
            for arg in argv:
                arg = arg.replace("{X}", tmp)
                args += sorted(str(p) for p in Path().glob(arg)) if "*" in arg else [arg]
            done = subprocess.run([sys.executable, "-m", "warta", *args], capture_output=True, text=True)
            # `warta label seeds/` exits 1: labels.jsonl in that folder has no text (skipped, as before).
            if done.returncode not in ((0, 1) if argv[0] == "label" else (0,)):
                print(f"FAIL {name}: exit {done.returncode}\n{done.stderr}")
                return 1
            if stdout:
                Path(tmp, stdout).write_text(done.stdout, encoding="utf-8")
            print(f"ran  {name}")
        bad = 0
        for rel in BYTES:
            new, old = Path(tmp, rel), ref / rel
            if not old.exists():
                print(f"skip {rel} (not in {ref})")
                continue
            same = new.exists() and new.read_bytes().replace(tmp.encode(), str(ref).encode()) == old.read_bytes()
            print(f"{'same' if same else 'DIFF'} {rel}")
            bad += not same
        for rel in RECORDS:
            same = normalised_rows(Path(tmp, rel), True) == normalised_rows(ref / rel, False)
            print(f"{'same' if same else 'DIFF'} {rel} (rows; key order and model id normalised)")
            bad += not same
        for rel in NUMERIC:
            diffs = numeric_diff(json.loads(Path(tmp, rel).read_text()), json.loads((ref / rel).read_text()))
            print(f"{'same' if not diffs else 'DIFF'} {rel} (numeric)" + "".join(f"\n    {d}" for d in diffs[:10]))
            bad += bool(diffs)
    print("ALL IDENTICAL" if not bad else f"{bad} file(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/before")))
