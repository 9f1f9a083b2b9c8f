"""Outlet profiles: how much fact, quotation, opinion and speculation each outlet
prints, where its own voice and its quoted sources stand, which frames it uses,
and how sure we can be about each figure.

Uncertainty (95%):
- Shares and stance indices: the *wider* of two intervals.
  (a) An article-cluster bootstrap: resample the outlet's ARTICLES with
      replacement (sentences of one article are not independent), recompute
      the sentence-weighted figure, take the 2.5/97.5 percentiles.
  (b) A sentence-level interval that treats sentences as independent:
      Jeffreys (Beta(x+1/2, n-x+1/2)) for a share, Dirichlet(counts+1/2)
      for the stance index.
  (a) cannot see article-to-article variation when an outlet has one or two
  articles (it collapses to a point); (b) ignores that sentences of one
  article are alike. Taking the envelope never claims more certainty than
  either. Own voice / quoted indices use the replicates in which the subset
  is not empty. With --use probs every figure is an expected value: a
  sentence counts P(label) towards each label and P(quote) towards "quoted".
- Between outlets: a difference "exceeds its uncertainty" when a pooled-
  article bootstrap test rejects "same outlet": pool both outlets' articles,
  redraw each outlet's article count from the pool, recompute the statistic
  (Jensen-Shannon distance, |stance-index difference|);
  p = (1 + #null >= observed) / (1 + #null), Bonferroni-adjusted over the m
  outlet pairs compared on that measure (p_adj = min(1, m p) < 0.05). The
  "noise" reported beside it is the matching null quantile (1 - 0.05/m): the
  largest value chance alone reaches. Two outlets with one article each can
  never differ this way: outlet cannot be told from article. Outlets with more
  than 200 articles draw their null sums from the normal approximation of
  the resampled sums (same mean and covariance), which keeps many-outlet
  reports fast.

All resampling is seeded: the same records, seed and n_boot give identical output.

Public API (imported lazily, so `import warta.outlets` stays cheap)::

    from warta.outlets import OutletOptions, Profile, profile_files, write_profile
    profile = profile_files(["labels.jsonl"], options=OutletOptions(seed=1))
    write_profile(profile, check_outputs("out/", PROFILE_FILES, force=True))
"""

from warta.outlets.options import DEFAULTS, OutletOptions

_PUBLIC = {
    "Profile": "warta.outlets.profile",
    "profile_outlets": "warta.outlets.profile",
    "profile_files": "warta.outlets.profile",
    "compare_profiles": "warta.outlets.compare",
    "compare_files": "warta.outlets.compare",
    "check_outputs": "warta.outlets.output",
    "write_profile": "warta.outlets.output",
    "write_comparison": "warta.outlets.output",
    "PROFILE_FILES": "warta.outlets.output",
    "COMPARE_FILES": "warta.outlets.output",
    "render_report": "warta.outlets.report",
    "render_profile_summary": "warta.outlets.summary",
    "render_compare_summary": "warta.outlets.summary",
}
__all__ = ["DEFAULTS", "OutletOptions", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'warta.outlets' has no attribute {name!r}")
