"""The closing-note table: leave-one-outlet-out runs side by side, each compared with the first (the baseline).

    warta train configs/tfidf.yaml --cv outlet --out runs/loo-tfidf
    warta train configs/hybrid-e5.yaml --cv outlet --out runs/loo-hybrid
    python bench/loo_table.py runs/loo-tfidf runs/loo-tfidf-nocues runs/loo-hybrid ...

Per run and layer, from RUN/cv/metrics.json: pooled out-of-fold macro-F1 with its 95% CI (and
the mean ± sd over seeds when the run has `--seeds N`), the mean share error over held-out
outlets (points) and the mean |stance-index error|; then `warta compare BASELINE RUN --split cv`
(paired bootstrap, 2000 resamples): the difference, its 95% CI and p. Markdown on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

LAYERS = ("type", "stance", "frame")


def compare(base: Path, run: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c.json"
        subprocess.run([sys.executable, "-m", "warta", "compare", str(base), str(run), "--split", "cv", "--out",
                        str(out), "--max-flips", "0"], check=True, capture_output=True)
        return json.loads(out.read_text())["layers"]


def main() -> None:
    runs = [Path(p) for p in sys.argv[1:]]
    base = runs[0]
    print("| model | layer | macro-F1 [95% CI] | over seeds | diff vs " + base.name + " [95% CI], p | share err (pts) "
          "| stance-idx err |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        metrics = json.loads((run / "cv" / "metrics.json").read_text())
        pooled, error = metrics["pooled_oof"], metrics["outlet_error"]["mean_over_outlets"]
        seeds = metrics.get("seeds") or {}
        diffs = compare(base, run) if run != base else {}
        for layer in LAYERS:
            lo, hi = pooled[layer]["macro_f1_ci"]
            over = ""
            if seeds:
                s = seeds["summary"][layer]["macro_f1"]
                over = f"{s['mean']:.3f} ± {s['sd']:.3f} ({seeds['n']} seeds)"
                if layer == "stance":
                    e = seeds["outlet_error_summary"]["stance_index_abs_error"]
                    over += f"; idx err {e['mean']:.3f} ± {e['sd']:.3f}"
            diff = ""
            if layer in diffs:
                d = diffs[layer]
                diff = f"{d['diff']:+.3f} [{d['diff_ci'][0]:+.3f}, {d['diff_ci'][1]:+.3f}], p={d['p_value']:.3f}"
            idx = f"{error['stance_index_abs_error']:.3f}" if layer == "stance" else ""
            print(f"| {run.name} | {layer} | {pooled[layer]['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}] | {over} | {diff} "
                  f"| {error['share_error_points'][layer]:.1f} | {idx} |")


if __name__ == "__main__":
    main()
