"""The two records warta passes around: a sentence and a prediction.

A **sentence** is one row of the sentence table (`warta corpus build`):

    id, article_id, outlet, role, index, text

A **prediction** is a sentence plus what a model said about it:

    id, article_id, outlet, role, index, text, type, stance, frame, probs, model

- ``type`` / ``stance`` / ``frame``: the label with the highest probability
  (first in label order on a tie), or None for a layer the model does not
  predict and for a sentence without prediction (a heading);
- ``probs``: {layer: {label: p}} in the model's label order, p rounded to
  PROB_DECIMALS, or None for a sentence without prediction;
- ``model``: the model id (see `model_id`).

Both are plain dicts (JSON Lines rows) typed as TypedDicts, and are built by
`make_sentence` / `make_prediction` only: corpus build, training, cross-
validation, evaluation and `warta label` (whose fast encoder writes exactly
``json.dumps(make_prediction(...))``, see warta.labelling.output) all produce
the same fields in the same order. Records read from a user's file may lack
the corpus fields they do not carry (a labelled JSONL has only ``id`` and
``text``); `make_prediction` keeps the sentence fields present.

Model ids: ``"<run name>/<kind>"``, e.g. ``"tfidf-20260101-120000/tfidf"``
(the run folder's name and the model kind), with suffixes joined by ``/``:
``"<run>/<kind>/cv-fold-1"`` for the fold models of cross-validation and
``"<run>/<kind>+int8"`` for a quantized transformer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from warta.schema import LAYER_NAMES

# The one definition of the sentence fields, in output order.
SENTENCE_FIELDS = ("id", "article_id", "outlet", "role", "index", "text")
# Prediction fields after the sentence fields.
PREDICTION_FIELDS = (*SENTENCE_FIELDS, *LAYER_NAMES, "probs", "model")
PROB_DECIMALS = 6


class Sentence(TypedDict):
    id: str
    article_id: str
    outlet: str
    role: str  # "title", "heading" or "body"
    index: int
    text: str


class Prediction(Sentence):
    type: str | None
    stance: str | None
    frame: str | None
    probs: dict[str, dict[str, float]] | None
    model: str


def make_sentence(*, id: str, article_id: str, outlet: str, role: str, index: int, text: str) -> Sentence:
    """A sentence record, fields in SENTENCE_FIELDS order."""
    return {"id": id, "article_id": article_id, "outlet": outlet, "role": role, "index": index, "text": text}


def sentence_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The sentence fields a record carries (gold labels, probs and the rest dropped), in order."""
    return {name: record[name] for name in SENTENCE_FIELDS if name in record}


def make_prediction(
    sentence: Mapping[str, Any],
    probs: Mapping[str, Sequence[float]] | None,
    labels: Mapping[str, Sequence[str]],
    model: str,
    decimals: int | None = PROB_DECIMALS,
) -> Prediction:
    """A prediction record for one sentence.

    `probs`: layer -> this sentence's probabilities in `labels[layer]` order
    (None: no prediction, e.g. a heading). The label is the argmax of the
    unrounded probabilities; `decimals` rounds what is stored (None: keep).
    """
    out: dict[str, Any] = sentence_fields(sentence)
    winners: dict[str, str] = {}
    stored: dict[str, dict[str, float]] | None = None
    if probs is not None:
        stored = {}
        for layer in LAYER_NAMES:
            if layer not in probs:
                continue
            values = [float(p) for p in probs[layer]]
            names = labels[layer]
            if len(values) != len(names):
                raise ValueError(f"{layer}: {len(values)} probabilities for {len(names)} labels")
            winners[layer] = names[max(range(len(values)), key=values.__getitem__)]  # first maximum, like argmax
            stored[layer] = {name: (p if decimals is None else round(p, decimals)) for name, p in zip(names, values)}
    for layer in LAYER_NAMES:
        out[layer] = winners.get(layer)
    out["probs"] = stored
    out["model"] = model
    return out  # type: ignore[return-value]


def predictions_from_matrices(
    sentences: Sequence[Mapping[str, Any]],
    probs: Mapping[str, Any],
    labels: Mapping[str, Sequence[str]],
    model: str,
    decimals: int | None = PROB_DECIMALS,
) -> list[Prediction]:
    """Prediction records from a model's predict_proba output ({layer: (n, labels) matrix})."""
    rows = {layer: (matrix.tolist() if hasattr(matrix, "tolist") else list(matrix)) for layer, matrix in probs.items()}
    return [
        make_prediction(sentence, {layer: rows[layer][i] for layer in rows}, labels, model, decimals)
        for i, sentence in enumerate(sentences)
    ]


def model_id(run_name: str, kind: str, *suffix: str) -> str:
    """``"<run name>/<kind>"`` plus ``"/"``-joined suffixes (e.g. ``"cv-fold-1"``)."""
    return "/".join((run_name, kind, *suffix))
