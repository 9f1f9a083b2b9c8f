"""Outlet profiles from records or files (the entry points of `warta outlets`) and the Profile they return."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from warta.errors import InputError
from warta.outlets.between import between_outlets
from warta.outlets.duplicates import DuplicateArticles
from warta.outlets.options import ALL, CONFIDENCE, DEFAULTS, OutletOptions
from warta.outlets.sentences import collect_groups, located, located_files, with_labels
from warta.outlets.shrinkage import SHRINKAGE_METHOD, add_shrunk
from warta.outlets.statistics import INTERVAL_METHOD, outlet_profile
from warta.outlets.trends import ArticleDates, manifest_dates, trends
from warta.schema import LABELLED_ROLES, LAYERS
from warta.text.sanitise import clean_field


@dataclass
class Profile:
    """What `warta outlets` computes; `to_dict()` is outlets.json (fields in this order, absent when None).

    settings: the options and method notes the figures were computed with; outlets: per outlet (ALL
    last) shares, stance indices and notes; distances: between-outlet distances and tests; evidence,
    syndication, run (the run behind the labels) and adjusted (--adjust) when computed."""

    settings: dict[str, Any]
    outlets: dict[str, dict[str, Any]]
    distances: dict[str, Any]
    evidence: dict[str, Any] | None = None
    syndication: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    adjusted: dict[str, Any] | None = None
    duplicates: dict[str, Any] | None = None
    trends: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """A Profile from outlets.json (keys this version does not know are ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def settings_record(options: OutletOptions, **extra: Any) -> dict[str, Any]:
    """The options a result was computed with, recorded in its JSON."""
    return {
        "by": options.by, "use": options.use, "min_sentences": options.min_sentences, "n_boot": options.n_boot,
        "seed": options.seed, "confidence": CONFIDENCE, **extra,
    }


def _profiles_from(located_records: Iterable[tuple[str, dict[str, Any]]], options: OutletOptions) -> Profile:
    options.check()
    duplicates = DuplicateArticles()
    dates = ArticleDates(manifest_dates(options.manifest) if options.manifest else None)

    def seen(sentence: Any, record: dict[str, Any]) -> None:
        duplicates.add(sentence.group, sentence.article, record)
        if options.period:
            dates.add(sentence.group, sentence.article, record)

    groups = collect_groups(located_records, options.by, options.use, on_sentence=seen)
    found = duplicates.find()
    if not options.keep_duplicates:
        for name, articles in found["drop"].items():
            groups[name].drop(articles)
        groups[ALL].drop({f"{name}\x00{article}" for name, articles in found["drop"].items() for article in articles})
    outlets, matrices = {}, {}
    for name, group in groups.items():
        outlets[name], matrices[name] = outlet_profile(group, options.min_sentences, options.n_boot, options.seed)
    add_shrunk(outlets)
    found.pop("drop")
    over_time = trends(groups, dates, outlets, options.period, options.n_boot, options.seed) if options.period else None
    return Profile(
        settings=settings_record(
            options,
            interval_method=INTERVAL_METHOD,
            shrinkage_method=SHRINKAGE_METHOD,
            roles=list(LABELLED_ROLES),
            labels={layer: list(labels) for layer, labels in LAYERS.items()},
        ),
        outlets=outlets,
        distances=between_outlets(outlets, matrices, options.n_boot, options.seed, options.pairs),
        duplicates={**found, "counted_once": not options.keep_duplicates},
        trends=over_time,
    )


def profile_outlets(records: Iterable[dict[str, Any]], options: OutletOptions = DEFAULTS, **changes: Any) -> Profile:
    """Profile every outlet (records grouped by `options.by`) plus an ALL row; see the package doc for intervals.

    Records are gold or prediction records (id, article_id, outlet, role, type, stance, frame,
    probs for use="probs"); headings are skipped. `changes` override single options (profile_outlets(r, seed=1)).
    """
    return _profiles_from(located(records), options.with_(**changes))


def profile_files(
    paths: Iterable[str | Path], labels: str | Path | None = None, progress: bool = False,
    options: OutletOptions = DEFAULTS, **changes: Any,
) -> Profile:
    """profile_outlets over JSONL files, read lazily, plus evidence, syndication flags and (with
    options.run) the run's facts and corrected shares; errors name file and line.

    Records stream into per-article sums (memory grows with outlets and articles, not sentences), except
    with --dedupe-syndicated or --adjust, which need every sentence at once.
    `labels`: a gold labels JSONL ({"id", "type", "stance", "frame"} per line) merged onto the
    files' sentence records by id first (e.g. the corpus built by `warta corpus build`).
    """
    from warta.outlets.evidence import EvidenceCollector
    from warta.outlets.syndication import SyndicationCollector

    options = options.with_(**changes).check()
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no input files")
    records = located_files(paths, progress)
    if labels is not None:
        records = with_labels(records, labels)
    evidence = EvidenceCollector(options.evidence, options.by)
    syndication = SyndicationCollector(options.by, dedupe=options.dedupe_syndicated)
    in_memory = options.dedupe_syndicated or options.adjust != "none"
    kept: list[tuple[str, dict[str, Any]]] = []
    models: set[str] = set()

    def observed() -> Iterator[tuple[str, dict[str, Any]]]:
        for where, record in records:
            # names and texts reach the report, the JSON and the terminal (evidence, syndication):
            # bidi overrides, invisible and control characters are removed once, here
            for key in (options.by, "article_id", "text"):
                if isinstance(record.get(key), str):
                    record[key] = clean_field(record[key])
            syndication.add(record)
            if record.get("model"):
                models.add(str(record["model"]))
            if in_memory:
                kept.append((where, record))
                continue
            evidence.add(record)
            yield where, record

    if in_memory:
        for _ in observed():
            pass
        merged = syndication.merged_away()
        kept = [(w, r) for w, r in kept if id(r) not in merged]
        models = {str(r["model"]) for _, r in kept if r.get("model")}
        for _, record in kept:
            evidence.add(record)
        profile = _profiles_from(iter(kept), options)
    else:
        profile = _profiles_from(observed(), options)
    profile.settings["files"] = [str(p) for p in paths] + ([f"labels: {labels}"] if labels is not None else [])
    _add_run_and_evidence(profile, [r for _, r in kept], sorted(models), syndication.result(), evidence.result(), options)
    return profile


def _add_run_and_evidence(
    profile: Profile, records: list[dict[str, Any]], models: list[str], syndication: dict[str, Any] | None,
    evidence: dict[str, Any],
    options: OutletOptions,
) -> None:
    """Evidence sentences, syndication flags, the run's facts and (--adjust) corrected shares."""
    from warta.outlets.adjust import adjust_groups, differences, load_calibration
    from warta.outlets.run_facts import find_run, run_summary

    run = options.run
    profile.settings.update(adjust=options.adjust, run=None if run is None else str(run), evidence=options.evidence,
                            dedupe_syndicated=bool(options.dedupe_syndicated))
    profile.settings["models"] = models
    profile.evidence = evidence
    profile.syndication = syndication
    if run is None:
        found = find_run(models, [Path(f) for f in profile.settings.get("files", []) if not f.startswith("labels: ")])
        if found is not None:  # the records name their model: its facts are stated without --run
            profile.run = {**run_summary(found), "found_from_model_id": True}
        return
    calibration = load_calibration(run)
    profile.run = run_summary(run)
    if options.adjust == "none":
        profile.run["calibration_sentences"] = len(calibration["records"])
        return
    adjusted = adjust_groups(records, calibration, options.adjust, options.by, options.n_boot, options.seed)
    for name, entry in adjusted["outlets"].items():
        entry["differs"] = differences(profile.outlets[name], entry)
    profile.adjusted = adjusted
