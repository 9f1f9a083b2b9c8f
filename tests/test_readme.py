"""The README's shell examples run as written, in a copy of the repository, after its main job.

The main job's block is run without its set-up lines (venv, pip: the suite already runs in an
installed environment; `bench/fresh_clone.py` proves those on a fresh clone); every other
```bash block runs after it, in README order, with `bash -e -o pipefail` in the same copy. A block
that needs what the suite may not have (network, an optional extra, minutes of CPU) carries
`<!-- skip-test: reason -->` right above it and is listed as skipped with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_figures", REPO / "bench" / "readme_figures.py")
readme_figures = importlib.util.module_from_spec(_spec)
sys.modules["readme_figures"] = readme_figures  # dataclasses look their module up there
_spec.loader.exec_module(readme_figures)

README_TEXT = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = readme_figures.shell_blocks(README_TEXT)
# What a block may only do when it is marked skip-test (the suite has no network and only the [test] extra).
NEEDS_A_SKIP_MARK = ("pip install", "--index-url", "build-e5", "encoders/", "--engine ray", "--device cuda", "torchrun")


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout (the README runs in a copy of the tracked files)")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [p for p in out.decode("utf-8").split("\0") if p]


def run_block(script: str, cwd: Path, env: dict[str, str], where: str) -> None:
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, (f"README.md {where} failed (exit {result.returncode}):\n{script}\n"
                                    f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")


@pytest.fixture(scope="module")
def main_job_copy(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A copy of the tracked files in which the README's main job has run."""
    copy = tmp_path_factory.mktemp("readme") / "warta"
    for rel in tracked_files():
        source = REPO / rel
        if source.is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / rel)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["WARTA_CACHE_DIR"] = str(copy.parent / "cache")
    env["HF_HUB_OFFLINE"] = "1"
    block = readme_figures.main_job_block(README_TEXT)
    run_block("\n".join(block.without_setup()), copy, env, f"line {block.line} (main job, set-up lines left out)")
    return copy, env


def test_main_job_is_set_up_then_warta_commands():
    block = readme_figures.main_job_block(README_TEXT)
    commands = block.commands()
    setup = [c for c in commands if c not in block.without_setup()]
    assert setup[:3] == ["python3 -m venv .venv", ". .venv/bin/activate", "pip install torch==2.13.0"]
    assert len(setup) == 4 and re.fullmatch(r'pip install -e "?\.(\[[a-z0-9,]+\])?"?', setup[3]), setup[3]
    assert commands[:len(setup)] == setup, "set-up lines come first"
    assert all(c.startswith("warta ") for c in block.without_setup())
    assert readme_figures.main_job_config(README_TEXT).is_file()


def test_blocks_that_need_more_than_the_suite_are_marked():
    unmarked = [f"line {b.line}: {word}" for b in BLOCKS if not b.main_job and b.skip_reason is None
                for word in NEEDS_A_SKIP_MARK if word in b.code]
    assert not unmarked, "mark these blocks <!-- skip-test: reason -->: " + "; ".join(unmarked)
    assert all(b.skip_reason.strip() for b in BLOCKS if b.skip_reason is not None)


def test_every_example_uses_the_main_jobs_run():
    run = "runs/" + readme_figures.main_job_config(README_TEXT).stem
    for block in BLOCKS:
        for command in block.commands():
            words = command.split()
            if words[:2] == ["warta", "label"] and not block.skip_reason:
                assert words[2] == run, f"README.md line {block.line}: label with {run}, the main job's run"


@pytest.mark.slow
def test_readme_examples_run_as_written(main_job_copy):
    copy, env = main_job_copy
    ran = 0
    for block in BLOCKS:
        if block.main_job or block.skip_reason is not None:
            continue
        run_block(block.code, copy, env, f"line {block.line}")
        ran += 1
    assert ran >= 2, "the README lost its examples"
    run = copy / "runs" / readme_figures.main_job_config(README_TEXT).stem
    assert (run / "README.md").is_file(), "the README says the main job's run carries its model card"
    assert (copy / "runs" / "my-outlets" / "report.html").is_file()
