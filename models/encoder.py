"""The network under the transformer model: a pretrained encoder with one linear head per layer.

`load_pretrained` reads a hub name or local folder (never remote code, one-line errors
offline); `MultiHeadEncoder` scores every layer in one forward pass; `int8_copy` is its
CPU int8 dynamically quantized copy for inference.
"""

from __future__ import annotations

import copy
import inspect
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from warta.errors import InputError, WartaError

IGNORE_INDEX = -100
log = logging.getLogger("warta.train")


OFFLINE_HOW_TO = (
    "Download the model on a machine with network access (e.g. `hf download indobenchmark/indobert-base-p1 "
    "--local-dir indobert`), copy the folder here and pass --set model.name_or_path=/path/to/indobert"
)


def offline_hint(name_or_path: str) -> str:
    return (
        f"model.name_or_path {name_or_path!r}: not a local model folder, and it could not be fetched from the "
        f"Hugging Face hub (offline, or no such model). {OFFLINE_HOW_TO}"
    )


@contextmanager
def _progress_bars(enabled: bool) -> Iterator[None]:
    """Turn transformers' progress bars off for a block (when not `enabled`), then restore them."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if not enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled and not enabled:
            hf_logging.enable_progress_bar()


def load_pretrained(name_or_path: str, use_safetensors: bool | None = None) -> tuple[Any, nn.Module]:
    """(tokenizer, encoder) from a hub name or local folder; never runs remote code.

    Any failure becomes one InputError line; a missing hub model offline says
    how to point at a local copy.
    """
    from transformers import AutoModel, AutoTokenizer

    local = Path(name_or_path).expanduser()
    if local.exists() and not (local / "config.json").is_file():
        raise InputError(f"{name_or_path}: not a model folder (no config.json)")
    looks_like_path = str(name_or_path).startswith(("/", "./", "../", "~")) or str(name_or_path).count("/") > 1
    if looks_like_path and not local.exists():
        raise InputError(f"model.name_or_path {name_or_path!r}: folder not found. {OFFLINE_HOW_TO}")
    if not local.exists():
        log.info("loading %s from the Hugging Face hub or its local cache (HF_HUB_OFFLINE=1 skips the network)",
                 name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=False)
        # A local folder loads in a blink: its "Loading weights" bar is only noise
        # in the middle of `warta evaluate` / `warta label` output.
        with _progress_bars(enabled=not local.exists()):
            encoder = AutoModel.from_pretrained(
                str(name_or_path), trust_remote_code=False, use_safetensors=use_safetensors
            )
    except OSError as exc:
        if local.exists():
            reason = " ".join(str(exc).split())[:300]
            raise InputError(f"{name_or_path}: cannot load the model folder ({reason})") from None
        raise InputError(offline_hint(str(name_or_path))) from None
    except (ValueError, KeyError) as exc:  # unknown architecture, bad config
        reason = " ".join(str(exc).split())[:300]
        raise InputError(f"{name_or_path}: not a usable encoder ({reason})") from None
    return tokenizer, encoder


def tokenizer_is_uncased(tokenizer: Any) -> bool:
    """True when the tokenizer lowercases, or its vocabulary has no capital letters at all."""
    flag = getattr(tokenizer, "do_lower_case", None)
    if flag is None:
        flag = tokenizer.init_kwargs.get("do_lower_case")
    if flag is not None:
        return bool(flag)
    vocab = tokenizer.get_vocab()
    special = set(getattr(tokenizer, "all_special_tokens", []))
    return not any(any(ch.isupper() for ch in token) for token in vocab if token not in special)


class MultiHeadEncoder(nn.Module):
    """Encoder + dropout + one Linear per layer; logits of all layers concatenated.

    forward(input_ids, attention_mask, token_type_ids, labels) -> {"loss"?, "logits"}:
    `labels` is (batch, n_layers) with -100 where a sentence has no label for a layer.
    """

    def __init__(
        self,
        encoder: nn.Module,
        head_sizes: Mapping[str, int],
        pooling: str = "cls",
        dropout: float = 0.1,
        class_weights: Mapping[str, torch.Tensor] | None = None,
    ):
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.encoder = encoder
        self.layer_names = list(head_sizes)
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        # a list, not a ModuleDict: "type" would clash with nn.Module.type
        self.heads = nn.ModuleList([nn.Linear(hidden, head_sizes[layer]) for layer in self.layer_names])
        sizes = [head_sizes[layer] for layer in self.layer_names]
        self.offsets = [0, *np.cumsum(sizes).tolist()]
        for layer in self.layer_names:
            weight = None if class_weights is None else class_weights.get(layer)
            self.register_buffer(f"class_weight_{layer}", weight, persistent=False)
        self._accepts_token_types = "token_type_ids" in _forward_params(encoder)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if self.pooling == "cls" or attention_mask is None:
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None and self._accepts_token_types:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state
        # a bf16 encoder (bf16_copy) feeds the float heads in their dtype; under autocast this is a no-op
        hidden = hidden.to(self.heads[0].weight.dtype) if self.heads else hidden
        pooled = self.dropout(self.pool(hidden, attention_mask))
        logits = torch.cat([head(pooled) for head in self.heads], dim=-1)
        if labels is None:
            return {"logits": logits}
        loss = logits.new_zeros((), dtype=torch.float32)
        for j, layer in enumerate(self.layer_names):
            target = labels[:, j]
            if not bool((target != IGNORE_INDEX).any()):
                continue  # no sentence in this batch carries the layer
            layer_logits = logits[:, self.offsets[j] : self.offsets[j + 1]].float()
            weight = getattr(self, f"class_weight_{layer}")
            loss = loss + nn.functional.cross_entropy(layer_logits, target, weight=weight, ignore_index=IGNORE_INDEX)
        return {"loss": loss, "logits": logits}


def _forward_params(module: nn.Module) -> set[str]:
    return set(inspect.signature(module.forward).parameters)


def backend_encoder(encoder: nn.Module, backend: str, key: str | None = None) -> nn.Module:
    """A stand-in for `encoder` (a Hugging Face encoder) that runs on `backend` on the CPU; `encoder` untouched.

    "torch-bf16" (`bf16_copy`), "onnxruntime" (per-channel int8, close to fp32; see warta.models.onnx_encoder,
    `key` names its cached export), "onnxruntime-fp32" (ONNX Runtime without int8), or "torch" (PyTorch dynamic
    int8 of the Linear layers, `int8_linear`).
    """
    from warta.models import onnx_encoder

    if backend == "torch-bf16":
        return bf16_copy(encoder)
    if backend in ("onnxruntime", "onnxruntime-fp32"):
        if not onnx_encoder.available():
            raise WartaError('--quantize with onnxruntime: not installed (pip install "warta[fast]")')
        return onnx_encoder.int8_encoder(encoder, key, int8=backend == "onnxruntime")
    return int8_linear(copy.deepcopy(encoder))


def int8_copy(module: nn.Module, key: str | None = None, backend: str | None = None) -> nn.Module:
    """A copy of the multi-head module whose encoder runs on `backend` (`backend_encoder`; default: int8 through
    ONNX Runtime where installed) on the CPU; the float module is untouched. The heads stay float: they are
    tiny, and quantizing them would move the probabilities more than it saves time.
    """
    heads = {name: head.out_features for name, head in zip(module.layer_names, module.heads, strict=True)}
    runtime = backend_encoder(module.encoder, backend or int8_backend(), key)
    quantized = MultiHeadEncoder(runtime, heads, module.pooling, 0.0)
    quantized.heads.load_state_dict(module.heads.state_dict())
    return quantized.cpu().eval()


def bf16_copy(encoder: nn.Module) -> nn.Module:
    """A bfloat16 copy of `encoder` for CPU inference (the float one untouched).

    On a CPU with bf16 instructions (avx512_bf16, AMX) its matrix products run ~1.7x faster than fp32 and,
    measured, label as fp32 on training sentences and move 1-2 labels in 120 unseen ones (bench/encoder_speed_results.md,
    bench/onnx_selective_probe_results.md); without them they are emulated, and
    slower: `cpu_has_bf16` says which, and the labeller warns.
    """
    return copy.deepcopy(encoder).cpu().eval().to(torch.bfloat16)


def cpu_has_bf16() -> bool | None:
    """Whether this CPU has native bf16 instructions (Linux /proc/cpuinfo flags); None where unknown."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def int8_backend() -> str:
    """ONNX Runtime where installed (the `fast` extra), else PyTorch's dynamic quantization."""
    from warta.models import onnx_encoder

    return "onnxruntime" if onnx_encoder.available() else "torch"


def int8_linear(encoder: nn.Module) -> nn.Module:
    """`encoder` (CPU) with every Linear layer int8 dynamically quantized (weights int8, activations
    quantized per batch); modified in place and returned."""
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:  # torch has deprecated torch.ao.quantization; a future build may drop it
        raise WartaError("--quantize: this torch build has no dynamic quantization (torch.ao.quantization)") from None

    with warnings.catch_warnings():
        # torch marks the eager quantization API and its tensor constructors deprecated;
        # the int8 kernels are still there and are what this path is for.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
        return quantize_dynamic(encoder.cpu().eval(), {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
