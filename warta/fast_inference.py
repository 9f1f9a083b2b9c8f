"""Labellers: a loaded model wrapped for batch labelling, with the fast paths for each kind.

A labeller turns a list of sentence texts into, per sentence, the
probabilities of every layer (layer after layer, rounded to
PROB_DECIMALS) and the index of the winning label per layer.

- TF-IDF: one `predict_proba` call per buffer (the vectorizer works on a
  whole batch with numpy; there is nothing to pad).
- Transformer: texts are tokenized once per buffer, sorted by token length,
  cut into batches padded only to their own longest sentence (dynamic
  padding), and run through the model's shared encoder once for all layers.
  On CPU, `quantize=True` swaps the encoder's Linear layers for int8
  dynamically quantized ones (torch.ao.quantization.quantize_dynamic) on a
  copy of the model's public `.model`; the model id records it ("+int8").
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError, WartaError
from warta.records import PROB_DECIMALS
from warta.schema import LAYER_NAMES

DEFAULT_TFIDF_BUFFER = 8192
DEFAULT_TRANSFORMER_BUFFER = 2048
DEFAULT_CPU_BATCH = 32
DEFAULT_GPU_BATCH = 256


def resolve_model_folder(path: Path) -> tuple[Path, str]:
    """(model folder, run name) for a run folder (RUN/model/model.json) or a model folder."""
    if (path / "model" / "model.json").is_file():
        return path / "model", path.resolve().name
    if (path / "model.json").is_file():
        folder = path.resolve()
        return path, folder.parent.name if folder.name == "model" else folder.name
    if not path.exists():
        raise InputError(f"{path}: run folder not found")
    raise InputError(f"{path}: not a run folder from `warta train` (no model/model.json)")


def resolve_device(device: str) -> str:
    """'auto' is CUDA where available; asking for CUDA without it is a user error."""
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise WartaError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return "cuda" if available else "cpu"


def _load_model(folder: Path, device: str):
    from warta.models import load_model
    from warta.models.base import read_model_card

    if read_model_card(folder).get("kind") == "transformer":
        return load_model(folder, device=device)
    return load_model(folder)


def _probability_rows(probs: dict[str, np.ndarray], layers: Sequence[str]) -> tuple[list, list]:
    """(rounded probabilities per sentence, all layers concatenated; winning label index per layer)."""
    matrices = [np.asarray(probs[layer], dtype=np.float64) for layer in layers]
    winners = np.column_stack([m.argmax(axis=1) for m in matrices]).tolist()
    rows = np.round(np.hstack(matrices), PROB_DECIMALS).tolist()
    return rows, winners


class Labeller:
    """Any model following models/base.py: `predict_proba` over texts.

    `in_preparation`: the model scores each sentence on its own (TF-IDF), so
    it can label each preparation batch right where the batch was prepared.
    """

    in_preparation = True

    def __init__(self, model: Any, model_id: str, device: str = "cpu", batch_size: int | None = None):
        self.model = model
        self.kind = getattr(model, "kind", "model")
        self.model_id = model_id
        self.device = device
        self.labels = {layer: list(model.labels[layer]) for layer in LAYER_NAMES if layer in model.labels}
        self.layers = list(self.labels)
        self.batch_size = batch_size
        self.buffer_sentences = DEFAULT_TFIDF_BUFFER

    def probabilities(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self.batch_size:
            return self.model.predict_proba(texts, batch_size=self.batch_size)
        return self.model.predict_proba(texts)

    def label(self, texts: list[str]) -> tuple[list, list]:
        return _probability_rows(self.probabilities(texts), self.layers)


def load_labeller(
    model: str | Path | Any,
    device: str = "auto",
    batch_size: int | None = None,
    quantize: bool = False,
    model_id: str | None = None,
) -> Labeller:
    """A labeller for a run folder, a model folder, or an already loaded model.

    `device` applies to transformer models; TF-IDF models run on the CPU
    (and torch is not even imported for them).
    """
    from warta.models.base import read_model_card

    if batch_size is not None and batch_size < 1:
        raise WartaError(f"--batch-size {batch_size}: must be at least 1")
    if device not in ("auto", "cpu", "cuda"):
        raise WartaError(f"--device {device}: expected auto, cpu or cuda")
    if isinstance(model, (str, Path)):
        folder, run_name = resolve_model_folder(Path(model))
        kind = read_model_card(folder).get("kind")
    else:
        folder, run_name, kind = None, None, getattr(model, "kind", None) or type(model).__name__
    resolved = resolve_device(device) if kind == "transformer" else "cpu"
    if quantize and (kind != "transformer" or resolved != "cpu"):
        raise WartaError("--quantize applies to a transformer model on CPU only")
    loaded = _load_model(folder, resolved) if folder is not None else model
    ident = model_id or f"{run_name or 'model'}/{kind}" + ("+int8" if quantize else "")
    if kind == "transformer":
        return TransformerLabeller(loaded, ident, resolved, batch_size, quantize)
    return Labeller(loaded, ident, resolved, batch_size)


class TransformerLabeller(Labeller):
    """Length-sorted, dynamically padded batches through the shared encoder (see module docstring).

    Uses the classifier's public parts only: `encode` (tokenization with its
    lowercasing and truncation), `tokenizer.pad_token_id`, and `.model` (the
    multi-head module: logits of all layers concatenated, `offsets` per layer).
    """

    # Batches across articles (padding, GPU utilisation) matter here: label buffers in the main process.
    in_preparation = False

    def __init__(self, classifier: Any, model_id: str, device: str, batch_size: int | None, quantize: bool):
        import torch

        default_batch = DEFAULT_GPU_BATCH if device == "cuda" else DEFAULT_CPU_BATCH
        super().__init__(classifier, model_id, device, batch_size or default_batch)
        # A wide window to length-sort in (tight padding), at least 32 batches.
        self.buffer_sentences = max(DEFAULT_TRANSFORMER_BUFFER, 32 * self.batch_size)
        self.quantize = quantize
        self.torch = torch
        self.torch_device = torch.device(device)
        if hasattr(classifier, "to"):
            classifier.to(self.torch_device)
        module = int8_copy(classifier.model) if quantize else classifier.model
        self.module = module.eval()
        self.offsets = list(module.offsets)
        self.model_layers = list(module.layer_names)
        self.pad_id = classifier.tokenizer.pad_token_id or 0
        # Same policy as TransformerClassifier.predict_proba: bf16 autocast on a GPU that supports it.
        self.autocast = device == "cuda" and torch.cuda.is_bf16_supported()

    def _batch_tensors(self, ids: list[list[int]], lengths: np.ndarray, index: np.ndarray):
        width = int(lengths[index].max())
        input_ids = np.full((len(index), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(index), width), dtype=np.int64)
        for row, i in enumerate(index.tolist()):
            n = lengths[i]
            input_ids[row, :n] = ids[i]
            mask[row, :n] = 1
        tensors = [self.torch.from_numpy(input_ids), self.torch.from_numpy(mask)]
        if self.torch_device.type == "cuda":
            tensors = [t.pin_memory().to(self.torch_device, non_blocking=True) for t in tensors]
        return tensors

    def probabilities(self, texts: list[str]) -> dict[str, np.ndarray]:
        torch = self.torch
        n = len(texts)
        if n == 0:
            return {layer: np.zeros((0, len(self.labels[layer]))) for layer in self.layers}
        ids = self.model.encode(texts)["input_ids"]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        logits = torch.empty((n, self.offsets[-1]), dtype=torch.float32, device=self.torch_device)
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                index = order[start : start + self.batch_size]
                input_ids, mask = self._batch_tensors(ids, lengths, index)
                with torch.autocast(self.torch_device.type, dtype=torch.bfloat16, enabled=self.autocast):
                    batch_logits = self.module(input_ids=input_ids, attention_mask=mask)["logits"]
                # Results stay on the device until the buffer is done: no sync per batch.
                logits[start : start + len(index)] = batch_logits.float()
            probs = {
                layer: torch.softmax(logits[:, self.offsets[j] : self.offsets[j + 1]], dim=-1)
                for j, layer in enumerate(self.model_layers)
            }
            host = {layer: p.cpu().numpy().astype(np.float64) for layer, p in probs.items()}
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.arange(n)
        return {layer: host[layer][inverse] for layer in self.layers}


def int8_copy(module: Any) -> Any:
    """A copy of the multi-head module whose encoder Linear layers are int8 dynamically quantized (CPU).

    The heads stay float: they are tiny, and quantizing them would move the
    probabilities more than it saves time.
    """
    import torch

    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:  # torch has deprecated torch.ao.quantization; a future build may drop it
        raise WartaError("--quantize: this torch build has no dynamic quantization (torch.ao.quantization)") from None

    quantized = copy.deepcopy(module).cpu().eval()
    with warnings.catch_warnings():
        # torch marks the eager quantization API and its tensor constructors deprecated;
        # the int8 kernels are still there and are what this path is for.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
        quantized.encoder = quantize_dynamic(quantized.encoder, {torch.nn.Linear}, dtype=torch.qint8)
    return quantized
