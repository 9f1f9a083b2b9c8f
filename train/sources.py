"""The labelled data of a run: the seed gold plus the config's extra sources and written supplement.

- ``data.extra``: real labelled sentences (e.g. from `warta annotate import`)
  join the corpus; near-duplicate groups, test/dev/train and the K folds are
  regenerated over seeds + extras with `warta.gold.splits.make_splits` (same
  seed and K as the stored splits).
- ``data.supplement``: written sentences (``source: written``) go to
  ``LabelledData.supplement`` and are only ever added to the sentences a model
  is *fitted* on (`with_supplement`), never to dev, test or a held-out fold.
"""

from __future__ import annotations

from typing import Any

from warta.config import DataConfig
from warta.gold.sources import check_unique_ids, read_source
from warta.train.data import LabelledData, load_data


def load_run_data(data: DataConfig) -> LabelledData:
    """Seeds (labels/splits/seeds paths) + extra sources (splits regenerated) + supplement."""
    base = load_data(data.labels, data.splits, data.seeds)
    extras = [(str(path), read_source(path)) for path in data.extra]
    supplements = [(str(path), read_source(path, supplement=True)) for path in data.supplement]
    check_unique_ids([(str(base.sources.get("labels")), base.records), *extras, *supplements])
    sources: dict[str, Any] = dict(base.sources)
    records, splits = base.records, base.splits
    if extras:
        from warta.gold.splits import make_splits

        records = records + [record for _, rows in extras for record in rows]
        splits = make_splits(records, seed=base.splits.seed, k=base.splits.k)
        sources["splits"] = None  # regenerated, not read from a file
        sources["splits_regenerated"] = (
            f"make_splits over {len(records)} sentences (seeds + extra), seed {splits.seed}, k {splits.k}"
        )
    sources["extra"] = [path for path, _ in extras]
    sources["supplement"] = [path for path, _ in supplements]
    result = LabelledData(records, splits, sources)
    result.supplement = [record for _, rows in supplements for record in rows]
    return result


def with_supplement(data: LabelledData, fit_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records a model is fitted on: `fit_records` + the written supplement (training only)."""
    return list(fit_records) + list(getattr(data, "supplement", []) or [])
