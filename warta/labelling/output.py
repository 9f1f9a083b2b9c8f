"""Prediction records as bytes: JSON Lines, CSV and Parquet writers for `warta label`.

A prediction record (warta.records.Prediction) has the sentence fields (id,
article_id, outlet, role, index, text), the predicted type/stance/frame,
`probs` {layer: {label: p}} and `model`. Headings carry no prediction: their labels and `probs` are null
(gold files never label headings, and the models are not trained on them).

JSON Lines and CSV are written chunk by chunk straight into the growing
output. Parquet cannot be read before its footer is written, so during the
run its rows go to a JSON Lines partial file and `jsonl_to_parquet` converts
that file at the end, streaming, in row groups of a fixed size: the Parquet
file depends only on the rows, never on how the run was chunked or resumed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from json.encoder import (
    encode_basestring as json_string,  # the C encoder json.dumps(ensure_ascii=False) uses
)
from pathlib import Path
from typing import Any

from warta.errors import WartaError
from warta.records import SENTENCE_FIELDS, Prediction, make_prediction
from warta.safe_io import csv_safe
from warta.schema import LAYER_NAMES

FORMATS = ("jsonl", "csv", "parquet")
PARQUET_ROW_GROUP = 65536


def format_for(out: Path, format: str | None) -> str:
    """The output format: given, else from the file suffix, else JSON Lines."""
    if format:
        if format not in FORMATS:
            raise WartaError(f"--format {format}: expected one of {', '.join(FORMATS)}")
        return format
    suffix = out.suffix.lower().lstrip(".")
    return {"csv": "csv", "parquet": "parquet", "pq": "parquet"}.get(suffix, "jsonl")


def prediction_record(
    sentence: dict[str, Any], labels: dict[str, list[str]], row: Sequence[float] | None, model_id: str
) -> Prediction:
    """The record the encoders write for one sentence: `make_prediction` over a flat probability row.

    `row` is the sentence's probabilities for every layer of `labels`, layer
    after layer (LAYER_NAMES order, already rounded), or None for a sentence
    without prediction (a heading).
    """
    probs: dict[str, Sequence[float]] | None = None
    if row is not None:
        probs, start = {}, 0
        for layer in LAYER_NAMES:
            if layer in labels:
                probs[layer] = row[start : start + len(labels[layer])]
                start += len(labels[layer])
    return make_prediction(sentence, probs, labels, model_id, decimals=None)


# --- encoding ---------------------------------------------------------------------
#
# A line is split in two: the sentence's own fields (the prefix), encoded in
# the preparation workers beside cleaning and segmentation, and the model's
# part (labels, probabilities, model id), encoded in the main process. json.dumps
# on a whole nested record costs ~9 µs, a large share of the 20,000
# sentences/s budget; the split moves the text escaping off the model's core
# and leaves one %-format over pre-quoted labels there.

# '{"id": %s, "article_id": %s, ..., "index": %d, "text": %s, ' -- the sentence fields in record order.
_JSONL_PREFIX = "{" + "".join(f'"{name}": ' + ("%d" if name == "index" else "%s") + ", " for name in SENTENCE_FIELDS)


def jsonl_prefix(sentence: dict[str, Any]) -> str:
    """The sentence fields of a prediction line, up to and including the comma after "text"."""
    return _JSONL_PREFIX % tuple(
        sentence[name] if name == "index" else json_string(sentence[name]) for name in SENTENCE_FIELDS
    )


def csv_prefix(sentence: dict[str, Any]) -> str:
    """The sentence fields of a CSV row, each quoted as needed and formula-escaped, with the trailing comma."""
    return _csv_row([csv_safe(sentence[name]) for name in SENTENCE_FIELDS]) + ","


def _csv_row(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def prefix_function(format: str):
    """What the preparation workers encode for each sentence of this output format."""
    return csv_prefix if format == "csv" else jsonl_prefix


class _LineTemplateEncoder:
    """Fills one prepared line template per sentence: `labelled` (% label names, probabilities) or `unlabelled`."""

    labelled: str
    unlabelled: str
    quoted: dict[str, list[str]]
    layers: list[str]

    def encode(self, prefixes: Sequence[str], rows: Sequence[Sequence[float] | None],
               winners: Sequence[Sequence[int] | None]) -> bytes:
        """Lines for sentences given by their prefixes; rows[i] = probabilities (all layers, flat), winners[i] =
        winning label index per layer; None for a sentence without prediction."""
        labelled, unlabelled, quoted, layers = self.labelled, self.unlabelled, self.quoted, self.layers
        out = []
        for prefix, row, best in zip(prefixes, rows, winners):
            if row is None:
                out.append(prefix + unlabelled)
            else:
                out.append(prefix + labelled % (*(quoted[layer][k] for layer, k in zip(layers, best)), *row))
        return "".join(out).encode("utf-8")


class JsonlEncoder(_LineTemplateEncoder):
    """The model's part of each JSON line: with the prefix, exactly json.dumps(record, ensure_ascii=False)."""

    header = b""

    def __init__(self, labels: dict[str, list[str]], model_id: str):
        self.layers = [layer for layer in LAYER_NAMES if layer in labels]
        self.quoted = {layer: [json_string(label) for label in labels[layer]] for layer in self.layers}

        def literal(text: str) -> str:  # template text outside the placeholders
            return text.replace("%", "%%")

        model = ', "model": ' + json_string(model_id) + "}\n"
        probs = ", ".join(
            literal(json_string(layer)) + ": {" + ", ".join(literal(q) + ": %r" for q in self.quoted[layer]) + "}"
            for layer in self.layers
        )
        label_fields = ", ".join(
            literal(json_string(layer)) + ": " + ("%s" if layer in labels else "null") for layer in LAYER_NAMES
        )
        self.labelled = label_fields + ', "probs": {' + probs + "}" + literal(model)
        self.unlabelled = ", ".join(json_string(layer) + ": null" for layer in LAYER_NAMES) + ', "probs": null' + model


class CsvEncoder(_LineTemplateEncoder):
    """CSV with one column per probability, `probs.<layer>.<label>` (empty cells for headings)."""

    def __init__(self, labels: dict[str, list[str]], model_id: str):
        self.layers = [layer for layer in LAYER_NAMES if layer in labels]
        self.quoted = {layer: [_csv_row([csv_safe(label)]) for label in labels[layer]] for layer in self.layers}
        self.columns = [
            *SENTENCE_FIELDS,
            *LAYER_NAMES,
            *(f"probs.{layer}.{label}" for layer in self.layers for label in labels[layer]),
            "model",
        ]
        model = _csv_row([csv_safe(model_id)])
        n_probs = sum(len(labels[layer]) for layer in self.layers)
        self.header = (_csv_row([csv_safe(column) for column in self.columns]) + "\n").encode("utf-8")
        # Label columns follow LAYER_NAMES; a layer the model lacks stays empty.
        slots = ",".join("%s" if layer in labels else "" for layer in LAYER_NAMES)
        self.labelled = slots + "," + ",".join(["%r"] * n_probs) + "," + model.replace("%", "%%") + "\n"
        self.unlabelled = "," * (len(LAYER_NAMES) + n_probs) + model + "\n"


def label_present(texts: Sequence[str | None], label) -> tuple[list, list]:
    """(probability rows, winners) per text: `label` is called once on the texts that are not None
    (headings are None and get None rows), and its results are put back in text order."""
    at = [i for i, text in enumerate(texts) if text is not None]
    rows: list = [None] * len(texts)
    winners: list = [None] * len(texts)
    if at:
        got_rows, got_winners = label([texts[i] for i in at])
        for j, i in enumerate(at):
            rows[i], winners[i] = got_rows[j], got_winners[j]
    return rows, winners


def encoder_for(format: str, labels: dict[str, list[str]], model_id: str):
    """The encoder writing the growing output file (Parquet runs grow a JSON Lines file first)."""
    return CsvEncoder(labels, model_id) if format == "csv" else JsonlEncoder(labels, model_id)


def parquet_schema(labels: dict[str, list[str]]):
    import pyarrow as pa

    probs = pa.struct(
        [
            (layer, pa.struct([(label, pa.float64()) for label in labels[layer]]))
            for layer in LAYER_NAMES
            if layer in labels
        ]
    )
    return pa.schema(
        [
            *((name, pa.int64() if name == "index" else pa.string()) for name in SENTENCE_FIELDS),
            *((layer, pa.string()) for layer in LAYER_NAMES),
            ("probs", probs),
            ("model", pa.string()),
        ]
    )


def jsonl_to_parquet(source: Path, target, labels: dict[str, list[str]]) -> int:
    """Convert a prediction JSON Lines file to Parquet (a path or a binary file object), streaming; returns rows."""
    import pyarrow as pa
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    schema = parquet_schema(labels)
    rows = 0
    with pq.ParquetWriter(target, schema) as writer:
        if source.stat().st_size == 0:
            writer.write_table(schema.empty_table())
            return 0
        reader = pa_json.open_json(
            source,
            read_options=pa_json.ReadOptions(block_size=1 << 22),
            parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
        )
        pending: list = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            # Fixed-size row groups: the file depends on the rows only.
            while pending_rows >= PARQUET_ROW_GROUP:
                table = pa.Table.from_batches(pending, schema=schema)
                writer.write_table(table.slice(0, PARQUET_ROW_GROUP), row_group_size=PARQUET_ROW_GROUP)
                rest = table.slice(PARQUET_ROW_GROUP)
                pending, pending_rows = rest.to_batches(), rest.num_rows
                rows += PARQUET_ROW_GROUP
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=PARQUET_ROW_GROUP)
            rows += pending_rows
    return rows
