"""Labellers: a loaded model wrapped for batch labelling (model id, buffer sizes, rounded rows), and the
model folder a run or model path names.

A labeller turns a list of sentence texts into, per sentence, the
probabilities of every layer (layer after layer, rounded to
PROB_DECIMALS) and the index of the winning label per layer. Inference is
the model's own `predict_proba` (the one path per kind, also used by train
and evaluate):

- TF-IDF: one call per buffer; sentences are scored independently, so each
  preparation batch is labelled right where it was prepared (workers).
- Transformer: length-sorted, dynamically padded batches through the shared
  encoder (`TransformerClassifier.predict_proba`), over wide buffers in the
  main process. `backend` picks how the encoder runs (BACKENDS): PyTorch fp32
  (the default), PyTorch bf16 (CPUs with bf16 instructions; ~1.8x, labels nearly unchanged), ONNX Runtime fp32
  (the same labels; 1.0-1.2x), or int8 (ONNX Runtime or PyTorch; 2-2.6x, but changes labels):
  bench/encoder_speed_results.md. A backend other than torch is recorded in
  the model id ("run/hybrid+onnx"), so the records and a --resume say which.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from warta.errors import WartaError
from warta.labelling.items import file_digest
from warta.models.base import SentenceClassifier
from warta.records import PROB_DECIMALS
from warta.runfolder import resolve_model_folder
from warta.schema import LAYER_NAMES

if TYPE_CHECKING:  # torch only for transformer runs
    from warta.models.transformer import TransformerClassifier

# `warta label --backend` -> the encoder path of models' `quantize_int8(backend)` (None: plain PyTorch).
BACKENDS: dict[str, str | None] = {"torch": None, "torch-bf16": "torch-bf16", "onnx": "onnxruntime-fp32",
                                   "onnx-int8": "onnxruntime", "torch-int8": "torch"}
DEFAULT_BACKEND = "torch"
DEFAULT_TFIDF_BUFFER = 8192
DEFAULT_TRANSFORMER_BUFFER = 2048


def model_digest(folder: Path) -> str:
    """A content hash of a model folder: every file's relative name and bytes (weights included), links followed.

    What `--resume` compares: a retrained run, or another model under the same folder name, has other bytes.
    """
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            digest.update(f"{path.relative_to(folder).as_posix()}\0{file_digest(path)}\0".encode())
    return digest.hexdigest()


def resolve_device(device: str) -> str:
    """'auto' is CUDA where available; asking for CUDA without it is a user error."""
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise WartaError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return "cuda" if available else "cpu"


def int8_backend_name() -> str:
    """What `--quantize` means: onnx-int8 where ONNX Runtime is installed (the `fast` extra), else torch-int8."""
    from warta.models.onnx_encoder import available

    return "onnx-int8" if available() else "torch-int8"


def check_backend_name(backend: str) -> None:
    """An unknown --backend: one line (checked before any work starts)."""
    if backend not in BACKENDS:
        raise WartaError(f"--backend {backend}: expected {', '.join(BACKENDS)}")


def check_backend(backend: str) -> None:
    """An unknown --backend, or an ONNX one without onnxruntime installed: one line each; bf16 where the CPU
    lacks it: a warning."""
    check_backend_name(backend)
    if backend == "torch-bf16":
        from warta.models.encoder import cpu_has_bf16

        if cpu_has_bf16() is False:
            logging.getLogger("warta.label").warning(
                "--backend torch-bf16: this CPU has no bf16 instructions (avx512_bf16, amx_bf16); "
                "bf16 runs emulated and slower than --backend torch")
    if backend.startswith("onnx"):
        from warta.errors import require_extra

        require_extra("onnxruntime", f"--backend {backend}", extra="fast")
        require_extra("onnx", f"--backend {backend}", extra="fast")


def _on_backend(model, backend: str):
    try:
        return model.quantize_int8(BACKENDS[backend])
    except ValueError as exc:  # e.g. an ensemble of TF-IDF members only
        raise WartaError(f"--backend {backend}: {exc}") from None


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

    def __init__(self, model: SentenceClassifier, model_id: str, device: str = "cpu", batch_size: int | None = None):
        self.model = model
        self.kind = getattr(model, "kind", "model")
        self.model_id = model_id
        self.device = device
        self.labels = {layer: list(model.labels[layer]) for layer in LAYER_NAMES if layer in model.labels}
        self.layers = list(self.labels)
        self.batch_size = batch_size
        self.buffer_sentences = DEFAULT_TFIDF_BUFFER
        self.model_digest: str | None = None  # content hash of the model folder (None: a model given loaded)

    def probabilities(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self.batch_size:
            return self.model.predict_proba(texts, batch_size=self.batch_size)
        return self.model.predict_proba(texts)

    def label(self, texts: list[str]) -> tuple[list, list]:
        return _probability_rows(self.probabilities(texts), self.layers)


def load_labeller(
    model: str | Path | SentenceClassifier,
    device: str = "auto",
    batch_size: int | None = None,
    backend: str = DEFAULT_BACKEND,
    model_id: str | None = None,
) -> Labeller:
    """A labeller for a run folder, a model folder, or an already loaded model.

    `device` applies to transformer models; TF-IDF models run on the CPU
    (and torch is not even imported for them). `backend` (BACKENDS) applies
    to a kind with an encoder on the CPU; an already loaded model is copied, never changed.
    """
    from warta.models import kind_facts
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
    # kind facts (warta.models.params.Params): an encoder kind is labelled in the main process over wide,
    # length-sorted buffers, and takes --device; --backend where the kind can run its encoder another way
    facts = kind_facts(model if folder is None else kind)
    resolved = resolve_device(device) if facts.uses_encoder else "cpu"
    check_backend(backend)
    other_backend = backend != DEFAULT_BACKEND
    if other_backend and (not facts.supports_quantize or resolved != "cpu"):
        raise WartaError(f"--backend {backend} (or --quantize) applies to a hybrid, transformer or ensemble "
                         f"model with an encoder, on the CPU (this is a {kind} model on {resolved})")
    if folder is not None:
        from warta.models import load_model

        digest = model_digest(folder)  # before loading: what was loaded is at most as new as what was hashed
        loaded = load_model(folder, device=resolved)
        if other_backend:
            loaded = _on_backend(loaded, backend)
    else:
        digest = None
        loaded = model
        if facts.uses_encoder:
            loaded.to(resolved)
            if other_backend:
                if loaded.quantized:
                    raise WartaError(f"--backend {backend}: the model given already runs another backend")
                loaded = _on_backend(copy.copy(loaded), backend)  # the caller's model is untouched
    ident = model_id or f"{run_name or 'model'}/{kind}" + (f"+{backend}" if other_backend else "")
    labeller = (TransformerLabeller if facts.uses_encoder else Labeller)(loaded, ident, resolved, batch_size)
    labeller.model_digest = digest
    return labeller


class TransformerLabeller(Labeller):
    """Wide buffers labelled in the main process: the model's length-sorted batches span articles."""

    in_preparation = False

    def __init__(self, classifier: TransformerClassifier, model_id: str, device: str, batch_size: int | None):
        super().__init__(classifier, model_id, device, batch_size or classifier.default_batch_size())
        # A wide window to length-sort in (tight padding), at least 32 batches.
        self.buffer_sentences = max(DEFAULT_TRANSFORMER_BUFFER, 32 * self.batch_size)
        self.quantize = bool(getattr(classifier, "quantized", False))
