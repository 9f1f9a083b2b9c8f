"""`warta label`: batch-label articles with a trained model. The front door: `label(LabelJob(...), LabelHooks(...))`."""

from __future__ import annotations

from warta.labelling.items import LabelSummary
from warta.labelling.job import LabelHooks, LabelJob

__all__ = ["LabelHooks", "LabelJob", "LabelSummary", "label"]


def label(job: LabelJob, hooks: LabelHooks | None = None) -> LabelSummary:
    """Check `job` and run it on its engine (warta.labelling.engine.run_local, warta.labelling.ray_engine.run_ray)."""
    job.check()
    if job.engine == "ray":
        from warta.labelling.ray_engine import run_ray

        return run_ray(job, hooks or LabelHooks())
    from warta.labelling.engine import run_local

    return run_local(job, hooks or LabelHooks())
