"""`warta annotate select` as one library call: read, select, write the batch folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warta.annotate.labelstudio import (
    guideline_definitions,
    labelling_config,
    tasks,
    write_csv,
)
from warta.annotate.select import DEFAULT_THRESHOLD, select, with_context
from warta.errors import InputError
from warta.jsonl import read_jsonl, write_json
from warta.runfolder import RunFolder


def gold_exclusions(label_files: Sequence[str | Path]) -> tuple[set[str], list[str]]:
    """Ids already labelled in any of the files, and the texts of those sentences (for near-duplicates)."""
    from warta.gold.labels import load_labels, seed_sentences

    ids: set[str] = set()
    texts: list[str] = []
    for path in label_files:
        for record in load_labels(path):
            if isinstance(record.get("id"), str):
                ids.add(record["id"])
                if record.get("text"):
                    texts.append(str(record["text"]))
    seed_texts = {s["id"]: s["text"] for s in seed_sentences()}
    texts += [seed_texts[i] for i in sorted(ids) if i in seed_texts]
    return ids, texts


def check_run_labels(run_dir: Path, records: Sequence[dict[str, Any]], source: Path) -> None:
    """The probabilities in LABELLED must use the run's label set (they came from that run)."""
    labels = RunFolder.open(run_dir).labels()
    for record in records:
        probs = record.get("probs")
        if not probs:
            continue
        for layer, dist in probs.items():
            if layer in labels and set(dist) != set(labels[layer]):
                raise InputError(f"{source}: {record.get('id')}: {layer} probabilities do not match the labels of run {run_dir}")
        return  # one labelled record is enough: `warta label` writes one label set per file


def make_batch(
    run_dir: str | Path,
    labelled: str | Path,
    out: str | Path,
    n: int = 200,
    seed: int = 0,
    label_files: Sequence[str | Path] = (),
    method: str = "entropy",
    threshold: float = DEFAULT_THRESHOLD,
    clusters: int | None = None,
    per_outlet_cap: int | None = None,
    by_date: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Select a batch from `warta label` output and write DIR/{tasks.json, config.xml, batch.csv, selection.json}."""
    from warta.gold.labels import default_labels_path

    run_dir, labelled, out = RunFolder.open(run_dir).path, Path(labelled), Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: exists and is not empty (use --force to replace the batch files)")
    records = read_jsonl(labelled)
    check_run_labels(run_dir, records, labelled)
    label_files = list(label_files) or [default_labels_path()]
    exclude, labelled_texts = gold_exclusions(label_files)
    definitions = guideline_definitions()  # before selecting: a broken guideline fails fast
    selection = select(records, n, seed=seed, exclude_ids=exclude, labelled_texts=labelled_texts, method=method,
                       threshold=threshold, clusters=clusters, per_group_cap=per_outlet_cap, by_date=by_date)
    with_context(selection.picked, records)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "tasks.json", tasks(selection.picked))
    (out / "config.xml").write_text(labelling_config(definitions), encoding="utf-8")
    write_csv(selection.picked, out / "batch.csv")
    summary = {
        "run": str(run_dir),
        "labelled": str(labelled),
        "label_files": [str(p) for p in label_files],
        "n_requested": n,
        "n_selected": len(selection.picked),
        "candidates": selection.candidates,
        "excluded": selection.excluded,
        "per_group": selection.per_group,
        "clusters": selection.clusters,
        "settings": {"seed": seed, "uncertainty": method, "near_duplicate_cosine": threshold,
                     "per_outlet_cap": per_outlet_cap, "by_date": by_date},
        "ids": [r["id"] for r in selection.picked],
    }
    write_json(out / "selection.json", summary)
    return summary
