"""Periods and sums over labelled frames: the one place welfare is summed by region (docs/model.md, "Outputs").

Results, comparisons, plots and the CLI summaries all pick a period and sum welfare over
sectors here, so a World total or a period is worked out one way.
"""

from __future__ import annotations

import pandas as pd

from .style import WORLD
from .tables import LONG_RUN, ScenarioInfo

__all__ = ["Statistics", "default_period", "select_period", "sum_welfare_by_region", "net_welfare_path",
           "by_variant_and_region", "shocked_importers", "demand_shift_effects", "DEMAND_SHIFT_COLUMNS"]

#: The columns of demand_shifts.csv (docs/model.md, "Welfare": demand shifts).
DEMAND_SHIFT_COLUMNS = ["scenario", "year", "sector", "region", "demand_shift", "consumer_surplus",
                        "other_buyers_consumer_surplus"]


def default_period(infos: dict[str, ScenarioInfo]):
    """The last year every timeline scenario has, or ``"long run"`` when all are static.

    Raises
    ------
    ValueError
        The timeline scenarios have no year in common.
    """
    timelines = [set(i.years) for i in infos.values() if not i.static]
    if not timelines:
        return LONG_RUN
    common = set.intersection(*timelines)
    if not common:
        raise ValueError("these scenarios have no year in common; pass year=")
    return max(common)


def _as_year(year):
    """A year given as text ("2030", as from a widget or a file) is the year 2030; "long run" stays as it is."""
    if isinstance(year, str) and year.strip().isdigit():
        return int(year.strip())
    return year


def select_period(frame: pd.DataFrame, infos: dict[str, ScenarioInfo], year=None) -> tuple[pd.DataFrame, object]:
    """Rows of ``frame`` (with a ``scenario`` level) for one period, with the ``year`` level dropped.

    A scenario without ``years`` contributes its long-run result to any year.
    ``year`` defaults to the last year every timeline scenario has (or ``"long run"``).

    Raises
    ------
    ValueError
        ``year`` is not a period of some scenario in ``frame``.
    """
    timelines = {n: set(i.years) for n, i in infos.items() if not i.static}
    year = default_period(infos) if year is None else _as_year(year)
    for name, years in timelines.items():
        if year not in years:
            listed = ", ".join(str(y) for y in sorted(years))
            raise ValueError(f"year {year} is not in the results of '{name}' (years: {listed})")
    if not timelines and year != LONG_RUN:
        raise ValueError(f"year {year} is not in the results: they are for the long run (year=None)")
    parts = []
    for name in frame.index.unique("scenario"):
        period = LONG_RUN if infos[name].static else year
        rows = frame.xs((name, period), level=("scenario", "year"), drop_level=True)
        parts.append(pd.concat({name: rows}, names=["scenario"]))
    return pd.concat(parts), year


def sum_welfare_by_region(welfare: pd.DataFrame, infos: dict[str, ScenarioInfo], year=None,
                          world: bool = False) -> tuple[pd.DataFrame, object]:
    """Welfare summed over sectors for one period: index ``(scenario, region)``, and the period chosen.

    ``welfare`` has a ``scenario`` level (see :func:`select_period` for ``year``); with
    ``world``, each scenario gets a ``World`` row, the sum over its regions.
    """
    rows, year = select_period(welfare, infos, year)
    table = rows.groupby(level=["scenario", "region"], sort=False)[list(rows.columns)].sum()
    if world:
        total = table.groupby(level="scenario", sort=False).sum()
        total.index = pd.MultiIndex.from_product([total.index, [WORLD]], names=["scenario", "region"])
        table = pd.concat([table, total]).sort_index(level="scenario", sort_remaining=False)
    return table, year


def net_welfare_path(welfare: pd.DataFrame, world: bool = True, measure: str = "net_welfare") -> pd.DataFrame:
    """``measure`` summed over sectors for every period: rows ``(scenario, year)``, columns regions (and World).

    ``welfare`` has levels ``scenario, year, sector, region``.
    """
    path = welfare.groupby(level=["scenario", "year", "region"], sort=False)[measure].sum().unstack("region")
    if world:
        path[WORLD] = path.sum(axis=1)
    return path


def by_variant_and_region(welfare: pd.DataFrame, level: str, measure: str = "net_welfare",
                          world: bool = False) -> pd.DataFrame:
    """``measure`` of labelled variants (:func:`sim.tables.label_welfare`) summed over sectors and periods.

    Rows the variants (``level``), columns the regions in the frame's order (and World).
    """
    table = welfare.groupby(level=[level, "region"], sort=False)[measure].sum().unstack("region")
    table = table.reindex(columns=welfare.index.unique("region"))
    if world:
        table[WORLD] = table.sum(axis=1)
    return table


def demand_shift_effects(frames) -> pd.DataFrame:
    """Consumer surplus of each buyer whose own demand shifts, beside the spill-over on the other buyers.

    Read from the welfare table, nothing recomputed (docs/model.md, "Welfare"). One row per
    sector, region and period in which the region's ``demand_shift`` is non-zero:

    - ``demand_shift``: the shift in force (share of base composite demand at given prices);
    - ``consumer_surplus``: the region's ΔCS in that sector, the price effect on its own
      purchases; the value of the extra purchases is not counted anywhere;
    - ``other_buyers_consumer_surplus``: the sum of ΔCS, in that sector and period, of every
      region whose own demand does not shift: the spill-over through the world price.

    Parameters
    ----------
    frames : Frames
        Labelled results, with or without an outer ``scenario`` level.

    Returns
    -------
    DataFrame
        Index as ``frames.welfare`` (``[scenario,] year, sector, region``); empty without demand shifts.
    """
    shift = frames.shifts["demand_shift"]
    shift = shift[shift != 0]
    consumer = frames.welfare["consumer_surplus"]
    market = [level for level in consumer.index.names if level != "region"]
    others = consumer[~consumer.index.isin(shift.index)].groupby(level=market, sort=False).sum()
    table = pd.DataFrame({"demand_shift": shift, "consumer_surplus": consumer.reindex(shift.index)})
    table["other_buyers_consumer_surplus"] = others.reindex(shift.index.droplevel("region")).fillna(0.0).to_numpy()
    return table


def shocked_importers(tariffs: pd.DataFrame, regions) -> list[str]:
    """Regions (in ``regions``' order) whose tariff on some partner changes in some period of ``tariffs``."""
    changed = set(tariffs.index.unique("importer"))
    return [r for r in regions if r in changed]


class Statistics:
    """Sums over a result's labelled frames, each worked out one way (``res.statistics``).

    In the spirit of PyPSA's ``n.statistics``: ``res.statistics.net_welfare(groupby="region",
    world=True)`` is the net welfare of one period summed over sectors, with a World row.
    """

    def __init__(self, by_scenario, infos: dict[str, ScenarioInfo]):
        self._frames, self._infos = by_scenario, infos

    def welfare(self, groupby: str = "region", year=None, world: bool = False, by: str = "location") -> pd.DataFrame:
        """Every welfare component and net welfare, summed as ``groupby`` says.

        Parameters
        ----------
        by : {"location", "owner"}
            ``"location"``: welfare where it arises (welfare.csv); ``"owner"``: producer surplus credited
            to the producers' owners, with ``ownership_transfer`` (welfare_by_owner.csv; docs/model.md,
            "Ownership").
        groupby : {"region", "sector", "year"}
            ``"region"``: one period (``year``, default the last), summed over sectors, rows
            ``(scenario, region)`` (with ``world``, a World row per scenario); ``"sector"``: one
            period summed over regions, rows ``(scenario, sector)``; ``"year"``: every period,
            summed over sectors, rows ``(scenario, year, region)`` (with ``world``, the World rows
            after them).
        """
        if by not in ("location", "owner"):
            raise ValueError(f"by must be 'location' or 'owner', got {by!r}")
        welfare = self._frames.owners if by == "owner" else self._frames.welfare
        columns = list(welfare.columns)
        if groupby == "region":
            return sum_welfare_by_region(welfare, self._infos, year, world)[0]
        if groupby == "sector":
            if world:
                raise ValueError("world= adds a World row by region: it applies to groupby 'region' or 'year'")
            rows, _ = select_period(welfare, self._infos, year)
            return rows.groupby(level=["scenario", "sector"], sort=False)[columns].sum()
        if groupby == "year":
            table = welfare.groupby(level=["scenario", "year", "region"], sort=False)[columns].sum()
            if world:
                total = table.groupby(level=["scenario", "year"], sort=False).sum()
                total.index = pd.MultiIndex.from_tuples([(*key, WORLD) for key in total.index],
                                                        names=["scenario", "year", "region"])
                table = pd.concat([table, total])
            return table
        raise ValueError(f"groupby must be 'region', 'sector' or 'year', got {groupby!r}")

    def net_welfare(self, groupby: str = "region", year=None, world: bool = False, by: str = "location") -> pd.Series:
        """Net welfare summed as :meth:`welfare` says (a Series)."""
        return self.welfare(groupby, year, world, by)["net_welfare"]

    def shocked_importers(self) -> list[str]:
        """Regions whose tariff on some partner changes in some period, in the dataset's order."""
        regions = next(iter(self._infos.values())).regions
        return shocked_importers(self._frames.tariffs, regions)
