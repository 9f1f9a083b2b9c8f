"""The install puts train/, models/ and eval/ inside the warta namespace only."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_only_warta_is_a_top_level_package():
    top_level = importlib.metadata.distribution("warta").read_text("top_level.txt")
    assert top_level.split() == ["warta"]


def test_root_folders_import_as_warta_subpackages():
    import warta.eval
    import warta.models
    import warta.train

    for module, folder in ((warta.train, "train"), (warta.models, "models"), (warta.eval, "eval")):
        assert Path(module.__file__).parent == REPO / folder


def test_generic_names_are_not_importable_outside_the_repo(tmp_path):
    # Run from an unrelated folder so the repository root is not on sys.path.
    code = "import importlib.util as u; print([u.find_spec(n) is None for n in ('train', 'models', 'eval')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.strip() == "[True, True, True]"
