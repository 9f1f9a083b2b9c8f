"""Does correcting label shares work? A simulation on a run's out-of-fold predictions.

    warta train configs/tfidf.yaml --cv 5 --out /tmp/q-tfidf --force -q
    python bench/quantify_sim.py --run /tmp/q-tfidf

Per repetition the out-of-fold (OOF) sentences are split at random into a
calibration part (``--cal-fraction``, default half) and a target part,
stratified by gold label (``--split sentence``), or by article (``--split
article``: whole articles go to one side, so calibration and target never
share an article). ``--split population`` is an idealised what-if, not a
validation: the OOF class pools are taken as the population, and both a
calibration set of ``--cal-size`` sentences (OOF mix) and the targets are
drawn from them with replacement -- it shows how the methods behave when the
only limit is the calibration set's size (pure prior shift by construction). Per layer and label
mix, a target sample of ``--n`` sentences is drawn *with replacement within
each gold class* from the target part only (round(mix * n) per class, so the
sample's true mix is the designed one), cut into pseudo-articles of
``--article-size`` sentences, and its shares are estimated from the
calibration part's error rates with every method of warta.outlets.quantify,
with 95% intervals from the two-source bootstrap.

Mixes: stance — against 10%…80% in steps of 10, the rest split pro:neutral
1:2 (the OOF mix is about 12/49/39 pro/against/neutral); type and frame —
``--mixes`` draws from a flat Dirichlet. "Far" mixes: stance against share at
least 0.25 from the OOF mix; type/frame total-variation distance >= 0.25.

Reported per layer and method: mean absolute share error (over labels and
samples), and the share of 95% intervals that cover the true share; for
stance also the against-share error, the stance-index error and coverage.
Writes a markdown table (``--md``) and a plot of estimated vs true against
share (``--png``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from warta.outlets import quantify as Q
from warta.schema import LAYERS

FAR = 0.25


def load(run: Path, labels: Path) -> list[dict]:
    gold = {}
    for line in labels.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            gold[rec["id"]] = rec
    rows = []
    for line in (run / "cv" / "oof.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["id"] in gold:
            rows.append({"rec": rec, "gold": gold[rec["id"]]})
    return rows


def arrays(rows: list[dict], layer: str) -> dict[str, np.ndarray]:
    labels = LAYERS[layer]
    keep = [r for r in rows if r["gold"].get(layer) in labels and r["rec"].get(layer) in labels]
    return {
        "gold": np.array([labels.index(r["gold"][layer]) for r in keep]),
        "pred": np.array([labels.index(r["rec"][layer]) for r in keep]),
        "probs": np.array([[r["rec"]["probs"][layer][lab] for lab in labels] for r in keep]),
        "article": np.array([r["rec"]["article_id"] for r in keep]),
    }


def mixes_for(layer: str, n_mixes: int, rng: np.random.Generator) -> np.ndarray:
    if layer == "stance":  # labels: pro, against, neutral
        against = np.arange(1, 9) / 10
        return np.stack([(1 - against) / 3, against, 2 * (1 - against) / 3], axis=1)
    return rng.dirichlet(np.ones(len(LAYERS[layer])), size=n_mixes)


def split(
    data: dict[str, np.ndarray], how: str, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean calibration mask and target mask (``fraction`` of the sentences or articles calibrate)."""
    n = len(data["gold"])
    cal = np.zeros(n, bool)
    if how == "article":
        arts = rng.permutation(np.unique(data["article"]))
        cal[np.isin(data["article"], arts[: round(len(arts) * fraction)])] = True
    else:
        for c in np.unique(data["gold"]):
            idx = rng.permutation(np.flatnonzero(data["gold"] == c))
            cal[idx[: round(len(idx) * fraction)]] = True
    return cal, ~cal


def draw(data, target: np.ndarray, mix: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """Indices of a target sample with round(mix * n) sentences of each gold class (None if a class is missing)."""
    counts = np.round(mix * n).astype(int)
    picks = []
    for c, m in enumerate(counts):
        pool = np.flatnonzero(target & (data["gold"] == c))
        if m and not len(pool):
            return None
        picks.append(rng.choice(pool, size=m, replace=True) if m else np.empty(0, int))
    return rng.permutation(np.concatenate(picks))


def simulate(args: argparse.Namespace) -> dict:
    rows = load(args.run, args.labels)
    rng = np.random.default_rng(args.seed)
    results = {}
    for layer in args.layers:
        data = arrays(rows, layer)
        labels = LAYERS[layer]
        k = len(labels)
        train_mix = np.bincount(data["gold"], minlength=k) / len(data["gold"])
        mixes = mixes_for(layer, args.mixes, rng)
        recs = []
        for rep in range(args.reps):
            if args.split == "population":  # idealised: the OOF class pools are the population
                tgt_mask = np.ones(len(data["gold"]), bool)
                cal_idx = draw(data, tgt_mask, train_mix, args.cal_size, rng)
            else:
                cal_mask, tgt_mask = split(data, args.split, args.cal_fraction, rng)
                cal_idx = np.flatnonzero(cal_mask)
            cal = Q.Calibration(
                labels,
                data["gold"][cal_idx],
                data["pred"][cal_idx],
                data["probs"][cal_idx],
                groups=Q._group_index(data["article"][cal_idx]) if args.split == "article" else None,
            )
            for mi, mix in enumerate(mixes):
                idx = draw(data, tgt_mask, mix, args.n, rng)
                if idx is None:
                    continue
                true = np.bincount(data["gold"][idx], minlength=k) / len(idx)
                arts = np.arange(len(idx)) // args.article_size
                res = Q.corrected_shares(
                    cal, data["pred"][idx], data["probs"][idx], arts, Q.METHODS, args.n_boot, seed=rep * 1000 + mi
                )
                far = (abs(true[1] - train_mix[1]) if layer == "stance" else 0.5 * np.abs(true - train_mix).sum()) >= FAR
                for method, r in res.items():
                    est = np.array([r["shares"][lab] for lab in labels])
                    lo = np.array([r["interval"][lab][0] for lab in labels])
                    hi = np.array([r["interval"][lab][1] for lab in labels])
                    rec = {
                        "rep": rep, "mix": mi, "method": method, "far": bool(far), "true": true.tolist(),
                        "est": est.tolist(), "abs_err": float(np.abs(est - true).mean()),
                        "cover": float(((lo <= true + 1e-9) & (true - 1e-9 <= hi)).mean()),
                        "width": float((hi - lo).mean()), "unstable": r["unstable"],
                    }
                    if layer == "stance":
                        t_index = true[0] - true[1]
                        rec.update(
                            against_true=float(true[1]), against_est=float(est[1]),
                            against_err=float(abs(est[1] - true[1])),
                            against_cover=bool(lo[1] - 1e-9 <= true[1] <= hi[1] + 1e-9),
                            index_err=float(abs(r["index"] - t_index)),
                            index_cover=bool(r["index_interval"][0] - 1e-9 <= t_index <= r["index_interval"][1] + 1e-9),
                        )
                    recs.append(rec)
            print(f"{layer}: repetition {rep + 1}/{args.reps}", file=sys.stderr)
        results[layer] = {"train_mix": train_mix.tolist(), "records": recs}
    return results


def summarise(results: dict) -> list[dict]:
    table = []
    for layer, res in results.items():
        for method in Q.METHODS:
            recs = [r for r in res["records"] if r["method"] == method]
            far = [r for r in recs if r["far"]]
            row = {
                "layer": layer, "method": method, "samples": len(recs), "far_samples": len(far),
                "mae": np.mean([r["abs_err"] for r in recs]), "mae_far": np.mean([r["abs_err"] for r in far]),
                "cover": np.mean([r["cover"] for r in recs]), "cover_far": np.mean([r["cover"] for r in far]),
                "width": np.mean([r["width"] for r in recs]),
                "unstable": np.mean([r["unstable"] for r in recs]),
            }
            if layer == "stance":
                row.update(
                    against_mae=np.mean([r["against_err"] for r in recs]),
                    against_mae_far=np.mean([r["against_err"] for r in far]),
                    against_cover=np.mean([r["against_cover"] for r in recs]),
                    index_mae=np.mean([r["index_err"] for r in recs]),
                    index_cover=np.mean([r["index_cover"] for r in recs]),
                )
            table.append(row)
    return table


def markdown(table: list[dict], args: argparse.Namespace, results: dict, seconds: float) -> str:
    def f(x):
        return f"{x:.3f}"
    def p(x):
        return f"{100 * x:.0f}%"
    out = [
        (
            "| layer | method | samples (far) | MAE share, all | MAE share, far | 95% coverage, all | coverage, far"
            " | mean interval width | flagged unstable |"
        ),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table:
        out.append(
            f"| {r['layer']} | {r['method']} | {r['samples']} ({r['far_samples']}) | {f(r['mae'])} | {f(r['mae_far'])}"
            f" | {p(r['cover'])} | {p(r['cover_far'])} | {f(r['width'])} | {p(r['unstable'])} |"
        )
    out += [
        "",
        "Stance only: the against share and the stance index (pro − against).",
        "",
        "| method | against MAE, all | against MAE, far | against 95% coverage | index MAE | index 95% coverage |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in table:
        if r["layer"] == "stance":
            out.append(
                f"| {r['method']} | {f(r['against_mae'])} | {f(r['against_mae_far'])} | {p(r['against_cover'])}"
                f" | {f(r['index_mae'])} | {p(r['index_cover'])} |"
            )
    mixes = ", ".join(f"{layer} " + "/".join(f"{v:.2f}" for v in res["train_mix"]) for layer, res in results.items())
    out += ["", f"OOF (training) mixes: {mixes}. Settings: {vars(args)}; {seconds:.0f} s."]
    return "\n".join(out) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = results["stance"]["records"]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="truth")
    ax.axvline(results["stance"]["train_mix"][1], color="0.8", lw=1)
    for i, method in enumerate(Q.METHODS):
        rs = [r for r in recs if r["method"] == method]
        xs = sorted({round(r["against_true"], 3) for r in rs})
        est = [[r["against_est"] for r in rs if round(r["against_true"], 3) == x] for x in xs]
        mean = np.array([np.mean(e) for e in est])
        lo, hi = np.array([np.percentile(e, 10) for e in est]), np.array([np.percentile(e, 90) for e in est])
        x = np.array(xs) + (i - 2) * 0.006
        ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], marker="o", ms=4, lw=1.2, capsize=2, label=method)
    ax.set(xlabel="true against share", ylabel="estimated against share (mean, 10–90% over samples)",
           xlim=(0, 0.9), ylim=(0, 1), title="Stance: corrected vs raw shares (TF-IDF OOF)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="run folder with cv/oof.jsonl")
    ap.add_argument("--labels", type=Path, default=Path("seeds/labels.jsonl"))
    ap.add_argument("--layers", nargs="+", default=list(LAYERS))
    ap.add_argument("--split", choices=("sentence", "article", "population"), default="sentence")
    ap.add_argument("--cal-size", type=int, default=1000, help="calibration sentences drawn with --split population")
    ap.add_argument("--cal-fraction", type=float, default=0.5, help="share of OOF sentences (articles) that calibrate")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--mixes", type=int, default=8, help="Dirichlet mixes for type and frame")
    ap.add_argument("--n", type=int, default=50, help="sentences per simulated target sample")
    ap.add_argument("--article-size", type=int, default=5)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--md", type=Path, default=None)
    ap.add_argument("--png", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="every simulated estimate")
    args = ap.parse_args()
    start = time.perf_counter()
    results = simulate(args)
    seconds = time.perf_counter() - start
    text = markdown(summarise(results), args, results, seconds)
    print(text)
    if args.md:
        args.md.write_text(text, encoding="utf-8")
    if args.png and "stance" in results:
        plot(results, args.png)
    if args.json:
        args.json.write_text(json.dumps(results), encoding="utf-8")


if __name__ == "__main__":
    main()
