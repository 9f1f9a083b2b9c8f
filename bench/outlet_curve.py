"""How fast do labels on unseen outlets improve with more labelled outlets? A learning curve by outlet.

    python bench/outlet_curve.py configs/tfidf-written.yaml configs/tfidf.yaml --md bench/outlet_curve_results.md

For every subset S of k of the seeds' labelled outlets (k = 1 … n-1), one model is fitted exactly as a
``--cv outlet`` fold fits one (a grouped 20% of S's sentences is dev for C selection; the config's written
supplement joins the fitted sentences only) and predicts every sentence of the outlets NOT in S. Reported
per k, mean ± sd over the subsets: macro-F1 per layer over the sentences of that subset's held-out outlets, mean share error per
layer (points) and mean |stance-index error| over held-out outlets (`warta.train.profile_error`, the
figures of ``--cv outlet``). k = n-1 is leave-one-outlet-out. A straight line of the stance-index error
against 1/k, fitted over k = 2 … n-1, gives a rough extrapolation to more outlets (printed as such, not a
measurement).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from warta.config import load_config
from warta.gold.splits import LAYER_WEIGHTS
from warta.train.fit import build_model, fit_model, predict_batch_size, prediction_records, score
from warta.train.folds import grouped_dev_split
from warta.train.profile_error import outlet_profile_error
from warta.train.sources import load_run_data, with_supplement


def subset_fold(data, outlets: tuple[str, ...], seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(fit, dev, held) records: S = `outlets` is fitted (dev a grouped share of S, as in --cv outlet), the rest held out."""
    by_id = data.by_id()
    ids = [i for name in ("train", "dev", "test") for i in getattr(data.splits, name)]
    groups = dict(getattr(data.splits, "groups", None) or {})
    inside = [i for i in ids if str(by_id[i].get("outlet") or "unknown") in outlets]
    held = [by_id[i] for i in ids if str(by_id[i].get("outlet") or "unknown") not in outlets]
    layers = [layer for layer in LAYER_WEIGHTS if all(by_id[i].get(layer) is not None for i in ids)]
    fit, dev = grouped_dev_split(by_id, inside, groups, layers, seed)
    return with_supplement(data, [by_id[i] for i in fit]), [by_id[i] for i in dev], held


def curve(config_path: Path, overrides: list[str]) -> dict[int, list[dict]]:
    config = load_config(config_path, overrides)
    data = load_run_data(config.data)
    by_id = data.by_id()
    ids = [i for name in ("train", "dev", "test") for i in getattr(data.splits, name)]
    outlets = sorted({str(by_id[i].get("outlet") or "unknown") for i in ids})
    layers = list(config.layers)
    results: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="warta-curve-") as scratch:
        for k in range(1, len(outlets)):
            for number, subset in enumerate(itertools.combinations(outlets, k)):
                started = time.perf_counter()
                fit, dev, held = subset_fold(data, subset, config.seed + number)
                model = fit_model(config, build_model(config), fit, dev, Path(scratch) / "ckpt", progress=False)
                preds = prediction_records(model, held, f"curve/{'+'.join(subset)}", predict_batch_size(config))
                labels = {layer: list(model.labels[layer]) for layer in layers}
                figures = score(held, preds, config, labels, n_boot=0)
                error = outlet_profile_error(held, preds, layers, seed=config.seed, n_boot=0)["mean_over_outlets"]
                row = {"train_outlets": subset, "n_fit": len(fit), "n_held": len(held),
                       "macro_f1": {layer: figures[layer]["macro_f1"] for layer in layers},
                       "share_error": error["share_error_points"], "idx_error": error["stance_index_abs_error"],
                       "seconds": time.perf_counter() - started}
                results.setdefault(k, []).append(row)
                print(f"{config_path.name} k={k} {'+'.join(subset)}: stance F1 {row['macro_f1'].get('stance', float('nan')):.3f}"
                      f" idx err {row['idx_error']:.3f} ({row['seconds']:.0f} s)", flush=True)
    return results


def table(name: str, results: dict[int, list[dict]], layers: list[str]) -> list[str]:
    def ms(values: list[float], fmt: str = "{:.3f}") -> str:
        a = np.asarray(values, float)
        return (fmt + " ± " + fmt).format(a.mean(), a.std(ddof=1)) if len(a) > 1 else fmt.format(a.mean())

    out = [f"### {name}", "",
           "| training outlets k | subsets | " + " | ".join(f"{layer} F1" for layer in layers)
           + " | " + " | ".join(f"{layer} share err" for layer in layers) + " | stance-idx err |",
           "| " + " | ".join(["---"] * (3 + 2 * len(layers))) + " |"]
    for k, rows in sorted(results.items()):
        out.append(f"| {k} | {len(rows)} | " + " | ".join(ms([r["macro_f1"][layer] for r in rows]) for layer in layers)
                   + " | " + " | ".join(ms([r["share_error"][layer] for r in rows], "{:.1f}") for layer in layers)
                   + f" | {ms([r['idx_error'] for r in rows])} |")
    ks = np.array([k for k in sorted(results) if k >= 2], float)
    if len(ks) >= 2:
        ys = np.array([np.mean([r["idx_error"] for r in results[int(k)]]) for k in ks])
        slope, intercept = np.polyfit(1 / ks, ys, 1)
        guesses = ", ".join(f"k={k}: {intercept + slope / k:.3f}" for k in (5, 10, 20))
        out += ["", f"Extrapolation (line in 1/k over k = 2…{int(ks[-1])}; a guess, not a measurement): "
                    f"stance-idx err ≈ {intercept:.3f} + {slope:.3f}/k → {guesses}."]
    return out + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="+", type=Path)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="dotted override for every config")
    ap.add_argument("--md", type=Path, default=None)
    args = ap.parse_args()
    logging.disable(logging.INFO)
    started = time.time()
    lines = []
    for path in args.configs:
        results = curve(path, args.overrides)
        lines += table(path.name, results, list(load_config(path, args.overrides).layers))
    lines.append(f"{time.time() - started:.0f} s in all.")
    text = "\n".join(lines)
    print(text)
    if args.md:
        args.md.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
