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

import importlib.util
import tempfile
from pathlib import Path
from types import SimpleNamespace

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
    from warta.models.onnx_encoder import export_int8

    reference = probe.with_encoder(folder)
    rows = [{"variant": "PyTorch fp32", **probe.path_row(reference, texts, gold)}]
    encoder = probe.encoder_of(reference)
    plain = export_int8(encoder, Path(tempfile.mkdtemp(prefix="warta-openvino-")) / "fp32.onnx", int8=False)
    for precision in ("f32", "bf16"):
        model = probe.with_encoder(folder, openvino_encoder(plain, encoder.config, precision))
        rows.append({"variant": f"OpenVINO {precision}", **probe.path_row(model, texts, gold)})
    return probe.against_first(rows, folder)


def main() -> None:
    def ready() -> str | None:
        if importlib.util.find_spec("openvino") is None:
            return "openvino is not installed (pip install openvino): nothing measured"
        return None

    probe.run_probe(__doc__.splitlines()[0], REPO / "bench" / "openvino_probe_results.md", measure,
                    "OpenVINO as the encoder's runtime (`bench/openvino_probe.py`)", ready)


if __name__ == "__main__":
    main()
