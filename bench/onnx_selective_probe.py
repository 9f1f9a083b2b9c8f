"""Probe: which of the encoder's matrix products can run in int8 without changing labels on unseen text?

    python bench/onnx_selective_probe.py MODEL_FOLDER [MODEL_FOLDER ...] [--sentences 300]

An issue 22.1 lever: ONNX Runtime's dynamic int8 quantisation (per-channel weight scales, as
`--backend onnx-int8`) applied to a subset of the encoder's MatMuls, the rest left in fp32, beside
`--backend torch-bf16`. For each model (a hybrid or a fine-tuned transformer folder), one run:
sentences/s on --sentences labelled-corpus sentences and the ratio to PyTorch fp32, then label
agreement with fp32 on those sentences and -- the figure that decides -- on the external dev set
(text no model trained on; the corpus sentences were trained on and sit far from the decision
boundaries), with its macro-F1. Without the external set it says so in one line and reports the rest.
Variants (declared before any was measured):
  weights only            every weight MatMul in int8; the attention score products (activation x
                          activation) and the embedding Gathers stay fp32
  ffn-out fp32            as above, the feed-forward output projections (GELU outliers) in fp32
  qkv only                only the query/key/value projections in int8
Results go to bench/onnx_selective_probe_results.md (--out).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import external_dev  # bench/ (the script's folder) is on sys.path

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("type", "stance", "frame")


def variants(matmuls: list[str]) -> dict[str, list[str]]:
    """Variant name -> the MatMul nodes kept in fp32."""
    attention = [n for n in matmuls if n.endswith(("/self/MatMul", "/self/MatMul_1"))]
    ffn_out = [n for n in matmuls if "/output/dense/" in n and "/attention/" not in n]
    dense = [n for n in matmuls if "/dense/" in n]
    return {"weights only": attention, "ffn-out fp32": attention + ffn_out, "qkv only": attention + dense}


def encoder_of(model):
    return model.embedder._encoder if hasattr(model, "embedder") else model.model.encoder


def with_encoder(folder: Path, encoder=None, bf16: bool = False):
    """The model at `folder` on the CPU, uncached, its encoder replaced by `encoder` (an OnnxEncoder) or bf16."""
    from warta.models import load_model
    from warta.models.encoder import MultiHeadEncoder

    model = load_model(folder, device="cpu")
    if hasattr(model, "embedder"):
        model.embedder.use_cache = False  # every sentence through the encoder: the cost being measured
    if bf16:
        return model.quantize_int8(backend="torch-bf16")
    if encoder is None:
        return model
    if hasattr(model, "embedder"):
        model.embedder._load()
        model.embedder._encoder = encoder
    else:
        module = model.model
        heads = {name: head.out_features for name, head in zip(module.layer_names, module.heads, strict=True)}
        swapped = MultiHeadEncoder(encoder, heads, module.pooling, 0.0)
        swapped.heads.load_state_dict(module.heads.state_dict())
        model._inference_module = swapped.eval()
    return model


def path_row(model, texts: list[str], gold) -> dict:
    """One encoder path of a model: sentences/s on `texts`, its argmax labels there and, with the external set,
    on it, with its external macro-F1 per layer."""
    model.predict_proba(texts[:16])  # warm-up (first export or compilation for these shapes)
    started = time.perf_counter()
    probs = model.predict_proba(texts)
    row = {"rate": len(texts) / (time.perf_counter() - started),
           "corpus": {layer: probs[layer].argmax(1) for layer in LAYERS}}
    if gold is not None:
        sentences, labels = gold
        external = model.predict_proba([g["text"] for g in sentences])
        row["external"] = {layer: external[layer].argmax(1) for layer in LAYERS}
        scored = external_dev.score(sentences, external, labels)
        row["f1"] = {layer: scored[layer]["macro_f1"] for layer in LAYERS}
    return row


def against_first(rows: list[dict], folder: Path) -> list[dict]:
    """Each row's ratio to the first (PyTorch fp32) and its label agreement with it; printed as it goes."""
    import numpy as np

    base = rows[0]
    for row in rows:
        row["ratio"] = row["rate"] / base["rate"]
        for part in ("corpus", "external"):
            if part in row:
                row[f"{part}_agreement"] = {layer: float(np.mean(row[part][layer] == base[part][layer]))
                                            for layer in LAYERS}
        print(f"{folder}: {row['variant']}: {row['rate']:.1f} sentences/s, {row['ratio']:.2f}x", flush=True)
    return rows


def measure(folder: Path, texts: list[str], gold) -> list[dict]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from warta.models.onnx_encoder import OnnxEncoder, export_int8

    reference = with_encoder(folder)
    rows = [{"variant": "fp32", **path_row(reference, texts, gold)}]
    work = Path(tempfile.mkdtemp(prefix="warta-selective-"))
    plain = export_int8(encoder_of(reference), work / "fp32.onnx", int8=False)
    matmuls = [n.name for n in onnx.load(str(plain)).graph.node if n.op_type == "MatMul"]
    rows.append({"variant": "torch bf16", **path_row(with_encoder(folder, bf16=True), texts, gold)})
    for name, keep in variants(matmuls).items():
        target = work / f"{name.replace(' ', '-')}.onnx"
        quantize_dynamic(str(plain), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=keep)
        row = path_row(with_encoder(folder, OnnxEncoder(target, encoder_of(reference).config)), texts, gold)
        rows.append({"variant": f"onnx int8, {name} ({len(matmuls) - len(keep)} of {len(matmuls)} MatMuls)", **row})
    return against_first(rows, folder)


def render(results: dict[str, list[dict]], n: int, external: int | None, load: str, title: str) -> str:
    def triple(row: dict, key: str, fmt: str = ".3f") -> str:
        return " / ".join(format(row[key][layer], fmt) for layer in LAYERS) if key in row else "—"

    lines = [f"# {title}", "",
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average before the run "
             f"{load}; {n} labelled-corpus sentences for the rate; agreement with PyTorch fp32 on them and on the "
             + (f"{external} external dev sentences (unseen text)." if external else
                "external dev set (absent here: corpus agreement only)."), "",
             "| model | path | sentences/s | × fp32 | agreement, corpus (t / s / f) | agreement, external dev "
             "(t / s / f) | external macro-F1 (t / s / f) |", "|---|---|---:|---:|---|---|---|"]
    for model, rows in results.items():
        for row in rows:
            lines.append(f"| {model} | {row['variant']} | {row['rate']:.1f} | {row['ratio']:.2f} | "
                         f"{triple(row, 'corpus_agreement')} | {triple(row, 'external_agreement')} | "
                         f"{triple(row, 'f1')} |")
    return "\n".join(lines) + "\n"


def run_probe(description: str, default_out: Path, measure_model, title: str, ready=None) -> None:
    """The command line shared by the encoder-path probes: model folders in, a results table out.

    `measure_model(folder, texts, gold)` gives a model's rows; `ready()` (optional) returns why nothing can be
    measured here (one line), or None."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("models", nargs="+", type=Path, help="hybrid or transformer model folders")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--extdev", type=Path, default=external_dev.DEFAULT)
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    problem = ready() if ready else None
    if problem:
        print(problem)
        return
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    spec = importlib.util.spec_from_file_location("encoder_speed", REPO / "bench" / "encoder_speed.py")
    encoder_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(encoder_speed)
    texts = encoder_speed.corpus_texts(args.sentences)
    path = args.extdev / "gold.jsonl"
    gold = external_dev.load(args.extdev) if path.is_file() else None
    if gold is None:
        print(f"external dev set not found ({path}): agreement on corpus sentences only")
    results = {str(folder): measure_model(folder, texts, gold) for folder in args.models}
    report = render(results, len(texts), len(gold[0]) if gold else None, load, title)
    args.out.write_text(report, encoding="utf-8")
    print(report)


def main() -> None:
    run_probe(__doc__.splitlines()[0], REPO / "bench" / "onnx_selective_probe_results.md", measure,
              "Selective int8: which matrix products keep the labels (`bench/onnx_selective_probe.py`)")


if __name__ == "__main__":
    main()
