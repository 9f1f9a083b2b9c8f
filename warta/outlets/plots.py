"""Plots of the outlet report (matplotlib Figures, rendered to base64 PNG)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from warta.outlets.options import ALL
from warta.outlets.shrinkage import extreme_outlets
from warta.schema import LAYERS

if TYPE_CHECKING:
    from warta.outlets.profile import Profile

TYPE_COLOURS = {"fact": "#3b6fb6", "quote": "#e39b2d", "opinion": "#4f9d5d", "speculation": "#9467bd"}
SUBSET_STYLE = {  # stance index series: label, colour, marker
    "all": ("all sentences", "#222222", "o"),
    "own_voice": ("own voice (non-quote)", "#1f77b4", "s"),
    "quoted": ("quoted sources", "#d62728", "D"),
}
SUBSET_WORDS = {"all": "all sentences", "own_voice": "own voice", "quoted": "quoted sources"}


# --- plots ------------------------------------------------------------------------------


def png_base64(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# With more outlets, the plots show the PLOT_EXTREMES most pro and most against (shrunk stance index) and ALL.
PLOT_EXTREMES = 12


def _row_names(profile: Profile) -> list[str]:
    """Outlets top to bottom, ALL last."""
    return extreme_outlets(profile.outlets, PLOT_EXTREMES) + [ALL]


def _row_label(name: str, outlet: dict[str, Any]) -> str:
    mark = " *" if outlet["below_min_sentences"] else ""
    articles = outlet["articles"]
    return f"{name}{mark}\n{articles} article{'s' if articles != 1 else ''} · {outlet['sentences']} sent."


def plot_type_mix(profile: Profile) -> Figure:
    """Stacked horizontal bars of the type shares per outlet."""
    names = _row_names(profile)
    fig = Figure(figsize=(8.5, 0.62 * len(names) + 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    for label in LAYERS["type"]:
        shares = np.array([profile.outlets[n]["type_share"][label]["value"] for n in names])
        ax.barh(y, shares, left=left, color=TYPE_COLOURS[label], label=label, height=0.7, edgecolor="white")
        for yi, start, share in zip(y, left, shares):
            if share >= 0.07:
                ax.text(start + share / 2, yi, f"{100 * share:.0f}%", ha="center", va="center", color="white", fontsize=8.5)
        left += shares
    ax.set_yticks(y, [_row_label(n, profile.outlets[n]) for n in names], fontsize=8.5)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("share of labelled sentences")
    if ALL in names:
        ax.axhline(y[names.index(ALL)] + 0.5, color="#888888", lw=0.8, ls="--")
    ax.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def plot_stance_index(profile: Profile) -> Figure:
    """Stance index per outlet with 95% interval bars: all sentences, own voice, quoted sources."""
    names = _row_names(profile)
    fig = Figure(figsize=(8.5, 0.8 * len(names) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1].astype(float)
    offsets = {"all": 0.24, "own_voice": 0.0, "quoted": -0.24}
    for subset, (label, colour, marker) in SUBSET_STYLE.items():
        first = True
        for yi, name in zip(y, names):
            figure = profile.outlets[name]["stance_index"][subset]
            ypos = yi + offsets[subset]
            if figure["value"] is None:
                ax.text(0, ypos, f"no {SUBSET_WORDS[subset]}", fontsize=7.5, color=colour, ha="center", va="center")
                continue
            lo, hi = figure["ci"]
            value = figure["value"]
            ax.errorbar(
                value, ypos, xerr=[[value - lo], [hi - value]], fmt=marker, color=colour, ms=5, capsize=3, lw=1.4,
                label=label if first else None,
            )
            first = False
            n = figure["n"]
            ax.text(1.04, ypos, f"n={n:g}", fontsize=7.5, color=colour, va="center", transform=ax.get_yaxis_transform())
    ax.axvline(0, color="#888888", lw=0.8)
    if ALL in names:
        ax.axhline(y[names.index(ALL)] + 0.5, color="#888888", lw=0.8, ls="--")
    ax.set_yticks(y, [_row_label(n, profile.outlets[n]) for n in names], fontsize=8.5)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(y.min() - 0.5, y.max() + 0.5)
    ax.set_xlabel("stance index = (pro − against) / n      ← against replacing workers with AI  ·  pro →")
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=9)
    ax.grid(axis="x", color="#eeeeee")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def plot_frame_heatmap(profile: Profile) -> Figure:
    """Frame shares per outlet as a heatmap, share and interval written in each cell."""
    names = _row_names(profile)
    frames = LAYERS["frame"]
    values = np.array([[profile.outlets[n]["frame_share"][f]["value"] for f in frames] for n in names])
    fig = Figure(figsize=(9, 0.62 * len(names) + 1.6))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=max(0.5, float(values.max())), aspect="auto")
    for i, name in enumerate(names):
        for j, frame in enumerate(frames):
            figure = profile.outlets[name]["frame_share"][frame]
            lo, hi = figure["ci"]
            dark = values[i, j] > 0.6 * max(0.5, float(values.max()))
            ax.text(
                j, i, f"{100 * figure['value']:.0f}%\n[{100 * lo:.0f}–{100 * hi:.0f}]", ha="center", va="center",
                fontsize=7.5, color="white" if dark else "#1a1a1a",
            )
        dominant = profile.outlets[name]["dominant_frame"]
        if dominant in frames:
            j = frames.index(dominant)
            ax.add_patch(_cell_outline(j, i))
    ax.set_xticks(range(len(frames)), [f.replace("_", " ") for f in frames], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(names)), [_row_label(n, profile.outlets[n]) for n in names], fontsize=8.5)
    if ALL in names:
        ax.axhline(names.index(ALL) - 0.5, color="#333333", lw=1.2)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    colorbar.set_label("share of sentences")
    return fig


def _cell_outline(j: int, i: int):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, edgecolor="#d62728", lw=1.6)


LABEL_COLOURS = ["#3b6fb6", "#e39b2d", "#4f9d5d", "#9467bd", "#d62728", "#8c564b"]


def plot_trend(profile: Profile, layer: str) -> Figure:
    """One layer over time. Up to a dozen outlets: small multiples, one panel per outlet (and all outlets
    together), one line per label (stance: the index with its 95% band). More outlets: one panel per label
    (stance: one panel), the pooled line with its band and the most pro / most against outlets."""
    trend = profile.trends
    periods = trend["periods"]
    x = np.arange(len(periods))
    few = len([n for n in profile.outlets if n != ALL]) <= len(trend["shown"])
    series_of = trend["outlets"]

    def values(name: str, key: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        block, label = key
        v, lo, hi = (np.full(len(periods), np.nan) for _ in range(3))
        for i, when in enumerate(periods):
            fig = series_of[name].get(when)
            if fig is None:
                continue
            f = fig["stance_index"]["all"] if block == "stance_index" else fig[block][label]
            if f["value"] is not None:
                v[i], (lo[i], hi[i]) = f["value"], f["ci"]
        return v, lo, hi

    keys = [("stance_index", "all")] if layer == "stance" else [(f"{layer}_share", label) for label in LAYERS[layer]]
    panels = [*trend["shown"], ALL] if few else keys
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(max(8.0, 3.2 * ncols + 0.8), (3.4 if len(panels) == 1 else 2.5) * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels):
        if few:  # panel = outlet, lines = labels
            ax.set_title("all outlets" if panel == ALL else panel, fontsize=9)
            for k, key in enumerate(keys):
                v, lo, hi = values(panel, key)
                colour = "#222222" if layer == "stance" else LABEL_COLOURS[k % len(LABEL_COLOURS)]
                ax.plot(x, v, marker="o", ms=3, lw=1.3, color=colour, label=key[1].replace("_", " "))
                if layer == "stance":
                    ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
        else:  # panel = label, lines = pooled (with band) + the shown outlets
            ax.set_title("stance index" if layer == "stance" else panel[1].replace("_", " "), fontsize=9)
            v, lo, hi = values(ALL, panel)
            ax.plot(x, v, color="#222222", lw=2, label="all outlets")
            ax.fill_between(x, lo, hi, color="#222222", alpha=0.12, lw=0)
            for k, name in enumerate(trend["shown"]):
                ax.plot(x, values(name, panel)[0], lw=1, marker=".", color=LABEL_COLOURS[k % len(LABEL_COLOURS)], label=name)
        if layer == "stance":
            ax.axhline(0, color="#999999", lw=0.6)
        ax.grid(color="#eeeeee")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    step = max(1, -(-len(periods) // 4))
    for ax in axes[-1]:
        ax.set_xticks(x[::step], [periods[i] for i in range(0, len(periods), step)], fontsize=7, rotation=30)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.supylabel("stance index (pro − against) / n" if layer == "stance" else "share of sentences", fontsize=9)
    rows_of_legend = -(-len(labels) // 6)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 * rows_of_legend / fig.get_figheight()))
    fig.legend(handles, labels, ncols=min(6, len(labels)), loc="upper center", frameon=False, fontsize=8)
    return fig
