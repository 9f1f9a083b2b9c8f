"""The external dev set for the bench scripts: where it is, the one line when it is absent, its labelled
sentences and how a model's probabilities on them are scored (the figures `warta evaluate --data` reports);
and the one way those benches run the warta CLI (`run_warta`).

Its text is rebuilt outside the repository (../shared/external-dev/README.md) and never committed; a bench
that needs it prints `missing()`'s line and exits 0 without it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT = Path("/work/extdev")
LAYERS = ["type", "stance", "frame"]


def run_warta(*args: str, env: Mapping[str, str] | None = None, nice: int = 10,
              program: Sequence[str] = (sys.executable, "-m", "warta")) -> float:
    """Run `program ARGS` (the warta CLI) niced in the repository; wall seconds. A failure stops the bench
    with the command and the end of its stderr."""
    start = time.perf_counter()
    done = subprocess.run(["nice", "-n", str(nice), *program, *args], cwd=REPO, env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"warta {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def arguments(doc: str, work: Path, out: Path) -> argparse.ArgumentParser:
    """A bench script's parser with the options every external-set bench shares: --extdev, --work, --out."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--extdev", type=Path, default=DEFAULT, help="the rebuilt external dev set's folder")
    parser.add_argument("--work", type=Path, default=work, help="run folders of the models trained here")
    parser.add_argument("--out", type=Path, default=out, help="the results file written")
    return parser


def gold_file(extdev: Path) -> Path | None:
    """`extdev`/gold.jsonl, or None after printing the one line that says it is absent."""
    path = extdev / "gold.jsonl"
    if path.is_file():
        return path
    print(f"external dev set not found ({path}); see ../shared/external-dev/README.md — nothing measured")
    return None


def load(extdev: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]] | None:
    """(labelled sentences, headings skipped; label names per layer), or None when the set is absent (`gold_file`)."""
    from warta.eval.evaluate import read_labelled_jsonl
    from warta.schema import LAYERS as SCHEMA

    path = gold_file(extdev)
    if path is None:
        return None
    labels = {layer: list(SCHEMA[layer]) for layer in LAYERS}
    return read_labelled_jsonl(path, labels), labels


def score(gold: list[dict], probs: dict[str, np.ndarray], labels: dict[str, list[str]]) -> dict[str, Any]:
    """macro-F1 with 95% bootstrap CIs, confusions, per-outlet share and stance-index error of `probs` on `gold`."""
    from warta.eval.evaluate import score_labelled
    from warta.records import predictions_from_matrices

    preds = predictions_from_matrices(gold, probs, labels, "bench", decimals=None)
    return score_labelled(gold, preds, labels, n_boot=1000, seed=0)
