"""Bundled seeds and configs: found by name, through importlib.resources in a wheel (see test_wheel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from warta.config import load_config, resolve_config_path
from warta.errors import InputError
from warta.resources import bundled_config, bundled_config_names, bundled_dir

REPO = Path(__file__).resolve().parent.parent


def test_bundled_folders_in_a_checkout_are_the_repository_folders():
    assert bundled_dir("seeds") == REPO / "seeds"
    assert bundled_dir("configs") == REPO / "configs"
    assert {"tfidf", "indobert"} <= set(bundled_config_names())


def test_a_bare_config_name_resolves_to_the_bundled_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path("tfidf") == bundled_config("tfidf") == REPO / "configs" / "tfidf.yaml"
    assert load_config("tfidf").name == "tfidf"


def test_a_local_file_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tfidf").write_text("name: mine\nmodel: {kind: tfidf}\n", encoding="utf-8")
    assert resolve_config_path("tfidf") == Path("tfidf")


def test_an_unknown_bare_name_lists_the_bundled_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = str(pytest.raises(InputError, load_config, "nope").value)
    assert message.startswith("nope: no such config file or bundled config (") and "tfidf" in message
