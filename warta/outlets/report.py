"""The outlet report: one self-contained HTML page (inline CSS, plots as base64 PNG,
no scripts, fonts or images fetched from anywhere) built from profile_outlets() output."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from warta.outlets.options import ALL
from warta.outlets.pairs import PAIR_STAT_WORDS, PAIR_STATS
from warta.outlets.plots import (
    plot_frame_heatmap,
    plot_stance_index,
    plot_type_mix,
    png_base64,
)
from warta.outlets.report_sections import SECTIONS_CSS, optional_sections
from warta.schema import LAYERS

if TYPE_CHECKING:
    from warta.outlets.profile import Profile

# --- plain-language reading ------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share_text(figure: dict[str, Any]) -> str:
    lo, hi = figure["ci"]
    return f"{_pct(figure['value'])} (95% interval {_pct(lo)}–{_pct(hi)})"


def _lean(figure: dict[str, Any], plural: bool = False) -> str:
    """Where a stance index points, said only as strongly as its interval allows."""
    if figure["value"] is None:
        return "none"
    lo, hi = figure["ci"]
    span = f"index {figure['value']:+.2f}, interval {lo:+.2f} to {hi:+.2f}"
    verb = "lean" if plural else "leans"
    if lo > 0:
        return f"{verb} pro ({span})"
    if hi < 0:
        return f"{verb} against ({span})"
    return f"cannot be told from balanced ({span}, includes 0)"


def _outlet_reading(name: str, outlet: dict[str, Any], skip_single_note: bool = False) -> str:
    n_articles = outlet["articles"]
    head = f"<b>{html.escape(name)}</b> ({n_articles} article{'s' if n_articles != 1 else ''}, {outlet['sentences']} sentences): "
    types = outlet["type_share"]
    top = max(LAYERS["type"], key=lambda t: types[t]["value"])
    word = "mostly" if types[top]["value"] > 0.5 else "largest share"
    parts = [f"{word} {top} {_share_text(types[top])}"]
    index = outlet["stance_index"]
    parts.append(f"own voice {_lean(index['own_voice'])}")
    parts.append(f"quoted sources {_lean(index['quoted'], plural=True)}")
    own, quoted = index["own_voice"], index["quoted"]
    if own["ci"] and quoted["ci"]:
        if own["ci"][0] > quoted["ci"][1] or quoted["ci"][0] > own["ci"][1]:
            side = "more pro" if own["value"] > quoted["value"] else "more against"
            parts.append(f"its own voice is {side} than the sources it quotes (intervals do not overlap)")
        else:
            parts.append("own voice and quoted sources cannot be told apart (intervals overlap)")
    frames = outlet["frame_share"]
    dominant = outlet["dominant_frame"]
    if dominant == "none":
        parts.append("no frame used")
    else:
        runner = max((f for f in LAYERS["frame"] if f not in (dominant, "none")), key=lambda f: frames[f]["value"])
        text = f"most used frame {dominant.replace('_', ' ')} {_share_text(frames[dominant])}"
        if frames[dominant]["ci"][0] <= frames[runner]["ci"][1] and frames[runner]["value"] > 0:
            text += f", not clearly ahead of {runner.replace('_', ' ')} ({_pct(frames[runner]['value'])})"
        parts.append(text)
    reading = head + "; ".join(parts) + "."
    # The summary already says when every outlet is a single article; do not repeat it five times.
    notes = [n for n in outlet["notes"] if not (skip_single_note and n.startswith("one article"))]
    if notes:
        reading += " <i>" + html.escape(" ".join(n[0].upper() + n[1:] + "." for n in notes)) + "</i>"
    return reading


def plain_reading(profile: Profile) -> dict[str, list[str]]:
    """Short HTML snippets (names escaped) in three parts: "summary" (sample and its limits),
    "outlets" (one reading per outlet) and "between" (what differs, what cannot be told apart)."""
    outlets = {n: o for n, o in profile.outlets.items() if n != ALL}
    everything = profile.outlets[ALL]
    single = [n for n, o in outlets.items() if o["articles"] == 1]
    summary = [
        f"{everything['sentences']} labelled sentences from {everything['articles']} articles in {len(outlets)} "
        f"outlet{'s' if len(outlets) != 1 else ''}."
    ]
    if single and len(single) == len(outlets):
        summary.append(
            "<b>Every outlet is represented by a single article.</b> The figures describe those articles; "
            "they cannot show how the outlets cover the story in general, and no difference between outlets "
            "can be separated from the difference between two articles."
        )
    elif single:
        summary.append(
            f"{len(single)} outlet{'s are' if len(single) != 1 else ' is'} represented by a single article "
            f"({html.escape(', '.join(single))}): their figures describe that article, not the outlet."
        )
    pairs = profile.distances["pairs"]
    compared = [p for p in pairs if "tests" in p]
    differing = [p for p in compared if any(t.get("differs") for t in p["tests"].values())]
    same = [p for p in compared if p not in differing]
    between = [f"<b>Differs:</b> {html.escape(p['note'])}." for p in differing]
    if compared and not differing:
        between.append("<b>No difference between outlets is larger than its uncertainty.</b>")
    if same and len(same) == len(compared) > 1:
        one_each = all(p["articles"] == [1, 1] for p in same)
        between.append(
            f"None of the {len(same)} pairs of outlets compared can be told apart on any measure"
            + (" (one article each: the outlet cannot be separated from the article)" if one_each else "")
            + ". This does not show that they are alike, only that these samples cannot show a difference."
        )
    elif same:
        between.append(
            "<b>Cannot be told apart on any measure:</b> "
            + ", ".join(html.escape(f"{p['a']} vs {p['b']}") for p in same)
            + ". This does not show that they are alike, only that these samples cannot show a difference."
        )
    flagged = [n for n, o in outlets.items() if o["below_min_sentences"]]
    if flagged:
        between.append(
            f"Not compared (fewer than {profile.settings['min_sentences']} sentences): {html.escape(', '.join(flagged))}."
        )
    if not pairs:
        between.append("Only one outlet: nothing to compare.")
    between.extend(f"Warning: {html.escape(w)}." for w in profile.distances["warnings"])
    return {
        "summary": summary,
        "outlets": [_outlet_reading(name, outlet, skip_single_note=len(single) == len(outlets)) for name, outlet in outlets.items()],
        "between": between,
    }


# --- tables and page -----------------------------------------------------------------------


def _ci_cell(figure: dict[str, Any], percent: bool) -> str:
    if figure["value"] is None:
        return '<td class="na">–</td>'
    lo, hi = figure["ci"]
    if percent:
        return f'<td>{100 * figure["value"]:.0f}%<br><span class="ci">{100 * lo:.0f}–{100 * hi:.0f}</span></td>'
    return f'<td>{figure["value"]:+.2f}<br><span class="ci">{lo:+.2f} to {hi:+.2f}</span></td>'


def _outlet_cells(name: str, outlet: dict[str, Any]) -> tuple[str, list[str]]:
    cls = ' class="all"' if name == ALL else (' class="flagged"' if outlet["below_min_sentences"] else "")
    mark = " *" if outlet["below_min_sentences"] else ""
    cells = [f'<th scope="row">{html.escape(name)}{mark}</th>', f"<td>{outlet['articles']}</td>", f"<td>{outlet['sentences']}</td>"]
    return cls, cells


def _profile_tables(profile: Profile) -> str:
    """Two tables: type mix and stance; frames."""
    types, stances, frames = LAYERS["type"], LAYERS["stance"], LAYERS["frame"]
    head = (
        "<tr><th rowspan=2>outlet</th><th rowspan=2>articles</th><th rowspan=2>sentences</th>"
        f"<th colspan={len(types)}>type mix</th><th colspan={len(stances)}>stance shares</th>"
        "<th colspan=3>stance index (pro − against) / n</th></tr><tr>"
        + "".join(f"<th>{t}</th>" for t in types)
        + "".join(f"<th>{s}</th>" for s in stances)
        + "<th>all sentences</th><th>own voice</th><th>quoted sources</th></tr>"
    )
    rows = []
    for name, outlet in profile.outlets.items():
        cls, cells = _outlet_cells(name, outlet)
        cells += [_ci_cell(outlet["type_share"][t], True) for t in types]
        cells += [_ci_cell(outlet["stance_share"][s], True) for s in stances]
        for subset in ("all", "own_voice", "quoted"):
            figure = outlet["stance_index"][subset]
            cell = _ci_cell(figure, False)
            if figure["value"] is not None:
                cell = cell.replace("</td>", f'<br><span class="ci">n={figure["n"]:g}</span></td>')
            cells.append(cell)
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    first = f'<table class="profile">{head}{"".join(rows)}</table>'
    head = (
        "<tr><th rowspan=2>outlet</th><th rowspan=2>articles</th><th rowspan=2>sentences</th>"
        f"<th colspan={len(frames)}>frame shares</th><th rowspan=2>dominant frame<br>(ignoring none)</th></tr><tr>"
        + "".join(f"<th>{f.replace('_', ' ')}</th>" for f in frames)
        + "</tr>"
    )
    rows = []
    for name, outlet in profile.outlets.items():
        cls, cells = _outlet_cells(name, outlet)
        cells += [_ci_cell(outlet["frame_share"][f], True) for f in frames]
        cells.append(f"<td>{outlet['dominant_frame'].replace('_', ' ')}</td>")
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    return first + f'<table class="profile">{head}{"".join(rows)}</table>'


def _pair_table(profile: Profile) -> str:
    pairs = [p for p in profile.distances["pairs"] if "tests" in p]
    if not pairs:
        return "<p>No pair of outlets could be compared.</p>"
    head = (
        "<tr><th>outlets</th><th>articles</th>"
        + "".join(f"<th>{html.escape(PAIR_STAT_WORDS[key])}</th>" for key, _, _ in PAIR_STATS)
        + "<th>verdict</th></tr>"
    )
    rows = []
    for pair in pairs:
        cells = [f"<th scope=row>{html.escape(pair['a'])} vs<br>{html.escape(pair['b'])}</th>",
                 f"<td>{pair['articles'][0]} / {pair['articles'][1]}</td>"]
        for key, _, kind in PAIR_STATS:
            test = pair.get("tests", {}).get(key)
            if not test or test["value"] is None:
                cells.append('<td class="na">–</td>')
                continue
            value = f"{test['value']:.2f}" if kind == "js" else f"{test['value']:+.2f}"
            verdict = "differs" if test["differs"] else "within noise"
            cls = "differs" if test["differs"] else "same"
            cells.append(
                f'<td class="{cls}">{value} <span class="verdict">{verdict}</span><br>'
                f'<span class="ci">chance ≤ {test["noise"]:.2f}<br>adj. p {test["p_adj"]:.2g}</span></td>'
            )
        differs = [PAIR_STAT_WORDS[key] for key, test in pair["tests"].items() if test.get("differs")]
        verdict = ("differs in " + "; ".join(differs)) if differs else "cannot be told apart"
        cells.append(f"<td class=note>{html.escape(verdict)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="pairs">{head}{"".join(rows)}</table>'


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem auto;max-width:1180px;color:#1a1a1a;
line-height:1.45;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.85rem}.box{background:#f6f8fa;border:1px solid #dde3ea;padding:.6rem 1rem;border-radius:6px}
.reading p{margin:.45rem 0}.reading li{margin:.3rem 0}
table{border-collapse:collapse;font-size:.78rem;margin:.5rem 0}th,td{border:1px solid #ddd;padding:3px 5px;
text-align:center;vertical-align:middle}thead th,tr:first-child th{background:#f0f2f5}
th[scope=row]{text-align:left;white-space:nowrap}.ci{color:#666;font-size:.7rem;white-space:nowrap}
tr.all{background:#fafafa;font-weight:600}tr.flagged{color:#888}td.na{color:#aaa}
td.differs{background:#fde8e8}td.same{background:#f3f7f3}.verdict{font-size:.68rem;color:#444}
td.note{text-align:left;min-width:9rem;max-width:14rem}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#444;max-width:60rem}img{max-width:100%;height:auto}
.scroll{overflow-x:auto}
"""


def render_report(profile: Profile, title: str = "warta: how each outlet covers the story") -> str:
    """The whole report page as an HTML string (self-contained)."""
    settings = profile.settings
    files = ", ".join(settings.get("files", [])) or "records"
    type_png = png_base64(plot_type_mix(profile))
    stance_png = png_base64(plot_stance_index(profile))
    frame_png = png_base64(plot_frame_heatmap(profile))
    parts = plain_reading(profile)
    reading = (
        "".join(f"<p>{line}</p>" for line in parts["summary"])
        + "<ul>" + "".join(f"<li>{line}</li>" for line in parts["outlets"]) + "</ul>"
        + "<p><b>Between outlets</b></p><ul>" + "".join(f"<li>{line}</li>" for line in parts["between"]) + "</ul>"
    )
    flagged_note = (
        f"* fewer than {settings['min_sentences']} sentences: listed but not compared with other outlets."
        if any(o["below_min_sentences"] for o in profile.outlets.values())
        else ""
    )
    skipped = [p for p in profile.distances["pairs"] if p.get("skipped")]
    skipped_note = (
        f"{len(skipped)} pair{'s' if len(skipped) != 1 else ''} not compared: "
        + "; ".join(f"{p['a']} vs {p['b']}" for p in skipped)
        + f" (an outlet with fewer than {settings['min_sentences']} sentences)."
        if skipped else ""
    )
    sample_note = "Each row label gives the number of articles and labelled sentences behind it."
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}{SECTIONS_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">Input: {html.escape(files)} · grouped by <code>{html.escape(settings['by'])}</code> ·
{'hard labels' if settings['use'] == 'labels' else 'expected shares from model probabilities'} ·
title and body sentences only (headings carry no labels) · {settings['n_boot']} bootstrap resamples, seed {settings['seed']}</p>

<div class="box">
<p><b>How to read this.</b> <i>Type mix</i>: share of sentences that are fact, quote, opinion or speculation.
<i>Stance index</i> = (pro − against) / n, from −1 (every sentence against replacing human workers with AI) to +1
(every sentence pro); 0 means balanced or neutral. It is given for all sentences, for the outlet's <i>own voice</i>
(sentences that are not quotes) and for the <i>sources it quotes</i> (quote sentences).
<i>Frames</i> (Semetko &amp; Valkenburg) show what a sentence makes the story about; the dominant frame ignores "none".</p>
<p>Every figure has a <b>95% interval</b>: the wider of an <i>article-cluster bootstrap</i> interval (the outlet's
articles are resampled with replacement, because sentences of one article are not independent) and an interval that
treats sentences as independent (Jeffreys for shares, Dirichlet for the stance index). With one or a few articles
the bootstrap cannot see how much articles differ, so an interval then only reflects the number of sentences and is
still optimistic about the outlet as a whole. Narrow intervals need many articles, not many sentences.</p>
</div>

<h2>What the data say</h2>
<div class="reading">{reading}</div>

<h2>Profiles</h2>
<div class="scroll">{_profile_tables(profile)}</div>
<p class="meta">Shares in %, 95% interval below each figure. {html.escape(flagged_note)}</p>

<h2>Type mix</h2>
<figure><img alt="Type mix per outlet, stacked bars" src="data:image/png;base64,{type_png}">
<figcaption>Share of fact, quote, opinion and speculation sentences per outlet; the row below the dashed line pools
every outlet. {sample_note} Intervals for each share are in the table above. {html.escape(flagged_note)}</figcaption></figure>

<h2>Stance: own voice and quoted sources</h2>
<figure><img alt="Stance index per outlet with 95% intervals" src="data:image/png;base64,{stance_png}">
<figcaption>Stance index with 95% interval bars, for all sentences, the outlet's own voice and the sources it quotes;
n = sentences behind each point. An interval that crosses 0 means the lean cannot be told from balanced.
{sample_note}</figcaption></figure>

<h2>Frames</h2>
<figure><img alt="Frame shares per outlet, heatmap" src="data:image/png;base64,{frame_png}">
<figcaption>Share of sentences using each frame, 95% interval in brackets; the red box marks the dominant frame
(ignoring "none"). {sample_note}</figcaption></figure>

<h2>Between outlets</h2>
<p>Type and frame mix: Jensen–Shannon distance (0 = same mix, 1 = nothing in common). Stance: difference of the
stance indices (first minus second outlet). To judge a difference, both outlets' articles are pooled and redrawn
thousands of times as if they came from one and the same outlet; "chance ≤ x" is the largest
value such draws reach once the number of outlet pairs compared is accounted for (Bonferroni: the 1 − 0.05/pairs
quantile), and a difference counts only if it is larger (adj. p = p × pairs &lt; 0.05). Two outlets with one article
each can never pass: the outlet cannot be separated from the article.</p>
<div class="scroll">{_pair_table(profile)}</div>
<p class="meta">{html.escape(skipped_note)}</p>

{optional_sections(profile)}

<p class="meta">Method: {html.escape(settings['interval_method'])}. Between outlets: {html.escape(profile.distances['method'])}.
Report written by warta outlets.</p>
</body></html>
"""
