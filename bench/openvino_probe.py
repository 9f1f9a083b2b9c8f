"""Probe: OpenVINO (fp32 and bf16) as the encoder's runtime, against PyTorch fp32, in one run (issue 22.1).

    pip install openvino && python bench/openvino_probe.py MODEL_FOLDER [MODEL_FOLDER ...] [--sentences 300]

The encoder exported to ONNX fp32 as `--backend onnx` does, compiled by OpenVINO for the CPU with inference
precision f32 and bf16 (its graph fusions; bf16 on CPUs with avx512_bf16 or AMX), standing in for the encoder of
a hybrid or fine-tuned transformer folder. Reports sentences/s on --sentences labelled-corpus sentences, the
ratio to PyTorch fp32, label agreement with fp32 on those sentences and on the external dev set (unseen text),
and the external macro-F1 (the same columns as bench/onnx_selective_probe.py). Not a warta dependency: without
openvino installed it says so in one line. Results go to bench/openvino_probe_results.md (--out).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import external_dev  # bench/ (the script's folder) is on sys.path
import onnx_selective_probe as probe

REPO = Path(__file__).resolve().parent.parent


def openvino_encoder(path: Path, config, precision: str):
    """An OpenVINO CPU stand-in for a Hugging Face encoder (``.last_hidden_state``, ``.config``)."""
    import numpy as np
    import openvino
    import torch

    class OpenVinoEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            core = openvino.Core()
            self.compiled = core.compile_model(core.read_model(str(path)), "CPU", {
                "INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": torch.get_num_threads(),
                "PERFORMANCE_HINT": "LATENCY"})
            self.request = self.compiled.create_infer_request()
            self.config = config

        def forward(self, input_ids, attention_mask=None, **_):
            mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
            out = self.request.infer({"input_ids": input_ids.numpy().astype(np.int64),
                                      "attention_mask": mask.numpy().astype(np.int64)})
            return SimpleNamespace(last_hidden_state=torch.from_numpy(np.array(out[self.compiled.output(0)])))

        def get_input_embeddings(self):
            return None

    return OpenVinoEncoder()


def measure(folder: Path, texts: list[str], gold) -> list[dict]:
    import numpy as np

    from warta.models.onnx_encoder import export_int8

    def run(model) -> dict:
        model.predict_proba(texts[:16])  # warm-up (and OpenVINO's first compilation for these shapes)
        started = time.perf_counter()
        probs = model.predict_proba(texts)
        row = {"rate": len(texts) / (time.perf_counter() - started),
               "corpus": {layer: probs[layer].argmax(1) for layer in probe.LAYERS}}
        if gold is not None:
            sentences, labels = gold
            external = model.predict_proba([g["text"] for g in sentences])
            row["external"] = {layer: external[layer].argmax(1) for layer in probe.LAYERS}
            scored = external_dev.score(sentences, external, labels)
            row["f1"] = {layer: scored[layer]["macro_f1"] for layer in probe.LAYERS}
        return row

    reference = probe.with_encoder(folder)
    rows = [{"variant": "PyTorch fp32", **run(reference)}]
    encoder = probe.encoder_of(reference)
    plain = export_int8(encoder, Path(tempfile.mkdtemp(prefix="warta-openvino-")) / "fp32.onnx", int8=False)
    for precision in ("f32", "bf16"):
        model = probe.with_encoder(folder, openvino_encoder(plain, encoder.config, precision))
        rows.append({"variant": f"OpenVINO {precision}", **run(model)})
    base = rows[0]
    for row in rows:
        row["ratio"] = row["rate"] / base["rate"]
        for part in ("corpus", "external"):
            if part in row:
                row[f"{part}_agreement"] = {layer: float(np.mean(row[part][layer] == base[part][layer]))
                                            for layer in probe.LAYERS}
        print(f"{folder}: {row['variant']}: {row['rate']:.1f} sentences/s, {row['ratio']:.2f}x", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="hybrid or transformer model folders")
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--extdev", type=Path, default=external_dev.DEFAULT)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "openvino_probe_results.md")
    args = parser.parse_args()
    if importlib.util.find_spec("openvino") is None:
        print("openvino is not installed (pip install openvino): nothing measured")
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
    results = {str(folder): measure(folder, texts, gold) for folder in args.models}
    report = probe.render(results, len(texts), len(gold[0]) if gold else None, load)
    report = report.replace("# Selective int8: which matrix products keep the labels (`bench/onnx_selective_probe.py`)",
                            "# OpenVINO as the encoder's runtime (`bench/openvino_probe.py`)")
    args.out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
