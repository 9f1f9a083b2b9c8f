"""The wheel works anywhere: built from the checkout, installed into a fresh venv outside it,
it builds the seed corpus and trains the bundled TF-IDF config by name (seeds and configs are package data)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("warta", "train", "models", "eval", "seeds", "configs", "pyproject.toml", "README.md")


def build_wheel(src: Path, dist: Path) -> Path:
    """The wheel, built by this interpreter's own `build` and setuptools (the test extra), never the system's:
    no build isolation (no network), and a missing build dependency is an error, not a download."""
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return next(dist.glob("warta-*.whl"))


def fresh_venv(venv: Path) -> Path:
    """A venv with only the wheel of its own: made without pip, dependencies visible through a .pth line naming
    this environment's site-packages (a path in a .pth is not itself a site dir, so this environment's
    editable install of the checkout is not picked up); the wheel is installed by this interpreter's pip."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(here)), encoding="utf-8")
    return python


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
    wheel = build_wheel(src, tmp_path / "dist")
    venv = tmp_path / "venv"
    venv_python = fresh_venv(venv)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv_python), "install", "-q", "--no-deps",
                                "--no-index", str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()

    # the venv's own paths only: a PYTHONPATH of the caller would put another warta ahead of the wheel
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    def warta(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "warta"), *args], cwd=work, capture_output=True, text=True, env=env)

    where = subprocess.run([str(venv_python), "-c", "import warta.resources as r; print(r.bundled_dir('seeds'))"],
                           cwd=work, capture_output=True, text=True, check=True, env=env).stdout.strip()
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
