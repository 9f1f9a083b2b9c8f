"""Facts about the run behind the labels that an outlet report cites: model kind, held-out scores and
the measured profile error on outlets the run never saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_summary(run: str | Path) -> dict[str, Any]:
    """Model kind and held-out scores (test split and pooled out-of-fold, with 95% CIs) of RUN."""
    from warta.runfolder import RunFolder
    from warta.schema import GUIDELINE_VERSION

    folder = RunFolder.open(run)
    summary: dict[str, Any] = {"name": folder.name, "path": str(folder.path), "guideline_version": GUIDELINE_VERSION}
    config = folder.saved_config()
    if config is not None:
        model = config.get("model") or {}
        summary["model"] = {"kind": model.get("kind"), "name_or_path": model.get("name_or_path")}
    scores: dict[str, Any] = {}
    metrics = folder.metrics()
    if metrics is not None:
        test = metrics.get("test") or {}
        if test:
            scores["test"] = test
    cv = folder.cv_metrics()
    if cv is not None:
        if cv.get("pooled_oof"):
            scheme = cv.get("scheme") or f"{cv.get('k')}-fold"
            scores[f"cv ({scheme})"] = cv["pooled_oof"]
    error = folder.outlet_error()
    if error is not None:
        summary["outlet_error"] = unseen_outlet_error(error)
    summary["scores"] = {
        split: {layer: {key: m.get(key) for key in ("n", "accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci")}
                for layer, m in layers.items() if isinstance(m, dict)}
        for split, layers in scores.items()
    }
    return summary


def unseen_outlet_error(error: dict[str, Any]) -> dict[str, Any] | None:
    """The run's profile error on outlets it never saw (``cv/outlet_error.json`` of ``--cv outlet``), reduced
    to what a reader of outlet profiles needs: per-layer share error, and the stance-index error's mean
    |error| and range over the held-out outlets. None when the file holds no per-outlet figures."""
    if not isinstance(error, dict) or not isinstance(error.get("mean_over_outlets"), dict):
        return None
    mean = error["mean_over_outlets"]
    rows = error.get("outlets") if isinstance(error.get("outlets"), dict) else {}
    per = [row["stance_index"]["error"] for name, row in rows.items()
           if name != "ALL" and isinstance(row, dict) and isinstance(row.get("stance_index"), dict)
           and isinstance(row["stance_index"].get("error"), (int, float))]
    if not per or not isinstance(mean.get("stance_index_abs_error"), (int, float)):
        return None
    shares = mean.get("share_error_points") if isinstance(mean.get("share_error_points"), dict) else {}
    return {"outlets": len(per),
            "share_error_points": {layer: v for layer, v in shares.items() if isinstance(v, (int, float))},
            "stance_index_abs_error": mean.get("stance_index_abs_error"),
            "stance_index_error_range": [min(per), max(per)]}


def find_run(model_ids: list[str], near: list[Path]) -> Path | None:
    """The run folder behind the records' model ids ("<run name>/<kind>[/...]", warta.records.model_id), looked
    for as NAME and runs/NAME beside each input file and in the working folder; None unless exactly one run made
    the records and exactly one such folder holds a saved run of that kind (config.yaml's model kind)."""
    from warta.runfolder import RunFolder

    runs = {tuple(model.split("/")[:2]) for model in model_ids if model.count("/") >= 1}
    if len(runs) != 1:
        return None
    ((name, kind),) = runs
    if not name or name in (".", "..") or "\\" in name:
        return None
    places = []
    for base in [*(p.parent for p in near), Path.cwd()]:
        places += [base / name, base / "runs" / name]
    found = []
    for place in places:
        if place.is_dir() and (place.resolve() not in [f.resolve() for f in found]):
            try:
                config = RunFolder.open(place).saved_config() or {}
            except Exception:  # not a run folder: keep looking
                continue
            if (config.get("model") or {}).get("kind") == kind:
                found.append(place)
    return found[0].absolute() if len(found) == 1 else None
