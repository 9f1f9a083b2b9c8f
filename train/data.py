"""The labelled sentences and their splits, as one checked object for training."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.schema import LAYERS

SPLIT_NAMES = ("train", "dev", "test")


@dataclass
class LabelledData:
    """Gold records (sentence fields + type/stance/frame) and a splits object.

    `splits` has `train`, `dev`, `test` (id lists), `folds` (id -> fold, for
    train+dev), `groups` (id -> group), `k`, `seed` -- `warta.gold.splits.Splits`
    or anything with the same attributes.
    """

    records: list[dict[str, Any]]
    splits: Any
    sources: dict[str, Any] = field(default_factory=dict)
    # written supplement (warta.train.sources): fitted on, never split, never scored
    supplement: list[dict[str, Any]] = field(default_factory=list)

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {record["id"]: record for record in self.records}

    def split_records(self, name: str) -> list[dict[str, Any]]:
        """Records of one split, in the split's id order; an id without a gold record is an InputError."""
        by_id = self.by_id()
        ids = list(getattr(self.splits, name))
        missing = [i for i in ids if i not in by_id]
        if missing:
            where = self.sources.get("splits") or "splits"
            raise InputError(
                f"{where}: {len(missing)} {name} id(s) have no labelled sentence (first: {missing[0]!r}); "
                "labels and splits are out of step"
            )
        return [by_id[i] for i in ids]


def load_data(labels: Path | None = None, splits: Path | None = None, seeds: Path | None = None) -> LabelledData:
    """Gold records via `warta.gold.labels.load_gold` and splits via `warta.gold.splits.load_splits` (None: bundled seeds)."""
    from warta.gold.labels import default_labels_path, load_gold
    from warta.gold.splits import default_splits_path, load_splits

    records = load_gold(seeds_dir=seeds, labels_path=labels)
    split_obj = load_splits(splits)
    check_labels(records, str(labels or default_labels_path(seeds)))
    sources = {
        "labels": str(labels or default_labels_path(seeds)),
        "splits": str(splits or default_splits_path()),
        "seeds": str(seeds) if seeds else None,
    }
    return LabelledData(records, split_obj, sources)


def check_labels(records: list[dict[str, Any]], source: str) -> None:
    """Every present label must be in the schema (one line naming the record otherwise)."""
    for record in records:
        for layer, labels in LAYERS.items():
            value = record.get(layer)
            if value is not None and value not in labels:
                raise InputError(f"{source}: id {record.get('id')!r}: {layer} {value!r} is not one of {', '.join(labels)}")


def targets(records: list[dict[str, Any]], layers: list[str]) -> dict[str, list[str | None]]:
    """layer -> gold label per record (None where unlabelled)."""
    return {layer: [record.get(layer) for record in records] for layer in layers}


def file_sha256(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fingerprint(data: LabelledData, layers: list[str]) -> dict[str, Any]:
    """What the run was trained and scored on: ids per split, label counts, file hashes."""
    ids = {name: list(getattr(data.splits, name)) for name in SPLIT_NAMES}
    by_id = data.by_id()
    counts = {}
    for name, split_ids in ids.items():
        counts[name] = {
            layer: dict(Counter(by_id[i].get(layer) for i in split_ids if by_id.get(i, {}).get(layer) is not None))
            for layer in layers
        }
    text_digest = hashlib.sha256(
        "\n".join(f"{r['id']}\t{r.get('text', '')}" for r in sorted(data.records, key=lambda r: r["id"])).encode("utf-8")
    ).hexdigest()
    return {
        "ids": ids,
        "sizes": {name: len(split_ids) for name, split_ids in ids.items()},
        "label_counts": counts,
        "layers": layers,
        "sources": {
            **data.sources,
            "labels_sha256": file_sha256(data.sources.get("labels")),
            "splits_sha256": file_sha256(data.sources.get("splits")),
            "records_sha256": text_digest,
        },
        "supplement": supplement_fingerprint(data, layers),
        "splits_seed": getattr(data.splits, "seed", None),
        "folds_k": getattr(data.splits, "k", None),
    }


def supplement_fingerprint(data: LabelledData, layers: list[str]) -> dict[str, Any]:
    """Size, label counts and file hashes of the written supplement (training folds only)."""
    files = list(data.sources.get("supplement") or [])
    return {
        "n": len(data.supplement),
        "files": {path: file_sha256(path) for path in files},
        "label_counts": {layer: dict(Counter(r.get(layer) for r in data.supplement)) for layer in layers},
        "use": "added to the fitted sentences of every model (train, CV fit folds, refit); never dev/test/held out",
    }
