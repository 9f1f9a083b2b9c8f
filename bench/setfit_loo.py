"""SetFit vs the frozen-e5 + logistic head, leave-one-outlet-out on the seeds (pip install -e .[setfit]).

    python bench/setfit_loo.py --seeds 1 --out bench/setfit_loo_results.md

The folds are warta's own (`warta.train.folds.outlet_plan` on the bundled seeds with plan seed 0,
as `warta train CONFIG --cv outlet` with `seed: 0`): each fold holds out every sentence of one
outlet. Both models are fitted on the fold's `fit` ids only -- the same sentences a warta fold
model is fitted on; the fold's dev ids are left unused (nothing here is tuned) and the held-out
outlet is only predicted. No written supplement.

Per seed, fold and layer:
- frozen: the e5 body as is (mean pooling over "query: " + text), a LogisticRegression head
  (class_weight="balanced") -- SetFit's head without the contrastive step;
- setfit: SetFit's contrastive fine-tuning of the same body (CosineSimilarityLoss on sampled
  pairs) then the same head, one fresh copy of the body per (fold, layer).

Scores: pooled out-of-fold macro-F1 per layer with a 95% sentence-bootstrap CI
(`warta.metrics.layer_metrics`), and the mean |stance-index error| over held-out outlets
(`warta.train.profile_error.outlet_profile_error`). Torch and BLAS run on one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from warta.metrics import layer_metrics  # noqa: E402
from warta.schema import LAYERS  # noqa: E402
from warta.train.data import load_data  # noqa: E402
from warta.train.folds import outlet_plan  # noqa: E402
from warta.train.profile_error import outlet_profile_error  # noqa: E402

PREFIX = "query: "
MODELS = ("frozen", "setfit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--encoder", default="encoders/e5-small", help="local encoder folder (BertModel + tokenizer)")
    p.add_argument("--layers", default="type,stance,frame")
    p.add_argument("--seeds", type=int, default=1, help="number of training seeds")
    p.add_argument("--seed-start", type=int, default=0, help="first training seed (seeds: start .. start+N-1)")
    p.add_argument("--plan-seed", type=int, default=0, help="fold-plan seed (warta config seed; 0 = the configs')")
    p.add_argument("--folds", type=int, default=None, help="only the first N folds (smoke runs)")
    p.add_argument("--num-iterations", type=int, default=5, help="SetFit pairs per sentence (x2: pos + neg)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=96)
    p.add_argument("--body-lr", type=float, default=2e-5)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out", type=Path, default=None, help="markdown results file")
    p.add_argument("--json", type=Path, default=None, help="raw figures as JSON")
    return p.parse_args(argv)


def build_body(path: str, max_length: int):
    """SentenceTransformer from a plain local BertModel folder: transformer + mean pooling."""
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(path, max_seq_length=max_length)
    pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[word, pool], device="cpu")


def head():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(class_weight="balanced", max_iter=2000)


def fit_setfit(body, texts: list[str], labels: list[str], args: argparse.Namespace, seed: int):
    """SetFit on a fresh copy of `body`; returns the fitted SetFitModel."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    model = SetFitModel(model_body=copy.deepcopy(body), model_head=head())
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArguments(
            output_dir=tmp, batch_size=args.batch_size, num_epochs=args.epochs, num_iterations=args.num_iterations,
            body_learning_rate=args.body_lr, max_length=args.max_length, seed=seed, show_progress_bar=False,
            report_to="none", save_strategy="no", logging_strategy="no",
        )
        trainer = Trainer(model=model, args=targs, train_dataset=Dataset.from_dict({"text": texts, "label": labels}))
        trainer.train()
    return model


def run_seed(seed: int, args, data, plan, body, frozen_emb: dict[str, np.ndarray], layers) -> dict:
    by_id = data.by_id()
    preds = {m: {} for m in MODELS}  # model -> id -> {layer: label}
    folds = []
    for number, fold in enumerate(plan, start=1):
        started = time.perf_counter()
        fit = [by_id[i] for i in fold.fit]
        texts = [PREFIX + r["text"] for r in fit]
        held_texts = [PREFIX + by_id[i]["text"] for i in fold.held]
        X_fit = np.stack([frozen_emb[i] for i in fold.fit])
        X_held = np.stack([frozen_emb[i] for i in fold.held])
        layer_s = {}
        for layer in layers:
            y = [r[layer] for r in fit]
            clf = head().fit(X_fit, y)
            for i, label in zip(fold.held, clf.predict(X_held)):
                preds["frozen"].setdefault(i, {})[layer] = str(label)
            t0 = time.perf_counter()
            torch.manual_seed(seed)
            model = fit_setfit(body, texts, y, args, seed)
            for i, label in zip(fold.held, model.predict(held_texts, as_numpy=True)):
                preds["setfit"].setdefault(i, {})[layer] = str(label)
            layer_s[layer] = round(time.perf_counter() - t0, 1)
            print(f"  seed {seed} fold {number}/{len(plan)} {fold.name} {layer}: setfit {layer_s[layer]:.0f}s", flush=True)
            del model
        wall = round(time.perf_counter() - started, 1)
        folds.append({"fold": fold.name, "n_fit": len(fold.fit), "n_held": len(fold.held), "wall_s": wall,
                      "setfit_s": layer_s})
        print(f"seed {seed} fold {fold.name}: fit {len(fold.fit)}, held {len(fold.held)}, {wall:.0f}s", flush=True)
    held_ids = [i for fold in plan for i in fold.held]
    gold = [by_id[i] for i in held_ids]
    scores = {}
    for m in MODELS:
        scores[m] = {}
        for layer in layers:
            g = [by_id[i][layer] for i in held_ids]
            p = [preds[m][i][layer] for i in held_ids]
            r = layer_metrics(g, p, LAYERS[layer], n_boot=args.n_boot, seed=seed, ids=held_ids)
            scores[m][layer] = {"macro_f1": r["macro_f1"], "ci": r["macro_f1_ci"], "accuracy": r["accuracy"]}
        if "stance" in layers:
            records = [{"id": i, "stance": preds[m][i]["stance"]} for i in held_ids]
            err = outlet_profile_error(gold, records, ["stance"], seed=seed, n_boot=0)
            scores[m]["stance_index_abs_error"] = err["mean_over_outlets"]["stance_index_abs_error"]
            scores[m]["stance_index_error_by_outlet"] = {
                o: row["stance_index"]["error"] for o, row in err["outlets"].items() if o != "ALL"}
    return {"seed": seed, "folds": folds, "wall_s": round(sum(f["wall_s"] for f in folds), 1), "scores": scores}


def render(args, runs: list[dict], layers, plan, setup_s: float, load: str) -> str:
    cmd = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    lines = [
        "# SetFit vs frozen e5 + logistic head, leave-one-outlet-out on the seeds", "",
        "    " + cmd, "",
        f"Machine: {platform.machine()}, 2 CPU cores shared with other jobs, torch/BLAS on 1 thread; "
        f"load average at the end {load}. torch {torch.__version__}; encoder `{args.encoder}`.",
        f"Folds: `warta.train.folds.outlet_plan` (plan seed {args.plan_seed}): "
        + ", ".join(f"{f.name} (held {len(f.held)}, fit {len(f.fit)})" for f in plan)
        + ". Fitted on the fold's fit ids only; dev unused; no written supplement.",
        f"SetFit budget: num_iterations {args.num_iterations} (pairs = 2 x {args.num_iterations} x n_fit), "
        f"{args.epochs} epoch, batch {args.batch_size}, max_length {args.max_length}, body lr {args.body_lr}, "
        "CosineSimilarityLoss, all body weights trained; head LogisticRegression(class_weight='balanced', C=1) "
        "on un-normalised mean-pooled embeddings (SetFit's default); frozen = the same head on the untouched body.",
        f"Training seeds: {', '.join(str(r['seed']) for r in runs)}; bootstrap {args.n_boot} sentence resamples, "
        f"seed = training seed. Setup (load encoder, embed once for the frozen head): {setup_s:.0f}s.", "",
        "| model | seed | " + " | ".join(f"{layer} macro-F1 [95% CI]" for layer in layers)
        + (" | stance-idx err" if "stance" in layers else "") + " |",
        "| --- | --- | " + " | ".join("---" for _ in layers) + (" | ---" if "stance" in layers else "") + " |",
    ]
    for m in MODELS:
        for r in runs:
            s = r["scores"][m]
            cells = [f"{s[layer]['macro_f1']:.3f} [{s[layer]['ci'][0]:.3f}, {s[layer]['ci'][1]:.3f}]" for layer in layers]
            if "stance" in layers:
                cells.append(f"{s['stance_index_abs_error']:.3f}")
            lines.append(f"| {m} | {r['seed']} | " + " | ".join(cells) + " |")
        if len(runs) > 1:
            cells = []
            for layer in layers:
                v = np.array([r["scores"][m][layer]["macro_f1"] for r in runs])
                cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}")
            if "stance" in layers:
                v = np.array([r["scores"][m]["stance_index_abs_error"] for r in runs])
                cells.append(f"{v.mean():.3f} ± {v.std(ddof=1):.3f}")
            lines.append(f"| {m} | mean ± sd | " + " | ".join(cells) + " |")
    lines += ["", "Wall time per fold (s; frozen head + SetFit for every layer; SetFit per layer in brackets):", ""]
    for r in runs:
        per = "; ".join(f"{f['fold']} {f['wall_s']:.0f} ({', '.join(f'{k} {v:.0f}' for k, v in f['setfit_s'].items())})"
                        for f in r["folds"])
        lines.append(f"- seed {r['seed']}: {per}; total {r['wall_s']:.0f}s ({r['wall_s'] / 60:.1f} min)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    layers = [layer.strip() for layer in args.layers.split(",") if layer.strip()]
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise SystemExit(f"--layers: unknown layer {unknown[0]!r} (known: {', '.join(LAYERS)})")
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    started = time.perf_counter()
    data = load_data()
    plan, _ = outlet_plan(data, args.plan_seed)
    plan = plan[: args.folds] if args.folds else plan
    print(f"{len(data.records)} labelled sentences; folds: "
          + ", ".join(f"{f.name} (fit {len(f.fit)}, dev {len(f.dev)}, held {len(f.held)})" for f in plan), flush=True)
    print(f"SetFit budget: num_iterations {args.num_iterations}, epochs {args.epochs}, batch {args.batch_size}, "
          f"max_length {args.max_length}, body lr {args.body_lr}; torch threads {torch.get_num_threads()}", flush=True)
    body = build_body(args.encoder, args.max_length)
    by_id = data.by_id()
    ids = [i for fold in plan for i in fold.held] + [i for fold in plan for i in fold.fit]
    ids = list(dict.fromkeys(ids))
    vectors = body.encode([PREFIX + by_id[i]["text"] for i in ids], batch_size=32, convert_to_numpy=True)
    frozen_emb = dict(zip(ids, vectors))
    setup_s = time.perf_counter() - started
    print(f"setup {setup_s:.0f}s", flush=True)
    runs = []
    for seed in range(args.seed_start, args.seed_start + args.seeds):
        runs.append(run_seed(seed, args, data, plan, body, frozen_emb, layers))
        for m in MODELS:
            s = runs[-1]["scores"][m]
            print(f"seed {seed} {m}: " + ", ".join(
                f"{layer} {s[layer]['macro_f1']:.3f} [{s[layer]['ci'][0]:.3f}, {s[layer]['ci'][1]:.3f}]"
                for layer in layers)
                + (f"; stance-idx err {s['stance_index_abs_error']:.3f}" if "stance" in layers else ""), flush=True)
        print(f"seed {seed} total {runs[-1]['wall_s']:.0f}s", flush=True)
        # written after every seed, so a run stopped early keeps the seeds it finished
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        text = render(args, runs, layers, plan, setup_s, load)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        if args.json:
            args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
