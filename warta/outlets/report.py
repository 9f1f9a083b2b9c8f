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
    plot_trend,
    plot_type_mix,
    png_base64,
)
from warta.outlets.report_sections import SECTIONS_CSS, optional_sections
from warta.outlets.shrinkage import extreme_outlets
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


# With more outlets than 2 x READ_EXTREMES, the reading covers the most pro and most against ones.
READ_EXTREMES = 10
MAX_BETWEEN_LINES = 20


def _between_reading(profile: Profile, outlets: dict[str, Any]) -> list[str]:
    """Plain lines: which outlets differ from all the others, which requested pairs differ, what was not compared."""
    rest = profile.distances["versus_rest"]
    entries = rest["outlets"]
    compared = {n: e for n, e in entries.items() if "tests" in e}
    differing = sorted((n for n, e in compared.items() if any(t.get("differs") for t in e["tests"].values())),
                       key=lambda n: min(t["q"] for t in compared[n]["tests"].values() if t.get("q") is not None))
    between = [f"<b>Differs:</b> {html.escape(entries[n]['note'])}." for n in differing[:MAX_BETWEEN_LINES]]
    if len(differing) > MAX_BETWEEN_LINES:
        between.append(f"… and {len(differing) - MAX_BETWEEN_LINES} more outlets that differ from the others "
                       "(see the table below, or distances.csv).")
    if compared and not differing:
        one_each = all(e["articles"] == 1 for e in compared.values())
        between.append(
            f"<b>None of the {len(compared)} outlets differs from the others by more than chance would give</b>"
            + (" (one article each: an outlet cannot be separated from its article)" if one_each else "")
            + ". This does not show that they are alike, only that these samples cannot show a difference."
        )
    elif compared:
        between.append(f"The other {len(compared) - len(differing)} outlets cannot be told apart from the rest on any measure.")
    for pair in profile.distances.get("pairs", {}).get("pairs", []):
        between.append(f"<b>Pair you asked for:</b> {html.escape(pair['note'])}.")
    flagged = [n for n, o in outlets.items() if o["below_min_sentences"]]
    if flagged:
        shown = ", ".join(flagged[:MAX_BETWEEN_LINES]) + (f" and {len(flagged) - MAX_BETWEEN_LINES} more" if len(flagged) > MAX_BETWEEN_LINES else "")
        between.append(f"Not compared (fewer than {profile.settings['min_sentences']} sentences): {html.escape(shown)}.")
    if len(outlets) < 2:
        between.append("Only one outlet: nothing to compare.")
    warnings = rest["warnings"] + profile.distances.get("pairs", {}).get("warnings", [])
    between.extend(f"Warning: {html.escape(w)}." for w in warnings)
    return between


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
            f"({html.escape(', '.join(single[:MAX_BETWEEN_LINES]))}"
            + (f" and {len(single) - MAX_BETWEEN_LINES} more" if len(single) > MAX_BETWEEN_LINES else "")
            + "): their figures describe that article, not the outlet."
        )
    models = profile.settings.get("models") or []
    if models:
        error = (profile.run or {}).get("outlet_error")
        made_by = html.escape(", ".join(models[:2]) + (f" and {len(models) - 2} more" if len(models) > 2 else ""))
        line = f"<b>These labels were made by a model</b> ({made_by}), not by hand."
        if error:
            line += (f" On outlets it never saw, its stance index was off by {error['stance_index_abs_error']:.2f} on "
                     f"average (from {error['stance_index_error_range'][0]:+.2f} to {error['stance_index_error_range'][1]:+.2f} "
                     f"over {error['outlets']} held-out outlets): a difference between outlets smaller than that may be "
                     "the model's error rather than the outlets'.")
        elif profile.run:
            line += " Its error on unseen outlets was not measured (train the run with <code>--cv outlet</code>)."
        else:
            line += " Its error on unseen outlets is not stated: its run folder was not found (pass <code>--run</code>)."
        summary.append(line)
    dup = profile.duplicates
    if dup and dup["articles_dropped"]:
        where = ", ".join(sorted({g["outlet"] for g in dup["groups"]}))
        summary.append(
            f"<b>{dup['articles_dropped']} article{'s' if dup['articles_dropped'] != 1 else ''} appeared more than once "
            f"within the same outlet</b> ({html.escape(where)}), exactly or nearly word for word"
            + (": each is counted once, since copies are not independent evidence." if dup["counted_once"] else
               ", and are counted every time (--keep-duplicates): intervals are too narrow and tests too eager.")
        )
    if len(outlets) > 2 * READ_EXTREMES:
        summary.append(f"Below: the {READ_EXTREMES} most pro and the {READ_EXTREMES} most against of the {len(outlets)} "
                       "outlets (stance index shrunk toward the average, so that small outlets do not top the list by "
                       "luck); every outlet is in the tables further down.")
    between = _between_reading(profile, outlets)
    return {
        "summary": summary,
        "outlets": [_outlet_reading(name, outlets[name], skip_single_note=len(single) == len(outlets))
                    for name in extreme_outlets(profile.outlets, READ_EXTREMES)],
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
    if name != ALL:  # the outlet filter (SCRIPT) hides rows whose data-name does not match; ALL always shows
        cls += f' data-name="{html.escape(name.lower())}"'
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


def _verdict_cell(test: dict[str, Any] | None, kind: str, adjusted: str) -> str:
    if not test or test["value"] is None:
        return '<td class="na" data-v="">–</td>'
    value = f"{test['value']:.2f}" if kind == "js" else f"{test['value']:+.2f}"
    verdict, cls = ("differs", "differs") if test["differs"] else ("within chance", "same")
    return (f'<td class="{cls}" data-v="{test["value"]}">{value} <span class="verdict">{verdict}</span><br>'
            f'<span class="ci">chance ≤ {test["noise"]:.2f}</span></td>')


def _versus_rest_table(profile: Profile) -> str:
    """One row per outlet against all the others: sortable (click a heading) and filterable (type a name)."""
    entries = profile.distances["versus_rest"]["outlets"]
    compared = {n: e for n, e in entries.items() if "tests" in e}
    if not compared:
        return "<p>No outlet could be compared with the others.</p>"
    head = (
        "<tr><th>outlet</th><th>articles</th>"
        + "".join(f"<th>{html.escape(PAIR_STAT_WORDS[key])}</th>" for key, _, _ in PAIR_STATS)
        + "<th>shrunk stance index</th><th>verdict</th></tr>"
    )
    rows = []
    for name, entry in compared.items():
        cells = [f'<th scope=row data-v="{html.escape(name)}">{html.escape(name)}</th>', f'<td data-v="{entry["articles"]}">{entry["articles"]}</td>']
        cells += [_verdict_cell(entry["tests"].get(key), kind, "q") for key, _, kind in PAIR_STATS]
        shrunk = (profile.outlets[name].get("shrunk") or {}).get("stance_index", {}).get("all")
        cells.append(f'<td data-v="{"" if shrunk is None else shrunk}">{"–" if shrunk is None else f"{shrunk:+.2f}"}</td>')
        differs = [PAIR_STAT_WORDS[key] for key, test in entry["tests"].items() if test.get("differs")]
        verdict = ("differs in " + "; ".join(differs)) if differs else "cannot be told apart from the rest"
        cells.append(f"<td class=note>{html.escape(verdict)}</td>")
        rows.append(f'<tr data-name="{html.escape(name.lower())}">' + "".join(cells) + "</tr>")
    return (
        '<p class="meta">Click a column heading to sort; the name filter at the top of the report applies here.</p>'
        f'<table class="pairs sortable" id="versus-rest"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _pair_table(profile: Profile) -> str:
    """The pairs the user asked for (--pairs A,B)."""
    pairs = [p for p in profile.distances.get("pairs", {}).get("pairs", []) if "tests" in p]
    if not pairs:
        return ""
    head = ("<tr><th>outlets</th><th>articles</th>"
            + "".join(f"<th>{html.escape(PAIR_STAT_WORDS[key])}</th>" for key, _, _ in PAIR_STATS) + "</tr>")
    rows = []
    for pair in pairs:
        cells = [f"<th scope=row>{html.escape(pair['a'])} vs<br>{html.escape(pair['b'])}</th>",
                 f"<td>{pair['articles'][0]} / {pair['articles'][1]}</td>"]
        cells += [_verdict_cell(pair["tests"].get(key), kind, "p_adj") for key, _, kind in PAIR_STATS]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<h3>Pairs you asked for</h3><table class="pairs">{head}{"".join(rows)}</table>'


# Sorting and filtering the outlet table: inline, no network, no external file; the page reads fine without it.
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('thead th').forEach(function(h,i){h.style.cursor='pointer';h.title='sort';
  h.addEventListener('click',function(){var b=t.tBodies[0],r=Array.from(b.rows),d=h.dataset.d==='a'?-1:1;h.dataset.d=d>0?'a':'d';
   r.sort(function(x,y){var a=x.cells[i].dataset.v,c=y.cells[i].dataset.v,na=parseFloat(a),nc=parseFloat(c);
    if(a===''||a===undefined)return 1;if(c===''||c===undefined)return -1;
    return (isNaN(na)||isNaN(nc)?a.localeCompare(c):na-nc)*d;});r.forEach(function(x){b.appendChild(x);});});});});
var f=document.getElementById('outlet-filter');if(f){f.addEventListener('input',function(){var v=f.value.toLowerCase();
 document.querySelectorAll('tr[data-name]').forEach(function(r){r.style.display=r.dataset.name.indexOf(v)>=0?'':'none';});});}
"""


MAX_TREND_LINES = 30
PERIOD_WORDS = {"month": "month", "week": "week (ISO weeks)", "quarter": "quarter"}


def _trends_section(profile: Profile) -> str:
    """Coverage over time (--by month|week|quarter): counts, one plot per layer, the periods that stand out."""
    trend = profile.trends
    if not trend:
        return ""
    unreadable = trend["unreadable"]
    counts = (f"{trend['dated_articles']} articles have a date; {trend['undated_articles']} have none and "
              f"{unreadable['count']} have a date warta cannot read — these count in every figure above but in no period.")
    bad = "".join(f"<li>{html.escape(e['outlet'])} · article {html.escape(str(e['article_id']))}: "
                  f"<code>{html.escape(str(e['date']))}</code> ({html.escape(e['reason'])})</li>" for e in unreadable["examples"])
    if unreadable["count"] > len(unreadable["examples"]):
        bad += f"<li>… and {unreadable['count'] - len(unreadable['examples'])} more</li>"
    if not trend["periods"]:
        return f"<h2>Coverage over time</h2><p>{counts}</p><ul>{bad}</ul>"
    few = len(trend["shown"]) == len([n for n in profile.outlets if n != ALL])
    who = ("each outlet in its own panel, and all outlets together" if few else
           f"all outlets together (line and 95% band) and the {len(trend['shown'])} outlets with the most pro and "
           "most against stance (shrunk index)")
    plots = "".join(
        f'<figure><img alt="{layer} over time" src="data:image/png;base64,{png_base64(plot_trend(profile, layer))}">'
        f"<figcaption>{layer.capitalize()} per {PERIOD_WORDS[trend['period']]}: {who}.</figcaption></figure>"
        for layer in ("stance", "type", "frame"))
    lines = trend["lines"]
    shown = "".join(f"<li>{html.escape(line)}.</li>" for line in lines[:MAX_TREND_LINES])
    if len(lines) > MAX_TREND_LINES:
        shown += f"<li>… and {len(lines) - MAX_TREND_LINES} more (outlets.json, trends.lines)</li>"
    chance = round(0.05 * trend["checks"])
    return f"""
<h2>Coverage over time</h2>
<p>{counts}</p>{f'<ul>{bad}</ul>' if bad else ''}
{plots}
<p><b>Periods that stand out from the outlet's own average</b> (the whole-sample figure lies outside the period's
95% interval; periods with at least 3 articles). {trend['checks']} such checks were made, so about {chance} lines are expected by chance alone: read
a line as a lead to check in the articles, not as a finding.</p>
<ul>{shown or '<li>none: every period is within its interval of the outlet’s own average.</li>'}</ul>
"""


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
    skipped = [e for e in profile.distances["versus_rest"]["outlets"].values() if e.get("skipped")]
    skipped_note = f"{len(skipped)} outlet(s) not compared with the others (fewer than {settings['min_sentences']} sentences)." if skipped else ""
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
<p>Every figure has a <b>95% interval</b>: the range the figure would likely fall in had other articles from the
same outlet been collected. Sentences of one article are alike, so intervals come from resampling whole articles;
with one or a few articles an interval reflects only the number of sentences and is still too optimistic about the
outlet as a whole. Narrow intervals need many articles, not many sentences. (Details in Methods.)</p>
</div>

<h2>What the data say</h2>
<div class="reading">{reading}</div>

<h2>Profiles</h2>
<p class="meta"><label>Show only outlets whose name contains <input id="outlet-filter" type="search" placeholder="name"></label>
(filters every outlet table of this page)</p>
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
<p>Is an outlet's coverage different from everyone else's, or could the gap be luck — the particular articles
that happened to be collected? Each outlet is set against <b>all the other outlets together</b>. For the type mix
and the frame mix the table gives how far apart the two mixes are (0 = the same mix, 1 = nothing in common); for
stance, how much more pro (+) or against (−) the outlet is than the rest. "Chance ≤ x" is how large the gap gets when
articles are picked at random from all outlets: an outlet is said to <b>differ</b> only when its gap is larger than
chance would give, and the check is made strict enough that, of all the outlets called different, at most about one
in twenty is a false alarm. An outlet with a single article can only show that this article differs.
The shrunk stance index pulls outlets with few sentences toward the average, so that they do not top the list by
luck alone. How the tests work is in the Methods section.</p>
<div class="scroll">{_versus_rest_table(profile)}{_pair_table(profile)}</div>
<p class="meta">{html.escape(skipped_note)}</p>

{_trends_section(profile)}
{optional_sections(profile)}

<p class="meta">Report written by warta outlets.</p>
<script>{SCRIPT}</script>
</body></html>
"""
