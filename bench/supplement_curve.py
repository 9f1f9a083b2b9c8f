"""Learning curve by written-supplement size, judged on the external dev set (real unseen outlets).

For each config and each fraction (0, 25, 50, 75, 100% of the written sentences in
seeds/written/part-*.jsonl): whole written articles are taken in one seeded random order until
the fraction of sentences is reached (nested subsets: 25% ⊂ 50% ⊂ ...), written to a temporary
JSONL, and ``warta train CONFIG --set data.supplement=[that file] --refit all`` refits the model
on every labelled seed sentence + that supplement; the refit model labels the external set's
sentences and is scored like bench/external_table.py (macro-F1, mean per-outlet share error, mean
|stance-index error|). Which articles make up a 25/50/75% subset matters as much as its size, so each
partial fraction is drawn in --orders seeded article orders and reported as mean ± sd over them (one
training seed; 0% and 100% are the same sentences in every order, fitted once, with their 95% bootstrap
CIs over sentences). Without the external set (default /work/extdev) it prints one line and exits 0.

    python bench/supplement_curve.py [--configs configs/tfidf-written.yaml ...] [--orders 3] [--extdev DIR]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import external_dev  # bench/ (the script's folder) is on sys.path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "supplement_curve_results.md"
FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
LAYERS = ["type", "stance", "frame"]


def written_articles() -> tuple[list[Path], dict[str, list[dict]]]:
    """The written parts and their articles, keyed "part/article_id"."""
    from warta.jsonl import read_jsonl

    parts = sorted((REPO / "seeds" / "written").glob("part-*.jsonl"))
    articles: dict[str, list[dict]] = {}
    for part in parts:
        for record in read_jsonl(part):
            articles.setdefault(f"{part.stem}/{record.get('article_id')}", []).append(record)
    return parts, articles


def in_order(articles: dict[str, list[dict]], order: int) -> list[list[dict]]:
    """The articles in the seeded order `order`."""
    keys = sorted(articles)
    random.Random(order).shuffle(keys)
    return [articles[key] for key in keys]


def subset(articles: list[list[dict]], fraction: float) -> list[dict]:
    total = sum(len(a) for a in articles)
    out: list[dict] = []
    for article in articles:
        if len(out) >= fraction * total:
            break
        out.extend(article)
    return out


def fit_point(config: str, records: list[dict], run: Path, gold_path: Path, tmp: Path) -> dict:
    """Refit `config` on the seeds + `records`, score it on the external set; the figures of one point."""
    from warta.eval.evaluate import evaluate_run
    from warta.jsonl import write_jsonl

    supplement = tmp / f"{run.name}.jsonl"
    write_jsonl(supplement, records)
    value = f"data.supplement=[{supplement}]" if records else "data.supplement=[]"
    external_dev.run_warta("train", config, "--set", value, "--refit", "all", "--out", str(run), "--force", "-q")
    m = evaluate_run(run, data=gold_path, n_boot=1000, out=run / "eval-external.json")
    prof = m["outlet_profile"]["mean_over_outlets"]
    return {"sentences": len(records),
            **{layer: m[layer]["macro_f1"] for layer in LAYERS},
            **{f"{layer}_ci": m[layer]["macro_f1_ci"] for layer in LAYERS},
            **{f"share_{layer}": prof["share_error_points"][layer] for layer in LAYERS},
            "si": prof["stance_index_abs_error"] * 100,
            "si_ci": [v * 100 for v in prof["stance_index_abs_error_ci"]] if prof.get("stance_index_abs_error_ci") else None}


def cell(points: list[dict], key: str, digits: int) -> str:
    values = [p[key] for p in points]
    if len(values) == 1:
        ci = points[0].get(f"{key}_ci")
        ci_digits = 2 if digits > 1 else 0  # F1 intervals to 0.01, points to 1
        return f"{values[0]:.{digits}f}" + (f" [{ci[0]:.{ci_digits}f}, {ci[1]:.{ci_digits}f}]" if ci else "")
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main() -> int:
    parser = external_dev.arguments(__doc__, REPO / "runs" / "supplement-curve", RESULTS)
    parser.add_argument("--configs", nargs="+", default=["configs/tfidf-written.yaml"])
    parser.add_argument("--orders", type=int, default=3, help="seeded article orders per partial fraction")
    args = parser.parse_args()
    gold_path = external_dev.gold_file(args.extdev)
    if gold_path is None:
        return 0
    parts, articles = written_articles()
    total = sum(len(a) for a in articles.values())
    lines = [
        "# Written-supplement learning curve on the external dev set (measured)",
        "",
        f"Measured by `python bench/supplement_curve.py --configs {' '.join(args.configs)} --orders {args.orders}` on "
        f"{time.strftime('%Y-%m-%d')}: {total} written sentences in {len(articles)} articles "
        f"({', '.join(p.name for p in parts)}); nested subsets of whole articles. Each point: the config refit on "
        "every labelled seed sentence + that subset (`--refit all`, training seed 0), scored on the external dev "
        "set's 120 labelled sentences (8 real outlets). 25/50/75%: mean ± sd over "
        f"{args.orders} seeded article orders; 0% and 100% (the same sentences in every order): one fit, macro-F1 "
        "[95% bootstrap CI]. share error = mean over outlets of the mean |pred - gold share| (points, type / "
        "stance / frame); SI = mean over outlets of |stance-index error| (points).",
        "",
        "| config | supplement | sentences | type F1 | stance F1 | frame F1 | share err pts | SI pts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    results: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            for fraction in FRACTIONS:
                orders = range(args.orders) if 0 < fraction < 1 else range(1)
                points = []
                for order in orders:
                    records = subset(in_order(articles, order), fraction)
                    run = args.work / f"{Path(config).stem}-{int(fraction * 100)}-order-{order}"
                    print(f"{config} {fraction:.0%} order {order} ({len(records)} sentences) ...", file=sys.stderr,
                          flush=True)
                    points.append(fit_point(config, records, run, gold_path, Path(tmp)))
                results.setdefault(config, {})[f"{fraction:.2f}"] = points
                share = " / ".join(cell(points, f"share_{layer}", 1) for layer in LAYERS)
                lines.append(f"| {Path(config).name} | {fraction:.0%} | {cell(points, 'sentences', 0)} | "
                             + " | ".join(cell(points, layer, 2) for layer in LAYERS)
                             + f" | {share} | {cell(points, 'si', 1)} |")
                print(lines[-1], flush=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
