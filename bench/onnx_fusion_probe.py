"""Probe: ONNX Runtime's BERT graph fusions (Attention, SkipLayerNorm, BiasGelu) before int8, on a hybrid.

    python bench/onnx_fusion_probe.py [HYBRID_MODEL_FOLDER] [--sentences 300]

An issue 22.1 lever: the encoder exported to ONNX fp32 (as `warta label --backend onnx` does), fused by
`onnxruntime.transformers.optimizer` (model_type bert), then dynamically quantised (int8, per-channel).
Labels of labelled-corpus sentences against the PyTorch fp32 path of the same model, sentences/s and the
ratio, in one run. Not wired into `warta label`: on 2026-12-06 (quiet 2-core VM) fused fp32 gave 1.13x
(plain ONNX fp32 1.18x) and fused int8 2.38x (agreement 1.000 / 0.997 / 0.997) — no better than the plain
ONNX paths (bench/encoder_speed_results.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO / "runs" / "external-bench-2" / "hybrid-e5-written--fusion-on-dev" / "refit" / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=DEFAULT, help="a hybrid model folder")
    parser.add_argument("--sentences", type=int, default=300)
    args = parser.parse_args()
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    from warta.models import load_model
    from warta.models.onnx_encoder import OnnxEncoder, export_int8

    spec = importlib.util.spec_from_file_location("encoder_speed", REPO / "bench" / "encoder_speed.py")
    encoder_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(encoder_speed)
    texts = encoder_speed.corpus_texts(args.sentences)

    def timed(model) -> tuple[dict, float]:
        model.predict_proba(texts[:16])  # warm-up
        started = time.perf_counter()
        probs = model.predict_proba(texts)
        return probs, len(texts) / (time.perf_counter() - started)

    reference = load_model(args.model, device="cpu")
    reference.embedder.use_cache = False
    exact, base = timed(reference)
    print(f"PyTorch fp32: {base:.1f} sentences/s")
    encoder = reference.embedder._encoder
    work = Path(tempfile.mkdtemp(prefix="warta-fusion-"))
    export_int8(encoder, work / "fp32.onnx", int8=False)
    fused = optimize_model(str(work / "fp32.onnx"), model_type="bert", num_heads=encoder.config.num_attention_heads,
                           hidden_size=encoder.config.hidden_size, opt_level=1)
    fused.save_model_to_file(str(work / "fused.onnx"))
    print("fused operators:", {k: v for k, v in fused.get_fused_operator_statistics().items() if v})
    quantize_dynamic(str(work / "fused.onnx"), str(work / "fused-int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    for name in ("fp32.onnx", "fused.onnx", "fused-int8.onnx"):
        model = load_model(args.model, device="cpu")
        model.embedder.use_cache = False
        model.embedder._load()
        model.embedder._encoder = OnnxEncoder(work / name, encoder.config)
        probs, rate = timed(model)
        agreement = " / ".join(f"{(probs[layer].argmax(1) == exact[layer].argmax(1)).mean():.3f}" for layer in probs)
        print(f"{name}: {rate:.1f} sentences/s, {rate / base:.2f}x PyTorch fp32, agreement {agreement}")


if __name__ == "__main__":
    main()
