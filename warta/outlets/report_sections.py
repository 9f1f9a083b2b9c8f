"""Report sections added by `warta outlets` options: raw vs corrected shares, evidence sentences,
syndicated sentences, and the methods section (the report as a researcher's appendix)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from warta.outlets.options import ALL, STANCE_SUBSETS
from warta.outlets.shrinkage import extreme_outlets
from warta.schema import GUIDELINE_VERSION, LAYERS

if TYPE_CHECKING:
    from warta.outlets.profile import Profile

E = html.escape
EVIDENCE_EXTREMES = 12


def _pct(fig: dict[str, Any] | None) -> str:
    if not fig or fig.get("value") is None:
        return "–"
    lo, hi = fig["ci"]
    return f"{100 * fig['value']:.0f}<br><small>[{100 * lo:.0f}, {100 * hi:.0f}]</small>"


def _idx(fig: dict[str, Any] | None) -> str:
    if not fig or fig.get("value") is None:
        return "–"
    lo, hi = fig["ci"]
    return f"{fig['value']:+.2f}<br><small>[{lo:+.2f}, {hi:+.2f}]</small>"


def _layer_table(profile: Profile, adjusted: dict[str, Any], layer: str) -> str:
    labels = LAYERS[layer]
    head = "".join(f"<th colspan='2'>{E(label)}</th>" for label in labels)
    sub = "<th>raw</th><th class='corr'>corr.</th>" * len(labels)
    if layer == "stance":
        head += "".join(f"<th colspan='2'>index: {s.replace('_', ' ')}</th>" for s in STANCE_SUBSETS)
        sub += "<th>raw</th><th class='corr'>corr.</th>" * len(STANCE_SUBSETS)
    rows = []
    for name, entry in adjusted["outlets"].items():
        raw = profile.outlets[name]
        cells = [f"<td>{_pct(raw[f'{layer}_share'][label])}</td>"
                 f"<td class='corr'>{_pct(entry['layers'][layer].get('shares', {}).get(label))}</td>" for label in labels]
        if layer == "stance":
            cells += [f"<td>{_idx(raw['stance_index'][s])}</td><td class='corr'>{_idx(entry['stance_index'][s])}</td>"
                      for s in STANCE_SUBSETS]
        rows.append(f"<tr><th>{E(name)}</th>{''.join(cells)}</tr>")
    flag = " — <span class='unst'>correction unstable</span>" if adjusted["calibration"]["per_layer"][layer]["unstable"] else ""
    return (f"<h3>{E(layer)}{flag}</h3><div class='scroll'><table class='adj'><tr><th rowspan='2'>outlet</th>{head}</tr>"
            f"<tr>{sub}</tr>{''.join(rows)}</table></div>")


def corrected_section(profile: Profile) -> str:
    adjusted = profile.adjusted
    if not adjusted:
        return ""
    method, cal = adjusted["method"], adjusted["calibration"]
    tables = "".join(_layer_table(profile, adjusted, layer) for layer in LAYERS)
    unstable = [f"<li><b>{E(layer)}</b>: the correction is <b>unstable</b> — {E('; '.join(st['reasons']))}. "
                "Treat the corrected figures of this layer as a warning that the raw counts may be off, not as better numbers.</li>"
                for layer, st in cal["per_layer"].items() if st["unstable"]]
    shaky = {layer for layer, st in cal["per_layer"].items() if st["unstable"]} | ({"stance index"} if cal["per_layer"]["stance"]["unstable"] else set())
    differs = [f"<li><b>{E(name)}</b>: {E(line)}{' <i>(correction unstable)</i>' if line.split(' ')[0] in shaky or line.startswith('stance index') and 'stance' in shaky else ''}</li>"
               for name, entry in adjusted["outlets"].items() for line in entry["differs"]]
    warnings = "".join(f"<li>{E(w)}</li>" for w in adjusted["warnings"])
    return f"""
<h2>Raw counts and corrected shares (--adjust {E(method)})</h2>
<p>A classifier's label counts drift toward the mix it was trained on. The corrected shares undo the error rates
run <code>{E(adjusted['run'])}</code> made on {cal['sentences']} held-out sentences ({E(', '.join(cal['sources']))}),
with method <b>{E(method)}</b>. Their 95% intervals resample the outlet's articles (sentences when it has fewer than 5)
<i>and</i> the held-out predictions ({E(cal['resampled'])}), so they carry both the outlet's sampling noise and the
uncertainty in the error rates. The stance index and the own-voice / quoted split (quoted = predicted type quote) are
computed from the corrected shares.</p>
<ul class="warn">{''.join(unstable)}{warnings}</ul>
<p class="meta">Shares in %, raw count beside the corrected estimate (shaded), 95% interval below each.</p>
{tables}
<p><b>Where raw and corrected disagree by more than the interval</b>:</p>
<ul>{''.join(differs) or '<li>nowhere: every raw figure lies inside its corrected 95% interval.</li>'}</ul>
"""


def _p_text(p: float | None) -> str:
    return "" if p is None else f" · p={p:.2f}"


def evidence_section(profile: Profile) -> str:
    ev = profile.evidence
    if not ev:
        return ""
    k = profile.settings.get("evidence")
    parts = []
    # many outlets: the report shows the evidence of the most pro and most against ones (outlets.json has all)
    shown = set(extreme_outlets(profile.outlets, EVIDENCE_EXTREMES))
    for name, layers in ev.items():
        if name not in shown:
            continue
        items = []
        for layer, labels in layers.items():
            for label, sents in labels.items():
                if not sents:
                    continue
                lis = "".join(
                    f"<li><span class='sid'>{E(str(s['id']))} · article {E(str(s['article_id']))}"
                    f"{_p_text(s['p'])}</span> {E(s['text'])}</li>" for s in sents)
                items.append(f"<p class='evl'><b>{E(layer)}: {E(label)}</b></p><ol>{lis}</ol>")
        parts.append(f"<details><summary>{E(name)}</summary>{''.join(items)}</details>")
    basis = "the model's probability of the label" if any(
        s["p"] is not None for layers in ev.values() for labels in layers.values() for ss in labels.values() for s in ss
    ) else "input order (the records carry no probabilities)"
    return f"""
<h2>Evidence behind each figure</h2>
<p>For {'every outlet' if len(shown) >= len(ev) else f'the {len(shown)} most pro and most against outlets (every outlet in outlets.json)'} and label, up to {k} sentences carrying that label, ranked by {basis}. Read them to see why an
outlet scores as it does, and to spot a systematic error (click an outlet to open its sentences).</p>
<div class="evidence">{''.join(parts)}</div>
"""


def syndication_section(profile: Profile) -> str:
    syn = profile.syndication
    if syn is None:
        return ""
    groups = "".join(
        "<li>" + E(", ".join(g["outlets"])) + ": <i>" + E(g["sentences"][0]["text"][:160]) + "</i>"
        + (f" (counted once, for {E(str(g['kept']))})" if g["kept"] else "") + "</li>" for g in syn["groups"][:20])
    return f"""
<h2>Wire copy and syndication</h2>
<p>{syn['clusters']} group(s) of sentences appear (near-)verbatim in articles of several outlets
({syn['sentences_flagged']} sentences; how they are found: Methods).
{'With --dedupe-syndicated each counts once, for the earliest article by date where known, else the first in input order: ' + str(syn['merged']) + ' copies merged.' if syn['deduplicated'] else 'They are counted for every outlet that printed them (use --dedupe-syndicated to count each once).'}</p>
<ul>{groups}</ul>
"""


def _score_rows(scores: dict[str, Any]) -> str:
    rows = []
    for split, layers in scores.items():
        for layer, m in layers.items():
            if m.get("macro_f1") is None:
                continue
            f1_lo, f1_hi = m.get("macro_f1_ci") or (None, None)
            a_lo, a_hi = m.get("accuracy_ci") or (None, None)
            rows.append(f"<tr><td>{E(split)}</td><td>{E(layer)}</td><td>{m.get('n')}</td>"
                        f"<td>{m['macro_f1']:.2f} [{f1_lo:.2f}, {f1_hi:.2f}]</td>"
                        f"<td>{m['accuracy']:.2f} [{a_lo:.2f}, {a_hi:.2f}]</td></tr>")
    return ("<table><tr><th>held-out set</th><th>layer</th><th>n</th><th>macro-F1 [95% CI]</th>"
            "<th>accuracy [95% CI]</th></tr>" + "".join(rows) + "</table>") if rows else ""


def _unseen_outlet_text(error: dict[str, Any] | None) -> str:
    """How wrong the run's outlet profiles were on outlets it never saw (its --cv outlet figures)."""
    if not error:
        return ("<p><b>Error on unseen outlets.</b> Not measured for this run: train it with <code>--cv outlet</code> "
                "to state how far its outlet profiles are off on outlets it never saw.</p>")
    lo, hi = error["stance_index_error_range"]
    shares = ", ".join(f"{E(layer)} {points:.1f}" for layer, points in error["share_error_points"].items())
    return (f"<p><b>Error on unseen outlets.</b> Held out one outlet at a time ({error['outlets']} outlets, "
            f"<code>--cv outlet</code>), this model's stance index was off by {error['stance_index_abs_error']:.2f} "
            f"on average (per outlet from {lo:+.2f} to {hi:+.2f}) and its label shares by {shares} points "
            "(mean |predicted − gold| per label). A difference between outlets smaller than this can be the "
            "classifier's error rather than the outlets'.</p>")


def methods_section(profile: Profile) -> str:
    s = profile.settings
    run = profile.run
    all_row = profile.outlets[ALL]
    outlets = [n for n in profile.outlets if n != ALL]
    if run:
        model = run.get("model") or {}
        models = s.get("models") or []
        shown = ", ".join(models[:2]) + (f" and {len(models) - 2} more model ids" if len(models) > 2 else "")
        source = (f"Labels come from {E(shown)}; run" if models
                  else "The inputs carry no model id (gold labels, or predictions without provenance); the given run is")
        located = (f" (found at <code>{E(run['path'])}</code> from the records' model id)"
                   if run.get("found_from_model_id") else "")
        model_text = (f"{source} <code>{E(run['name'])}</code>{located}, model kind <b>{E(str(model.get('kind')))}</b>"
                      + (f" ({E(str(model['name_or_path']))})" if model.get("name_or_path") else "")
                      + ". Its held-out scores (95% bootstrap CIs):" + _score_rows(run.get("scores", {})))
    elif s.get("models"):
        models = s["models"]
        shown = ", ".join(models[:2]) + (f" and {len(models) - 2} more model ids" if len(models) > 2 else "")
        model_text = (f"The labels were made by a model: <b>{E(shown)}</b>. Its run folder was not found beside the input "
                      "files or in <code>runs/</code>, so its held-out scores and its error on unseen outlets are not "
                      "stated here: pass <code>--run RUN</code>. Model labels carry the model's errors; the figures "
                      "below are not hand-checked.")
    else:
        model_text = ("The inputs carry no model id: the labels are hand (gold) labels, or predictions without a "
                      "record of the model that made them.")
    unseen = _unseen_outlet_text(run.get("outlet_error")) if run else ""
    adjusted = profile.adjusted
    if adjusted:
        unstable = [layer for layer, st in adjusted["calibration"]["per_layer"].items() if st["unstable"]]
        quant = (f"Shares corrected with <b>{E(adjusted['method'])}</b> from "
                 f"{adjusted['calibration']['sentences']} held-out predictions; flagged unstable: "
                 f"{E(', '.join(unstable)) or 'none'}.")
    else:
        quant = ("Shares are raw counts of the labels (<code>--adjust none</code>, the default: on the seed corpus no "
                 "correction beat the raw count for either TF-IDF model measured, bench/quantify_sim_results.md and "
                 "bench/quantify_loo_results.md). Raw counts drift toward the training label mix when an outlet's mix "
                 "differs, and their intervals then undercover.")
    corr_ci = ("Corrected figures: percentile intervals of a two-source bootstrap that resamples the outlet's articles "
               "and the held-out predictions together. " if adjusted else "")
    caveats = [
        "Intervals carry sampling noise; raw shares do not carry the classifier's error (see above).",
        "Outlets with one or a few articles cannot be told apart from their articles.",
        "Quoted vs own voice is decided by the type label (quote).",
    ]
    between = profile.distances
    pairs_text = (f" Pairs you asked for: {E(between['pairs']['method'])}." if between.get("pairs") else "")
    syn = profile.syndication
    syndication_text = (f"<p><b>Wire copy.</b> {E(syn['method'])}, threshold {syn['threshold']}.</p>" if syn else "")
    caveats.append(f"Syndicated sentences: {syn['clusters']} groups flagged, {syn['merged']} copies merged."
                   if syn else "Syndicated (wire) sentences were not checked (--dedupe-syndicated off).")
    return f"""
<h2>Methods</h2>
<div class="methods">
<p><b>Data.</b> {len(outlets)} outlet(s), {all_row['articles']} articles, {all_row['sentences']} labelled title/body
sentences; {E(', '.join(s.get('files', [])))}. Labelling guideline version {E(str(run['guideline_version']) if run else GUIDELINE_VERSION)}
(seeds/GUIDELINES.md): type (fact/quote/opinion/speculation), stance toward replacing human workers with AI
(pro/against/neutral), frame (Semetko &amp; Valkenburg).</p>
<p><b>Model.</b> {model_text}</p>{unseen}
<p><b>Quantification.</b> {quant}</p>
<p><b>Uncertainty.</b> Raw figures: {E(s['interval_method'])}. {corr_ci}{s['n_boot']} resamples, seed {s['seed']}.</p>
<p><b>Between outlets.</b> Distances between mixes are Jensen–Shannon distances (base 2). {E(between['versus_rest']['method'])};
{between['versus_rest']['null_draws']} null draws per article count.{pairs_text}</p>
<p><b>Shrinkage.</b> {E(s.get('shrinkage_method', ''))}.</p>{syndication_text}
<p><b>Caveats.</b></p><ul>{''.join(f'<li>{E(c)}</li>' for c in caveats)}</ul>
</div>
"""


def optional_sections(profile: Profile) -> str:
    return corrected_section(profile) + evidence_section(profile) + syndication_section(profile) + methods_section(profile)


SECTIONS_CSS = """
table.adj td.corr,table.adj th.corr{background:#eef5ff}table.adj small{color:#666}
ul.warn li{color:#8a4b00}.unst{color:#8a4b00;font-weight:normal}h3{font-size:1rem;margin:1rem 0 .3rem}.evidence details{margin:.3rem 0}.evidence summary{cursor:pointer;font-weight:600}
.evidence ol{margin:.1rem 0 .5rem}.sid{color:#777;font-size:.8em}.evl{margin:.4rem 0 0}
.methods table{font-size:.9em}
"""
