"""The transformer model: one pretrained encoder, one linear head per layer, trained jointly.

One forward pass labels every layer. Training uses the Hugging Face Trainer
with a class-weighted loss (sum of one cross-entropy per layer), dynamic
padding, early stopping on dev macro-F1 (mean over layers), bf16 on a CUDA
GPU that supports it, and fixed seeds.

Saved folder (reloads with plain transformers calls):
    config.json, model.safetensors   the fine-tuned encoder (AutoModel.from_pretrained(folder))
    tokenizer.json, tokenizer_config.json, ...
    heads.safetensors                one Linear per layer: "<layer>.weight", "<layer>.bias"
    model.json                       kind, layers, ordered labels, pooling, max_length, lowercase

The network is in `warta.models.encoder`, the training helpers in
`warta.models.transformer_training`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn
from transformers import TrainerCallback

from warta import distributed
from warta.errors import InputError
from warta.models.base import MODEL_CARD, Labelled, labels_from_proba
from warta.models.encoder import (  # noqa: F401  (re-exported: the transformer model's public pieces)
    IGNORE_INDEX,
    OFFLINE_HOW_TO,
    MultiHeadEncoder,
    _progress_bars,
    int8_copy,
    load_pretrained,
    offline_hint,
    tokenizer_is_uncased,
)
from warta.models.params import Params, TrainingArguments
from warta.models.safety import (
    FileName,
    ModelFile,
    check_transformer_folder,
    read_model_file,
    require_finite,
    require_finite_output,
)
from warta.models.transformer_training import (  # noqa: F401  (re-exported)
    balanced_class_weights,
    build_trainer,
    ddp_arguments,
    use_bf16,
)
from warta.schema import LAYER_NAMES, LAYERS

KIND = "transformer"
HEADS_FILE = "heads.safetensors"
log = logging.getLogger("warta.train")


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


DEFAULT_ENCODER = "indobenchmark/indobert-base-p1"
DEFAULT_CPU_BATCH = 32
DEFAULT_GPU_BATCH = 256


MaxLength = Annotated[int, Field(ge=8, le=4096)]
Pooling = Literal["cls", "mean"]


class TransformerTrainingArguments(TrainingArguments):
    """How the encoder is fine-tuned (the ``train:`` section; Hugging Face TrainingArguments underneath)."""

    epochs: Annotated[float, Field(gt=0, le=1000)] = 10
    max_steps: Annotated[int, Field(ge=1, le=100_000_000)] | None = None  # caps training (smoke runs); None: epochs decide
    batch_size: Annotated[int, Field(ge=1, le=65536)] = 32
    eval_batch_size: Annotated[int, Field(ge=1, le=65536)] = 128
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 3e-5
    weight_decay: Annotated[float, Field(ge=0, le=10)] = 0.01
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.1
    early_stopping_patience: Annotated[int, Field(ge=1, le=1000)] = 3
    class_weighted: bool = True
    group_by_length: bool = True
    bf16: Literal["auto"] | bool = "auto"  # auto: on when CUDA with bf16 support is present
    logging_steps: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    dataloader_workers: Annotated[int, Field(ge=0, le=64)] = 0
    # CPU threads for torch (null: torch's default). On a busy shared CPU, 1 can be much faster.
    cpu_threads: Annotated[int, Field(ge=1, le=1024)] | None = None

    @property
    def prediction_batch_size(self) -> int:
        return self.eval_batch_size


class TransformerClassifier(Params):
    """A pretrained encoder (hub name or local folder) with one linear head per layer.

    Architecture in `__init__`, fitting options in `training` (TransformerTrainingArguments);
    `initialize()` loads the pretrained encoder and fresh heads (`fit` does it
    when needed; `from_config` does it at once so a missing model fails early).
    Inference options: `load(folder, device=..., quantize=...)`, `to(device)`,
    `quantize_int8()`, and `predict_proba(texts, batch_size=...)`.
    """

    kind = KIND
    training_arguments = TransformerTrainingArguments
    uses_encoder = True
    supports_quantize = True
    distributed_training = True

    def __init__(
        self,
        name_or_path: str = DEFAULT_ENCODER,
        layers: Sequence[str] = LAYER_NAMES,
        max_length: MaxLength = 128,
        pooling: Pooling = "cls",
        dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1,
        # auto: lowercase when the tokenizer is uncased (do_lower_case, or a vocabulary without capitals).
        lowercase: Literal["auto"] | bool = "auto",
        text_prefix: str = "",  # put before every text in training and prediction (e5: "query: ")
        # word-embedding table not trained (e5-small: 96M of 118M parameters; a CPU step ~6 s -> ~0.3 s)
        freeze_embeddings: bool = False,
        seed: int = 0,
        training: TransformerTrainingArguments = TransformerTrainingArguments(),
        callbacks: Sequence[TrainerCallback] = (),  # extra Trainer callbacks (the speed benchmark times steps)
        selection: Mapping[str, Any] | None = None,
    ):
        self.name_or_path = name_or_path
        self.layers = layers
        self.max_length = max_length
        self.pooling = pooling
        self.dropout = dropout
        self.lowercase = lowercase
        self.text_prefix = text_prefix
        self.freeze_embeddings = freeze_embeddings
        self.seed = seed
        self.training = training
        self.callbacks = callbacks
        # {"epochs": n} chosen by an earlier dev selection (`selected()`): fit trains exactly n epochs, no dev
        self.selection = selection
        self._labels = {layer: list(LAYERS[layer]) for layer in layers}
        self.tokenizer: Any = None
        self.model: MultiHeadEncoder | None = None
        self._inference_module: nn.Module | None = None  # an int8 copy after quantize_int8()
        self.history_: list[dict[str, Any]] = []

    @property
    def labels(self) -> dict[str, list[str]]:
        return self._labels

    @property
    def base_model(self) -> str:
        return str(self.name_or_path)

    @classmethod
    def from_config(cls, config: Any) -> TransformerClassifier:
        """From a validated run config (`layers`, `seed`, the `model` and `train` sections); loads the encoder."""
        return cls(**cls.params_from_config(config)).initialize()

    @classmethod
    def from_pretrained(cls, name_or_path: str, **params: Any) -> TransformerClassifier:
        """A fresh classifier (heads initialised under `seed`) on a hub name or local encoder folder."""
        return cls(name_or_path, **params).initialize()

    def initialize(self) -> TransformerClassifier:
        """Load the pretrained tokenizer and encoder and add freshly initialised heads (under `seed`)."""
        from transformers import set_seed

        if self.training.cpu_threads:
            torch.set_num_threads(self.training.cpu_threads)
        self.tokenizer, encoder = load_pretrained(str(self.name_or_path))
        set_seed(self.seed)
        self.model = MultiHeadEncoder(encoder, {layer: len(v) for layer, v in self.labels.items()}, self.pooling,
                                      self.dropout)
        self._inference_module = None
        if self.freeze_embeddings:
            # The word-embedding table is most of a multilingual encoder (e5-small: 96M of 118M
            # parameters); freezing it makes a CPU step ~1.3x cheaper (fused AdamW) and keeps rare-word
            # vectors from drifting on a few hundred sentences; trained, it measured no better on real
            # unseen outlets (bench/e5_seeds_results.md). The Trainer's optimizer skips frozen parameters.
            encoder.get_input_embeddings().weight.requires_grad_(False)
        self.lowercase_ = tokenizer_is_uncased(self.tokenizer) if self.lowercase == "auto" else bool(self.lowercase)
        log.info("transformer %s: lowercase=%s, pooling=%s, text_prefix=%r, freeze_embeddings=%s", self.name_or_path,
                 self.lowercase_, self.pooling, self.text_prefix, self.freeze_embeddings)
        return self

    # -- encoding --

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        texts = [self.text_prefix + text for text in texts] if self.text_prefix else list(texts)
        return [text.lower() for text in texts] if self.lowercase_ else texts

    def encode(self, texts: Sequence[str]) -> dict[str, list[list[int]]]:
        return self.tokenizer(self._prepare(texts), truncation=True, max_length=self.max_length, padding=False)

    def _targets(self, targets: Mapping[str, Sequence[str | None]], n: int) -> list[list[int]]:
        rows = [[IGNORE_INDEX] * len(self.layers) for _ in range(n)]
        for j, layer in enumerate(self.layers):
            values = list(targets.get(layer, [None] * n))
            if len(values) != n:
                raise ValueError(f"layer {layer!r}: {len(values)} targets for {n} texts")
            index = {label: i for i, label in enumerate(self.labels[layer])}
            for i, value in enumerate(values):
                if value is not None:
                    if value not in index:
                        raise ValueError(f"layer {layer!r}: unknown label {value!r}")
                    rows[i][j] = index[value]
        return rows

    def _dataset(self, texts: Sequence[str], targets: Mapping[str, Sequence[str | None]]) -> Any:
        """Tokenised texts (unpadded: the collator pads per batch) and one label index per layer."""
        from datasets import Dataset

        encoded = self.encode(texts)
        columns = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
        columns["labels"] = self._targets(targets, len(texts))
        return Dataset.from_dict(columns)

    # -- training --

    def fit(
        self,
        texts: Sequence[str],
        targets: Mapping[str, Sequence[str | None]],
        *,
        dev: Labelled | None = None,
        work_dir: str | Path | None = None,
        progress: bool = True,
    ) -> TransformerClassifier:
        """Fine-tune on (texts, targets), evaluating on `dev` each epoch; keep the best epoch.

        Checkpoints go to `work_dir` (default: a temporary folder) and are removed at the end:
        the best one is loaded back into the model.
        """
        if self.selection is not None:  # fixed epochs: the Trainer's eval set is the training set itself
            dev = Labelled(list(texts), targets)
        elif dev is None or not len(dev.texts):
            raise ValueError("the transformer needs a dev set (early stopping on dev macro-F1) or a selection")
        if self.model is None:
            self.initialize()
        if distributed.is_distributed() and work_dir is None:
            # Every rank loads the best checkpoint that rank 0 saved: they need one shared folder.
            raise ValueError("multi-process training needs a work_dir shared by all ranks")
        scratch = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="warta-checkpoints-"))
        try:
            self._train(texts, targets, dev, scratch, progress)
        except BaseException:
            if distributed.is_main():
                shutil.rmtree(scratch, ignore_errors=True)
            raise
        distributed.barrier()  # every rank has loaded the best checkpoint before rank 0 removes it
        if distributed.is_main():
            shutil.rmtree(scratch, ignore_errors=True)
        return self

    def _train(self, texts: Sequence[str], targets: Mapping[str, Sequence[str | None]], dev: Labelled,
               work_dir: Path, progress: bool) -> None:
        from transformers import set_seed

        set_seed(self.seed)
        if self.training.class_weighted:
            for layer in self.layers:
                weight = balanced_class_weights(list(targets.get(layer, [])), self.labels[layer])
                setattr(self.model, f"class_weight_{layer}", weight)
        trainer = build_trainer(self, self._dataset(texts, targets), self._dataset(dev.texts, dev.targets),
                                work_dir, progress)
        with _progress_bars(enabled=progress):  # checkpoint saves and the best model's reload show bars too
            trainer.train()
        best = trainer.state.best_metric
        log.info("best dev macro-F1 (mean over layers): %s at %s", best, trainer.state.best_model_checkpoint)
        self.best_dev_macro_f1_ = best
        self._inference_module = None
        self.model.eval()

    def selection_summary(self) -> dict[str, Any]:
        """The best epoch's dev score and the training log."""
        return {"best_dev_macro_f1_mean": getattr(self, "best_dev_macro_f1_", None), "history": self.history_}

    def selected(self) -> dict[str, Any]:
        """The best epoch count on dev (the first maximum); `selection=` of a refit that trains that long."""
        history = [h for h in self.history_ if "eval_macro_f1" in h and h.get("epoch") is not None]
        if not history:
            return {"epochs": self.training.epochs, "note": "no dev history; the configured epochs"}
        best = max(history, key=lambda h: h["eval_macro_f1"])  # first maximum
        return {"epochs": max(1, round(best["epoch"])), "best_dev_macro_f1": best["eval_macro_f1"]}

    def fit_arguments(self) -> TransformerTrainingArguments:
        """The training arguments of this fit: with a selection, its epochs and no early stopping."""
        if self.selection is None:
            return self.training
        epochs = self.selection["epochs"]
        return self.training.model_copy(update={"epochs": epochs, "early_stopping_patience": int(epochs) + 1})

    # -- prediction: the one inference path (train, evaluate and `warta label`) --

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> TransformerClassifier:
        self.model.to(device)
        if self._inference_module is not None and torch.device(device).type != "cpu":
            raise ValueError("an int8-quantized model runs on the CPU only")
        return self

    def quantize_int8(self, backend: str | None = None) -> TransformerClassifier:
        """Predict with an int8 copy of the encoder (CPU; ONNX Runtime where installed, else PyTorch dynamic
        quantization: see `int8_copy`); the float model is kept. A loaded model's export is cached by the
        fingerprint of its folder."""
        from warta.models.embeddings import encoder_fingerprint

        if self.device.type != "cpu":
            raise ValueError("int8 dynamic quantization applies on the CPU only")
        folder = getattr(self, "folder_", None)
        key = encoder_fingerprint(str(folder)) if folder is not None else None
        self._inference_module = int8_copy(self.model, key, backend)
        return self

    @property
    def quantized(self) -> bool:
        return self._inference_module is not None

    def default_batch_size(self) -> int:
        return DEFAULT_GPU_BATCH if self.device.type == "cuda" else DEFAULT_CPU_BATCH

    def _batch_tensors(self, ids: list[list[int]], lengths: np.ndarray, index: np.ndarray,
                       device: torch.device) -> list[torch.Tensor]:
        """input_ids and attention_mask of one batch, padded to its own longest sentence."""
        pad_id = self.tokenizer.pad_token_id or 0
        width = int(lengths[index].max())
        input_ids = np.full((len(index), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(index), width), dtype=np.int64)
        for row, i in enumerate(index.tolist()):
            n = lengths[i]
            input_ids[row, :n] = ids[i]
            mask[row, :n] = 1
        tensors = [torch.from_numpy(input_ids), torch.from_numpy(mask)]
        if device.type == "cuda":
            tensors = [t.pin_memory().to(device, non_blocking=True) for t in tensors]
        return tensors

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, np.ndarray]:
        """Probabilities per layer, columns in `labels[layer]` order, rows in input order.

        Texts are tokenized once, sorted by token length and cut into batches
        padded only to their own longest sentence (dynamic padding); one
        forward pass of the shared encoder scores every layer. bf16 autocast
        on a CUDA GPU that supports it; the int8 copy after `quantize_int8()`.
        `batch_size` defaults to 32 on the CPU and 256 on a GPU.
        """
        texts = list(texts)
        n = len(texts)
        if n == 0:
            return {layer: np.zeros((0, len(self.labels[layer]))) for layer in self.layers}
        batch_size = batch_size or self.default_batch_size()
        module = (self._inference_module or self.model).eval()
        device = torch.device("cpu") if self._inference_module is not None else self.device
        autocast = device.type == "cuda" and torch.cuda.is_bf16_supported()
        ids = self.encode(texts)["input_ids"]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        offsets = module.offsets
        logits = torch.empty((n, offsets[-1]), dtype=torch.float32, device=device)
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                index = order[start : start + batch_size]
                input_ids, mask = self._batch_tensors(ids, lengths, index, device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                    batch_logits = module(input_ids=input_ids, attention_mask=mask)["logits"]
                # Results stay on the device until all batches are done: no sync per batch.
                logits[start : start + len(index)] = batch_logits.float()
            probs = {
                layer: torch.softmax(logits[:, offsets[j] : offsets[j + 1]], dim=-1)
                for j, layer in enumerate(module.layer_names)
            }
            host = {layer: p.cpu().numpy().astype(np.float64) for layer, p in probs.items()}
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.arange(n)
        return require_finite_output({layer: host[layer][inverse] for layer in self.layers})

    def predict(self, texts: Sequence[str], batch_size: int | None = None) -> dict[str, list[str]]:
        return labels_from_proba(self.predict_proba(texts, batch_size=batch_size), self.labels)

    # -- persistence --

    def save(self, folder: str | Path) -> None:
        from safetensors.torch import save_file

        from warta.jsonl import write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with _progress_bars(enabled=False):  # a local save takes a blink: no "Writing model shards" bar
            self.model.encoder.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        heads = {
            f"{layer}.{name}": tensor.detach().cpu().contiguous()
            for layer, head in zip(self.model.layer_names, self.model.heads, strict=True)
            for name, tensor in head.state_dict().items()
        }
        save_file(heads, str(folder / HEADS_FILE), metadata={"format": "pt"})
        write_json(folder / MODEL_CARD, {
            "kind": KIND,
            "layers": self.layers,
            "labels": self.labels,
            "pooling": self.model.pooling,
            "max_length": self.max_length,
            "lowercase": self.lowercase_,
            "text_prefix": self.text_prefix,
            "freeze_embeddings": self.freeze_embeddings,
            "base_model": self.base_model,
            "heads": HEADS_FILE,
            "versions": {"torch": torch.__version__, "transformers": _transformers_version()},
        })

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device | None = None,
             quantize: bool = False) -> TransformerClassifier:
        """Encoder and tokenizer via from_pretrained(folder) (safetensors only), heads from safetensors.

        `device`: default CUDA where available; `quantize`: int8 copy for CPU inference.
        """
        from safetensors.torch import load_file

        folder = Path(folder)
        record = read_model_file(folder, cls.model_file)  # schema, heads file, remote code, tokenizer files
        labels = {layer: list(record.labels[layer]) for layer in record.layers}
        tokenizer, encoder = load_pretrained(str(folder), use_safetensors=True)
        if len(tokenizer) <= len(set(tokenizer.all_special_tokens)):
            raise InputError(f"{folder}: the tokenizer has no vocabulary beyond its special tokens "
                             "(tokenizer files emptied?); a model never runs without its own tokenizer")
        require_finite({f"encoder {name}": tensor.detach().numpy() for name, tensor in encoder.state_dict().items()
                        if tensor.is_floating_point()}, folder / "model.safetensors")
        heads_path = folder / record.heads
        state = load_file(str(heads_path))
        require_finite({name: tensor.numpy() for name, tensor in state.items() if tensor.is_floating_point()},
                       heads_path)
        model = MultiHeadEncoder(encoder, {layer: len(v) for layer, v in labels.items()}, record.pooling, 0.0)
        try:
            for layer, head in zip(model.layer_names, model.heads, strict=True):
                head.load_state_dict({name: state[f"{layer}.{name}"] for name in ("weight", "bias")})
        except (KeyError, RuntimeError) as exc:
            raise InputError(f"{heads_path}: heads do not match {MODEL_CARD} ({' '.join(str(exc).split())[:200]})") from None
        classifier = cls(record.base_model, layers=list(labels), max_length=record.max_length, pooling=record.pooling,
                         dropout=0.0, lowercase=record.lowercase, text_prefix=record.text_prefix,
                         freeze_embeddings=record.freeze_embeddings)
        classifier._labels = labels
        classifier.lowercase_ = classifier.lowercase
        classifier.folder_ = folder.resolve()
        classifier.tokenizer, classifier.model = tokenizer, model
        classifier.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model.eval()
        if quantize:
            classifier.quantize_int8()
        return classifier


class TransformerModelFile(ModelFile):
    """model.json of a transformer (see warta.models.safety) plus the Hugging Face folder around it:
    safetensors weights, no remote code, the tokenizer's own files."""

    FILES = ("heads",)

    kind: Literal["transformer"]
    pooling: Pooling = "cls"
    max_length: MaxLength = 128
    lowercase: bool = False
    text_prefix: str = ""
    freeze_embeddings: bool = False
    base_model: str = ""
    heads: FileName = HEADS_FILE

    def check_folder(self, folder: Path) -> None:
        check_transformer_folder(folder)


TransformerClassifier.model_file = TransformerModelFile
