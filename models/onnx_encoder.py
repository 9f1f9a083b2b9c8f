"""int8 encoder inference on the CPU through ONNX Runtime (optional: ``pip install "warta[fast]"``).

Measured in bench/encoder_speed.py: ONNX Runtime's dynamic int8 quantisation with per-channel
weight scales keeps e5's sentence vectors at cosine >= 0.99 of fp32 and runs several times faster
than PyTorch fp32 on a busy 2-core CPU, while PyTorch's own dynamic int8 (per-tensor scales)
moves the vectors further (cosine ~0.96) and changed 9-21% of labels (issue 22). So `--quantize`
uses this path when onnxruntime is installed and falls back to PyTorch's otherwise.

`int8_encoder(encoder, key)` exports the Hugging Face encoder once (eager attention, so the
exported graph has no shape-specialised mask code), quantises it, and keeps the file in
``<cache>/onnx/<key>.int8.onnx`` (key: the encoder's fingerprint), so the next run only loads
it. An ONNX file is a protobuf graph: loading it runs no code. `OnnxEncoder` answers like the
encoder (``.last_hidden_state``, ``.config``), so the models' inference code is unchanged.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger("warta.train")
OPSET = 17


def available() -> bool:
    """True when onnxruntime (and onnx, for quantisation) can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    """Where exported encoders are kept: beside the embedding cache (warta.models.embeddings)."""
    from warta.models.cache import default_cache_dir

    return default_cache_dir().parent / "onnx"


class _LastHiddenState(nn.Module):
    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export_int8(encoder: nn.Module, target: Path, int8: bool = True) -> Path:
    """Write `encoder` (a Hugging Face encoder) as a dynamically int8-quantised ONNX graph at `target`
    (`int8` False: the fp32 graph, the same numbers as PyTorch to ~1e-6)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    module = copy.deepcopy(encoder).cpu().eval()
    if hasattr(module, "set_attn_implementation"):
        module.set_attn_implementation("eager")  # plain matmuls: no traced, shape-specialised SDPA mask
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="warta-onnx-", dir=target.parent) as scratch:
        plain = Path(scratch) / "fp32.onnx"
        example = (torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8, dtype=torch.long))
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(_LastHiddenState(module), example, str(plain), input_names=["input_ids", "attention_mask"],
                              output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes})
        quantised = Path(scratch) / "int8.onnx"
        if int8:  # per-channel weight scales: what keeps the vectors (and labels) close to fp32
            quantize_dynamic(str(plain), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(quantised if int8 else plain, target)  # atomic: a concurrent run never reads half a file
    return target


class OnnxEncoder(nn.Module):
    """An ONNX Runtime session standing in for a Hugging Face encoder at inference (CPU)."""

    def __init__(self, path: Path, config: Any, threads: int | None = None):
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config = config
        self.path = Path(path)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.session.run(None, {"input_ids": input_ids.cpu().numpy().astype(np.int64),
                                         "attention_mask": attention_mask.cpu().numpy().astype(np.int64)})[0]
        return SimpleNamespace(last_hidden_state=torch.from_numpy(hidden))

    def get_input_embeddings(self) -> None:  # nothing to train or freeze here
        return None


def int8_encoder(encoder: nn.Module, key: str | None, int8: bool = True) -> OnnxEncoder:
    """An ONNX Runtime stand-in for `encoder` (int8, or fp32 with `int8` False); exported once per `key`
    (None: not cached)."""
    suffix = "int8" if int8 else "fp32"
    if key is None:
        scratch = Path(tempfile.mkdtemp(prefix="warta-onnx-"))
        return OnnxEncoder(export_int8(encoder, scratch / f"encoder.{suffix}.onnx", int8), encoder.config)
    target = cache_dir() / f"{key[:32]}.{suffix}.onnx"
    if not target.is_file():
        log.info("exporting the encoder to ONNX %s (once per encoder): %s", suffix, target)
        export_int8(encoder, target, int8)
    return OnnxEncoder(target, encoder.config)
