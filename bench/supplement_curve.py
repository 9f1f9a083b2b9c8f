"""Learning curve by written-supplement size, judged on the external dev set (real unseen outlets).

For each config and each fraction (0, 25, 50, 75, 100% of the written sentences in
seeds/written/part-*.jsonl): whole written articles are taken in one seeded random order until
the fraction of sentences is reached (nested subsets: 25% ⊂ 50% ⊂ ...), written to a temporary
JSONL, and ``warta train CONFIG --set data.supplement=[that file] --refit all`` refits the model
on every labelled seed sentence + that supplement; the refit model labels the external set's
sentences and is scored like bench/external_table.py (macro-F1 [95% CI], mean per-outlet share
error, mean |stance-index error|). One training seed per point (the CIs are over sentences).
Without the external set (default /work/extdev) it prints one line and exits 0.

    python bench/supplement_curve.py [--configs configs/tfidf-written.yaml ...] [--extdev DIR]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import external_dev  # bench/ (the script's folder) is on sys.path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "supplement_curve_results.md"
FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
LAYERS = ["type", "stance", "frame"]


def written_articles() -> tuple[list[Path], list[list[dict]]]:
    from warta.jsonl import read_jsonl

    parts = sorted((REPO / "seeds" / "written").glob("part-*.jsonl"))
    articles: dict[str, list[dict]] = {}
    for part in parts:
        for record in read_jsonl(part):
            articles.setdefault(f"{part.stem}/{record.get('article_id')}", []).append(record)
    order = sorted(articles)
    random.Random(0).shuffle(order)
    return parts, [articles[key] for key in order]


def subset(articles: list[list[dict]], fraction: float) -> list[dict]:
    total = sum(len(a) for a in articles)
    out: list[dict] = []
    for article in articles:
        if len(out) >= fraction * total:
            break
        out.extend(article)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["configs/tfidf-written.yaml"])
    parser.add_argument("--extdev", type=Path, default=external_dev.DEFAULT)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "supplement-curve")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    gold_path = external_dev.gold_file(args.extdev)
    if gold_path is None:
        return 0
    from warta.eval.evaluate import evaluate_run
    from warta.jsonl import write_jsonl

    parts, articles = written_articles()
    total = sum(len(a) for a in articles)
    lines = [
        "# Written-supplement learning curve on the external dev set (measured)",
        "",
        f"Measured by `python bench/supplement_curve.py --configs {' '.join(args.configs)}` on "
        f"{time.strftime('%Y-%m-%d')}: {total} written sentences in {len(articles)} articles "
        f"({', '.join(p.name for p in parts)}); nested subsets of whole articles (seeded order). Each point: the "
        "config refit on every labelled seed sentence + that subset (`--refit all`, one training seed), scored on "
        "the external dev set's 120 labelled sentences (8 real outlets). macro-F1 [95% bootstrap CI]; share error "
        "= mean over outlets of the mean |pred - gold share| (points, type / stance / frame); SI = mean over "
        "outlets of |stance-index error| (points).",
        "",
        "| config | supplement | sentences | type F1 [CI] | stance F1 [CI] | frame F1 [CI] | share err pts | SI pts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            for fraction in FRACTIONS:
                records = subset(articles, fraction)
                supplement = Path(tmp) / f"supplement-{int(fraction * 100)}.jsonl"
                write_jsonl(supplement, records)
                run = args.work / f"{Path(config).stem}-{int(fraction * 100)}"
                value = f"data.supplement=[{supplement}]" if records else "data.supplement=[]"
                print(f"{config} {fraction:.0%} ({len(records)} sentences) ...", file=sys.stderr, flush=True)
                done = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "warta", "train", config, "--set",
                                       value, "--refit", "all", "--out", str(run), "--force", "-q"],
                                      cwd=REPO, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{config} {fraction:.0%}: warta train failed:\n{done.stderr[-2000:]}")
                m = evaluate_run(run, data=gold_path, n_boot=1000, out=run / "eval-external.json")
                prof = m["outlet_profile"]["mean_over_outlets"]
                f1 = [f"{m[layer]['macro_f1']:.2f} [{m[layer]['macro_f1_ci'][0]:.2f}, {m[layer]['macro_f1_ci'][1]:.2f}]"
                      for layer in LAYERS]
                share = " / ".join(f"{prof['share_error_points'][layer]:.1f}" for layer in LAYERS)
                lines.append(f"| {Path(config).name} | {fraction:.0%} | {len(records)} | {' | '.join(f1)} | {share} | "
                             f"{prof['stance_index_abs_error'] * 100:.1f} |")
                print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
