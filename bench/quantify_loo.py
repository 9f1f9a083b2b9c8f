"""Leave-one-outlet-out check of corrected shares: raw vs corrected error per held-out outlet.

    warta train configs/tfidf.yaml --cv outlet --out /tmp/o-tfidf-loo --force -q
    python bench/quantify_loo.py --run /tmp/o-tfidf-loo

Uses the run's out-of-fold predictions (``cv/oof.jsonl``; with ``--cv outlet`` every
outlet's sentences were predicted by a model that never saw that outlet). For each
outlet o: the calibration is the OOF predictions of the OTHER outlets only (joined to
gold), the target is o's OOF predictions; each method of warta.outlets.quantify
estimates o's shares, which are compared with o's gold shares. Reported per outlet:
share error per layer (mean |estimate - gold| over the layer's labels, in points)
and the stance-index error (estimate - gold), raw (``none``) vs each correction,
with whether the 95% two-source bootstrap interval of the index covers the gold
index and whether the correction is flagged unstable. It also runs on ``--cv K``
runs, as weaker evidence: a K-fold model has seen other sentences of the
held-out outlet.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from warta.outlets import quantify as Q
from warta.resampling import stance_index
from warta.schema import LAYERS

METHODS = ("none", "cc-probs", "acc", "pacc", "em")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_shares(recs: list[dict], gold: dict, layer: str) -> np.ndarray:
    labels = LAYERS[layer]
    g = [gold[r["id"]][layer] for r in recs if gold.get(r["id"], {}).get(layer) in labels]
    return np.bincount([labels.index(x) for x in g], minlength=len(labels)) / max(len(g), 1)


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    gold = {r["id"]: r for r in read_jsonl(args.labels)}
    oof = [r for r in read_jsonl(args.run / "cv" / "oof.jsonl") if r["id"] in gold]
    outlets = sorted({r["outlet"] for r in oof})
    rows = []
    for o in outlets:
        target = [r for r in oof if r["outlet"] == o]
        others = [r for r in oof if r["outlet"] != o]
        row: dict = {"outlet": o, "n": len(target), "cal_n": len(others), "layers": {}}
        for layer in args.layers:
            labels = LAYERS[layer]
            cal = Q.calibration_from_records(others, gold, layer, labels)
            tgt = [r for r in target if r.get(layer) in labels and gold.get(r["id"], {}).get(layer) in labels]
            pred = np.array([labels.index(r[layer]) for r in tgt])
            probs = np.array([[r["probs"][layer][lab] for lab in labels] for r in tgt])
            truth = gold_shares(tgt, gold, layer)
            res = Q.corrected_shares(cal, pred, probs, None, METHODS, args.n_boot, args.seed)
            per = {}
            for m in METHODS:
                est = np.array([res[m]["shares"][lab] for lab in labels])
                entry = {"share_err": float(np.abs(est - truth).mean()), "unstable": res[m]["unstable"]}
                if layer == "stance":
                    g_index = float(stance_index(truth, labels))
                    lo, hi = res[m]["index_interval"]
                    entry.update(index=res[m]["index"], gold_index=g_index, index_err=res[m]["index"] - g_index,
                                 covered=bool(lo - 1e-9 <= g_index <= hi + 1e-9), interval=[lo, hi])
                per[m] = entry
            row["layers"][layer] = per
        rows.append(row)
    summary = {}
    for layer in args.layers:
        for m in METHODS:
            errs = [r["layers"][layer][m]["share_err"] for r in rows]
            summary.setdefault(layer, {})[m] = {"share_err": float(np.mean(errs))}
            if layer == "stance":
                summary[layer][m]["abs_index_err"] = float(np.mean([abs(r["layers"][layer][m]["index_err"]) for r in rows]))
                summary[layer][m]["coverage"] = float(np.mean([r["layers"][layer][m]["covered"] for r in rows]))
    return rows, summary


def markdown(rows: list[dict], summary: dict, layers: list[str]) -> str:
    out = ["| outlet | n | gold index | " + " | ".join(f"index err {m}" for m in METHODS) + " |",
           "| --- | --- | --- | " + " | ".join("---" for _ in METHODS) + " |"]
    for r in rows:
        s = r["layers"]["stance"]
        cells = [f"{s[m]['index_err']:+.3f}{'' if s[m]['covered'] else ' ✗'}{' (u)' if s[m]['unstable'] else ''}" for m in METHODS]
        out.append(f"| {r['outlet']} | {r['n']} | {s['none']['gold_index']:+.3f} | " + " | ".join(cells) + " |")
    out.append("| **mean abs** | | | " + " | ".join(f"**{summary['stance'][m]['abs_index_err']:.3f}**" for m in METHODS) + " |")
    out.append("| index 95% coverage | | | " + " | ".join(f"{summary['stance'][m]['coverage']:.0%}" for m in METHODS) + " |")
    out += ["", "Share error (mean |estimate − gold| over a layer's labels, in points), per outlet:", "",
            "| outlet | layer | " + " | ".join(METHODS) + " |", "| --- | --- | " + " | ".join("---" for _ in METHODS) + " |"]
    for layer in layers:
        for r in rows:
            out.append(f"| {r['outlet']} | {layer} | " + " | ".join(f"{100 * r['layers'][layer][m]['share_err']:.1f}" for m in METHODS) + " |")
        out.append(f"| **mean** | {layer} | " + " | ".join(f"**{100 * summary[layer][m]['share_err']:.1f}**" for m in METHODS) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="run folder with cv/oof.jsonl (best: --cv outlet)")
    ap.add_argument("--labels", type=Path, default=Path("seeds/labels.jsonl"))
    ap.add_argument("--layers", nargs="+", default=list(LAYERS))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if "stance" not in args.layers:
        args.layers.append("stance")
    start = time.time()
    rows, summary = run(args)
    print(f"run {args.run}; calibration = other outlets' OOF predictions; {args.n_boot} bootstrap replicates; "
          "✗ = 95% index interval misses gold; (u) = flagged unstable")
    print(markdown(rows, summary, args.layers))
    print(f"\n{time.time() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
