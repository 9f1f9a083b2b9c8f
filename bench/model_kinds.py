"""Training time and `warta label` throughput on the CPU for each model kind, ratio to TF-IDF, in one run.

    python bench/model_kinds.py --encoder encoders/e5-small [--kinds tfidf,hybrid,transformer] [--threads 2]

Same input for every kind: training = `warta train`'s library on the bundled seeds' train split
(C / epochs selected on dev as the configs say); labelling = `warta label` on --copies copies
of the five seed articles (in-process preparation, --device cpu), each copy's sentences made
distinct by a number (the hybrid embeds each distinct text of a buffer once, so plain copies
would flatter it), each kind with an empty embedding cache so the hybrid pays its encoder
pass. Libraries are imported before any timing. Kinds:
- tfidf: configs/tfidf.yaml;
- hybrid: configs/hybrid-e5.yaml, trained twice: cold (empty embedding cache: encoder load +
  one pass over the labelled sentences) and warm (cache hit: re-training as in CV/seeds);
- transformer: configs/e5-small.yaml (frozen embeddings, "query: " prefix) trained for
  --steps optimizer steps only (the time per step is what matters on a CPU; a full run is
  epochs x steps/epoch of it); labelling throughput does not depend on how long it trained.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def train_run(config_path: Path, overrides: list[str], out: Path) -> tuple[float, Path]:
    from warta.config import load_config
    from warta.train.run import train

    config = load_config(config_path, overrides)
    started = time.perf_counter()
    result = train(config, out=out, progress=False, n_boot=0)
    return time.perf_counter() - started, result.run_dir


def write_input(path: Path, copies: int) -> Path:
    """`copies` x the seed articles as JSON Lines; copy i puts "i " before every sentence."""
    import json
    import re

    from warta.text.corpus import iter_seed_articles

    articles = list(iter_seed_articles(REPO / "seeds"))
    with path.open("w", encoding="utf-8") as out:
        for i in range(copies):
            for n, article in enumerate(articles):
                text = f"{i} " + re.sub(r"([.!?])(\s+)", rf"\g<1>\g<2>{i} ", article.text)
                out.write(json.dumps({"id": f"c{i}-{n}", "text": text, "outlet": article.outlet}, ensure_ascii=False)
                          + "\n")
    return path


def label_run(run_dir: Path, source: Path, out: Path) -> tuple[float, int]:
    from warta.labelling.engine import label_articles

    started = time.perf_counter()
    summary = label_articles(run_dir, [source], out, workers=0, device="cpu", progress=False)
    return time.perf_counter() - started, summary.predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="encoders/e5-small")
    parser.add_argument("--kinds", default="tfidf,hybrid,transformer")
    parser.add_argument("--steps", type=int, default=6, help="transformer optimizer steps (batch 16)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--copies", type=int, default=20, help="copies of the 5 seed articles to label")
    args = parser.parse_args()
    import sklearn.linear_model  # noqa: F401  (imports before any timing)
    import torch
    import transformers  # noqa: F401

    import warta.labelling.engine  # noqa: F401
    import warta.train.run  # noqa: F401

    if args.threads:
        torch.set_num_threads(args.threads)
    encoder = str(Path(args.encoder).resolve())
    rows: list[tuple[str, float, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="warta-bench-kinds-") as tmp:
        tmp = Path(tmp)
        source = write_input(tmp / "input.jsonl", args.copies)
        for kind in args.kinds.split(","):
            os.environ["WARTA_CACHE_DIR"] = str(tmp / f"cache-{kind}")  # empty cache per kind
            if kind == "tfidf":
                seconds, run = train_run(REPO / "configs" / "tfidf.yaml", [], tmp / "tfidf")
                rows.append(("tfidf", seconds, *label_run(run, source, tmp / "tfidf.jsonl")))
            elif kind == "hybrid":
                cold, run = train_run(REPO / "configs" / "hybrid-e5.yaml", [f"model.encoder={encoder}"], tmp / "h1")
                warm, run = train_run(REPO / "configs" / "hybrid-e5.yaml", [f"model.encoder={encoder}"], tmp / "h2")
                os.environ["WARTA_CACHE_DIR"] = str(tmp / "cache-hybrid-label")  # labelling pays the encoder
                labelled = label_run(run, source, tmp / "hybrid.jsonl")
                rows.append(("hybrid (cold cache)", cold, *labelled))
                rows.append(("hybrid (warm cache)", warm, *labelled))
            elif kind == "transformer":
                seconds, run = train_run(REPO / "configs" / "e5-small.yaml", [
                    f"model.name_or_path={encoder}", f"train.max_steps={args.steps}", "train.batch_size=16",
                    "train.early_stopping_patience=100"], tmp / "t")
                rows.append((f"transformer e5 ({args.steps} steps)", seconds, *label_run(run, source, tmp / "t.jsonl")))
            else:
                raise SystemExit(f"unknown kind {kind!r}")
            print(f"  done: {rows[-1][0]}", flush=True)
    base_train, base_label = rows[0][1], rows[0][3] / rows[0][2]
    print(f"\ntorch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'kind':<28}{'train s':>9}{'x tfidf':>9}{'label sent/s':>14}{'x tfidf':>9}{'sentences':>11}")
    for name, train_s, label_s, n in rows:
        rate = n / label_s
        print(f"{name:<28}{train_s:>9.1f}{train_s / base_train:>9.1f}{rate:>14.1f}{rate / base_label:>9.3f}{n:>11}")


if __name__ == "__main__":
    main()
