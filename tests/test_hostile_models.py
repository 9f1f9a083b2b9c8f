"""Loading run and model folders someone else may have altered: one line each, nothing executed (issue 14)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
from hostile_common import SEED_TXT, cli, one_line

from warta.errors import InputError
from warta.models import load_model
from warta.models.safety import check_safetensors


class Boom:
    """Unpickling this creates the marker file: proof that a pickle was (not) executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(Boom(marker)))


@pytest.fixture(scope="module")
def transformer_model(tmp_path_factory, tiny_bert) -> Path:
    """A saved (untrained) transformer model folder on the tiny random BERT."""
    from warta.models.transformer import TransformerClassifier

    folder = tmp_path_factory.mktemp("tiny-model") / "model"
    TransformerClassifier.from_pretrained(str(tiny_bert), max_length=32).save(folder)
    return folder


def copy(folder: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


def label_fails(capsys, tmp_path: Path, model: Path) -> str:
    """`warta label MODEL` fails in one line, exit 2, without writing output; returns the line."""
    code, stdout, stderr = cli(capsys, "label", model, SEED_TXT, "--out", tmp_path / "o.jsonl", "-q", "--workers", "0",
                               "--device", "cpu")
    assert code == 2, stderr
    assert not (tmp_path / "o.jsonl").exists()
    return one_line(stderr)


def test_the_untouched_transformer_model_loads(transformer_model):
    assert load_model(transformer_model, device="cpu").labels["type"][0] == "fact"


# --- truncated safetensors ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.safetensors", "heads.safetensors"])
@pytest.mark.parametrize("keep", [0, 5, 100, -200])
def test_truncated_safetensors_are_one_line(transformer_model, tmp_path, capsys, name, keep):
    model = copy(transformer_model, tmp_path)
    data = (model / name).read_bytes()
    (model / name).write_bytes(data[:keep] if keep >= 0 else data[:keep])
    line = label_fails(capsys, tmp_path, model)
    assert f"{name}: " in line and ("truncated" in line or "not a safetensors file" in line)


def test_check_safetensors_accepts_the_real_file_and_rejects_garbage(transformer_model, tmp_path):
    check_safetensors(transformer_model / "model.safetensors")
    garbage = tmp_path / "g.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(InputError, match="not a safetensors file"):
        check_safetensors(garbage)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 10**12]}}).encode()
    garbage.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    with pytest.raises(InputError, match="truncated"):
        check_safetensors(garbage)


# --- a pickle where a model file should be ----------------------------------------------------------


def test_pickle_instead_of_transformer_weights_is_never_unpickled(transformer_model, tmp_path, capsys):
    marker = tmp_path / "executed"
    model = copy(transformer_model, tmp_path, "bin")
    (model / "model.safetensors").unlink()
    evil_pickle(model / "pytorch_model.bin", marker)
    assert "no model.safetensors (found pytorch_model.bin: pickle files are never loaded)" in label_fails(capsys, tmp_path, model)
    renamed = copy(transformer_model, tmp_path, "renamed")
    evil_pickle(renamed / "model.safetensors", marker)
    assert "model.safetensors: not a safetensors file" in label_fails(capsys, tmp_path, renamed)
    heads = copy(transformer_model, tmp_path, "heads")
    evil_pickle(heads / "heads.safetensors", marker)
    assert "heads.safetensors: not a safetensors file" in label_fails(capsys, tmp_path, heads)
    assert not marker.exists()


def test_pickle_instead_of_the_tfidf_pipeline_is_never_unpickled(tfidf_run, tmp_path, capsys):
    marker = tmp_path / "executed"
    for name in ("weights.npz", "vocabulary.json"):
        run = copy(tfidf_run, tmp_path, name)
        evil_pickle(run / "model" / name, marker)
        assert f"{name}: " in label_fails(capsys, tmp_path, run)
        code, _, stderr = cli(capsys, "evaluate", run, "--n-boot", "0")
        assert code == 2 and f"{name}: " in one_line(stderr)
    assert not marker.exists()


# --- config.json asking for remote code ----------------------------------------------------------------


@pytest.mark.parametrize("file, extra", [
    ("config.json", {"auto_map": {"AutoModel": "modeling_evil.EvilModel"}}),
    ("config.json", {"trust_remote_code": True}),
    ("tokenizer_config.json", {"auto_map": {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}}),
])
def test_remote_code_requests_are_refused_and_the_code_never_imported(transformer_model, tmp_path, capsys, file, extra):
    marker = tmp_path / "executed"
    model = copy(transformer_model, tmp_path)
    config = json.loads((model / file).read_text())
    (model / file).write_text(json.dumps({**config, **extra}))
    for module in ("modeling_evil.py", "tokenization_evil.py"):
        (model / module).write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
    line = label_fails(capsys, tmp_path, model)
    assert f"{file}: asks for code shipped with the model" in line and "warta never runs it" in line
    assert not marker.exists()


# --- labels.json disagreeing with the model ------------------------------------------------------------


def test_labels_json_disagreeing_with_the_model_is_one_line(tfidf_run, tmp_path, capsys):
    run = copy(tfidf_run, tmp_path)
    labels = json.loads((run / "labels.json").read_text())
    labels["type"] = list(reversed(labels["type"]))  # same names, another order: every column would be wrong
    (run / "labels.json").write_text(json.dumps(labels))
    assert "labels.json: disagrees with the model (type:" in label_fails(capsys, tmp_path, run)
    code, _, stderr = cli(capsys, "evaluate", run, "--n-boot", "0")
    assert code == 2 and "labels.json: disagrees with the model" in one_line(stderr)


def test_model_card_naming_files_outside_the_folder_is_refused(tfidf_run, tmp_path, capsys):
    run = copy(tfidf_run, tmp_path)
    card = json.loads((run / "model" / "model.json").read_text())
    for bad in ("../../../etc/passwd", "/etc/passwd", "..", ""):
        (run / "model" / "model.json").write_text(json.dumps({**card, "weights": bad}))
        assert "model.json: weights: must be a file name inside the model folder" in label_fails(capsys, tmp_path, run)


@pytest.mark.parametrize("text", ["[1, 2]", "{" * 10, "[" * 100_000 + "]" * 100_000, '{"kind": "pickle"}', "\x00"])
def test_broken_model_cards_are_one_line(tfidf_run, tmp_path, capsys, text):
    run = copy(tfidf_run, tmp_path)
    (run / "model" / "model.json").write_text(text)
    assert "model.json" in label_fails(capsys, tmp_path, run)


# --- issue 23.4: model folders that lie (one test per class; the hostile folders are made here) ------------


@pytest.fixture(scope="module")
def hybrid_model(tmp_path_factory, tiny_bert, synthetic_data) -> Path:
    """A saved hybrid on the tiny BERT with its encoder copied in (every file key a hybrid has)."""
    from warta.models import Labelled
    from warta.models.hybrid import HybridClassifier
    from warta.schema import LAYER_NAMES
    from warta.train.data import targets

    train, dev = synthetic_data.split_records("train"), synthetic_data.split_records("dev")
    folder = tmp_path_factory.mktemp("hybrid") / "model"
    model = HybridClassifier(encoder=str(tiny_bert), max_length=32, cache=False, copy_encoder=True,
                             embedding_c_values=[0.1], tfidf={"c_values": [1.0]})
    model.fit([r["text"] for r in train], targets(train, LAYER_NAMES),
              dev=Labelled([r["text"] for r in dev], targets(dev, LAYER_NAMES)))
    model.save(folder)
    return folder


def _folder(kind: str, request) -> Path:
    if kind == "tfidf":
        return request.getfixturevalue("tfidf_run") / "model"
    return request.getfixturevalue(f"{kind}_model")


def _edit_card(folder: Path, change) -> None:
    card = json.loads((folder / "model.json").read_text())
    change(card)
    (folder / "model.json").write_text(json.dumps(card))


LIES = [  # (kind, what model.json says, the key the one line must name)
    ("tfidf", lambda c: c.update(layers=["type", "tone"]), "layers.1"),
    ("tfidf", lambda c: c["labels"].update(type=["fact", "rumour"]), "labels"),
    ("tfidf", lambda c: c["params"].update(min_df="several"), "params.min_df"),
    ("tfidf", lambda c: c["params"].update(colour="red"), "params.colour: unknown key"),
    ("tfidf", lambda c: c["best_c"].update(type=-1), "best_c.type"),
    ("tfidf", lambda c: c["params"].update(c_values=[float("nan")]), "params.c_values.0"),
    ("tfidf", lambda c: c["cue_lexicons"].pop("hedge"), "cue_lexicons: needs exactly the lexicons"),
    ("tfidf", lambda c: c["cue_lexicons"].update(rumour=["konon"]), "cue_lexicons.rumour"),
    ("tfidf", lambda c: c["cue_lexicons"]["hedge"].append(""), "cue_lexicons.hedge"),
    ("transformer", lambda c: c.update(max_length="long"), "max_length"),
    ("transformer", lambda c: c.update(max_length=10**9), "max_length"),
    ("transformer", lambda c: c.update(pooling="max"), "pooling"),
    ("transformer", lambda c: c.update(layers=["type", "type"]), "layers repeat"),
    ("hybrid", lambda c: c["fusion_weight"].update(type=1.5), "fusion_weight.type"),
    ("hybrid", lambda c: c["fusion_weight"].pop("frame"), "no weight for layer(s) ['frame']"),
    ("hybrid", lambda c: c["params"]["tfidf"].update(word_ngrams=[3, 1]), "params.tfidf.word_ngrams"),
    ("hybrid", lambda c: c.pop("encoder"), "encoder: required key is missing"),
]


@pytest.mark.parametrize("kind, lie, key", LIES, ids=[f"{k}-{key}" for k, _, key in LIES])
def test_a_model_json_that_lies_is_one_line_naming_the_key(kind, lie, key, request, tmp_path, capsys):
    model = copy(_folder(kind, request), tmp_path)
    _edit_card(model, lie)
    line = label_fails(capsys, tmp_path, model)
    assert f"{model / 'model.json'}: " in line and key in line


FILE_KEYS = [("tfidf", "weights"), ("tfidf", "vocabulary"), ("transformer", "heads"), ("hybrid", "heads"),
             ("hybrid", "tfidf")]


@pytest.mark.parametrize("kind, key", FILE_KEYS)
def test_file_names_that_leave_the_folder_are_refused_even_when_relative(kind, key, request, tmp_path, capsys):
    original = _folder(kind, request)
    for bad in ("../model/" + key, "./" + key, "..", "sub/../../x"):
        model = copy(original, tmp_path, f"copy-{len(bad)}")
        _edit_card(model, lambda c, bad=bad: c.update({key: bad}))
        assert f"model.json: {key}: must be a file name inside the model folder" in label_fails(capsys, tmp_path, model)
    # a plain name that is a symlink to a file outside the folder
    model = copy(original, tmp_path, "symlink")
    outside = tmp_path / "outside"
    shutil.copytree(original, outside)
    (model / "elsewhere").symlink_to(outside / json.loads((original / "model.json").read_text()).get(key, key))
    _edit_card(model, lambda c: c.update({key: "elsewhere"}))
    assert f"model.json: {key}: 'elsewhere' leads outside the model folder" in label_fails(capsys, tmp_path, model)


def test_a_copied_encoder_outside_the_hybrid_folder_is_refused(hybrid_model, tmp_path, capsys):
    for bad in ("../encoder", "/tmp"):
        model = copy(hybrid_model, tmp_path, f"enc-{len(bad)}")
        _edit_card(model, lambda c, bad=bad: c["encoder"].update(path=bad))
        assert "model.json: encoder.path:" in label_fails(capsys, tmp_path, model)


def _nan_into_npz(path: Path, key: str) -> None:
    import numpy as np

    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = np.nan
    np.savez(path, **arrays)


def _nan_into_safetensors(path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    state = load_file(str(path))
    name = next(n for n, t in state.items() if t.is_floating_point() and t.numel() > 1)
    state[name] = state[name].clone()
    state[name].view(-1)[0] = float("inf")
    save_file(state, str(path), metadata={"format": "pt"})
    assert not torch.isfinite(load_file(str(path))[name]).all()


@pytest.mark.parametrize("kind, file", [("tfidf", "weights.npz"), ("transformer", "heads.safetensors"),
                                        ("transformer", "model.safetensors"), ("hybrid", "embedding_heads.npz"),
                                        ("hybrid", "tfidf/weights.npz")])
def test_non_finite_weights_are_refused(kind, file, request, tmp_path, capsys):
    model = copy(_folder(kind, request), tmp_path)
    if file.endswith(".npz"):
        _nan_into_npz(model / file, "type.coef" if "tfidf" in file or kind == "tfidf" else "mean")
    else:
        _nan_into_safetensors(model / file)
    line = label_fails(capsys, tmp_path, model)
    assert f"{file}: " in line and "NaN or infinite value(s); refusing to load" in line


@pytest.mark.parametrize("kind", ["tfidf", "transformer", "hybrid"])
def test_non_finite_outputs_are_refused_never_written(kind, request, tmp_path):
    """Weights broken after loading (past every file check): predict refuses, `warta label` writes no NaN."""
    import numpy as np
    import torch

    from warta.errors import WartaError
    from warta.labelling.engine import label_articles

    model = load_model(_folder(kind, request), device="cpu")
    if kind == "transformer":
        with torch.no_grad():
            model.model.heads[0].bias.fill_(float("nan"))
    else:
        model.intercept_ = np.full_like(model.intercept_, np.nan)
    with pytest.raises(WartaError, match="NaN or infinite probabilities for .* sentence"):
        model.predict(["Satu kalimat.", "Dua kalimat lagi."])
    out = tmp_path / "out.jsonl"
    with pytest.raises(WartaError, match="NaN or infinite probabilities"):
        label_articles(model, [SEED_TXT], out, workers=0, device="cpu")
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert all(b"NaN" not in p.read_bytes() and b"nan" not in p.read_bytes() for p in written)


@pytest.mark.parametrize("remove", ["tokenizer.json", "tokenizer_config.json", "all"])
def test_a_transformer_without_its_own_tokenizer_never_runs(transformer_model, tmp_path, capsys, remove):
    model = copy(transformer_model, tmp_path)
    vocabularies = [p for p in model.iterdir() if p.name in ("tokenizer.json", "vocab.txt")]
    for path in (vocabularies + [model / "tokenizer_config.json"] if remove == "all" else
                 [model / "tokenizer_config.json"] if remove == "tokenizer_config.json" else vocabularies):
        path.unlink()
    assert "tokenizer files missing" in label_fails(capsys, tmp_path, model)


def test_an_emptied_tokenizer_vocabulary_is_refused(transformer_model, tmp_path, capsys):
    model = copy(transformer_model, tmp_path)
    for name in ("tokenizer.json", "vocab.txt"):
        if (model / name).exists():
            (model / name).unlink()
    (model / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    assert "no vocabulary beyond its special tokens" in label_fails(capsys, tmp_path, model)
