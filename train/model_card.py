"""The model card of a run: ``README.md`` in the Hugging Face model-card form, built only from the run's files.

A typed card (setfit's ``model_card.py`` idea: a dataclass of facts, rendered once), never
figures typed by hand: `build_card(run_dir)` reads config.yaml, data.json, metrics.json,
cv/metrics.json and cv/outlet_error.json through `RunFolder`, plus the external evaluations
recorded with `append_external_evaluation`, so the card cannot disagree with the run.
`warta train` writes it at the end of a run (after ``--seeds`` and ``--refit all``).

Front matter: language ``id``, license, tags, datasets, metrics and a ``model-index`` of the
held-out (and unseen-outlet) macro-F1 per layer. Sections: intended use, label sets with
definitions, training data, evaluation on held-out sentences and on unseen outlets with 95%
CIs, per-outlet profile error, measured confusions, external evaluations, limitations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warta.jsonl import read_json, write_json, write_text_atomic
from warta.runfolder import RunFolder
from warta.schema import LABEL_DEFINITIONS, LAYER_DEFINITIONS, LAYERS

README = RunFolder.README
EXTERNAL = RunFolder.EXTERNAL_EVALUATIONS  # `append_external_evaluation` records; the card renders them
LICENSE = "apache-2.0"  # warta's licence (pyproject.toml); the seed texts stay the outlets' (see seeds/)
TOPIC = "replacing human workers with AI"


@dataclass
class Figure:
    """One metric with its 95% bootstrap interval (None where not computed) and the sentences it counts."""

    value: float
    ci: tuple[float, float] | None
    n: int | None

    def text(self) -> str:
        ci = f" [{self.ci[0]:.3f}, {self.ci[1]:.3f}]" if self.ci else ""
        return f"{self.value:.3f}{ci}"


@dataclass
class Confusion:
    """Gold label read as another: how often, out of the gold label's sentences."""

    layer: str
    gold: str
    predicted: str
    count: int
    support: int


@dataclass
class OutletError:
    outlet: str
    sentences: int
    share_error_points: dict[str, float]
    stance_index_error: float | None
    stance_index_ci: tuple[float, float] | None


@dataclass
class ExternalEvaluation:
    name: str
    n: int | None
    macro_f1: dict[str, Figure]


@dataclass
class CardData:
    """The YAML front matter (Hugging Face model-card metadata)."""

    model_name: str
    language: list[str] = field(default_factory=lambda: ["id"])
    license: str = LICENSE
    library_name: str = "warta"
    pipeline_tag: str = "text-classification"
    tags: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=lambda: ["f1", "accuracy"])
    base_model: str | None = None
    model_index: list[dict[str, Any]] = field(default_factory=list)

    def to_yaml(self) -> str:
        data = {key.replace("model_index", "model-index"): value for key, value in asdict(self).items()
                if value not in (None, [], {})}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@dataclass
class ModelCard:
    data: CardData
    run: str
    kind: str
    layers: list[str]
    labels: dict[str, list[str]]
    split_sizes: dict[str, int]
    supplement: int
    refit: dict[str, Any] | None
    held_out: dict[str, dict[str, Figure]]  # split -> layer -> macro-F1
    accuracy: dict[str, Figure]  # test accuracy per layer
    seeds: dict[str, Any] | None
    unseen_outlets: dict[str, Figure] | None
    n_outlets: int | None
    outlet_errors: list[OutletError]
    confusions: list[Confusion]
    confusion_source: str
    external: list[ExternalEvaluation]

    def to_markdown(self) -> str:
        parts = [f"---\n{self.data.to_yaml()}---", f"# {self.run}: sentence type, stance and frame in Indonesian news",
                 self._intended_use(), self._labels(), self._training(), self._evaluation(), self._outlets(),
                 self._confusions(), self._external(), self._limitations()]
        return "\n\n".join(part for part in parts if part) + "\n"

    # -- sections --

    def _intended_use(self) -> str:
        model = f"a `{self.kind}` model" + (f" on `{self.data.base_model}`" if self.data.base_model else "")
        return ("## Intended use\n\n"
                f"{model.capitalize()} trained by warta. It labels each sentence of Indonesian online news about "
                f"{TOPIC} on {len(self.layers)} layer(s) ({', '.join(self.layers)}), for profiling outlets in "
                "aggregate (`warta outlets`), with the error bars reported below. It is not meant for judging a "
                "single sentence, author or article without a human reading it.")

    def _labels(self) -> str:
        lines = ["## Label sets"]
        for layer in self.layers:
            lines += ["", f"**{layer}** — {LAYER_DEFINITIONS[layer]}", ""]
            lines += [f"- `{label}`: {LABEL_DEFINITIONS[layer].get(label, '')}" for label in self.labels[layer]]
        return "\n".join(lines)

    def _training(self) -> str:
        sizes = ", ".join(f"{self.split_sizes.get(split, 0)} {split}" for split in ("train", "dev", "test"))
        lines = ["## Training data", "",
                 f"Hand-labelled sentences of the seed articles (five Indonesian news articles): {sizes}."]
        if self.supplement:
            lines.append(f"Plus {self.supplement} sentences of the written supplement (`seeds/written/`): written "
                         "text composed for training in the register of the seed articles, not news published by "
                         "an outlet; used only in the sentences a model is fitted on, never in dev, test or a "
                         "held-out outlet.")
        else:
            lines.append("No written supplement.")
        if self.refit:
            lines.append(f"The shipped model (`model/`) was refit on all {self.refit['n_sentences']} labelled "
                         f"sentences" + (f" + {self.refit['n_supplement']} supplement" if self.refit['n_supplement']
                                         else "") + " with the hyperparameters selected on dev; every figure "
                         "below comes from the model fitted on train alone (`model-eval/`).")
        return "\n".join(lines)

    def _evaluation(self) -> str:
        lines = ["## Evaluation", "", "Macro-F1 with 95% bootstrap intervals (sentences resampled).", "",
                 "| layer | test macro-F1 | test accuracy | dev macro-F1 (used for selection) |"
                 + (" unseen outlets macro-F1 |" if self.unseen_outlets else ""),
                 "|---|---|---|---|" + ("---|" if self.unseen_outlets else "")]
        for layer in self.layers:
            test, dev = self.held_out.get("test", {}).get(layer), self.held_out.get("dev", {}).get(layer)
            row = (f"| {layer} | {test.text() if test else '—'} | "
                   f"{self.accuracy[layer].text() if layer in self.accuracy else '—'} | {dev.text() if dev else '—'} |")
            if self.unseen_outlets:
                unseen = self.unseen_outlets.get(layer)
                row += f" {unseen.text() if unseen else '—'} |"
            lines.append(row)
        n = self.held_out.get("test", {}).get(self.layers[0])
        lines += ["", f"Test: {n.n if n else 0} held-out sentences."]
        if self.unseen_outlets:
            lines.append(f"Unseen outlets: leave-one-outlet-out over all labelled sentences ({self.n_outlets} "
                         "outlets), pooled out-of-fold predictions: each outlet scored by a model that never saw it.")
        if self.seeds:
            summary = self.seeds.get("summary", {}).get("test", {})
            lines.append(f"Over {self.seeds['n']} seeds, test macro-F1 mean ± sd: " + "; ".join(
                f"{layer} {m['macro_f1']['mean']:.3f} ± {m['macro_f1']['sd']:.3f}" for layer, m in summary.items()) + ".")
        return "\n".join(lines)

    def _outlets(self) -> str:
        if not self.outlet_errors:
            return ""
        lines = ["## Per-outlet profile error (unseen outlets)", "",
                 "How far an outlet's label shares from this model are from its hand-labelled shares, when the "
                 "outlet was held out (points: mean over a layer's labels of |predicted share − gold share| × 100); "
                 "stance index (pro − against)/n, "
                 "predicted − gold, with its 95% interval.", "",
                 "| outlet | sentences | " + " | ".join(f"{layer} share error (pts)" for layer in self.layers)
                 + " | stance index error |", "|---|---:|" + "---:|" * len(self.layers) + "---|"]
        for row in self.outlet_errors:
            ci = f" [{row.stance_index_ci[0]:+.2f}, {row.stance_index_ci[1]:+.2f}]" if row.stance_index_ci else ""
            index = "—" if row.stance_index_error is None else f"{row.stance_index_error:+.3f}{ci}"
            lines.append(f"| {row.outlet} | {row.sentences} | " + " | ".join(
                f"{row.share_error_points.get(layer, float('nan')):.1f}" for layer in self.layers) + f" | {index} |")
        return "\n".join(lines)

    def _confusions(self) -> str:
        if not self.confusions:
            return ""
        lines = ["## Known failure modes (measured)", "", f"The most frequent confusions on {self.confusion_source}:", ""]
        lines += [f"- {c.layer}: `{c.gold}` read as `{c.predicted}` — {c.count} of {c.support} `{c.gold}` sentences"
                  for c in self.confusions]
        return "\n".join(lines)

    def _external(self) -> str:
        if not self.external:
            return ""
        lines = ["## External evaluations", "", "Scored with `warta evaluate --data` on sets labelled outside the "
                 "training corpus (macro-F1, 95% interval).", "",
                 "| set | sentences | " + " | ".join(self.layers) + " |", "|---|---:|" + "---|" * len(self.layers)]
        for item in self.external:
            lines.append(f"| {item.name} | {item.n if item.n is not None else '—'} | " + " | ".join(
                item.macro_f1[layer].text() if layer in item.macro_f1 else "—" for layer in self.layers) + " |")
        return "\n".join(lines)

    def _limitations(self) -> str:
        total = sum(self.split_sizes.values())
        return ("## Limitations\n\n"
                f"- Topic: trained on news about {TOPIC}; other topics are out of scope.\n"
                "- Language: Indonesian only.\n"
                f"- Small data: {total} hand-labelled sentences from {self.n_outlets or 'a few'} outlets"
                + (f" (+ {self.supplement} written)" if self.supplement else "") + "; intervals are wide and a "
                "new outlet's style can move every figure above (see the unseen-outlet columns).\n"
                "- Labels are sentence-level and out of context; stance and frame are the hardest layers.")


# --- building the card from the run's files ------------------------------------------------------


def _figure(metrics: Mapping[str, Any], key: str = "macro_f1") -> Figure | None:
    if not isinstance(metrics, Mapping) or metrics.get(key) is None:
        return None
    ci = metrics.get(f"{key}_ci")
    return Figure(float(metrics[key]), tuple(ci) if ci else None, metrics.get("n"))


def _confusions(metrics: Mapping[str, Any], layers: Sequence[str], top: int = 2) -> list[Confusion]:
    found = []
    for layer in layers:
        confusion = (metrics.get(layer) or {}).get("confusion")
        if not confusion:
            continue
        names, matrix = confusion["labels"], confusion["matrix"]
        cells = [Confusion(layer, names[i], names[j], int(matrix[i][j]), int(sum(matrix[i])))
                 for i in range(len(names)) for j in range(len(names)) if i != j and matrix[i][j]]
        found += sorted(cells, key=lambda c: (-c.count, c.gold, c.predicted))[:top]
    return found


def _outlet_errors(error: Mapping[str, Any] | None) -> list[OutletError]:
    rows = []
    for outlet, row in sorted(((error or {}).get("outlets") or {}).items(), key=lambda item: (item[0] == "ALL", item[0])):
        outlet = "all outlets (pooled)" if outlet == "ALL" else outlet
        index = row.get("stance_index") or {}
        rows.append(OutletError(outlet, int(row.get("sentences", 0)),
                                {layer: float(v["points"]) for layer, v in (row.get("share_error") or {}).items()},
                                index.get("error"), tuple(index["ci"]) if index.get("ci") else None))
    return rows


def _external(run: RunFolder) -> list[ExternalEvaluation]:
    path = run.path / EXTERNAL
    if not path.is_file():
        return []
    records = read_json(path)
    out = []
    for name, result in sorted(records.items()):
        layers = {layer: _figure(m) for layer, m in result.items() if isinstance(m, Mapping) and "macro_f1" in m}
        n = next((m.get("n") for m in result.values() if isinstance(m, Mapping) and "n" in m), None)
        out.append(ExternalEvaluation(name, n, {k: v for k, v in layers.items() if v is not None}))
    return out


def build_card(run_dir: str | Path) -> ModelCard:
    """The card of a run folder, from its own files only."""
    run = RunFolder.open(run_dir)
    config, data, metrics = run.saved_config() or {}, run.data if run.has_data() else {}, run.metrics() or {}
    cv = run.cv_metrics() or {}
    model_section = config.get("model", {})
    kind = model_section.get("kind", "model")
    base = model_section.get("encoder") or model_section.get("name_or_path")
    labels = run.labels()
    layers = [layer for layer in LAYERS if layer in labels]
    outlet_cv = cv.get("scheme") in ("outlet", "outlet-purged")
    unseen = {layer: f for layer in layers if (f := _figure(cv.get("pooled_oof", {}).get(layer, {}))) is not None}
    held_out = {split: {layer: f for layer in layers if (f := _figure(metrics.get(split, {}).get(layer, {})))}
                for split in ("test", "dev")}
    supplement = int((data.get("supplement") or {}).get("n", 0))
    index = [{"name": run.name, "results": [
        {"task": {"type": "text-classification", "name": f"{layer} ({source})"},
         "dataset": {"name": "warta seeds" + (" (leave-one-outlet-out)" if source == "unseen outlets" else " (test)"),
                     "type": "warta-seeds"},
         "metrics": [{"type": "f1", "name": "macro-F1", "value": round(figure.value, 4)}]}
        for source, figures in (("held-out test", held_out["test"]), ("unseen outlets", unseen if outlet_cv else {}))
        for layer, figure in figures.items()]}]
    card_data = CardData(
        model_name=run.name, base_model=base,
        tags=["warta", kind, "indonesian", "news", "framing", "stance", "sentence-classification"],
        datasets=["warta-seeds"] + (["warta-written-supplement"] if supplement else []), model_index=index)
    pooled = cv.get("pooled_oof") if outlet_cv else None
    return ModelCard(
        data=card_data, run=run.name, kind=kind, layers=layers, labels={layer: labels[layer] for layer in layers},
        split_sizes=dict(data.get("sizes") or {}), supplement=supplement, refit=metrics.get("refit"),
        held_out=held_out, accuracy={layer: f for layer in layers
                                     if (f := _figure(metrics.get("test", {}).get(layer, {}), "accuracy"))},
        seeds=metrics.get("seeds"), unseen_outlets=unseen if outlet_cv and unseen else None,
        n_outlets=len(cv.get("outlets") or []) or None, outlet_errors=_outlet_errors(run.outlet_error()),
        confusions=_confusions(pooled or metrics.get("test", {}), layers),
        confusion_source="the pooled unseen-outlet predictions" if pooled else "the held-out test sentences",
        external=_external(run))


def write_card(run_dir: str | Path) -> Path:
    """Write (or rewrite) README.md in the run folder from its files; returns its path."""
    path = RunFolder.open(run_dir).path / README
    write_text_atomic(path, build_card(run_dir).to_markdown())  # replaces a planted link, never follows it
    return path


def append_external_evaluation(run_dir: str | Path, name: str, result: Mapping[str, Any]) -> Path:
    """Record `warta evaluate --data` figures ({layer: metrics}, as `evaluate_run` returns them) under `name`
    in the run folder, and rewrite README.md with them; the same name replaces its earlier figures."""
    run = RunFolder.open(run_dir)
    path = run.path / EXTERNAL
    records = read_json(path) if path.is_file() else {}
    records[str(name)] = {layer: {key: m.get(key) for key in ("n", "macro_f1", "macro_f1_ci", "accuracy",
                                                              "accuracy_ci")}
                          for layer, m in result.items() if layer in LAYERS and isinstance(m, Mapping)}
    write_json(path, records)
    return write_card(run.path)
