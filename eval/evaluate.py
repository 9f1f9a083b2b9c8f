"""Score a trained run folder on its held-out split or on any labelled JSONL file.

What `evaluate_run` scores:

- ``split="test"`` / ``"dev"``: the sentence ids the run recorded for that split
  (``data.json``), their gold labels from the labelled corpus the run was
  trained from (``warta.gold.labels.load_gold`` on the sources data.json records —
  the same loader training used), and FRESH predictions from the saved model
  (``model/`` reloaded with ``warta.models.load_model``). Re-predicting checks
  that the saved model, loaded the way a user loads it, reproduces the run:
  per layer, ``"stored_agreement"`` is the share of sentences whose fresh label
  equals the one stored in ``predictions/<split>.jsonl`` (None when that file
  is absent), and ``"gold_changed_since_run"`` is True when the split's gold
  label counts differ from those data.json recorded (the labels were revised
  after training; the scores then use the current labels).
- ``split="cv"``: the out-of-fold predictions of ``warta train --cv``
  (``cv/oof.jsonl``) against the gold labels; fold models are not saved, so
  these are the stored predictions.
- ``data=FILE.jsonl``: any labelled JSONL with ``text`` and any subset of gold
  ``type``/``stance``/``frame``. Each text is one sentence as given (not
  re-segmented) and goes through the pipeline's sentence normalisation
  (mojibake repair, ``normalise_line``) before the model sees it. A record
  without ``id`` gets ``<file>#<idx>`` when it has both (the external dev set's
  rows), else ``line-<line number>``. ``role: heading`` rows (section headings,
  unlabelled) are skipped. When records carry ``outlet``, the result also holds
  ``"outlet_profile"``: per outlet, the share error per layer and the
  stance-index error (warta.train.profile_error, the figures `warta train --cv
  outlet` reports), over the records labelled on every scored layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.jsonl import read_jsonl, read_label_records
from warta.jsonl import write_json as write_json_file
from warta.metrics import evaluate_predictions
from warta.records import Prediction, predictions_from_matrices
from warta.records import model_id as make_model_id
from warta.runfolder import RunFolder, check_split
from warta.schema import LAYER_NAMES, parse_role
from warta.text.decode import normalise_line, repair_mojibake
from warta.train.profile_error import outlet_profile_error, render_outlet_error

# --- reading a run folder (warta.runfolder.RunFolder owns the layout) ----------


def check_run_dir(run_dir: str | Path | RunFolder) -> RunFolder:
    """The run folder; InputError when it is not one."""
    return RunFolder.open(run_dir)


def run_labels(run_dir: str | Path | RunFolder) -> dict[str, list[str]]:
    """layer -> ordered labels, from labels.json (or the model card when labels.json is absent)."""
    return RunFolder.open(run_dir).labels()


def run_gold(run_dir: str | Path | RunFolder) -> list[dict[str, Any]]:
    """Gold records of the labelled corpus the run was trained from (see RunFolder.gold)."""
    return RunFolder.open(run_dir).gold


def gold_changed_since_run(folder: RunFolder, split: str, gold: Sequence[Mapping[str, Any]], layer: str) -> bool | None:
    """Whether the split's gold label counts differ from those data.json recorded at training time."""
    counts = folder.data.get("label_counts", {}).get(split, {}).get(layer)
    if not isinstance(counts, dict):
        return None
    now = Counter(record[layer] for record in gold if record.get(layer) is not None)
    return {label: n for label, n in now.items()} != {label: n for label, n in counts.items() if n}


def stored_predictions(run_dir: str | Path | RunFolder, split: str) -> list[dict[str, Any]]:
    """The prediction records a run saved for a split (``cv``: its out-of-fold predictions)."""
    return RunFolder.open(run_dir).stored_predictions(split)


# --- predicting --------------------------------------------------------------


def predict_records(
    model: Any, records: Sequence[Mapping[str, Any]], batch_size: int = 32, model_id: str | None = None
) -> list[Prediction]:
    """Prediction records (warta.records) of `records` from one predict_proba call.

    The label is the argmax of the probabilities, so label and probs always
    agree. Probabilities are kept at full precision (these records are
    scored, not written; ECE is computed from them). `model_id` defaults to
    ``"model/<kind>"``.
    """
    if not records:
        return []
    probabilities = model.predict_proba([record["text"] for record in records], batch_size=batch_size)
    ident = model_id or make_model_id("model", getattr(model, "kind", "model"))
    return predictions_from_matrices(records, probabilities, model.labels, ident, decimals=None)


def _agreement(fresh: Sequence[Mapping[str, Any]], stored: Sequence[Mapping[str, Any]], layer: str) -> float | None:
    stored_by_id = {str(record.get("id")): record for record in stored}
    pairs = [(r[layer], stored_by_id[r["id"]].get(layer)) for r in fresh if r["id"] in stored_by_id]
    if not pairs:
        return None
    return float(sum(a == b for a, b in pairs) / len(pairs))


# --- labelled JSONL given by the user --------------------------------------


def read_labelled_jsonl(path: str | Path, labels: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """Records of a user's labelled JSONL, text normalised like a pipeline sentence, ids filled in.

    Gold values outside the model's label list are reported with file and line.
    """
    path = Path(path)
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for lineno, obj in read_label_records(path):  # any format `warta label` writes (JSONL, CSV, Parquet, shards)
        # section headings carry no labels (the external dev set's convention); `Heading` is a heading too
        if obj.get("role") is not None and parse_role(obj["role"], f"{path}:{lineno}") == "heading":
            continue
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path}:{lineno}: no \"text\" (a non-empty string is required)")
        record_id = _record_id(obj, lineno)
        if record_id in seen:
            raise InputError(f"{path}:{lineno}: id {record_id!r} already used on line {seen[record_id]}")
        seen[record_id] = lineno
        record = {"id": record_id, "text": normalise_line(repair_mojibake(text))}
        if not record["text"]:
            raise InputError(f"{path}:{lineno}: \"text\" is empty after normalisation")
        outlet = obj.get("outlet")
        if outlet is not None:
            if not isinstance(outlet, str) or not outlet.strip():
                raise InputError(f"{path}:{lineno}: \"outlet\" must be a non-empty string, got {outlet!r}")
            record["outlet"] = outlet
        for layer in LAYER_NAMES:
            value = obj.get(layer)
            if value is None or value == "":
                continue
            if layer in labels and value not in labels[layer]:
                raise InputError(
                    f"{path}:{lineno}: {layer} {value!r} is not one of {', '.join(labels[layer])}"
                )
            record[layer] = value
        records.append(record)
    if not records:
        raise InputError(f"{path}: no records")
    if not any(record.get(layer) is not None for record in records for layer in labels):
        raise InputError(f"{path}: no gold {' / '.join(labels)} label in any record")
    return records


def _record_id(obj: Mapping[str, Any], lineno: int) -> str:
    if obj.get("id") is not None:
        return str(obj["id"])
    if obj.get("file") is not None and obj.get("idx") is not None:
        return f"{obj['file']}#{obj['idx']}"
    return f"line-{lineno}"


# --- the evaluation --------------------------------------------------------------


def outlet_profile(
    gold: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]], layers: Sequence[str],
    n_boot: int = 1000, seed: int = 0,
) -> dict[str, Any] | None:
    """Per-outlet share error per layer and stance-index error of `predictions` (None without outlets).

    Over the gold records that name an outlet and are labelled on every one of
    `layers` (the profile compares label mixes, so a record must count on each
    layer); the stance layer is required for the index. See
    warta.train.profile_error for the definitions.
    """
    layers = [layer for layer in LAYER_NAMES if layer in layers]
    if "stance" not in layers:
        return None
    complete = [r for r in gold if r.get("outlet") and all(r.get(layer) is not None for layer in layers)]
    if not complete:
        return None
    return outlet_profile_error([dict(r) for r in complete], [dict(p) for p in predictions], layers,
                                seed=seed, n_boot=n_boot)


def score_labelled(
    gold: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]],
    labels: Mapping[str, Sequence[str]], n_boot: int = 1000, seed: int = 0,
) -> dict[str, Any]:
    """Layer metrics of predictions on labelled records, plus ``"outlet_profile"`` when they name outlets."""
    metrics: dict[str, Any] = evaluate_predictions(gold, predictions, list(labels), labels, n_boot=n_boot, seed=seed)
    profile = outlet_profile(gold, predictions, [layer for layer in metrics if layer in labels],
                             n_boot=n_boot, seed=seed)
    if profile is not None:
        metrics["outlet_profile"] = profile
    return metrics


def default_eval_path(run_dir: str | Path, split: str = "test", data: str | Path | None = None) -> Path:
    """Where `warta evaluate` writes its JSON without --out: inside the run folder."""
    return RunFolder(run_dir).eval_path(split, data)


def check_out_path(path: str | Path) -> Path:
    """Refuse an output path that is a folder before any work is done."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a .json file path")
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    """Write a JSON result to a file path given by the user (a folder is refused)."""
    return write_json_file(check_out_path(path), obj)


def load_run_model(folder: RunFolder) -> Any:
    from warta.models import load_model
    from warta.models.safety import check_labels_agree

    if not folder.model_dir.is_dir():
        raise InputError(f"{folder.path}: no {RunFolder.MODEL}/ folder (not a complete run)")
    model = load_model(folder.model_dir)
    # A labels.json altered after training would silently mislabel every column of the metrics.
    check_labels_agree(folder.path, {layer: list(values) for layer, values in model.labels.items()})
    return model


def load_eval_model(folder: RunFolder) -> Any:
    """The model the run's test/dev figures came from: model-eval/ after `--refit all`, else model/."""
    if folder.eval_model_dir == folder.model_dir:
        return load_run_model(folder)
    from warta.models import load_model

    return load_model(folder.eval_model_dir)


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    data: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    out: str | Path | None = None,
    batch_size: int = 32,
) -> dict[str, dict[str, Any]]:
    """Metrics of a run ({layer: figures}, see warta.metrics), also written as JSON.

    With `data`, also ``"outlet_profile"`` when its records name outlets (see score_labelled).
    The JSON goes to `out`, or to ``default_eval_path(run_dir, split, data)``.
    """
    folder = RunFolder.open(run_dir)
    target = check_out_path(out if out is not None else folder.eval_path(split, data))
    labels = folder.labels()
    stored: list[dict[str, Any]] | None = None
    if data is not None:
        gold = read_labelled_jsonl(data, labels)
        metrics = score_labelled(gold, _fresh_predictions(folder, gold, batch_size), labels, n_boot=n_boot, seed=seed)
        write_json(target, metrics)
        return metrics
    if check_split(split) == "cv":
        predictions = stored_predictions(folder, "cv")
        predicted_ids = {str(record.get("id")) for record in predictions}
        gold = [record for record in run_gold(folder) if record["id"] in predicted_ids]
    else:
        gold = _split_gold(folder, split)
        predictions = _fresh_predictions(folder, gold, batch_size, held_out=True)
        stored_path = folder.predictions_path(split)
        stored = read_jsonl(stored_path) if stored_path.is_file() else None
    metrics = evaluate_predictions(gold, predictions, list(labels), labels, n_boot=n_boot, seed=seed)
    if split != "cv":
        for layer, figures in metrics.items():
            figures["stored_agreement"] = _agreement(predictions, stored, layer) if stored is not None else None
            figures["gold_changed_since_run"] = gold_changed_since_run(folder, split, gold, layer)
    write_json(target, metrics)
    return metrics


def _fresh_predictions(
    folder: RunFolder, records: Sequence[Mapping[str, Any]], batch_size: int, held_out: bool = False
) -> list[Prediction]:
    model = load_eval_model(folder) if held_out else load_run_model(folder)
    ident = make_model_id(folder.name, getattr(model, "kind", "model"))
    return predict_records(model, records, batch_size=batch_size, model_id=ident)


def _split_gold(folder: RunFolder, split: str) -> list[dict[str, Any]]:
    ids = folder.split_ids(split)
    if not ids:
        raise InputError(f"{folder.path / RunFolder.DATA}: split {split!r} holds no sentences")
    gold_by_id = {record["id"]: record for record in run_gold(folder)}
    missing = [i for i in ids if i not in gold_by_id]
    if missing:
        raise InputError(
            f"{folder.path}: {len(missing)} {split} sentence(s) are not in the gold labels any more "
            f"(first: {missing[0]!r}); the labelled corpus changed since training"
        )
    return [gold_by_id[i] for i in ids]


# --- rendering ------------------------------------------------------------------


def _ci_text(ci: Sequence[float] | None) -> str:
    return "" if ci is None else f"  95% CI [{ci[0]:.3f}, {ci[1]:.3f}]"


def render_report(metrics: Mapping[str, Mapping[str, Any]], title: str | None = None) -> str:
    """The metrics dict as terminal text: headline figures, per-class table and confusion matrix per layer."""
    lines: list[str] = [title, ""] if title else []
    for layer, m in metrics.items():
        if layer not in LAYER_NAMES:
            continue
        lines.append(f"== {layer}  (n={m['n']})")
        lines.append(f"  accuracy  {m['accuracy']:.3f}{_ci_text(m.get('accuracy_ci'))}")
        lines.append(f"  macro-F1  {m['macro_f1']:.3f}{_ci_text(m.get('macro_f1_ci'))}")
        lines.append(f"  ECE       {'n/a (no probabilities)' if m.get('ece') is None else format(m['ece'], '.3f')}")
        if m.get("stored_agreement") is not None:
            lines.append(f"  agreement with the run's stored predictions  {m['stored_agreement']:.3f}")
        if m.get("gold_changed_since_run"):
            lines.append("  note: the gold labels of these sentences changed since the run was trained")
        if m.get("absent_labels"):
            lines.append(f"  absent (F1 counted as 0): {', '.join(m['absent_labels'])}")
        labels = m["confusion"]["labels"]
        width = max(8, *(len(label) for label in labels)) + 2
        lines.append(f"  {'label':<{width}}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
        for label in labels:
            c = m["per_class"][label]
            lines.append(
                f"  {label:<{width}}{c['precision']:>10.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}{c['support']:>9d}"
            )
        short = [label[:7] for label in labels]
        lines.append("  confusion (rows gold, columns predicted)")
        lines.append(f"  {'':<{width}}" + "".join(f"{s:>8}" for s in short))
        for label, row in zip(labels, m["confusion"]["matrix"]):
            lines.append(f"  {label:<{width}}" + "".join(f"{v:>8d}" for v in row))
        lines.append("")
    if metrics.get("outlet_profile"):
        lines.append("== per outlet")
        lines.extend("  " + line for line in render_outlet_error(metrics["outlet_profile"]))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
