"""Model against gold: per-outlet share gaps and stance-index differences with intervals."""


from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from warta.errors import InputError
from warta.outlets.options import ALL, DEFAULTS, STANCE_SUBSETS, OutletOptions
from warta.outlets.profile import settings_record
from warta.outlets.sentences import PARTS, Sentence, located, located_files, read_sentence, voice_vectors, with_labels
from warta.outlets.statistics import (
    envelope,
    percentile_interval,
    replicate_sums,
    rounded,
    seeded_rng,
    shares_of,
)
from warta.resampling import stance_index
from warta.schema import LABELLED_ROLES, LAYERS, parse_role

# --- model against gold -------------------------------------------------------------------


def _gap_figures(gold: dict[str, np.ndarray], pred: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Share gaps (mean |pred - gold| over labels) and index differences, for 1-d or 2-d sums."""
    figures = {}
    for layer in LAYERS:
        figures[f"share_gap.{layer}"] = np.mean(np.abs(shares_of(pred[layer]) - shares_of(gold[layer])), axis=-1)
    for subset, part in zip(STANCE_SUBSETS, ("stance", "own", "quoted")):
        figures[f"index_diff.{subset}"] = stance_index(pred[part]) - stance_index(gold[part])
    return figures


def _compare_group(name: str, sentences: list[tuple[str, dict, dict]], min_sentences: int, n_boot: int, seed: int) -> dict:
    articles: dict[str, int] = {}
    for article, _, _ in sentences:
        articles.setdefault(article, len(articles))
    m = len(articles)
    # One row per sentence (sentence-level resampling) and one per article (cluster resampling).
    per_sentence = {}
    for part in PARTS:
        per_sentence[f"gold.{part}"] = np.vstack([gold_vectors[part] for _, gold_vectors, _ in sentences])
        per_sentence[f"pred.{part}"] = np.vstack([pred_vectors[part] for _, _, pred_vectors in sentences])
    owner = np.array([articles[article] for article, _, _ in sentences])
    per_article = {}
    for key, mat in per_sentence.items():
        sums = np.zeros((m, mat.shape[1]))
        np.add.at(sums, owner, mat)
        per_article[key] = sums
    rng = seeded_rng(seed, "compare", name)
    by_article = replicate_sums(per_article, n_boot, rng)
    by_sentence = replicate_sums(per_sentence, n_boot, rng)

    def split(sums: dict[str, np.ndarray]) -> tuple[dict, dict]:
        return ({p: sums[f"gold.{p}"] for p in PARTS}, {p: sums[f"pred.{p}"] for p in PARTS})

    observed_gold, observed_pred = split({k: v.sum(axis=0) for k, v in per_sentence.items()})
    observed = _gap_figures(observed_gold, observed_pred)
    boot_article = _gap_figures(*split(by_article))
    boot_sentence = _gap_figures(*split(by_sentence))

    def entry(key: str, lo: float, hi: float) -> dict[str, Any]:
        value = float(observed[key])
        if not np.isfinite(value):
            return {"value": None, "ci": None}
        return {
            "value": rounded(value),
            "ci": envelope(percentile_interval(boot_article[key]), percentile_interval(boot_sentence[key]), lo=lo, hi=hi),
        }

    result = {
        "articles": m,
        "sentences": len(sentences),
        "below_min_sentences": name != ALL and len(sentences) < min_sentences,
        "share_gap": {layer: entry(f"share_gap.{layer}", 0.0, 1.0) for layer in LAYERS},
        "stance_index_diff": {},
        "gold_share": {layer: dict(zip(LAYERS[layer], map(rounded, shares_of(observed_gold[layer])))) for layer in LAYERS},
        "pred_share": {layer: dict(zip(LAYERS[layer], map(rounded, shares_of(observed_pred[layer])))) for layer in LAYERS},
    }
    for subset, part in zip(STANCE_SUBSETS, ("stance", "own", "quoted")):
        block = entry(f"index_diff.{subset}", -2.0, 2.0)
        block["gold"] = rounded(float(stance_index(observed_gold[part]))) if observed_gold[part].sum() > 1e-12 else None
        block["pred"] = rounded(float(stance_index(observed_pred[part]))) if observed_pred[part].sum() > 1e-12 else None
        result["stance_index_diff"][subset] = block
    return result


def _compare_located(
    gold: Iterable[tuple[str, dict[str, Any]]],
    pred: Iterable[tuple[str, dict[str, Any]]],
    options: OutletOptions,
) -> dict[str, Any]:
    options.check()
    by, use, min_sentences, n_boot, seed = options.by, options.use, options.min_sentences, options.n_boot, options.seed
    gold_sentences: dict[str, Sentence] = {}
    for where, record in gold:
        sentence = read_sentence(record, by, "labels", where)
        if sentence is not None:
            if sentence.id in gold_sentences:
                raise InputError(f"{where}: duplicate sentence id {sentence.id} in gold")
            gold_sentences[sentence.id] = sentence
    if not gold_sentences:
        raise InputError("gold: no title/body sentences")
    groups: dict[str, list[tuple[str, dict, dict]]] = {}
    matched: set[str] = set()
    pred_only = 0
    for where, record in pred:
        # Prediction records need only id and labels (e.g. predictions/test.jsonl carries no
        # outlet): outlet, article and role come from gold.
        if record.get("role") is not None and parse_role(record["role"], where) not in LABELLED_ROLES:
            continue  # headings carry no labels
        ident = record.get("id")
        if ident in (None, ""):
            raise InputError(f"{where}: record has no 'id' field")
        reference = gold_sentences.get(str(ident))
        if reference is None:
            pred_only += 1
            continue
        if reference.id in matched:
            raise InputError(f"{where}: duplicate sentence id {reference.id} in predictions")
        matched.add(reference.id)
        # Each side's own type label decides own voice vs quoted.
        predicted = voice_vectors(record, use, where)
        row = (reference.article, reference.vectors, predicted)
        groups.setdefault(reference.group, []).append(row)
        groups.setdefault(ALL, []).append((f"{reference.group}\x00{reference.article}", reference.vectors, predicted))
    if not matched:
        raise InputError("no sentence id is in both the gold and the prediction file")
    names = sorted(n for n in groups if n != ALL) + [ALL]
    return {
        "settings": settings_record(
            options,
            gap="share_gap = mean over labels of |pred share - gold share|; stance_index_diff = pred - gold",
            interval_method=(
                "95% interval = the wider of a paired article-cluster bootstrap and a paired sentence bootstrap "
                "(gold and prediction resampled together)"
            ),
        ),
        "sentences": {"joined": len(matched), "gold_only": len(gold_sentences) - len(matched), "pred_only": pred_only},
        "outlets": {name: _compare_group(name, groups[name], min_sentences, n_boot, seed) for name in names},
    }


def compare_profiles(
    gold: Iterable[dict[str, Any]], pred: Iterable[dict[str, Any]], options: OutletOptions = DEFAULTS, **changes: Any
) -> dict[str, Any]:
    """Per-outlet gap between the profile from gold labels and from predictions, joined by sentence id.

    `options.use` applies to the predictions only (gold has labels, not probabilities).
    """
    return _compare_located(located(gold), located(pred), options.with_(**changes))


def compare_files(
    gold_path: str | Path, pred_path: str | Path, labels: str | Path | None = None, progress: bool = False,
    options: OutletOptions = DEFAULTS, **changes: Any,
) -> dict[str, Any]:
    """compare_profiles over two JSONL files; errors name file and line.
    `labels` is merged onto the gold file's sentences by id first (see profile_files)."""
    gold = located_files([gold_path], progress)
    if labels is not None:
        gold = with_labels(gold, labels)
    result = _compare_located(gold, located_files([pred_path], progress), options.with_(**changes))
    result["settings"]["gold"] = str(gold_path) + (f" + labels {labels}" if labels is not None else "")
    result["settings"]["pred"] = str(pred_path)
    return result
