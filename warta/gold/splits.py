"""Leakage-aware splits of the labelled corpus: near-duplicate groups, test/dev/train, grouped K folds.

Why groups: 002 is a rewrite of 000 and the same quotes recur across outlets,
so a random sentence split puts near-copies on both sides. Sentences are
grouped first and every split and fold takes whole groups.

Similarity and linking: warta.gold.groups (thresholds NEAR_DUPLICATE, STRONG,
REWRITE_SHARE, ALIGN, ALIGN_TIE are defined and explained there).

Assignment: groups are placed greedily, largest first (ties in a seeded
shuffle), into the bin whose per-type-label and size targets they help most;
the best of RESTARTS seeded orders is kept. The same routine makes the
test/dev/train split and the K folds over train+dev. The only randomness is
Python's `random.Random(seed)` (no library RNG), so the stored file can be
regenerated exactly.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.gold.groups import ALIGN, ALIGN_TIE, NEAR_DUPLICATE, REWRITE_SHARE, STRONG, near_duplicate_groups
from warta.jsonl import write_text_atomic
from warta.text.corpus import default_seeds_dir

SPLITS_FILE = "splits.json"
SPLIT_NAMES = ("train", "dev", "test")
DEFAULT_SEED = 20250101
DEFAULT_K = 5
TEST_SIZE = 0.22
DEV_SIZE = 0.15
STRATIFY_LAYER = "type"
# type is the stratification layer; stance and frame are kept in view at lower
# weight so that a rare frame (morality: 6 sentences) is not absent from test
LAYER_WEIGHTS = {"type": 1.0, "stance": 0.25, "frame": 0.25}

RESTARTS = 200


@dataclass
class Splits:
    """Sentence ids per split, fold per train+dev id, group per id."""

    train: list[str]
    dev: list[str]
    test: list[str]
    folds: dict[str, int]
    groups: dict[str, str]
    seed: int
    k: int
    method: dict[str, Any] = field(default_factory=dict)

    def split_of(self, sentence_id: str) -> str:
        """'train', 'dev' or 'test' (KeyError for an id in no split)."""
        for name in SPLIT_NAMES:
            if sentence_id in self._sets()[name]:
                return name
        raise KeyError(sentence_id)

    def fold_ids(self, fold: int) -> tuple[list[str], list[str]]:
        """(fit ids, held-out ids) of one cross-validation fold over train+dev."""
        if not 0 <= fold < self.k:
            raise ValueError(f"fold must be in 0..{self.k - 1}, got {fold}")
        pool = self.train + self.dev
        return [i for i in pool if self.folds[i] != fold], [i for i in pool if self.folds[i] == fold]

    def _sets(self) -> dict[str, set[str]]:
        return {name: set(getattr(self, name)) for name in SPLIT_NAMES}

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "k": self.k,
            "method": self.method,
            "train": self.train,
            "dev": self.dev,
            "test": self.test,
            "folds": self.folds,
            "groups": self.groups,
        }


# --- grouped, stratified assignment ------------------------------------------------


def assign_groups(
    groups: dict[str, str],
    labels: dict[str, dict[str, str]],
    weights: Sequence[float],
    seed: int,
    layer_weights: dict[str, float] | None = None,
) -> dict[str, int]:
    """Bin per sentence id: whole groups only, each bin near its weight overall and per label.

    `labels` maps sentence id -> {layer: label}; `layer_weights` says how much
    each layer's balance counts (default: every layer in `labels` equally).
    Greedy: groups largest first (equal sizes in a seeded shuffle) go to the
    bin where they most reduce the weighted squared distance of (per-label
    counts, size) from the targets; the best of RESTARTS orders is kept.
    """
    layer_weights = layer_weights or {layer: 1.0 for layer in next(iter(labels.values()), {})}
    columns = [(layer, label) for layer in layer_weights
               for label in sorted({values[layer] for values in labels.values()})]
    members: dict[str, list[str]] = {}
    for sentence_id, group in groups.items():
        members.setdefault(group, []).append(sentence_id)
    group_names = sorted(members)
    counts = {
        g: np.array([sum(labels[m][layer] == label for m in members[g]) for layer, label in columns]
                    + [len(members[g])], float)
        for g in group_names
    }
    totals = sum(counts.values())
    targets = np.outer(np.asarray(weights, float) / sum(weights), totals)  # bins x (labels + size)
    # each label counts relative to its own frequency, so rare labels are not ignored
    importance = np.array([layer_weights[layer] for layer, _ in columns] + [1.0])
    scale = importance / np.maximum(totals, 1.0)
    rng = random.Random(seed)
    best_assignment: dict[str, int] | None = None
    best_error = None
    for _ in range(RESTARTS):
        order = list(group_names)
        rng.shuffle(order)
        order.sort(key=lambda g: -len(members[g]))  # stable: shuffled order among equal sizes
        filled = np.zeros_like(targets)
        chosen: dict[str, int] = {}
        for g in order:
            gain = [(((filled[b] + counts[g] - targets[b]) ** 2 - (filled[b] - targets[b]) ** 2) * scale).sum()
                    for b in range(len(targets))]
            b = int(np.argmin(gain))
            filled[b] += counts[g]
            chosen[g] = b
        error = float((((filled - targets) ** 2) * scale).sum())
        if best_error is None or error < best_error - 1e-12:
            best_error, best_assignment = error, chosen
    assert best_assignment is not None
    return {sentence_id: best_assignment[g] for sentence_id, g in groups.items()}


def make_splits(
    records: Sequence[dict[str, Any]],
    seed: int = DEFAULT_SEED,
    k: int = DEFAULT_K,
    test_size: float = TEST_SIZE,
    dev_size: float = DEV_SIZE,
) -> Splits:
    """Group near-duplicates, then split test/dev/train and K folds over train+dev, stratified by type."""
    if k < 2:
        raise InputError(f"k must be at least 2, got {k}")
    if not 0 < test_size < 1 or not 0 < dev_size < 1 or test_size + dev_size >= 1:
        raise InputError(f"test_size and dev_size must be in (0, 1) with a sum below 1, got {test_size}, {dev_size}")
    missing = [r["id"] for r in records if r.get(STRATIFY_LAYER) is None]
    if missing:
        raise InputError(f"{len(missing)} record(s) lack a {STRATIFY_LAYER!r} label, e.g. {missing[0]}")
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        raise InputError("duplicate sentence ids in the records to split")
    layers = [layer for layer in LAYER_WEIGHTS if all(r.get(layer) is not None for r in records)]
    labels = {r["id"]: {layer: r[layer] for layer in layers} for r in records}
    layer_weights = {layer: LAYER_WEIGHTS[layer] for layer in layers}
    groups = near_duplicate_groups(records)
    bins = assign_groups(groups, labels, (1 - test_size - dev_size, dev_size, test_size), seed, layer_weights)
    by_split = {name: [i for i in ids if bins[i] == b] for b, name in enumerate(SPLIT_NAMES)}
    pool = by_split["train"] + by_split["dev"]
    check_folds(k, len({groups[i] for i in pool}))
    fold_of = assign_groups({i: groups[i] for i in pool}, labels, [1.0] * k, seed + 1, layer_weights)
    folds = {i: fold_of[i] for i in pool}
    empty = sorted(set(range(k)) - set(folds.values()))
    if empty:  # the assignment balances labels, and may starve a fold when groups are few
        raise InputError(f"--k {k}: {len(empty)} of the {k} folds would be empty "
                         f"({len({groups[i] for i in pool})} near-duplicate groups in train+dev); use a smaller --k")
    method = {
        "similarity": "cosine of char_wb 3-5-gram TF-IDF (sublinear tf), fitted on the grouped sentences",
        "near_duplicate": NEAR_DUPLICATE,
        "rewrite": {"strong": STRONG, "share": REWRITE_SHARE, "align": ALIGN, "align_tie": ALIGN_TIE},
        "stratify": STRATIFY_LAYER,
        "layer_weights": LAYER_WEIGHTS,
        "sizes": {"test": test_size, "dev": dev_size},
        "restarts": RESTARTS,
    }
    return Splits(by_split["train"], by_split["dev"], by_split["test"], folds, groups, seed, k, method)


def check_folds(k: int, n_groups: int) -> None:
    """Refuse K folds over fewer groups than K (every fold needs a group): before any fold is written."""
    if k > n_groups:
        raise InputError(f"--k {k}: train+dev hold only {n_groups} near-duplicate group(s), so at most "
                         f"{n_groups} folds can each hold one; use a smaller --k")


def seed_splits(
    seeds_dir: str | Path | None = None,
    labels_path: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    k: int = DEFAULT_K,
) -> Splits:
    """The splits of the labelled seed corpus (what `seeds/splits.json` stores)."""
    from warta.gold.labels import load_gold

    return make_splits(load_gold(seeds_dir, labels_path), seed=seed, k=k)


# --- checking, reading, writing ----------------------------------------------------


def split_problems(splits: Splits, ids: Sequence[str] | None = None) -> list[str]:
    """What is wrong with a Splits: overlaps, groups across splits or folds, fold coverage, missing ids."""
    problems = []
    seen: dict[str, str] = {}
    for name in SPLIT_NAMES:
        for sentence_id in getattr(splits, name):
            if sentence_id in seen:
                problems.append(f"{sentence_id}: in both {seen[sentence_id]} and {name}")
            seen[sentence_id] = name
    if set(splits.groups) != set(seen):
        problems.append("groups do not cover exactly the split ids")
    pool = set(splits.train) | set(splits.dev)
    if set(splits.folds) != pool:
        problems.append("folds do not cover exactly the train+dev ids")
    if any(not isinstance(f, int) or not 0 <= f < splits.k for f in splits.folds.values()):
        problems.append(f"fold numbers must be integers in 0..{splits.k - 1}")
    where: dict[str, set[str]] = {}
    fold_where: dict[str, set[int]] = {}
    for sentence_id, group in splits.groups.items():
        if sentence_id in seen:
            where.setdefault(group, set()).add(seen[sentence_id])
        if sentence_id in splits.folds:
            fold_where.setdefault(group, set()).add(splits.folds[sentence_id])
    problems += [f"group {g} straddles splits {', '.join(sorted(s))}" for g, s in sorted(where.items()) if len(s) > 1]
    problems += [f"group {g} straddles folds {sorted(f)}" for g, f in sorted(fold_where.items()) if len(f) > 1]
    if ids is not None:
        missing = [i for i in ids if i not in seen]
        extra = sorted(set(seen) - set(ids))
        if missing:
            problems.append(f"{len(missing)} labelled sentence(s) in no split, e.g. {missing[0]}")
        if extra:
            problems.append(f"{len(extra)} split id(s) not in the labelled corpus, e.g. {extra[0]}")
    return problems


def default_splits_path() -> Path:
    return default_seeds_dir() / SPLITS_FILE


def load_splits(path: str | Path | None = None) -> Splits:
    """Read a splits JSON (default: the bundled `seeds/splits.json`); InputError names the problem."""
    path = Path(path) if path else default_splits_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    required = ("seed", "k", *SPLIT_NAMES, "folds", "groups")
    if not isinstance(data, dict) or any(key not in data for key in required):
        absent = [key for key in required if not isinstance(data, dict) or key not in data]
        raise InputError(f"{path}: missing key(s) {', '.join(absent)}")
    splits = Splits(
        train=list(data["train"]),
        dev=list(data["dev"]),
        test=list(data["test"]),
        folds={str(i): f for i, f in data["folds"].items()},
        groups={str(i): str(g) for i, g in data["groups"].items()},
        seed=data["seed"],
        k=data["k"],
        method=data.get("method", {}),
    )
    problems = split_problems(splits)
    if problems:
        raise InputError(f"{path}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return splits


def dumps_splits(splits: Splits) -> str:
    """The canonical JSON text of a Splits (what is stored and compared)."""
    return json.dumps(splits.to_json(), ensure_ascii=False, indent=1) + "\n"


def write_splits(splits: Splits, path: str | Path, force: bool = False) -> Path:
    """Write splits JSON; refuse to overwrite an existing file without force."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"{path}: already exists (use --force to overwrite)")
    return write_text_atomic(path, dumps_splits(splits))


def split_summary(splits: Splits, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sizes and type counts per split and fold, group count and largest group."""
    by_id = {r["id"]: r for r in records}
    sizes = Counter(splits.groups.values())
    summary: dict[str, Any] = {
        "groups": len(sizes),
        "largest_group": max(sizes.values()) if sizes else 0,
        "splits": {},
        "folds": {},
    }
    total = sum(len(getattr(splits, n)) for n in SPLIT_NAMES)
    for name in SPLIT_NAMES:
        ids = getattr(splits, name)
        summary["splits"][name] = {
            "n": len(ids),
            "share": round(len(ids) / total, 3) if total else 0.0,
            STRATIFY_LAYER: dict(Counter(by_id[i].get(STRATIFY_LAYER) for i in ids if i in by_id)),
        }
    for fold in range(splits.k):
        ids = [i for i, f in splits.folds.items() if f == fold]
        summary["folds"][fold] = {
            "n": len(ids),
            STRATIFY_LAYER: dict(Counter(by_id[i].get(STRATIFY_LAYER) for i in ids if i in by_id)),
        }
    return summary
