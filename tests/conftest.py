"""Shared fixtures: the bundled seeds and their frozen segmentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def frozen_segmentation() -> dict[str, list[list[str]]]:
    return json.loads((DATA / "seed_sentences.json").read_text(encoding="utf-8"))
