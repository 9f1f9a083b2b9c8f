"""Terminal summaries of `warta outlets`: the profile table, the model-vs-gold gap table, and the
lines for --adjust and syndication (text returned; the CLI prints it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warta.outlets.profile import Profile

# Outlet rows and notes shown in the terminal; the files hold every outlet.
MAX_LINES = 30


def _pct(x: float | None) -> str:
    return "   -" if x is None else f"{100 * x:4.0f}"


def _index_text(figure: dict[str, Any]) -> str:
    if figure["value"] is None:
        return f"{'-':>21}"
    lo, hi = figure["ci"]
    return f"{figure['value']:+.2f} [{lo:+.2f},{hi:+.2f}]".rjust(21)


def render_profile_summary(profile: Profile) -> str:
    """Terminal table: counts, type mix (%), stance index with 95% interval, dominant frame; pair notes."""
    from warta.schema import LAYERS

    types = LAYERS["type"]
    from warta.outlets.shrinkage import extreme_outlets

    width = max(8, *(len(name) for name in profile.outlets)) + 2
    head = (
        f"{'outlet':<{width}}{'art':>4}{'sent':>6}  "
        + "".join(f"{t[:5]:>6}" for t in types)
        + f"  {'stance all':>21}{'own voice':>21}{'quoted':>21}  dominant frame"
    )
    lines = [
        f"type mix in %, stance index = (pro - against) / n in [-1, 1] with 95% interval; "
        f"use={profile.settings['use']}, seed={profile.settings['seed']}, n_boot={profile.settings['n_boot']}",
        head,
    ]
    shown = extreme_outlets(profile.outlets, MAX_LINES // 2) + ["ALL"]
    if len(shown) < len(profile.outlets):
        lines.append(f"(the {len(shown) - 1} most pro and most against of {len(profile.outlets) - 1} outlets by shrunk "
                     "stance index; every outlet in outlets.csv)")
    for name in shown:
        outlet = profile.outlets[name]
        mark = "*" if outlet["below_min_sentences"] else " "
        index = outlet["stance_index"]
        lines.append(
            f"{(name + mark):<{width}}{outlet['articles']:>4}{outlet['sentences']:>6}  "
            + "".join(f"{_pct(outlet['type_share'][t]['value']):>6}" for t in types)
            + f"  {_index_text(index['all'])}{_index_text(index['own_voice'])}{_index_text(index['quoted'])}"
            + f"  {outlet['dominant_frame']}"
        )
    if any(o["below_min_sentences"] for o in profile.outlets.values()):
        lines.append(f"* fewer than --min-sentences {profile.settings['min_sentences']}: listed, not compared")
    lines.append("")
    rest = profile.distances["versus_rest"]
    differing = [e for e in rest["outlets"].values() if any(t.get("differs") for t in e.get("tests", {}).values())]
    lines.append(f"each outlet against all the others pooled (false-discovery rate 5% over {len(rest['outlets'])} "
                 f"outlets; method in outlets.json): {len(differing)} differ")
    lines.extend(f"  {entry['note']}" for entry in differing[:MAX_LINES])
    if len(differing) > MAX_LINES:
        lines.append(f"  ... and {len(differing) - MAX_LINES} more (distances.csv)")
    requested = profile.distances.get("pairs")
    if requested:
        lines.append("requested pairs (Bonferroni over the pairs requested):")
        lines.extend(f"  {pair['note']}" for pair in requested["pairs"])
        lines.extend(f"warning: {w}" for w in requested["warnings"])
    if len(profile.outlets) <= 2:
        lines.append("  only one outlet: nothing to compare")
    lines.extend(f"warning: {w}" for w in rest["warnings"])
    return "\n".join(lines)


def render_compare_summary(comparison: dict[str, Any]) -> str:
    """Terminal table of the per-outlet gap between predicted and gold profiles."""
    counts = comparison["sentences"]
    width = max(8, *(len(name) for name in comparison["outlets"])) + 2

    def cell(figure: dict[str, Any], signed: bool) -> str:
        if figure["value"] is None:
            return f"{'-':>24}"
        lo, hi = figure["ci"]
        fmt = "+.3f" if signed else ".3f"
        return f"{figure['value']:{fmt}} [{lo:{fmt}},{hi:{fmt}}]".rjust(24)

    lines = [
        f"joined {counts['joined']} sentences by id ({counts['gold_only']} gold only, {counts['pred_only']} "
        f"predictions only); use={comparison['settings']['use']}; 95% intervals",
        "share gap = mean |pred share - gold share| over a layer's labels; index diff = pred - gold",
        f"{'outlet':<{width}}{'art':>4}{'sent':>6}{'type gap':>24}{'stance gap':>24}{'frame gap':>24}"
        f"{'index diff (all)':>24}{'(own voice)':>24}{'(quoted)':>24}",
    ]
    for name, outlet in comparison["outlets"].items():
        mark = "*" if outlet["below_min_sentences"] else " "
        gap, diff = outlet["share_gap"], outlet["stance_index_diff"]
        lines.append(
            f"{(name + mark):<{width}}{outlet['articles']:>4}{outlet['sentences']:>6}"
            + cell(gap["type"], False) + cell(gap["stance"], False) + cell(gap["frame"], False)
            + cell(diff["all"], True) + cell(diff["own_voice"], True) + cell(diff["quoted"], True)
        )
    if any(o["below_min_sentences"] for o in comparison["outlets"].values()):
        lines.append(f"* fewer than --min-sentences {comparison['settings']['min_sentences']} sentences")
    return "\n".join(lines)


def render_corrected_summary(profile: Profile) -> str:
    """Terminal lines for --adjust (raw vs corrected stance index, instability) and syndication."""
    from warta.outlets.adjust import instability_words

    lines = []
    trend = profile.trends
    if trend:
        lines.append(f"coverage over time per {trend['period']}: {len(trend['periods'])} periods, {trend['dated_articles']} "
                     f"dated articles, {trend['undated_articles']} undated, {trend['unreadable']['count']} with an "
                     f"unreadable date; {len(trend['lines'])} period(s) stand out from their outlet's average "
                     f"({trend['checks']} checks at 95%: ~{round(0.05 * trend['checks'])} by chance)")
        lines.extend(f"  unreadable date: {e['outlet']} article {e['article_id']}: {e['date']!r} ({e['reason']})"
                     for e in trend["unreadable"]["examples"])
        if trend["unreadable"]["count"] > len(trend["unreadable"]["examples"]):
            lines.append(f"  ... and {trend['unreadable']['count'] - len(trend['unreadable']['examples'])} more unreadable dates")
    dup = profile.duplicates
    if dup and dup["articles_dropped"]:
        lines.append(f"duplicates: {dup['articles_dropped']} repeated article(s) within an outlet "
                     f"({dup['sentences_dropped']} sentences) " + ("counted once" if dup["counted_once"] else
                                                                   "counted every time (--keep-duplicates)"))
    syn = profile.syndication
    if syn:
        lines.append(f"syndication: {syn['clusters']} near-verbatim sentence groups across outlets "
                     f"({syn['sentences_flagged']} sentences); merged {syn['merged']} copies")
    adjusted = profile.adjusted
    if adjusted:
        lines.append(f"--adjust {adjusted['method']} with run {adjusted['run']} "
                     f"({adjusted['calibration']['sentences']} held-out sentences): stance index raw -> corrected [95%]")
        for name, entry in adjusted["outlets"].items():
            raw = profile.outlets[name]["stance_index"]["all"]["value"]
            fig = entry["stance_index"]["all"]
            if fig.get("value") is not None and raw is not None:
                lines.append(f"  {name:<24}{raw:+.2f} -> {fig['value']:+.2f} [{fig['ci'][0]:+.2f},{fig['ci'][1]:+.2f}]")
        lines.extend(f"  {w}" for w in instability_words(adjusted))
        lines.extend(f"warning: {w}" for w in adjusted["warnings"])
    return "\n".join(lines)
