"""Label Studio and spreadsheet exports of a selected batch.

`labelling_config()` writes the labelling interface: the sentence between its
neighbours, one single-choice block per layer (the guideline's one-line
definition of each label as the choice's hint) and a free-text note.
`tasks()` writes Label Studio tasks with the model's labels as
pre-annotations; `write_csv()` the same batch as a spreadsheet.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from warta.errors import InputError
from warta.schema import GUIDELINE_VERSION, LAYER_NAMES, LAYERS

TEXT_NAME = "text"  # the <Text> tag every choice block points at (to_name in results)
NOTE_NAME = "note"
TASK_FIELDS = ("id", "text", "previous", "next", "outlet", "article_id", "role", "index")
CSV_FIELDS = (
    "id", "outlet", "article_id", "role", "index", "previous", "text", "next",
    *(f"model_{layer}" for layer in LAYER_NAMES), *LAYER_NAMES, "note", "annotator", "annotated_at",
)
LAYER_QUESTIONS = {
    "type": "type — first rule that fits: quote → speculation → opinion → fact",
    "stance": "stance toward replacing human workers with AI",
    "frame": "frame — which generic news frame dominates?",
}


def _squash(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("`", "")).strip()
    return text.rstrip(".")


def guideline_definitions(guidelines: str | Path | None = None) -> dict[str, dict[str, str]]:
    """layer -> label -> one-line definition, read from GUIDELINES.md (so hints follow the guideline).

    type: the rule headings (`### Rule 1 — `quote`: …`); stance: the bullet
    (`* `pro` — …`, up to its colon); frame: the second column of the frame table.
    """
    if guidelines is None:
        from warta.text.corpus import default_seeds_dir

        guidelines = default_seeds_dir() / "GUIDELINES.md"
    path = Path(guidelines)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read guidelines ({exc.strerror})") from None
    found: dict[str, dict[str, str]] = {layer: {} for layer in LAYER_NAMES}
    for label, definition in re.findall(r"^###\s+Rule\s+\d+\s+—\s+`(\w+)`:\s*(.+)$", text, re.MULTILINE):
        found["type"][label] = _squash(definition)
    for label, body in re.findall(r"^\*\s+`(\w+)`\s+—\s+(.+?)(?=\n\s*\n|\n\s*\*)", text, re.MULTILINE | re.DOTALL):
        if label in LAYERS["stance"]:
            found["stance"].setdefault(label, _squash(body.split(":")[0]))
    for label, definition in re.findall(r"^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", text, re.MULTILINE):
        if label in LAYERS["frame"]:
            found["frame"][label] = _squash(definition)
    missing = [f"{layer}:{label}" for layer, labels in LAYERS.items() for label in labels if label not in found[layer]]
    if missing:
        raise InputError(f"{path}: no one-line definition found for {', '.join(missing)}")
    return {layer: {label: found[layer][label] for label in LAYERS[layer]} for layer in LAYER_NAMES}


def labelling_config(definitions: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Label Studio labelling config XML for the three layers plus a note."""
    definitions = definitions or guideline_definitions()
    lines = [
        "<View>",
        '  <Header value="$outlet · article $article_id" size="6"/>',
        '  <Text name="previous" value="$previous" granularity="word"/>',
        '  <View style="padding: 8px; background: #fff8dc; border-left: 4px solid #c90">',
        f'    <Text name="{TEXT_NAME}" value="$text"/>',
        "  </View>",
        '  <Text name="next" value="$next" granularity="word"/>',
    ]
    for layer in LAYER_NAMES:
        lines.append(f"  <Header value={quoteattr(LAYER_QUESTIONS[layer])} size=\"5\"/>")
        lines.append(
            f'  <Choices name="{layer}" toName="{TEXT_NAME}" choice="single-radio" required="true" showInline="true">'
        )
        for label in LAYERS[layer]:
            lines.append(f"    <Choice value=\"{label}\" hint={quoteattr(definitions[layer][label])}/>")
        lines.append("  </Choices>")
    lines += [
        '  <Header value="note (the rule that decided a hard case)" size="6"/>',
        f'  <TextArea name="{NOTE_NAME}" toName="{TEXT_NAME}" rows="2" maxSubmissions="1" editable="true"/>',
        "</View>",
    ]
    return "\n".join(lines) + "\n"


def _confidence(probs: Mapping[str, Mapping[str, float]] | None, layer: str, label: str | None) -> float | None:
    if not probs or not probs.get(layer) or label is None:
        return None
    return float(probs[layer].get(label, 0.0))


def task(record: Mapping[str, Any]) -> dict[str, Any]:
    """One Label Studio task: sentence + context in `data`, the model's labels as a prediction."""
    data = {name: record.get(name, "") for name in TASK_FIELDS}
    data["index"] = record.get("index")
    data["uncertainty"] = record.get("uncertainty")
    data["rank"] = record.get("rank")
    data["guideline_version"] = GUIDELINE_VERSION
    out: dict[str, Any] = {"data": data}
    result, scores = [], []
    for layer in LAYER_NAMES:
        label = record.get(layer)
        if label is None:
            continue
        item = {"from_name": layer, "to_name": TEXT_NAME, "type": "choices", "value": {"choices": [label]}}
        score = _confidence(record.get("probs"), layer, label)
        if score is not None:
            item["score"] = round(score, 6)
            scores.append(score)
        result.append(item)
    if result:
        prediction = {"model_version": str(record.get("model") or "warta"), "result": result}
        if scores:
            prediction["score"] = round(sum(scores) / len(scores), 6)  # mean top-label probability
        out["predictions"] = [prediction]
    return out


def tasks(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [task(record) for record in records]


def csv_row(record: Mapping[str, Any]) -> dict[str, Any]:
    row = {name: record.get(name, "") for name in CSV_FIELDS}
    for layer in LAYER_NAMES:
        row[f"model_{layer}"] = record.get(layer) or ""
        row[layer] = ""
    row.update(note="", annotator="", annotated_at="")
    return row


def write_csv(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """The batch as a spreadsheet: context, model labels, empty columns for the annotator."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_FIELDS))
        writer.writeheader()
        for record in records:
            writer.writerow(csv_row(record))
    return path
