"""Training configs: validation messages, --set overrides, path resolution, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from warta.config import (
    TfidfRunConfig,
    TransformerRunConfig,
    apply_overrides,
    dump_config,
    load_config,
    parse_override,
    validation_message,
)
from warta.errors import InputError
from warta.models import KINDS

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_bundled_configs_validate(name):
    config = load_config(CONFIGS / name)
    assert config.name == Path(name).stem
    assert config.layers == ["type", "stance", "frame"]


def test_indobert_config_has_the_documented_keys():
    config = load_config(CONFIGS / "indobert.yaml")
    assert isinstance(config, TransformerRunConfig)
    assert config.model.name_or_path == "indobenchmark/indobert-base-p1"
    assert config.train.epochs == 10
    tfidf = load_config(CONFIGS / "tfidf.yaml")
    assert isinstance(tfidf, TfidfRunConfig)
    assert tfidf.model.class_weight == "balanced"


def test_set_overrides_are_parsed_as_yaml_and_validated():
    config = load_config(
        CONFIGS / "indobert.yaml",
        ["train.epochs=3", "model.name_or_path=/models/indobert", "train.bf16=false", "layers=[frame, type]",
         "train.learning_rate=5e-5"],
    )
    assert config.train.epochs == 3
    assert config.model.name_or_path == "/models/indobert"
    assert config.train.bf16 is False
    assert config.layers == ["type", "frame"]  # schema order
    assert config.train.learning_rate == pytest.approx(5e-5)


def test_unknown_key_names_file_and_key_path(tmp_path):
    path = write(tmp_path, "model:\n  kind: tfidf\n  c_valuez: [1]\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: model.c_valuez: unknown key"


def test_unknown_override_key_is_rejected_with_its_path():
    with pytest.raises(InputError) as err:
        load_config(CONFIGS / "indobert.yaml", ["train.epoch=3"])
    assert str(err.value) == f"{CONFIGS / 'indobert.yaml'}: train.epoch: unknown key"


def test_wrong_value_says_what_was_expected():
    with pytest.raises(InputError) as err:
        load_config(CONFIGS / "indobert.yaml", ["train.epochs=many"])
    message = str(err.value)
    assert message.startswith(f"{CONFIGS / 'indobert.yaml'}: train.epochs: ")
    assert "number" in message and "'many'" in message
    assert "\n" not in message


def test_several_errors_are_one_line(tmp_path):
    path = write(tmp_path, "seed: x\nmodel:\n  kind: tfidf\n  min_df: 0\n")
    message = str(pytest.raises(InputError, load_config, path).value)
    assert message.startswith(f"{path}: seed: ")
    assert "(and 1 more: model.min_df: " in message
    assert "\n" not in message


EXPECTED_KINDS = ", ".join(repr(kind) for kind in KINDS)  # every registered kind, registry order


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{}\n", "model: required section is missing"),
        ("model:\n  kind: bert\n", f"model.kind: expected one of {EXPECTED_KINDS} (got 'bert')"),
        ("model:\n  name_or_path: x\n", f"model.kind: expected one of {EXPECTED_KINDS} (got missing)"),
        ("model: tfidf\n", "model: expected a section with a `kind` key"),
    ],
)
def test_model_kind_errors(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert str(pytest.raises(InputError, load_config, path).value) == f"{path}: {expected}"


def test_tfidf_config_rejects_transformer_training_keys():
    with pytest.raises(InputError, match=r"tfidf.yaml: train.epochs: unknown key"):
        load_config(CONFIGS / "tfidf.yaml", ["train.epochs=3"])


def test_bad_layer_and_ngram_range(tmp_path):
    path = write(tmp_path, "layers: [type, mood]\nmodel:\n  kind: tfidf\n")
    assert "layers.1: Input should be 'type', 'stance' or 'frame'" in str(pytest.raises(InputError, load_config, path).value)
    path = write(tmp_path, "model:\n  kind: tfidf\n  char_ngrams: [5, 2]\n", "b.yaml")
    assert "model.char_ngrams: " in str(pytest.raises(InputError, load_config, path).value)


@pytest.mark.parametrize("bad", ["train.epochs", "=3", "train..epochs=3", "train.epochs=[1,"])
def test_malformed_override_is_one_line(bad):
    message = str(pytest.raises(InputError, load_config, CONFIGS / "indobert.yaml", [bad]).value)
    assert message.startswith(f"--set {bad}: ")
    assert "\n" not in message


def test_override_below_a_value_is_refused():
    with pytest.raises(InputError, match=r"--set seed.value=1: seed is a value, not a section"):
        apply_overrides({"seed": 0}, ["seed.value=1"])


def test_override_creates_missing_sections():
    assert apply_overrides({}, ["train.epochs=2"]) == {"train": {"epochs": 2}}
    assert parse_override("model.name_or_path=a=b") == (["model", "name_or_path"], "a=b")


def test_yaml_problems_name_the_file(tmp_path):
    path = write(tmp_path, "model: [unclosed\n")
    assert str(pytest.raises(InputError, load_config, path).value).startswith(f"{path}: invalid YAML (")
    missing = tmp_path / "nope.yaml"
    assert str(pytest.raises(InputError, load_config, missing).value) == f"{missing}: config file not found"
    listing = write(tmp_path, "- a\n- b\n", "list.yaml")
    assert "expected a mapping" in str(pytest.raises(InputError, load_config, listing).value)


def test_data_paths_in_the_file_resolve_against_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    path = write(folder, "data:\n  labels: gold/labels.jsonl\nmodel:\n  kind: tfidf\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(path, ["data.splits=my/splits.json"])
    assert config.data.labels == (folder / "gold" / "labels.jsonl").resolve()
    assert config.data.splits == Path("my/splits.json")  # --set: relative to the current directory
    assert config.output.root == Path("runs")


def test_resolved_config_round_trips(tmp_path):
    config = load_config(CONFIGS / "indobert.yaml", ["train.epochs=2", "seed=7"])
    path = write(tmp_path, dump_config(config), "config.yaml")
    again = load_config(path)
    assert again == config
    assert yaml.safe_load(path.read_text())["model"]["name_or_path"] == "indobenchmark/indobert-base-p1"


def test_validation_message_is_the_single_formatter():
    with pytest.raises(ValidationError) as err:
        TfidfRunConfig.model_validate({"model": {"kind": "tfidf", "min_df": "x"}, "extra": 1})
    message = validation_message("cfg.yaml", err.value)
    assert message.startswith("cfg.yaml: ")
    assert "model.min_df: Input should be a valid integer" in message
    assert "extra: unknown key" in message
