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
- Between outlets: each outlet against all the others pooled (versus_rest.py): the Jensen-Shannon
  distance of its type (frame) mix from the rest's, and its stance-index difference; the null draws
  the outlet's article count from every article (shared by outlets with the same article count);
  p = (1 + #null >= observed) / (1 + #null), Benjamini-Hochberg over the outlets tested on that
  measure ("differs" when q < 0.05). Pairs only on request (--pairs A,B; pairs.py: pooled-article
  bootstrap, Bonferroni over the pairs asked for). Small outlets are shrunk toward the pool
  (shrinkage.py) to rank the most and least extreme outlets; raw figures stay the headline.
- Duplicated articles within an outlet are counted once (duplicates.py); --by month|week|quarter adds
  per-period profiles (trends.py, dates.py).

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
