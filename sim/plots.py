"""Matplotlib plots of results: tidy DataFrames in, Axes out.

Every plotting function takes ``ax=`` (a new figure is made when it is None)
and returns the Axes it drew on. Colours and display names come from one
table, :data:`STYLE`. :func:`write_plots` draws the standard set to PNG files
without touching pyplot's global state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["STYLE", "ResultsPlotter", "welfare", "imports", "prices", "welfare_path", "write_plots"]

#: Display name and colour of each welfare component and price series.
STYLE = {
    "consumer_surplus": ("Consumer surplus", "#4C72B0"),
    "producer_surplus": ("Producer surplus", "#55A868"),
    "tariff_revenue": ("Tariff revenue", "#DD8452"),
    "quota_rent": ("Quota rent", "#8172B3"),
    "net_welfare": ("Net welfare", "#222222"),
    "producer_price_pct": ("Producer price", "#55A868"),
    "consumer_price_pct": ("Consumer price", "#4C72B0"),
}
SECTOR_COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
DPI = 150
CHANGE_EPS = 1e-9  # percent; smaller changes are treated as none when choosing what to draw


def _thousands(value, _pos=None):
    return f"{value:,.0f}"


def _axes(ax, size=(8, 4.5)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _last_year(table, year):
    year = table["year"].max() if year is None else year
    if year not in set(table["year"]):
        raise ValueError(f"year {year} is not in the results (years: {sorted(set(table['year']))})")
    return table[table["year"] == year], year


def _title(table, what, year, static):
    scenario = ", ".join(dict.fromkeys(table["scenario"]))
    when = "long run" if static else str(year)
    return f"{what}: {scenario} ({when})"


def welfare(table, ax=None, year=None, unit="USD million", static=False):
    """Stacked welfare decomposition by region, summed over sectors, with net welfare marked.

    Parameters
    ----------
    table : DataFrame
        Rows of ``welfare.csv`` (columns of DESIGN §4).
    year : int, optional
        Year to show (default: the last).
    unit : str
        Dataset unit, for the axis label.
    """
    ax = _axes(ax)
    rows, year = _last_year(table, year)
    parts = ["consumer_surplus", "producer_surplus", "tariff_revenue", "quota_rent"]
    by_region = rows.groupby("region", sort=False)[parts + ["net_welfare"]].sum()
    parts = [p for p in parts if p != "quota_rent" or by_region[p].abs().max() > 0]
    x = np.arange(len(by_region))
    above = np.zeros(len(x))
    below = np.zeros(len(x))
    handles = []
    for part in parts:
        values = by_region[part].to_numpy()
        bottom = np.where(values >= 0, above, below)
        label, colour = STYLE[part]
        handles.append(ax.bar(x, values, 0.6, bottom=bottom, color=colour, label=label))
        above += np.clip(values, 0, None)
        below += np.clip(values, None, 0)
    net = by_region["net_welfare"].to_numpy()
    label, colour = STYLE["net_welfare"]
    handles.append(ax.scatter(x, net, marker="D", s=40, color=colour, zorder=3, label=label))
    span = max(above.max(), -below.min(), 1e-12)
    for xi, value in zip(x, net):
        ax.annotate(f"{value:,.0f}", (xi, value), xytext=(8, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, by_region.index)
    ax.set_ylim(below.min() - 0.08 * span, above.max() + 0.08 * span)
    ax.yaxis.set_major_formatter(_thousands)
    ax.set_ylabel(f"Change from base ({unit})")
    ax.set_xlabel("Region")
    ax.set_title(_title(rows, "Welfare change by region", year, static))
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return ax


def imports(table, importer, ax=None, year=None, static=False):
    """Percent change in the value of ``importer``'s imports by partner (world prices), per sector.

    ``table`` holds rows of ``flows.csv``. Domestic shipments are left out.
    """
    ax = _axes(ax)
    rows, year = _last_year(table, year)
    rows = rows[(rows["importer"] == importer) & (rows["exporter"] != importer)]
    if rows.empty:
        raise ValueError(f"{importer} has no imports in these results")
    moved = rows.groupby("sector", sort=False)["value_pct"].transform(lambda v: v.abs().max() > CHANGE_EPS)
    if moved.any():  # leave out sectors whose imports do not change at all
        rows = rows[moved]
    pivot = rows.pivot_table(index="exporter", columns="sector", values="value_pct", sort=False)
    partners, sectors = list(pivot.index), list(pivot.columns)
    height = 0.8 / len(sectors)
    y = np.arange(len(partners))
    for s, sector in enumerate(sectors):
        values = pivot[sector].to_numpy()
        pos = y - 0.4 + height * (s + 0.5)
        ax.barh(pos, np.nan_to_num(values), height, color=SECTOR_COLOURS[s % len(SECTOR_COLOURS)], label=sector)
        for yi, value in zip(pos, values):
            if np.isfinite(value):
                ax.annotate(f"{value:+.1f}%", (value, yi), xytext=(3 if value >= 0 else -3, 0),
                            textcoords="offset points", va="center", ha="left" if value >= 0 else "right",
                            fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, partners)
    ax.invert_yaxis()
    lo, hi = np.nanmin(pivot.to_numpy()), np.nanmax(pivot.to_numpy())
    pad = 0.25 * max(hi - lo, abs(hi), abs(lo), 1e-9)
    ax.set_xlim(min(lo, 0) - pad, max(hi, 0) + pad)
    ax.set_xlabel("Change in import value at world prices (%)")
    ax.set_ylabel("Exporter (partner)")
    ax.set_title(_title(rows, f"Imports of {importer} by partner", year, static))
    ax.legend(title="Sector", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # never over bars
    ax.grid(axis="x", alpha=0.3)
    return ax


def prices(table, sector, ax=None, year=None, static=False):
    """Producer and consumer price changes (%) by region in one ``sector``; ``table`` holds prices.csv rows."""
    ax = _axes(ax)
    rows, year = _last_year(table, year)
    rows = rows[rows["sector"] == sector]
    if rows.empty:
        raise ValueError(f"no sector '{sector}' in these results")
    x = np.arange(len(rows))
    for offset, column in ((-0.2, "producer_price_pct"), (0.2, "consumer_price_pct")):
        label, colour = STYLE[column]
        ax.bar(x + offset, rows[column].to_numpy(), 0.4, color=colour, label=label)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, rows["region"])
    ax.set_ylabel("Change from base (%)")
    ax.set_xlabel("Region")
    ax.set_title(_title(rows, f"Prices, {sector}", year, static))
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return ax


def welfare_path(table, ax=None, unit="USD million"):
    """Net welfare change (summed over sectors) of each region over the years."""
    ax = _axes(ax)
    path = table.groupby(["year", "region"], sort=False)["net_welfare"].sum().unstack("region")
    for r, region in enumerate(path.columns):
        ax.plot(path.index, path[region], marker="o", color=SECTOR_COLOURS[r % len(SECTOR_COLOURS)], label=region)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(path.index)
    ax.set_xlabel("Year")
    ax.set_ylabel(f"Net welfare change ({unit})")
    ax.yaxis.set_major_formatter(_thousands)
    scenario = ", ".join(dict.fromkeys(table["scenario"]))
    ax.set_title(f"Net welfare over time: {scenario}")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    return ax


class ResultsPlotter:
    """``results.plot``: the plots above bound to one :class:`sim.Results`."""

    def __init__(self, results):
        self._r = results

    def welfare(self, ax=None, year=None):
        r = self._r
        return welfare(r.welfare, ax=ax, year=year, unit=r.unit, static=r.shocks.static)

    def imports(self, importer=None, ax=None, year=None):
        """Imports of ``importer`` by partner (default: the first region whose tariffs change)."""
        r = self._r
        if importer is None:
            shocked = r.shocked_importers
            if not shocked:
                raise ValueError("no importer's tariffs change in this scenario; name one with importer=")
            importer = shocked[0]
        return imports(r.flows, importer, ax=ax, year=year, static=r.shocks.static)

    def prices(self, sector=None, ax=None, year=None):
        """Price changes in ``sector`` (default: the sector with the largest price change)."""
        r = self._r
        if sector is None:
            sizes = r.prices.assign(size=r.prices["producer_price_pct"].abs() + r.prices["consumer_price_pct"].abs())
            sector = sizes.groupby("sector", sort=False)["size"].max().idxmax()
        return prices(r.prices, sector, ax=ax, year=year, static=r.shocks.static)

    def welfare_path(self, ax=None):
        return welfare_path(self._r.welfare, ax=ax, unit=self._r.unit)


def write_plots(results, folder: Path, prefix: str = "") -> list[Path]:
    """Draw the standard plots of one result into ``folder`` as PNG files; return their paths."""
    from matplotlib.figure import Figure

    written = []

    def save(fig, name):
        path = folder / f"{prefix}{name}.png"
        fig.savefig(path, dpi=DPI)
        written.append(path)

    plot = results.plot
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    plot.welfare(ax=fig.add_subplot())
    save(fig, "welfare")

    for importer in results.shocked_importers:
        n_partners = len(results.dataset.regions) - 1
        fig = Figure(figsize=(8, 1.5 + 0.3 * n_partners * len(results.dataset.sectors) ** 0.5),
                     layout="constrained")
        plot.imports(importer, ax=fig.add_subplot())
        save(fig, f"imports_{importer}")

    sectors = results.changed_sectors or results.dataset.sectors[:1]
    fig = Figure(figsize=(8, 3.2 * len(sectors)), layout="constrained")
    for s, sector in enumerate(sectors):
        plot.prices(sector, ax=fig.add_subplot(len(sectors), 1, s + 1))
    save(fig, "prices")

    if not results.shocks.static and len(results.years) > 1:
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        plot.welfare_path(ax=fig.add_subplot())
        save(fig, "welfare_path")
    return written
