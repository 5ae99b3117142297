"""Matplotlib plots of results and comparisons: labelled frames in, Axes out.

Every plot reads the labelled frames (:class:`~sim.tables.Frames`, with an outer
``scenario`` level) and the scenarios' :class:`~sim.tables.ScenarioInfo`; one
result is drawn as a comparison of one scenario, so the same functions serve
``res.plot`` and ``comparison.plot``. Each takes ``ax=`` (a new figure is made
when it is None) and returns the Axes it drew on; names and colours come from
:mod:`sim.style`. :func:`write_plots` and :func:`write_comparison_plots` draw the
standard set to PNG files without touching pyplot's global state.

Every text that comes from the user — scenario titles and names, region and sector names
and codes, units, dataset titles, baseline names — is passed through
:func:`~sim.escape.plot_text` where the label that shows it is built (:func:`_shown` and the
helpers beside it), so a ``$`` is drawn as written and never parsed as mathtext.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np

from .escape import plot_text
from .statistics import default_period, net_welfare_path, select_period, shocked_importers, sum_welfare_by_region
from .style import COMPONENTS, MEASURES, WORLD, region_colour, scenario_colour, scenario_hatch, short_name
from .summary import demand_shift_notes
from .tables import LONG_RUN, WELFARE_PARTS

__all__ = ["Plotter", "welfare", "welfare_path", "imports", "prices", "write_plots", "write_comparison_plots",
           "save_png", "encoding_in_background"]

DPI = 150
CHANGE_EPS = 1e-9  # smaller changes (percent, or dataset units) are treated as none when choosing what to draw
LABEL_ROOM = 0.16  # share of the data span kept free beyond the bars for value labels


# --------------------------------------------------------------------------- helpers

def _axes(ax, size=(9, 4.8)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _thousands(value, _pos=None):
    """A tick or number with thousands separators and as few decimals as it needs (at most 3): ``1,250``, ``2.5``.

    Whole numbers show none, so ticks 0, 0.5, 1, ... on a small axis never read ``0, 0, 1, 2, 2``.
    """
    decimals = next((d for d in range(4) if abs(round(value, d) - value) < 1e-9 * max(1.0, abs(value))), 3)
    return f"{value:,.{decimals}f}".replace("-", "\u2212")


def _wrap(text: str, width: int = 70) -> str:
    """``text`` on as few lines of at most ``width`` characters as it needs, the lines about equally long.

    Wrapped at the narrowest width that needs no more lines than ``width`` does, so that the last line
    never holds one word alone ("steel at" / "50%").
    """
    lines = textwrap.wrap(text, width)
    if len(lines) <= 1:
        return "\n".join(lines) or text
    narrow, wide = min(width, max(len(word) for word in text.split())), width
    while narrow < wide:  # greedy wrapping never needs more lines at a larger width
        middle = (narrow + wide) // 2
        if len(textwrap.wrap(text, middle)) <= len(lines):
            wide = middle
        else:
            narrow = middle + 1
    return "\n".join(textwrap.wrap(text, wide))


def _shown(text, width: int | None = None) -> str:
    """User-supplied ``text`` as drawn: wrapped to ``width`` (if given), ``$`` escaped (:func:`plot_text`)."""
    text = str(text)
    return plot_text(_wrap(text, width) if width else text)


def _scenario_label(info) -> str:
    """A scenario as legends and ticks show it: its short ``label``, else its name (one line)."""
    return _shown(info.shown_name)


def _against(baseline, separator: str = ", ") -> str:
    """``", relative to 'name'"`` for a comparison against a baseline, else nothing."""
    return f"{separator}relative to '{_shown(baseline)}'" if baseline else ""


def _title(infos, what: str, baseline: str | None = None) -> str:
    """Single scenario: its title over what is drawn; several: what is drawn (scenarios are in the legend).

    Against a baseline a last line says ``relative to 'baseline'``. ``what`` is already drawable
    text (built from :func:`_shown` pieces).
    """
    against = _against(baseline, "\n")  # its own line: a long title would meet the legend
    if len(infos) == 1:
        return f"{_shown(next(iter(infos.values())).title, 70)}\n{what}{against}"
    return f"{what}{against}"


def _sector_name(infos, sector) -> str:
    info = next(iter(infos.values()))
    return _shown(short_name(info.sector_names.get(sector, sector)))


def _unit(infos) -> str:
    return _shown(next(iter(infos.values())).unit)


def _region_labels(regions) -> list[str]:
    return [_shown(r) for r in regions]


def _regions(infos) -> list[str]:
    return list(next(iter(infos.values())).regions)


def _grow_limits(ax, axis: str, lo: float, hi: float, keep: bool) -> None:
    """Set limits that contain [lo, hi] and, with ``keep``, what the Axes already showed: nothing is cut off."""
    get, set_ = (ax.get_ylim, ax.set_ylim) if axis == "y" else (ax.get_xlim, ax.set_xlim)
    if keep:
        old_lo, old_hi = get()
        lo, hi = min(lo, old_lo), max(hi, old_hi)
    set_(lo, hi)


def _set_title(ax, text: str, **kwargs) -> None:
    """``ax.set_title`` pinned where matplotlib would put it anyway: at the top of the Axes.

    matplotlib places a title automatically only to lift it over tick labels or an x-label on top; ours are all at
    the bottom, and the automatic placement measures every y tick label again each time the figure is laid out and
    drawn (a fifth of the layout's text measurement). An Axes with anything on top keeps the automatic placement.
    """
    on_top = ax.xaxis.get_ticks_position() != "bottom" or ax.xaxis.get_label_position() != "bottom"
    ax.set_title(text, **kwargs, **({} if on_top else {"y": 1.0}))


def _legend_outside(ax, handles=None, **kwargs):
    kwargs = {"fontsize": 8, "loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False} | kwargs
    return ax.legend(handles=handles, **kwargs) if handles is not None else ax.legend(**kwargs)


#: A sign in front of a number that is all zeros as written ("-0", "+0.0"): dropped, so a value that rounds to
#: zero reads 0, never "−0".
_SIGNED_ZERO = re.compile(r"[+-](?=[0.,]+(?![\d.,]))")


def _signed(text: str) -> str:
    """Typographic minus signs, as matplotlib uses on its axes; a number written as zero keeps no sign."""
    return _SIGNED_ZERO.sub("", text).replace("-", "\u2212")


def _pct(rate: float) -> str:
    return f"{100 * rate:.3g}%"


# --------------------------------------------------------------------------- welfare

#: Above this many scenarios a comparison's welfare plot shows net welfare only: stacks would be unreadable.
MAX_STACKED_SCENARIOS = 3


def welfare(frames, infos, ax=None, year=None, world=False, components=None, baseline=None, legend=True,
            intervals=None):
    """Welfare change by region, all sectors: stacked components, net welfare marked, scenarios side by side.

    Parameters
    ----------
    frames : Frames
        Labelled results with a ``scenario`` level.
    infos : dict
        Scenario label → ScenarioInfo.
    year : int, optional
        Default: the last year every scenario has (a long-run scenario shows its long run).
    world : bool
        Add a World group (sum over regions).
    components : bool, optional
        Stack consumer surplus, producer surplus, tariff revenue and quota
        rent (those that are non-zero); otherwise draw net welfare bars only.
        Default: stacked for up to three scenarios.
    intervals : dict, optional
        Scenario label → 90% intervals of its net welfare from a Monte Carlo (see
        :meth:`~sim.uncertainty.UncertaintyResults.intervals`), drawn as error bars on the net welfare.

    Several scenarios with net welfare only are drawn as horizontal bars (:func:`_welfare_rows`), so
    that every value label is horizontal at the end of its own bar.
    """
    intervals = intervals or {}
    table, year = sum_welfare_by_region(frames.welfare, infos, year, world)
    regions = _regions(infos) + ([WORLD] if world else [])
    names = list(infos)
    if components is None:
        components = len(names) <= MAX_STACKED_SCENARIOS
    parts = [p for p in WELFARE_PARTS if table[p].abs().max() > CHANGE_EPS] if components else []
    many = len(names) > 1
    if many and not parts:
        ax = _axes(ax, size=welfare_rows_size(len(regions), len(names)))
        return _welfare_rows(ax, table, regions, infos, year, world, baseline, intervals, legend)
    ax = _axes(ax)
    keep = ax.has_data()
    width = 0.8 / len(names) if many else 0.6
    x = np.arange(len(regions))
    lowest, highest = 0.0, 0.0
    ends = []
    for s, name in enumerate(names):
        data = table.loc[name].reindex(regions)
        pos = x - 0.4 + width * (s + 0.5) if many else x
        above, below = np.zeros(len(x)), np.zeros(len(x))
        for part in parts:
            values = data[part].to_numpy()
            colour = COMPONENTS[part][1]
            ax.bar(pos, values, width * 0.92, bottom=np.where(values >= 0, above, below), color=colour,
                   hatch=scenario_hatch(s) if many else None, edgecolor="white" if many else None, linewidth=0)
            above += np.clip(values, 0, None)
            below += np.clip(values, None, 0)
        net = data["net_welfare"].to_numpy()
        if parts:
            ax.scatter(pos, net, marker="D", s=28 if many else 40, color=COMPONENTS["net_welfare"][1], zorder=3)
        else:
            colour = scenario_colour(s) if many else [region_colour(r, i) for i, r in enumerate(regions)]
            ax.bar(pos, net, width * 0.92, color=colour)
            above, below = np.clip(net, 0, None), np.clip(net, None, 0)
        if name in intervals and baseline is None:
            band = intervals[name].xs(year, level="year").reindex(regions)
            low, high = band["p05"].to_numpy(), band["p95"].to_numpy()
            _interval_bars(ax, pos, low, high)
            above, below = np.maximum(above, high), np.minimum(below, low)
        ends.append((pos, net, above, below))
        lowest, highest = min(lowest, below.min()), max(highest, above.max())
    span = max(highest - lowest, 1e-9)
    for pos, net, above, below in ends:  # value labels beyond the end of each bar, never over a bar
        for xi, value, top, bottom in zip(pos, net, above, below):
            up = value >= 0
            text = _signed(f"{value:,.0f}") if many else _signed(f"net {value:,.0f}")
            ax.annotate(text, (xi, top if up else bottom), xytext=(0, 7 if up else -7),
                        textcoords="offset points", ha="center", va="bottom" if up else "top",
                        fontsize=7 if many else 8, rotation=90 if len(names) > 2 else 0)  # two fit across
    room = LABEL_ROOM * (2.2 if len(names) > 2 else 1.0)  # rotated labels need more
    _grow_limits(ax, "y", lowest - room * span, highest + room * span, keep)
    ax.axhline(0, color="black", linewidth=0.8)
    if world:
        ax.axvline(len(regions) - 1.5, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_xticks(x, _region_labels(regions))
    ax.yaxis.set_major_formatter(_thousands)
    unit = _unit(infos)
    ax.set_ylabel(f"Change from base ({unit})" if baseline is None else f"Difference ({unit})")
    ax.set_xlabel("Region")
    scenarios = f": {len(names)} scenarios" if many else ""
    _set_title(ax, _title(infos, f"Welfare change by region, all sectors, {year}{scenarios}", baseline), fontsize=10)
    if legend:
        _welfare_legend(ax, parts, names, infos, many, _interval_label(intervals) if baseline is None else None)
    ax.grid(axis="y", alpha=0.3)
    return ax


def welfare_rows_size(regions: int, scenarios: int) -> tuple[float, float]:
    """Figure size (inches) that gives each horizontal bar of :func:`_welfare_rows` room for its value label."""
    return 13.0, 1.6 + 0.13 * regions * scenarios


def _welfare_rows(ax, table, regions, infos, year, world, baseline, intervals, legend):
    """Net welfare of several scenarios as horizontal bars grouped by region, each labelled at its end."""
    names = list(infos)
    bars = []
    for s, name in enumerate(names):
        band = None
        if name in intervals and baseline is None:
            rows = intervals[name].xs(year, level="year").reindex(regions)
            band = rows["p05"].to_numpy(), rows["p95"].to_numpy()
        bars.append((table.loc[name].reindex(regions)["net_welfare"].to_numpy(), scenario_colour(s), None, band))
    _labelled_rows(ax, bars, regions, world)
    unit = _unit(infos)
    ax.set_xlabel(f"Net welfare change from base ({unit})" if baseline is None else f"Difference ({unit})")
    _set_title(ax, _title(infos, f"Net welfare change by region, all sectors, {year}: {len(names)} scenarios",
                        baseline), fontsize=10)
    if legend:
        _welfare_legend(ax, [], names, infos, True, _interval_label(intervals) if baseline is None else None)
    return ax


def _labelled_rows(ax, bars, regions, world) -> None:
    """Horizontal bars grouped by region (first region and first bar on top), each value labelled horizontally at
    the end of its bar; a World group (``world``) set apart by a dashed line.

    ``bars`` holds, per bar of a group, ``(values, colour, hatch, band)``: values by region, and ``band`` None or
    ``(low, high)`` by region, a 90% interval drawn over the bar (:func:`_interval_bars`).
    """
    keep = ax.has_data()
    height = 0.8 / len(bars)
    y = np.arange(len(regions))
    lowest, highest = 0.0, 0.0
    for b, (values, colour, hatch, band) in enumerate(bars):
        pos = y - 0.4 + height * (b + 0.5)
        ax.barh(pos, values, height * 0.92, color=colour, hatch=hatch, edgecolor="white" if hatch else None,
                linewidth=0)
        left, right = np.minimum(values, 0.0), np.maximum(values, 0.0)
        if band is not None:
            _interval_bars(ax, pos, *band, horizontal=True)
            left, right = np.minimum(left, band[0]), np.maximum(right, band[1])
        for yi, value, start, end in zip(pos, values, left, right):
            up = value >= 0
            ax.annotate(_signed(f"{value:,.0f}"), (end if up else start, yi), xytext=(3 if up else -3, 0),
                        textcoords="offset points", ha="left" if up else "right", va="center", fontsize=7)
        lowest, highest = min(lowest, left.min()), max(highest, right.max())
    span = max(highest - lowest, 1e-9)
    _grow_limits(ax, "x", lowest - (0.14 if lowest < 0 else 0.02) * span,
                 highest + (0.14 if highest > 0 else 0.02) * span, keep)
    ax.axvline(0, color="black", linewidth=0.8)
    if world:
        ax.axhline(len(regions) - 1.5, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, _region_labels(regions))
    ax.set_ylim(len(regions) - 0.5, -0.5)
    ax.xaxis.set_major_formatter(_thousands)
    ax.set_ylabel("Region")
    ax.grid(axis="x", alpha=0.3)


def welfare_by_owner(frames, infos, ax=None, year=None, baseline=None):
    """Net welfare by region, all sectors, credited by location and by owner side by side (docs/model.md,
    "Ownership"), with a World group: the two World bars are equal. Returns the Axes.

    Horizontal bars grouped by region, each value labelled horizontally at its end (:func:`_labelled_rows`, as on
    a comparison's welfare plot); several scenarios are told apart by hatches.
    """
    from matplotlib.patches import Patch

    located, year = sum_welfare_by_region(frames.welfare, infos, year, world=True)
    owned, _ = sum_welfare_by_region(frames.owners, infos, year, world=True)
    regions = _regions(infos) + [WORLD]
    names = list(infos)
    ax = _axes(ax, size=welfare_by_owner_size(len(regions), len(names)))
    colours = {"location": "#9e9e9e", "owner": "#1f5fa8"}
    bars = [(table.loc[name, "net_welfare"].reindex(regions).to_numpy(), colours[view],
             scenario_hatch(s) if len(names) > 1 else None, None)
            for s, name in enumerate(names) for view, table in (("location", located), ("owner", owned))]
    _labelled_rows(ax, bars, regions, world=True)
    unit = _unit(infos)
    ax.set_xlabel(f"Net welfare change from base ({unit})" if baseline is None else f"Difference ({unit})")
    _set_title(ax, _title(infos, f"Net welfare by location and by owner, all sectors, {year}", baseline), fontsize=10)
    handles = [Patch(color=colours["location"], label="by location (where produced)"),
               Patch(color=colours["owner"], label="by owner (producer surplus to its owners)")]
    if len(names) > 1:  # which scenario each hatch is, as on the welfare plot
        handles += [Patch(facecolor="white", hatch=scenario_hatch(s), edgecolor="#444444",
                          label=_scenario_label(infos[name])) for s, name in enumerate(names)]
    _legend_outside(ax, handles=handles, fontsize=8)
    return ax


def welfare_by_owner_size(regions: int, scenarios: int) -> tuple[float, float]:
    """Figure size (inches) of :func:`welfare_by_owner`: two bars per scenario and region, each with room for its
    label, and at least the height of the other welfare plots."""
    width, height = welfare_rows_size(regions, 2 * scenarios)
    return width, max(height, 5.2)


#: ``gid`` of the line collection that draws Monte Carlo intervals on a welfare plot (for readers and tests).
INTERVAL_GID = "interval"


def _interval_bars(ax, pos, low, high, horizontal=False) -> None:
    """Bars from ``low`` (p05) to ``high`` (p95) at ``pos``, capped at both ends (``horizontal``: along x).

    The interval is drawn as it is: the central value it belongs to may lie outside it (a
    skewed Monte Carlo), which error bars measured from the central value cannot show.
    """
    ends, where = np.concatenate([low, high]), np.concatenate([pos, pos])
    if horizontal:
        ax.hlines(pos, low, high, colors="black", linewidth=1.1, zorder=4, gid=INTERVAL_GID)
        ax.plot(ends, where, linestyle="none", marker="|", markersize=5, markeredgewidth=1.1, color="black",
                zorder=4)
        return
    ax.vlines(pos, low, high, colors="black", linewidth=1.1, zorder=4, gid=INTERVAL_GID)
    ax.plot(where, ends, linestyle="none", marker="_", markersize=7, markeredgewidth=1.1, color="black", zorder=4)


def _interval_label(intervals) -> str | None:
    if not intervals:
        return None
    counts = sorted({i.attrs.get("draws", 0) for i in intervals.values()})
    return f"90% interval ({'/'.join(f'{c:,}' for c in counts)} draws)"


def _welfare_legend(ax, parts, names, infos, many, interval=None):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=COMPONENTS[p][1], label=COMPONENTS[p][0]) for p in parts]
    if parts:
        handles.append(Line2D([], [], marker="D", linestyle="", color=COMPONENTS["net_welfare"][1],
                              label=COMPONENTS["net_welfare"][0]))
    if interval:
        handles.append(Line2D([], [], marker="|", markersize=10, linestyle="", color="black", label=interval))
    if many:
        for s, name in enumerate(names):
            if parts:
                handles.append(Patch(facecolor="white", hatch=scenario_hatch(s), edgecolor="#444444",
                                     label=_scenario_label(infos[name])))
            else:
                handles.append(Patch(color=scenario_colour(s), label=_scenario_label(infos[name])))
    if handles:
        _legend_outside(ax, handles)


def scenario_handles(infos, names=None) -> list:
    """Legend entries for the scenarios of a comparison (or those in ``names``), in their colours."""
    from matplotlib.patches import Patch

    return [Patch(color=scenario_colour(s), label=_scenario_label(info)) for s, (name, info) in enumerate(infos.items())
            if names is None or name in names]


#: A scenario whose largest change in a panel is below this share of the panel's largest draws no visible bar there.
VISIBLE_SHARE = 1e-3


def _moving(change, infos) -> list[str]:
    """Scenarios (columns of ``change``) with a visible bar (:data:`VISIBLE_SHARE`); all of them if none moves."""
    size = change.abs().max()
    floor = max(CHANGE_EPS, VISIBLE_SHARE * float(size.max())) if size.notna().any() else CHANGE_EPS
    return [n for n in infos if size[n] > floor] or list(infos)


def _import_changes(frames, infos, importer, sector):
    """Change in value of ``importer``'s imports of ``sector`` by partner (rows) and scenario (columns), any year."""
    flows = frames.flows.xs((sector, importer), level=("sector", "importer"))
    flows = flows[flows.index.get_level_values("exporter") != importer]
    return flows["value_change"].groupby(level=["exporter", "scenario"]).agg(lambda v: v.abs().max()).unstack()


# --------------------------------------------------------------------------- welfare over time

def welfare_path(frames, infos, ax=None, regions=None, scale="linear", baseline=None, fig=None, intervals=None):
    """Net welfare change (all sectors) over the years.

    One scenario: a line per region and a World line. Several: one panel per
    region (``regions``, default every region and World), a line per scenario;
    with ``ax`` given, one region (default World) on that Axes. A long-run
    scenario is a dashed level across the years; if every scenario is long-run
    the plot is bars by region. Dates at which tariffs change or new capacity
    starts are marked.

    Parameters
    ----------
    regions : str or list of str, optional
        Regions (codes, or ``"World"``) to draw.
    scale : {"linear", "symlog"}
        Linear by default (the command line draws linear too). ``"symlog"`` keeps small regions
        readable beside one that dwarfs them: linear within ±``linthresh`` (a power of ten near 1% of
        the largest value), logarithmic beyond; the y-label says so and both sides have tick labels.
    fig : Figure, optional
        For several panels: draw into this figure (default: a new pyplot figure).
    intervals : dict, optional
        Scenario label → 90% intervals from a Monte Carlo (``results.uncertainty.intervals``),
        drawn as fan bands around one scenario's lines.

    Returns
    -------
    Axes, or an array of Axes for several panels.
    """
    if all(i.static for i in infos.values()):
        return welfare(frames, infos, ax=ax, components=False, world=True, baseline=baseline, intervals=intervals)
    path = net_welfare_path(frames.welfare)
    if isinstance(regions, str):
        regions = [regions]
    if ax is None and fig is not None and (len(infos) == 1 or (regions is not None and len(regions) == 1)):
        ax = fig.add_subplot()
    if len(infos) == 1:
        ax = _axes(ax)
        name = next(iter(infos))
        band = (intervals or {}).get(name) if baseline is None else None
        _path_by_region(ax, path.loc[name], infos, regions or _regions(infos) + [WORLD], scale, baseline, band)
        return ax
    if ax is not None or (regions is not None and len(regions) == 1):
        ax = _axes(ax)
        _path_by_scenario(ax, path, infos, (regions or [WORLD])[0], scale, baseline)
        _legend_outside(ax)
        return ax
    regions = regions or [WORLD, *_regions(infos)]
    return _path_panels(path, infos, regions, scale, baseline, fig)


def _path_by_region(ax, path, infos, regions, scale, baseline, band=None):
    info = next(iter(infos.values()))
    years = [y for y in path.index]
    banded = _banded_regions(path, regions) if band is not None else []
    for r, region in enumerate(regions):
        world = region == WORLD
        ax.plot(years, path[region], marker="o", markersize=3.5, linewidth=2.4 if world else 1.6,
                linestyle="--" if world else "-", color=region_colour(region, r),
                label=WORLD if world else _shown(f"{region} ({short_name(info.region_names.get(region, region))})"))
        if region in banded:
            rows = band.xs(region, level="region").reindex(years)
            ax.fill_between(years, rows["p05"], rows["p95"], color=region_colour(region, r), alpha=0.18,
                            linewidth=0)
    if banded:
        from matplotlib.patches import Patch

        label = f"{_interval_label({0: band})}: {' and '.join(_region_labels(banded))}"
        ax.add_artist(ax.legend(handles=[Patch(color="#888888", alpha=0.3, label=label)],
                                loc="lower left", fontsize=8, frameon=False))
    _finish_path(ax, infos, years, scale, "Net welfare change by region, all sectors", _unit(infos), baseline)
    _legend_outside(ax)


def _banded_regions(path, regions) -> list[str]:
    """Regions that get a fan band: all of up to three; else the one that moves most, and World."""
    if len(regions) <= 3:
        return list(regions)
    named = [r for r in regions if r != WORLD]
    largest = max(named, key=lambda r: path[r].abs().max())
    return [largest] + ([WORLD] if WORLD in regions else [])


def _path_by_scenario(ax, path, infos, region, scale, baseline, compact=False):
    years = sorted({y for name, i in infos.items() if not i.static for y in i.years})
    for s, (name, info) in enumerate(infos.items()):
        series = path.loc[name, region]
        label = _scenario_label(info)
        if info.static:
            ax.axhline(series.iloc[0], color=scenario_colour(s), linestyle="--", linewidth=1.4,
                       label=f"{label} (long run)")
        else:
            ax.plot(list(series.index), series.to_numpy(), marker="o", markersize=3.5, color=scenario_colour(s),
                    linewidth=1.8, label=label)
    _finish_path(ax, infos, years, scale, f"{_shown(region)}: net welfare, all sectors", _unit(infos), baseline,
                 compact)


def _path_panels(path, infos, regions, scale, baseline, fig):
    cols = min(3, len(regions))
    rows = -(-len(regions) // cols)
    size = (4.2 * cols + 2.6, 2.9 * rows + 0.6)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, layout="constrained")
    else:
        fig.set_size_inches(*size)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, squeeze=False).ravel())
    for ax, region in zip(axes, regions):
        _path_by_scenario(ax, path, infos, region, scale, baseline, compact=True)
    for ax in axes[len(regions):]:
        ax.set_visible(False)
    for ax in axes[len(regions) - cols:len(regions)]:  # above an empty slot too: the ticks of its column
        ax.xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    fig.suptitle(f"Net welfare change over time, all sectors ({_unit(infos)}){_against(baseline)}", fontsize=11)
    fig.supylabel(_path_ylabel(_unit(infos), baseline, scale), fontsize=9)  # once, not per panel
    fig.supxlabel(_year_label(infos), fontsize=9)  # once, with what the dotted lines mark
    return axes[: len(regions)]


def _year_label(infos) -> str:
    """The x-label of welfare-path panels: "Year", and what happens at each dotted line (drawable text)."""
    events = _events(infos)
    if not events:
        return "Year"
    marked = "; ".join(f"{year} {', '.join(_shown(w) for w in whats)}" for year, whats in events.items())
    return f"Year  (dotted lines: {marked})"


def _finish_path(ax, infos, years, scale, what, unit, baseline, compact=False):
    """Axes, scale, labels, shock dates and title of a welfare-path Axes (``compact``: one of several panels).

    ``what`` and ``unit`` are drawable text already (:func:`_shown`).
    """
    if scale not in ("linear", "symlog"):
        raise ValueError(f"scale must be 'linear' or 'symlog', got {scale!r}")
    ax.axhline(0, color="black", linewidth=0.8)
    if scale == "symlog":
        values = np.abs(np.concatenate([line.get_ydata() for line in ax.get_lines()]))
        ax.set_yscale("symlog", linthresh=10.0 ** np.floor(np.log10(max(values.max() / 100, 1.0))))
        ax.margins(y=0.06)
        _symlog_ticks(ax)
    ax.set_xticks(years)
    if not compact:  # panels share one label, on the figure
        ax.set_xlabel("Year")
    ax.yaxis.set_major_formatter(_thousands)
    if not compact:  # panels share one label, on the figure
        ax.set_ylabel(_path_ylabel(unit, baseline, scale, ax), fontsize=9 if len(infos) == 1 else 8)
    _mark_events(ax, infos, compact=compact)
    if compact:
        title = what  # a panel: the figure's title names the comparison and any baseline
    else:
        title = _title(infos, what, baseline) if len(infos) == 1 else what + _against(baseline)
    _set_title(ax, title, fontsize=9 if compact else 10)
    ax.grid(alpha=0.3)


def _path_ylabel(unit: str, baseline, scale: str, ax=None) -> str:
    """The y-label of a welfare path: what is measured, the unit and, on symlog, the scale and (with ``ax``, one
    Axes) its linear band; panels each have their own band, so a figure's shared label names none."""
    what = "Change from base" if baseline is None else "Difference"
    if scale != "symlog":
        return f"{what} ({unit})"
    if ax is None:
        return f"{what} ({unit}), symmetric log scale: linear near 0, logarithmic beyond"
    linthresh = ax.yaxis.get_transform().linthresh
    return f"{what} ({unit}),\nsymmetric log scale: linear within ±{_thousands(linthresh)}"


def _symlog_ticks(ax) -> None:
    """Ticks at 0 and the powers of ten beyond the linear band on each side that holds data.

    A side whose data stay inside the linear band gets one tick at a round value near its end,
    so the positive side is labelled even where every positive value is small.
    """
    from matplotlib.ticker import FixedLocator

    linthresh = ax.yaxis.get_transform().linthresh
    lo, hi = ax.get_ylim()
    ticks = [0.0]
    for sign, end in ((1.0, hi), (-1.0, -lo)):
        if end <= 0:
            continue
        powers = [10.0 ** k for k in range(int(np.log10(linthresh)), int(np.floor(np.log10(end))) + 1)]
        powers = [p for p in powers if p <= end] or [_round_down(end)]
        ticks += [sign * p for p in powers]
    ax.yaxis.set_major_locator(FixedLocator(sorted(ticks)))


def _round_down(value: float) -> float:
    """``value`` (> 0) rounded down to one significant figure: 37.2 → 30."""
    power = 10.0 ** np.floor(np.log10(value))
    return float(np.floor(value / power) * power)


#: ``gid`` of the event labels on a welfare path (for tests and readers).
EVENT_GID = "event"
#: Share of a welfare path's height kept free above its data for the event labels (single Axes).
EVENT_ROOM = 0.10


def _events(infos) -> dict:
    """Year → what happens then (tariff changes, new capacity), each once, by year, over the scenarios."""
    events: dict = {}
    for info in infos.values():
        for year, what in info.events:
            events.setdefault(year, {})[what] = None
    return {year: list(events[year]) for year in sorted(events)}


def _mark_events(ax, infos, compact=False):
    """Dotted lines at the years a tariff changes or new capacity starts, labelled at the top.

    The labels sit on a white box above every line; the top is raised so that the zero line (or a
    line of data) never runs through them. In a small panel (``compact``) only the lines are drawn:
    the figure's x-label says what they mark (:func:`_year_label`), once for every panel.
    """
    events = _events(infos)
    if events and not compact:
        _raise_top(ax, lines=max(len(w) for w in events.values()))
    for year, whats in events.items():
        ax.axvline(year, color="#777777", linestyle=":", linewidth=1)
        if not compact:
            ax.annotate("\n".join(_shown(w) for w in whats), (year, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", va="top", ha="left", fontsize=7,
                        color="#555555", zorder=5, gid=EVENT_GID,
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0})


def _raise_top(ax, lines: int) -> None:
    """Keep the top :data:`EVENT_ROOM` (per label line) of the Axes free of data and of the zero line."""
    room = EVENT_ROOM * lines
    if ax.get_yscale() == "linear":
        lo, hi = ax.get_ylim()
        top = max(hi, 0.0)
        span = top - lo
        ax.set_ylim(lo, top + span * room / (1 - room))
        return
    transform = ax.yaxis.get_transform()  # symlog: make the room in the drawn (transformed) space
    lo, hi = transform.transform([ax.get_ylim()[0], max(ax.get_ylim()[1], 0.0)])
    span = hi - lo
    ax.set_ylim(ax.get_ylim()[0], float(transform.inverted().transform([hi + span * room / (1 - room)])[0]))


# --------------------------------------------------------------------------- imports

def imports(frames, infos, importer, sector=None, ax=None, year=None, baseline=None, legend=True):
    """Change in the value of ``importer``'s imports from each partner in one sector (world prices).

    Bars are sorted by the size of the change (dataset units) and labelled with
    the change and the percentage; a partner's label shows its tariff, base →
    new, where the scenario changes the importer's tariffs (against a baseline:
    the baseline's rate → the scenario's, what the bar compares). Domestic shipments
    are left out. Several scenarios: one bar per scenario in each partner's group.

    Parameters
    ----------
    sector : str, optional
        Default: the sector in which the importer's imports change most.
    """
    ax = _axes(ax)
    keep = ax.has_data()
    rows, year = select_period(frames.flows, infos, year)
    rows = rows.xs(importer, level="importer", drop_level=True) if importer in rows.index.unique("importer") \
        else rows.iloc[0:0]
    rows = rows[rows.index.get_level_values("exporter") != importer]
    if rows.empty:
        raise ValueError(f"'{importer}' has no imports in these results (regions: {', '.join(_regions(infos))})")
    if sector is None:
        sector = rows["value_change"].abs().groupby(level="sector").sum().idxmax()
    if sector not in rows.index.unique("sector"):
        raise ValueError(f"'{importer}' has no imports of sector '{sector}' in these results")
    change = rows.xs(sector, level="sector")["value_change"].unstack("scenario").reindex(columns=list(infos))
    pct = rows.xs(sector, level="sector")["value_pct"].unstack("scenario").reindex(columns=list(infos))
    order = change.abs().max(axis=1).sort_values(ascending=False).index
    change, pct = change.loc[order], pct.loc[order]
    colour_of = {name: scenario_colour(s) for s, name in enumerate(infos)}
    names = _moving(change, infos)
    many = len(infos) > 1
    height = 0.8 / len(names) if many else 0.6
    y = np.arange(len(order))
    for s, name in enumerate(names):
        pos = y - 0.4 + height * (s + 0.5) if many else y
        values = change[name].to_numpy()
        colours = colour_of[name] if many else [region_colour(p, i) for i, p in enumerate(order)]
        ax.barh(pos, np.nan_to_num(values), height * 0.92, color=colours, label=_scenario_label(infos[name]))
        for yi, value, share in zip(pos, values, pct[name].to_numpy()):
            if np.isfinite(value) and (abs(value) >= 0.5 or abs(share) >= 0.05):  # no "+0 (+0%)" clutter
                ax.annotate(_signed(f"{value:+,.0f} ({share:+.0f}%)"), (value, yi),
                            xytext=(3 if value >= 0 else -3, 0), textcoords="offset points", va="center",
                            ha="left" if value >= 0 else "right", fontsize=7)
    lo, hi = min(np.nanmin(change.to_numpy()), 0.0), max(np.nanmax(change.to_numpy()), 0.0)
    span = max(hi - lo, 1e-9)  # room for the value labels on the side the bars grow to
    _grow_limits(ax, "x", lo - (0.35 if lo < 0 else 0.05) * span, hi + (0.35 if hi > 0 else 0.05) * span, keep)
    ax.axvline(0, color="black", linewidth=0.8)
    labels = [_partner_label(frames, names, year, sector, p, importer, infos) for p in order]
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"Change in import value at world prices ({_unit(infos)}){_against(baseline)}")
    rates = "baseline → scenario" if baseline else "base → new"
    ax.set_ylabel(f"Partner (tariff: {rates})" if any("%" in label for label in labels) else "Partner")
    ax.xaxis.set_major_formatter(_thousands)
    what = f"Imports of {_shown(importer)} by partner: {_sector_name(infos, sector)}, {year}"
    _set_title(ax, _title(infos, what, baseline), fontsize=10)
    if many and legend:
        _legend_outside(ax, scenario_handles(infos, names))
    ax.grid(axis="x", alpha=0.3)
    return ax


def _partner_label(frames, names, year, sector, partner, importer, infos) -> str:
    """``"JPN  2.6% → 52.6%"`` where every scenario sets the same rates, else the code alone.

    The first rate is the base year's, or the baseline's in a comparison against a baseline
    (whose tariffs frame has ``baseline_rate``). A flow under a tariff-rate quota shows its
    applied (effective) rate and ``(TRQ)``.
    """
    before = "baseline_rate" if "baseline_rate" in frames.tariffs.columns else "base_rate"
    rates = set()
    for name in names:
        period = LONG_RUN if infos[name].static else year
        key = (name, period, sector, partner, importer)
        if key not in frames.tariffs.index:
            return _shown(partner)
        row = frames.tariffs.loc[key]
        rates.add((float(row[before]), float(row["rate"])))
    if len(rates) != 1:
        return _shown(partner)
    base, new = rates.pop()
    quota = any(key in frames.quotas.index for key in
                ((name, LONG_RUN if infos[name].static else year, sector, partner, importer) for name in names))
    partner = _shown(partner)
    label = f"{partner}  {_pct(base)}" if base == new else f"{partner}  {_pct(base)} → {_pct(new)}"
    return label + " (TRQ)" if quota else label


# --------------------------------------------------------------------------- prices

def prices(frames, infos, sector=None, ax=None, year=None, measures=None, baseline=None, legend=True):
    """Consumer price, producer price and output change (%) by region in one sector.

    One scenario: the three measures side by side, coloured by measure. Several:
    bars coloured by scenario, one hatch per measure (default: consumer price only).

    Parameters
    ----------
    sector : str, optional
        Default: the sector whose prices move most.
    measures : list of str, optional
        Columns of prices.csv: ``consumer_price_pct``, ``producer_price_pct``, ``output_pct``.
    """
    ax = _axes(ax)
    keep = ax.has_data()
    rows, year = select_period(frames.prices, infos, year)
    if sector is None:
        size = rows[["producer_price_pct", "consumer_price_pct"]].abs().sum(axis=1)
        sector = size.groupby(level="sector").max().idxmax()
    if sector not in rows.index.unique("sector"):
        raise ValueError(f"no sector '{sector}' in these results (sectors: "
                         f"{', '.join(next(iter(infos.values())).sectors)})")
    names = list(infos)
    many = len(names) > 1
    measures = list(measures or (["consumer_price_pct"] if many else list(MEASURES)))
    for m in measures:
        if m not in MEASURES:
            raise ValueError(f"unknown measure '{m}' (measures: {', '.join(MEASURES)})")
    regions = _regions(infos)
    data = rows.xs(sector, level="sector")
    bars = [(name, m) for name in names for m in measures]
    width = 0.8 / len(bars)
    x = np.arange(len(regions))
    for b, (name, m) in enumerate(bars):
        s, mi = names.index(name), measures.index(m)
        values = data.loc[name].reindex(regions)[m].to_numpy()
        colour = scenario_colour(s) if many else MEASURES[m][1]
        hatch = scenario_hatch(mi) if many and len(measures) > 1 else None
        ax.bar(x - 0.4 + width * (b + 0.5), values, width * 0.92, color=colour, hatch=hatch,
               edgecolor="white" if hatch else None, linewidth=0)
    lo = min(np.nanmin(data[measures].to_numpy()), 0.0)
    hi = max(np.nanmax(data[measures].to_numpy()), 0.0)
    pad = 0.08 * max(hi - lo, 1e-9)
    _grow_limits(ax, "y", lo - pad, hi + pad, keep)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, _region_labels(regions))
    ax.set_ylabel("Change from base (%)" if baseline is None else "Change from baseline (%)")
    ax.set_xlabel("Region")
    what = f"{_measures_name(measures)}{chr(10) if many else ': '}{_sector_name(infos, sector)}, {year}"
    _set_title(ax, _title(infos, what, baseline), fontsize=10 if not many else 9)
    if legend:
        _prices_legend(ax, names, measures, infos, many)
    ax.grid(axis="y", alpha=0.3)
    return ax


def _measures_name(measures) -> str:
    """What a prices panel shows, with its unit: ``"Consumer price (% change)"``, ``"Prices and output (% change)"``."""
    if len(measures) == 1:
        return f"{MEASURES[measures[0]][0]} (% change)"
    return f"{' and '.join(MEASURES[m][0] for m in measures)} (% change)" if len(measures) == 2 else \
        "Prices and output (% change)"


def _prices_legend(ax, names, measures, infos, many):
    from matplotlib.patches import Patch

    if not many:
        handles = [Patch(color=MEASURES[m][1], label=MEASURES[m][0]) for m in measures]
    else:
        handles = scenario_handles(infos)
        if len(measures) > 1:
            handles += [Patch(facecolor="white", hatch=scenario_hatch(i), edgecolor="#444444",
                              label=MEASURES[m][0]) for i, m in enumerate(measures)]
    if len(handles) > 1:
        _legend_outside(ax, handles)


# --------------------------------------------------------------------------- bound to results

def _distinct_labels(infos: dict) -> dict:
    """``infos`` as plots show them: where two scenarios share a ``label``, every scenario is shown by its name."""
    shown = [info.shown_name for info in infos.values()]
    if len(set(shown)) == len(shown):
        return infos
    return {name: replace(info, label="") for name, info in infos.items()}


class Plotter:
    """``results.plot`` and ``comparison.plot``: the plots above bound to one outcome."""

    def __init__(self, outcome):
        self._frames = outcome.by_scenario
        self._infos = _distinct_labels(outcome.infos)
        runs = getattr(outcome, "results", None) or {outcome.name: outcome}
        baseline = getattr(outcome, "baseline", None)  # shown by its label, as the scenarios are
        self._baseline = runs[baseline].info.label or baseline if baseline is not None else None
        self._intervals = {name: res.uncertainty.intervals for name, res in runs.items()
                           if getattr(res, "uncertainty", None) is not None}  # computed once per Monte Carlo

    def welfare(self, ax=None, year=None, world=False, components=None, intervals=False):
        """Welfare change by region, all sectors (see :func:`welfare`); ``intervals``: 90% Monte Carlo intervals."""
        if intervals and not self._intervals:
            raise ValueError("no Monte Carlo in these results: run with draws= (or [uncertainty]) for intervals")
        return welfare(self._frames, self._infos, ax=ax, year=year, world=world, components=components,
                       baseline=self._baseline, intervals=self._intervals if intervals else None)

    def welfare_path(self, ax=None, regions=None, scale="linear", fig=None, intervals=None):
        """Net welfare over time (see :func:`welfare_path`); fan bands by default when there are draws."""
        use = bool(self._intervals) if intervals is None else intervals
        if use and not self._intervals:
            raise ValueError("no Monte Carlo in these results: run with draws= (or [uncertainty]) for intervals")
        return welfare_path(self._frames, self._infos, ax=ax, regions=regions, scale=scale,
                            baseline=self._baseline, fig=fig, intervals=self._intervals if use else None)

    def welfare_by_owner(self, ax=None, year=None):
        """Net welfare by region credited by location and by owner side by side (see :func:`welfare_by_owner`)."""
        return welfare_by_owner(self._frames, self._infos, ax=ax, year=year, baseline=self._baseline)

    def imports(self, importer=None, sector=None, ax=None, year=None, legend=True):
        """Imports of ``importer`` by partner (default: the first region whose tariffs change)."""
        if importer is None:
            shocked = shocked_importers(self._frames.tariffs, _regions(self._infos))
            if not shocked:
                raise ValueError("no importer's tariffs change in these results; name one with importer=")
            importer = shocked[0]
        return imports(self._frames, self._infos, importer, sector=sector, ax=ax, year=year,
                       baseline=self._baseline, legend=legend)

    def prices(self, sector=None, ax=None, year=None, measures=None, legend=True):
        """Price and output changes in ``sector`` (see :func:`prices`)."""
        return prices(self._frames, self._infos, sector=sector, ax=ax, year=year, measures=measures,
                      baseline=self._baseline, legend=legend)


# --------------------------------------------------------------------------- sweeps

def sweep_plot(result, fig=None):
    """A tariff sweep: imports and revenue (left), net welfare of the importer, exporters and World (right).

    The revenue-maximising and the welfare-maximising (optimal) rates on the grid are marked.
    Returns the two Axes.
    """
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    t = result.table
    pct = 100 * t["rate"]
    importer, exporters, unit = _shown(result.importer), _shown(", ".join(result.exporters)), _shown(result.unit)
    left.plot(pct, t["imports"], marker="o", markersize=3, color="#4C72B0",
              label=f"{importer}'s imports from {exporters}")
    left.plot(pct, t["tariff_revenue"], marker="s", markersize=3, color="#DD8452",
              label=f"{importer}'s tariff revenue")
    columns = [c for c in t.columns if c.startswith("net_welfare_")]
    for n, column in enumerate(columns):
        region = column.removeprefix("net_welfare_")
        right.plot(pct, t[column], marker="o", markersize=3, linewidth=2.2 if region == WORLD else 1.6,
                   linestyle="--" if region == WORLD else "-", color=region_colour(region, n), label=_shown(region))
    last = 100 * float(t["rate"].iloc[-1])
    for ax, (flag, what, colour) in ((left, ("revenue_maximum", "revenue maximum", "#DD8452")),
                                     (right, ("optimal", "optimal tariff", "#2F4F4F"))):
        rate = 100 * float(t.loc[t[flag], "rate"].iloc[0])
        ax.axvline(rate, color=colour, linestyle=":", linewidth=1.2)
        edge = rate >= last - 1e-9
        text = f"{what}: {rate:.3g}%" + (" (grid end)" if edge else "")
        ax.annotate(text, (rate, 1), xycoords=("data", "axes fraction"), xytext=(-4 if edge else 4, -12),
                    textcoords="offset points", fontsize=8, color=colour, ha="right" if edge else "left")
    for ax, what in ((left, f"{unit}, world prices"), (right, f"Net welfare change, all sectors ({unit})")):
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlabel("Tariff rate (%)")
        ax.set_ylabel(what)
        ax.yaxis.set_major_formatter(_thousands)
        ax.grid(alpha=0.3)
    left.legend(fontsize=8, frameon=False, loc="upper right", bbox_to_anchor=(1.0, 0.92))
    right.legend(fontsize=8, frameon=False, loc="best")
    period = result.year if isinstance(result.year, str) else str(result.year)
    fig.suptitle(f"{_shown(result.scenario_title, 100)}\n{importer}'s tariff on {_shown(result.sector_name)} from "
                 f"{exporters} swept, {period}", fontsize=10)
    return left, right


# --------------------------------------------------------------------------- sensitivity

def tornado(result, ax=None):
    """Net welfare of one region with each elasticity moved down and up: bars from the central outcome.

    ``result`` is a :class:`~sim.sensitivity.SensitivityResults`; the largest swing is on top.
    """
    ax = _axes(ax)
    table = result.table
    moving = table["swing"] > CHANGE_EPS
    t = (table[moving] if moving.any() else table.head(1)).iloc[::-1]
    centre = float(t["net_welfare_central"].iloc[0])
    y = np.arange(len(t))
    labels = [f"{_shown(row.sector)} {_shown(row.parameter)}  ({_signed(str(row.central))})" for row in t.itertuples()]
    still = table.loc[~moving, ["sector", "parameter"]]
    if len(still):
        ax.annotate(f"No effect ({len(still)}): the parameters of "
                    f"{_shown(', '.join(dict.fromkeys(still['sector'])))}", (0, 0), xycoords="axes fraction",
                    xytext=(4, 4), textcoords="offset points", fontsize=7, color="#555555")
    for column, colour, what in (("net_welfare_low", "#4C72B0", f"× (1 − {result.cv:g})"),
                                 ("net_welfare_high", "#DD8452", f"× (1 + {result.cv:g})")):
        values = t[column].to_numpy()
        ax.barh(y + (-0.2 if column.endswith("low") else 0.2), values - centre, 0.38, left=centre, color=colour,
                label=f"elasticity {what}")
    ax.axvline(centre, color="black", linewidth=1)
    ax.annotate(_signed(f"central {centre:,.0f}"), (centre, 1), xycoords=("data", "axes fraction"),
                xytext=(4, -12), textcoords="offset points", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.xaxis.set_major_formatter(_thousands)
    ax.set_xlabel(f"{_shown(result.region)} net welfare change, all sectors, {result.year} ({_shown(result.unit)})")
    _set_title(ax, f"{_shown(result.title, 70)}\nOne elasticity at a time, moved by {result.cv:.0%}", fontsize=10)
    _legend_outside(ax)
    ax.grid(axis="x", alpha=0.3)
    return ax


# --------------------------------------------------------------------------- files

def new_figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _save(fig, folder: Path, name: str, written: list, save=None) -> None:
    path = folder / f"{name}.png"
    (save or save_png)(fig, path)
    written.append(path)


def save_png(fig, path: Path) -> None:
    """Write ``fig`` as a PNG at :data:`DPI`, drawing it once.

    ``Figure.savefig`` draws a figure with a layout engine twice (once to lay it
    out, once to render); drawing the Agg canvas runs the constrained layout and
    renders in one pass, and its pixels are written as they are. Inside
    :func:`encoding_in_background` the file is encoded on another thread.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())  # holds the renderer's buffer, which nothing draws on again
    encode = _PNG_ENCODER.get()
    if encode is None:
        _write_png(path, pixels)
    else:
        encode(path, pixels)


#: zlib level of the PNGs: with rows left unfiltered, level 6 makes smaller files than Pillow's filtered default
#: (charts are runs of one colour) at half its time.
PNG_LEVEL = 6


def _write_png(path: Path, pixels) -> None:
    """The pixels of a drawn figure (height × width × RGBA, 8 bits) as a PNG file, with its :data:`DPI`.

    Written here rather than by Pillow: Pillow tries every row filter on every row, which costs more than it saves
    on a chart, while unfiltered rows compress smaller (flat colours repeat exactly). ``zlib`` releases the GIL, so
    inside :func:`encoding_in_background` the encoding runs beside the drawing of the next figure.
    """
    import struct
    import zlib

    height, width, _ = pixels.shape
    rows = np.zeros((height, 1 + 4 * width), dtype=np.uint8)  # each row: filter type 0 (none), then its pixels
    rows[:, 1:] = np.asarray(pixels, dtype=np.uint8).reshape(height, 4 * width)
    per_metre = round(DPI / 0.0254)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"".join([b"\x89PNG\r\n\x1a\n",
                    chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),  # 8-bit RGBA
                    chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),  # pixels per metre
                    chunk(b"IDAT", zlib.compress(rows.data, PNG_LEVEL)),
                    chunk(b"IEND", b"")])
    Path(path).write_bytes(png)


#: Set by :func:`encoding_in_background`: where :func:`save_png` hands the pixels to encode, or None (encode here).
_PNG_ENCODER = contextvars.ContextVar("tradesim_png_encoder", default=None)


@contextlib.contextmanager
def encoding_in_background():
    """Within it, :func:`save_png` draws each figure on the calling thread and leaves encoding its PNG to one
    background thread, beside the drawing of the next figure (Pillow's encoder releases the GIL; matplotlib's
    drawing does not, so drawing stays on one thread). The files are the bytes :func:`save_png` writes alone.

    On leaving, every file has been written, or the first error encoding one (a full disk, ...) is raised.
    """
    from concurrent.futures import ThreadPoolExecutor

    pending = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tradesim-png") as pool:
        token = _PNG_ENCODER.set(lambda path, pixels: pending.append(pool.submit(_write_png, path, pixels)))
        try:
            yield
        finally:
            _PNG_ENCODER.reset(token)
    for job in pending:
        job.result()


def _changed_sectors(frames) -> list[str]:
    """Sectors in which some price, output or flow moves."""
    size = frames.prices.abs().max(axis=1).groupby(level="sector", sort=False).max()
    moved = set(size[size > CHANGE_EPS].index)
    flows = frames.flows["value_change"].abs().groupby(level="sector", sort=False).max()
    moved |= set(flows[flows > CHANGE_EPS].index)
    return [s for s in frames.prices.index.unique("sector") if s in moved]


def _import_sectors(frames, importer) -> list[str]:
    t = frames.tariffs
    return list(t[t.index.get_level_values("importer") == importer].index.unique("sector"))


#: Grey of the footnote under a welfare plot.
FOOTNOTE_COLOUR = "#444444"


def demand_shift_footnote(fig, frames, infos, baseline=None):
    """Under a welfare figure whose scenarios shift some region's own demand: what that region's consumer surplus
    is, and the other buyers' spill-over (docs/model.md, "Welfare"), for the period the welfare plot shows.

    Returns the footnote's Text, or None (and draws nothing) without demand shifts in that period.
    """
    return _put_footnote(fig, _footnote_text(frames, infos, baseline))


def _footnote_text(frames, infos, baseline=None) -> str:
    """The text of :func:`demand_shift_footnote`, "" without demand shifts in the period the welfare plot shows."""
    year = default_period(infos)
    notes = demand_shift_notes(frames, infos, year, minus="\u2212")
    against = f", differences from '{baseline}'" if baseline else ""
    return "\n".join(_shown(f"Note ({year}{against}): {note}" if n == 0 else note, 150) for n, note in enumerate(notes))


def _put_footnote(fig, text: str):
    """``text`` (of :func:`_footnote_text`) under ``fig``; None, and nothing drawn, when it is empty."""
    if not text:
        return None
    return fig.supxlabel(text, x=0.01, ha="left", fontsize=7.5, color=FOOTNOTE_COLOUR, linespacing=1.3)


def _draw_standard_set(plot, frames, infos, folder, prefix, written, welfare_scale="linear", save=None):
    """The standard PNGs; a comparison of several scenarios (``len(infos) > 1``) lays them out for slides.

    ``welfare_scale`` is the y-scale of welfare_path.png (:func:`welfare_path`'s ``scale``); ``save(fig, path)``
    writes each figure (default :func:`save_png`).
    """
    regions = _regions(infos)
    many = len(infos) > 1
    rows = many and len(plot._intervals) == 0 and len(infos) > MAX_STACKED_SCENARIOS
    footnote = _footnote_text(frames, infos, plot._baseline)  # the same under each welfare figure: worked out once
    fig = new_figure(*(welfare_rows_size(len(regions) + 1, len(infos)) if rows else (10, 5.2)))
    plot.welfare(ax=fig.add_subplot(), world=True, intervals=bool(plot._intervals) and plot._baseline is None)
    _put_footnote(fig, footnote)
    _save(fig, folder, f"{prefix}welfare", written, save)
    if (frames.owners["ownership_transfer"].abs() > CHANGE_EPS).any():  # something owned abroad moves
        fig = new_figure(*welfare_by_owner_size(len(regions) + 1, len(infos)))
        plot.welfare_by_owner(ax=fig.add_subplot())
        _put_footnote(fig, footnote)
        _save(fig, folder, f"{prefix}welfare_by_owner", written, save)

    for importer in shocked_importers(frames.tariffs, regions):
        fig = _imports_figure(plot, frames, infos, importer, many)
        _save(fig, folder, f"{prefix}imports_{importer}", written, save)

    sectors = _changed_sectors(frames) or [next(iter(infos.values())).sectors[0]]
    if many:
        fig = new_figure(15, 3.6 * len(sectors) + 0.8)
        for s, sector in enumerate(sectors):
            for m, measure in enumerate(MEASURES):
                plot.prices(sector, ax=fig.add_subplot(len(sectors), len(MEASURES), s * len(MEASURES) + m + 1),
                            measures=[measure], legend=False)
        fig.legend(handles=scenario_handles(infos), loc="outside right upper", fontsize=9, frameon=False)
        fig.suptitle(f"Prices and output by region, {len(infos)} scenarios{_against(plot._baseline)}", fontsize=11)
    else:
        fig = new_figure(10, 3.4 * len(sectors) + 0.4)
        for s, sector in enumerate(sectors):
            plot.prices(sector, ax=fig.add_subplot(len(sectors), 1, s + 1))
    _save(fig, folder, f"{prefix}prices", written, save)

    if [i for i in infos.values() if not i.static and len(i.years) > 1]:
        fig = new_figure(10, 5)
        if many:
            plot.welfare_path(fig=fig, scale=welfare_scale)
        else:
            plot.welfare_path(ax=fig.add_subplot(), scale=welfare_scale)
        _put_footnote(fig, footnote)
        _save(fig, folder, f"{prefix}welfare_path", written, save)


def _imports_figure(plot, frames, infos, importer, many):
    """``importer``'s imports by partner, a panel per sector: stacked for one scenario; side by side (landscape)
    for several, each panel with a legend of the scenarios it draws."""
    regions = _regions(infos)
    sectors = _import_sectors(frames, importer)
    if not many:
        heights = [1.6 + 0.28 * (len(regions) - 1) for _ in sectors]
        fig = new_figure(10, sum(heights))
        for s, ax in enumerate(fig.subplots(len(sectors), 1, squeeze=False, height_ratios=heights)[:, 0]):
            plot.imports(importer, sector=sectors[s], ax=ax)
        return fig
    bars = max(len(_moving(_import_changes(frames, infos, importer, sector).reindex(columns=list(infos)), infos))
               for sector in sectors)
    fig = new_figure(1.5 + 7.2 * len(sectors), 2.6 + 0.17 * (len(regions) - 1) * bars)
    for s, ax in enumerate(fig.subplots(1, len(sectors), squeeze=False)[0]):
        plot.imports(importer, sector=sectors[s], ax=ax, legend=False)
        handles = [h for h in scenario_handles(infos) if h.get_label() in ax.get_legend_handles_labels()[1]]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncols=min(3, len(handles)),
                  fontsize=8, frameon=False)
    fig.suptitle(f"Imports of {_shown(importer)} by partner, {len(infos)} scenarios{_against(plot._baseline)}",
                 fontsize=11)
    return fig


def write_plots(results, folder: Path, prefix: str = "", welfare_scale: str = "linear", save=None) -> list[Path]:
    """Draw the standard plots of one result into ``folder`` as PNG files; return their paths.

    ``welfare.png``; ``imports_<REGION>.png`` for each region whose tariffs change
    (a panel per sector); ``prices.png`` (a panel per sector that moves);
    ``welfare_path.png`` for a timeline of more than one year, on a ``welfare_scale`` y-axis
    (``"linear"`` or ``"symlog"``, which its y-label names). ``save(fig, path)`` writes each figure (default
    :func:`save_png`; docs/make_gallery.py keeps the figures to describe them).
    """
    written: list[Path] = []
    with encoding_in_background():
        _draw_standard_set(results.plot, results.by_scenario, results.infos, folder, prefix, written, welfare_scale,
                           save)
    return written


def write_comparison_plots(comparison, folder: Path, welfare_scale: str = "linear", save=None) -> list[Path]:
    """The standard plots of a comparison: the same files as :func:`write_plots`, scenarios side by side."""
    written: list[Path] = []
    with encoding_in_background():
        _draw_standard_set(comparison.plot, comparison.by_scenario, comparison.infos, folder, "", written,
                           welfare_scale, save)
    return written
