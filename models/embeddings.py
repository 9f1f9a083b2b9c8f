"""Frozen sentence embeddings from any local (or hub) encoder, cached on disk by text hash.

`SentenceEmbedder` mean-pools (or takes [CLS] of) the encoder's last hidden
states of ``prefix + text`` and L2-normalises them: the e5 convention
("query: " for short texts to be classified). The encoder is loaded only on
a cache miss, so re-training on sentences already seen costs no encoder pass.

`EmbeddingCache` is one ``.npz`` per (encoder fingerprint, prefix, pooling,
max_length) holding ``keys`` (sha256 of each text) and ``emb`` (float32); it
is read with ``allow_pickle=False`` and replaced atomically, so an
interrupted write never leaves a broken file (concurrent writers: the last
one wins, nothing is corrupted).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from warta.models.cache import default_cache_dir

log = logging.getLogger("warta.train")
_FINGERPRINT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                      "sentencepiece.bpe.model")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_EDGE = 1 << 20  # bytes hashed at each end of a weights file: a fast, sufficient fingerprint


def encoder_fingerprint(name_or_path: str) -> str:
    """sha256 over a local encoder's config/tokenizer files and its weights' size and first/last MiB.

    Reading 470 MB of weights would cost seconds on every fit; config, tokenizer, size and
    both ends of the weights tell two encoders apart. A hub name is its own fingerprint.
    """
    folder = Path(name_or_path).expanduser()
    digest = hashlib.sha256()
    if not folder.is_dir():
        digest.update(f"hub:{name_or_path}".encode())
        return digest.hexdigest()
    for name in _FINGERPRINT_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    for name in _WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            size = path.stat().st_size
            digest.update(f"{name}:{size}".encode())
            with path.open("rb") as handle:
                digest.update(handle.read(_EDGE))
                handle.seek(max(0, size - _EDGE))
                digest.update(handle.read(_EDGE))
    return digest.hexdigest()


def text_keys(texts: Sequence[str]) -> np.ndarray:
    return np.array([hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts], dtype="U64")


class EmbeddingCache:
    """Embeddings by text hash in one npz file (see module docstring)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._index: dict[str, int] | None = None
        self._emb = np.zeros((0, 0), dtype=np.float32)
        self._keys = np.zeros(0, dtype="U64")

    def _read(self) -> None:
        if self._index is not None:
            return
        self._index = {}
        if not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as npz:
                keys, emb = npz["keys"], npz["emb"]
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("embedding cache %s unreadable (%s); recomputing", self.path, type(exc).__name__)
            return
        if keys.ndim != 1 or emb.ndim != 2 or len(keys) != len(emb):
            log.warning("embedding cache %s malformed; recomputing", self.path)
            return
        self._keys, self._emb = keys.astype("U64"), emb.astype(np.float32)
        self._index = {key: i for i, key in enumerate(self._keys.tolist())}

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row in the cache or -1 per key, cached embeddings matrix)."""
        self._read()
        rows = np.fromiter((self._index.get(k, -1) for k in keys.tolist()), dtype=np.int64, count=len(keys))
        return rows, self._emb

    def add(self, keys: np.ndarray, emb: np.ndarray) -> None:
        """Append new rows and rewrite the file atomically (temp file + os.replace)."""
        self._read()
        new = [i for i, k in enumerate(keys.tolist()) if k not in self._index]
        if not new:
            return
        keys, emb = keys[new], np.asarray(emb[new], dtype=np.float32)
        if len(self._keys) and self._emb.shape[1] != emb.shape[1]:
            self._keys, self._emb, self._index = np.zeros(0, dtype="U64"), np.zeros((0, emb.shape[1]), np.float32), {}
        start = len(self._keys)
        self._keys = np.concatenate([self._keys, keys])
        self._emb = np.vstack([self._emb.reshape(-1, emb.shape[1]), emb])
        self._index.update({k: start + i for i, k in enumerate(keys.tolist())})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp.npz", dir=self.path.parent)
        os.close(handle)
        try:
            np.savez(tmp, keys=self._keys, emb=self._emb)
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


class SentenceEmbedder:
    """Frozen encoder -> L2-normalised sentence vectors; the encoder loads on first need."""

    def __init__(self, name_or_path: str, prefix: str = "query: ", pooling: str = "mean", max_length: int = 128,
                 batch_size: int = 32, cache_dir: str | Path | None = None, use_cache: bool = True,
                 cpu_threads: int | None = None, device: str = "cpu"):
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.name_or_path = str(name_or_path)
        self.prefix, self.pooling, self.max_length, self.batch_size = prefix, pooling, max_length, batch_size
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.use_cache, self.cpu_threads, self.device = use_cache, cpu_threads, device
        self.encoder_passes = 0  # texts actually run through the encoder (tests check cache hits)
        self.quantized: str | bool = False  # False, or the int8 backend ("onnxruntime", "torch"); CPU only
        self._fingerprint: str | None = None
        self._cache: EmbeddingCache | None = None
        self._tokenizer: Any = None
        self._encoder: Any = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = encoder_fingerprint(self.name_or_path)
        return self._fingerprint

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            # int8 embeddings differ from fp32 ones in the last digits: never mixed in one cache file
            spec = [self.fingerprint, self.prefix, self.pooling, self.max_length] + (
                [f"int8-{self.quantized}"] if self.quantized else [])
            spec = json.dumps(spec)
            self._cache = EmbeddingCache(self.cache_dir / f"{hashlib.sha256(spec.encode()).hexdigest()[:24]}.npz")
        return self._cache

    def _load(self) -> None:
        if self._encoder is not None:
            return
        import torch

        from warta.models.encoder import load_pretrained

        if self.cpu_threads:
            torch.set_num_threads(self.cpu_threads)
        self._tokenizer, self._encoder = load_pretrained(self.name_or_path)
        self._encoder.to(self.device).eval()
        # frozen: no gradients, and embeddings do not depend on dropout
        for param in self._encoder.parameters():
            param.requires_grad_(False)
        if self.quantized:
            self._encoder = self._int8(self._encoder)

    def quantize_int8(self, backend: str | None = None) -> SentenceEmbedder:
        """Embed with an int8 encoder (CPU only; its own cache file): ONNX Runtime where installed,
        else PyTorch dynamic quantization (warta.models.encoder.int8_copy has the measured why)."""
        from warta.models.encoder import int8_backend

        if self.device != "cpu":
            raise ValueError("int8 dynamic quantization applies on the CPU only")
        self.quantized, self._cache = backend or int8_backend(), None
        if self._encoder is not None:
            self._encoder = self._int8(self._encoder)
        return self

    def _int8(self, encoder: Any) -> Any:
        from warta.models.encoder import backend_encoder

        return backend_encoder(encoder, self.quantized, self.fingerprint)

    def to(self, device: str) -> SentenceEmbedder:
        if self.quantized and device != "cpu":
            raise ValueError("an int8-quantized encoder runs on the CPU only")
        self.device = device
        if self._encoder is not None:
            self._encoder.to(device)
        return self

    def embed(self, texts: Sequence[str], store: bool = True) -> np.ndarray:
        """(n, hidden) float32; cached rows are reused; new rows are added to the cache when `store`."""
        texts = list(texts)
        if not self.use_cache:
            return self._encode(texts)
        keys = text_keys(texts)
        rows, cached = self.cache.lookup(keys)
        missing = np.flatnonzero(rows < 0)
        if len(missing) == 0:
            return cached[rows].copy() if len(texts) else np.zeros((0, max(cached.shape[1], 0)), np.float32)
        # each distinct missing text once
        unique = list(dict.fromkeys(keys[missing].tolist()))
        first = {k: i for i, k in reversed(list(enumerate(keys.tolist())))}
        fresh = self._encode([texts[first[k]] for k in unique])
        by_key = dict(zip(unique, range(len(unique)), strict=True))
        out = np.empty((len(texts), fresh.shape[1]), dtype=np.float32)
        hit = rows >= 0
        if hit.any():
            out[hit] = cached[rows[hit]]
        out[missing] = fresh[[by_key[k] for k in keys[missing].tolist()]]
        if store:
            self.cache.add(np.array(unique, dtype="U64"), fresh)
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        self._load()
        self.encoder_passes += len(texts)
        hidden_size = self._encoder.config.hidden_size
        if not texts:
            return np.zeros((0, hidden_size), dtype=np.float32)
        encoded = self._tokenizer([self.prefix + t for t in texts], truncation=True, max_length=self.max_length)
        ids = encoded["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")  # length-sorted batches: little padding
        pad = self._tokenizer.pad_token_id or 0
        out = np.empty((len(texts), hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                index = order[start : start + self.batch_size]
                width = max(len(ids[i]) for i in index)
                input_ids = torch.full((len(index), width), pad, dtype=torch.long)
                mask = torch.zeros((len(index), width), dtype=torch.long)
                for row, i in enumerate(index.tolist()):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                input_ids, mask = input_ids.to(self.device), mask.to(self.device)
                hidden = self._encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state.float()
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    weights = mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                out[index] = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
        return out

