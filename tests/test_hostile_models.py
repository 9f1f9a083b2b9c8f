"""Loading run and model folders someone else may have altered: one line each, nothing executed (issue 14)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
from hostile_common import SEED_TXT, cli, make_tfidf_run, one_line

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
def tfidf_run(tmp_path_factory) -> Path:
    return make_tfidf_run(tmp_path_factory)


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
        assert "'weights' must be a file name inside the model folder" in label_fails(capsys, tmp_path, run)


@pytest.mark.parametrize("text", ["[1, 2]", "{" * 10, "[" * 100_000 + "]" * 100_000, '{"kind": "pickle"}', "\x00"])
def test_broken_model_cards_are_one_line(tfidf_run, tmp_path, capsys, text):
    run = copy(tfidf_run, tmp_path)
    (run / "model" / "model.json").write_text(text)
    assert "model.json" in label_fails(capsys, tmp_path, run)
