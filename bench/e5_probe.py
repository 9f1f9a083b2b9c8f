"""Frozen e5 embeddings vs TF-IDF on outlets the model never saw (leave-one-outlet-out).

    warta models build-e5 --out encoders/e5-small
    python bench/e5_probe.py --encoder encoders/e5-small [--n-boot 1000] [--cache /tmp/e5_emb.npz]

All labelled seed sentences (seeds/labels.jsonl merged on the corpus), 5 outlets. Each fold
holds out every sentence of one outlet; the hyperparameters (C; for the concatenation also the
weight of the e5 block) are chosen by an inner leave-one-outlet-out over the remaining outlets
only (pooled inner macro-F1), then the head is refit on all remaining outlets and predicts the
held-out one. Held-out predictions are pooled over the 5 folds: macro-F1 per layer (over every
label of the layer) with a 95% sentence bootstrap CI, the paired bootstrap difference to TF-IDF,
and the per-outlet profile error (mean |predicted share - gold share| in points; stance-index
error) as `warta outlets --gold/--pred` would see it.

Models: tfidf (word 1-2 + char 2-5 TF-IDF, cue features on `type`: configs/tfidf.yaml's
features, balanced logistic regression); e5 (frozen mean-pooled multilingual-e5-small
embeddings with the "query: " prefix, standardised, balanced logistic regression);
tfidf+e5 (the TF-IDF features with the L2-normalised embedding appended, times a weight);
tfidf|e5 (late fusion: the mean of the tfidf and e5 heads' held-out probabilities, nothing tuned).
Predictions are the argmax of predict_proba (equal to predict for these heads).
Prints a table; figures only, no files unless --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from warta.gold.labels import load_gold
from warta.metrics import bootstrap_scores, layer_metrics, percentile_ci
from warta.models.tfidf import CUE_NAMES, TfidfClassifier, UnitSplitter
from warta.schema import LAYERS

LAYER_NAMES = ("type", "stance", "frame")
GRIDS = {
    "tfidf": [{"C": c} for c in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)],
    "e5": [{"C": c} for c in (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)],
    "tfidf+e5": [{"C": c, "w": w} for c in (0.3, 1.0, 3.0, 10.0) for w in (2.0, 4.0, 8.0, 16.0)],
}


def embed(encoder: str, texts: list[str], cache: Path | None) -> np.ndarray:
    if cache and cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        if list(stored["texts"]) == texts:
            return stored["emb"]
    import torch
    from transformers import AutoModel, AutoTokenizer

    from warta.models.e5 import mean_pool_embed

    torch.set_num_threads(2)
    model, tokenizer = AutoModel.from_pretrained(encoder), AutoTokenizer.from_pretrained(encoder)
    emb = mean_pool_embed(model, tokenizer, texts)
    if cache:
        np.savez(cache, emb=emb, texts=np.array(texts))
    return emb


class Features:
    """Per model kind: fit on training rows, transform any rows (TF-IDF refit per training set)."""

    def __init__(self, kind: str, texts: list[str], emb: np.ndarray):
        self.kind, self.texts, self.emb = kind, texts, emb
        self._cache: dict[tuple[bytes, bytes], sp.csr_matrix] = {}

    def _tfidf(self, train: np.ndarray, rows: np.ndarray) -> sp.csr_matrix:
        """TF-IDF + cue features of `rows`, vectoriser fitted on `train` (cached: the grid reuses them)."""
        key = (train.tobytes(), rows.tobytes())
        if key not in self._cache:
            features, splitter = TfidfClassifier().build_features(), UnitSplitter()
            features.fit(splitter.transform([self.texts[i] for i in train]))
            for r in {train.tobytes(): train, rows.tobytes(): rows}.values():
                X = features.transform(splitter.transform([self.texts[i] for i in r]))
                self._cache[(train.tobytes(), r.tobytes())] = X.tocsr()
        return self._cache[key]

    def fit_transform(self, train: np.ndarray, rows: list[np.ndarray], params: dict, layer: str):
        if self.kind == "e5":
            scaler = StandardScaler().fit(self.emb[train])
            return [scaler.transform(self.emb[r]) for r in rows]
        out = []
        for r in rows:
            X = self._tfidf(train, r)
            if layer != "type":  # as the baseline: the cue block feeds `type` only
                X = X[:, : X.shape[1] - len(CUE_NAMES)]
            if self.kind == "tfidf+e5":
                X = sp.hstack([X, sp.csr_matrix(self.emb[r] * params["w"])], format="csr")
            out.append(X)
        return out


def fit_predict(
    feats: Features, y: np.ndarray, train: np.ndarray, test: np.ndarray, params: dict, layer: str, proba: bool = False
):
    X_train, X_test = feats.fit_transform(train, [train, test], params, layer)
    clf = LogisticRegression(C=params["C"], class_weight="balanced", max_iter=3000)
    clf.fit(X_train, y[train])
    if not proba:
        return clf.predict(X_test)
    out = np.zeros((len(test), len(LAYERS[layer])))  # columns in schema order; unseen labels get 0
    out[:, [list(LAYERS[layer]).index(c) for c in clf.classes_]] = clf.predict_proba(X_test)
    return out


def macro_f1(gold, pred, labels) -> float:
    return layer_metrics(list(gold), list(pred), labels, n_boot=0)["macro_f1"]


def select(feats, y, outlets, train, layer, grid) -> dict:
    """Best params by pooled inner leave-one-outlet-out macro-F1 on `train` rows only (ties: first)."""
    inner = sorted(set(outlets[train]))
    best, best_score = grid[0], -1.0
    for params in grid:
        pred = np.empty(len(train), dtype=object)
        for o in inner:
            held = outlets[train] == o
            pred[held] = fit_predict(feats, y, train[~held], train[held], params, layer)
        score = macro_f1(y[train], pred, LAYERS[layer])
        if score > best_score + 1e-12:
            best, best_score = params, score
    return best


def profile_error(gold, pred, outlets, layer) -> float:
    """Mean over held-out outlets of the mean |pred share - gold share| over the layer's labels, in points."""
    errors = []
    for o in sorted(set(outlets)):
        g, p = gold[outlets == o], pred[outlets == o]
        errors.append(np.mean([abs((p == lab).mean() - (g == lab).mean()) for lab in LAYERS[layer]]) * 100)
    return float(np.mean(errors))


def stance_index_error(gold, pred, outlets) -> float:
    def index(v):
        return ((v == "pro").sum() - (v == "against").sum()) / len(v)

    return float(np.mean([abs(index(pred[outlets == o]) - index(gold[outlets == o])) for o in sorted(set(outlets))]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="encoders/e5-small")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--cache", type=Path, default=None, help="npz cache of the embeddings")
    parser.add_argument("--models", default="tfidf,e5,tfidf+e5")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()

    gold = load_gold()
    texts = [r["text"] for r in gold]
    outlets = np.array([r["outlet"] for r in gold])
    started = time.perf_counter()
    emb = embed(args.encoder, texts, args.cache)
    print(
        f"{len(texts)} sentences, {len(set(outlets))} outlets; embeddings {emb.shape} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    kinds = args.models.split(",")
    preds: dict[str, dict[str, np.ndarray]] = {k: {} for k in kinds}
    probs: dict[str, dict[str, np.ndarray]] = {k: {} for k in kinds}
    chosen: dict[str, dict[str, list]] = {k: {} for k in kinds}
    with threadpool_limits(limits=1, user_api="blas"):
        for kind in kinds:
            t0 = time.perf_counter()
            feats = Features(kind, texts, emb)
            for layer in LAYER_NAMES:
                y = np.array([r[layer] for r in gold], dtype=object)
                prob = np.zeros((len(y), len(LAYERS[layer])))
                chosen[kind][layer] = []
                for o in sorted(set(outlets)):
                    held = outlets == o
                    train, test = np.flatnonzero(~held), np.flatnonzero(held)
                    params = select(feats, y, outlets, train, layer, GRIDS[kind])
                    chosen[kind][layer].append({"outlet": o, **params})
                    prob[test] = fit_predict(feats, y, train, test, params, layer, proba=True)
                probs[kind][layer] = prob
                preds[kind][layer] = np.array(LAYERS[layer], dtype=object)[prob.argmax(axis=1)]
            print(f"  {kind}: {time.perf_counter() - t0:.0f} s")
    if "tfidf" in kinds and "e5" in kinds:  # late fusion: mean of the two heads' probabilities (nothing tuned)
        kinds.append("tfidf|e5")
        preds["tfidf|e5"], chosen["tfidf|e5"] = {}, {}
        for layer in LAYER_NAMES:
            mean = (probs["tfidf"][layer] + probs["e5"][layer]) / 2
            preds["tfidf|e5"][layer] = np.array(LAYERS[layer], dtype=object)[mean.argmax(axis=1)]
            chosen["tfidf|e5"][layer] = "C of tfidf and e5"

    results: dict = {}
    print(f"\nleave-one-outlet-out, {len(texts)} sentences pooled over {len(set(outlets))} held-out outlets")
    print(
        f"{'model':<10}{'layer':<8}{'macro-F1':>9}  {'95% CI':<16}{'diff vs tfidf':>14}  {'95% CI':<17}"
        f"{'share err':>10}{'idx err':>8}"
    )
    for kind in kinds:
        results[kind] = {}
        for layer in LAYER_NAMES:
            labels = LAYERS[layer]
            y = np.array([r[layer] for r in gold], dtype=object)
            m = layer_metrics(list(y), list(preds[kind][layer]), labels, n_boot=args.n_boot, seed=0)
            row = {
                "macro_f1": m["macro_f1"],
                "macro_f1_ci": m["macro_f1_ci"],
                "accuracy": m["accuracy"],
                "share_error_points": profile_error(y, preds[kind][layer], outlets, layer),
                "chosen": chosen[kind][layer],
            }
            diff_txt = ""
            if kind != "tfidf" and "tfidf" in preds:
                code = {lab: i for i, lab in enumerate(labels)}
                enc = [np.array([code[v] for v in arr]) for arr in (y, preds["tfidf"][layer], preds[kind][layer])]
                _, f1s = bootstrap_scores(enc[0], enc[1:], len(labels), args.n_boot, seed=0)
                row["diff_vs_tfidf"] = m["macro_f1"] - macro_f1(y, preds["tfidf"][layer], labels)
                row["diff_ci"] = percentile_ci(f1s[1] - f1s[0])
                diff_txt = f"{row['diff_vs_tfidf']:>+14.3f}  [{row['diff_ci'][0]:+.3f}, {row['diff_ci'][1]:+.3f}]"
            idx_txt = ""
            if layer == "stance":
                row["stance_index_error"] = stance_index_error(y, preds[kind][layer], outlets)
                idx_txt = f"{row['stance_index_error']:>8.3f}"
            ci = m["macro_f1_ci"]
            print(
                f"{kind:<10}{layer:<8}{m['macro_f1']:>9.3f}  [{ci[0]:.3f}, {ci[1]:.3f}]  {diff_txt:<31}"
                f"{row['share_error_points']:>10.1f}{idx_txt}"
            )
            results[kind][layer] = row
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
