"""The wheel works anywhere: built from the checkout, installed into a fresh venv outside it,
it builds the seed corpus and trains the bundled TF-IDF config by name (seeds and configs are package data)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("warta", "train", "models", "eval", "seeds", "configs", "pyproject.toml", "README.md")


def base_python() -> str:
    """An interpreter whose setuptools can build the wheel without network (the venv's base one)."""
    candidate = Path(sys.base_prefix) / "bin" / "python3"
    return str(candidate) if candidate.exists() else sys.executable


@pytest.mark.wheel
def test_wheel_installed_outside_the_checkout_builds_the_corpus_and_trains(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:  # a clean copy: no build/ or egg-info left in the checkout
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, src / name)
    python = base_python()
    subprocess.run(
        [python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
        check=True, capture_output=True, text=True,
    )
    wheel = next((tmp_path / "dist").glob("warta-*.whl"))
    venv = tmp_path / "venv"
    # --without-pip: the system site-packages (visible to the venv) hold pip and every dependency.
    subprocess.run([python, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    venv_python = venv / "bin" / "python"
    subprocess.run([str(venv_python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, text=True)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def warta(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "warta"), *args], cwd=work, capture_output=True, text=True)

    where = subprocess.run([str(venv_python), "-c", "import warta.resources as r; print(r.bundled_dir('seeds'))"],
                           cwd=work, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # package data, not the checkout
    built = warta("corpus", "build", "--out", "seeds.jsonl")
    assert built.returncode == 0, built.stderr
    expected = subprocess.run([sys.executable, "-m", "warta", "corpus", "build", "--out", str(tmp_path / "here.jsonl")],
                              cwd=REPO, capture_output=True, text=True, check=True)
    assert expected.returncode == 0
    assert (work / "seeds.jsonl").read_bytes() == (tmp_path / "here.jsonl").read_bytes()
    trained = warta("train", "tfidf", "--out", "run", "-q")
    assert trained.returncode == 0, trained.stderr
    assert "run folder: run" in trained.stdout
    assert {"model", "metrics.json", "sentences.jsonl"} <= {p.name for p in (work / "run").iterdir()}
    assert "tfidf" in (work / "run" / "config.yaml").read_text(encoding="utf-8")
