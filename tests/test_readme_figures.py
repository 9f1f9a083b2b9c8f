"""The figure blocks of README.md and docs/ are what `python bench/readme_figures.py` writes (no retraining)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_figures", REPO / "bench" / "readme_figures.py")
readme_figures = importlib.util.module_from_spec(_spec)
sys.modules["readme_figures"] = readme_figures  # dataclasses look their module up there
_spec.loader.exec_module(readme_figures)


def test_figure_blocks_are_up_to_date():
    if readme_figures.tomllib is None:
        pytest.skip("the extras block reads pyproject.toml with tomllib (Python 3.11+)")
    cache: dict[str, str] = {}
    stale = []
    for path in readme_figures.files_with_figures():
        text = path.read_text(encoding="utf-8")
        stale += [f"{path.name}: {n}" for n in readme_figures.stale_blocks(text, readme_figures.render(text, cache))]
    assert not stale, f"out of date: {stale}; run python bench/readme_figures.py"
    assert "figures:which-model" in (REPO / "README.md").read_text(encoding="utf-8")


def test_render_rewrites_only_the_inside_of_a_block():
    text = "before\n<!-- figures:bundled-configs -->\nold figure\n<!-- /figures -->\nafter 0.976\n"
    rendered = readme_figures.render(text)
    assert rendered.startswith("before\n<!-- figures:bundled-configs -->\n")
    assert rendered.endswith("<!-- /figures -->\nafter 0.976\n")
    assert "old figure" not in rendered and "`tfidf`" in rendered
    assert readme_figures.stale_blocks(text, rendered) == ["bundled-configs"]


def test_unknown_block_is_refused():
    with pytest.raises(SystemExit, match="unknown figure block"):
        readme_figures.render("<!-- figures:no-such-block -->\n<!-- /figures -->\n")


def test_md_tables_reads_rows_by_header(tmp_path):
    path = tmp_path / "r.md"
    path.write_text("# t\n\n| model | F1 |\n|---|---|\n| a | 0.5 |\n| b | 0.6 |\n\ntext\n", encoding="utf-8")
    assert readme_figures.md_tables(path) == [[{"model": "a", "F1": "0.5"}, {"model": "b", "F1": "0.6"}]]
