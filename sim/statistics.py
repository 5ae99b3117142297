"""Periods and sums over labelled frames: the one place welfare is summed by region (docs/model.md, "Outputs").

Results, comparisons, plots and the CLI summaries all pick a period and sum welfare over
sectors here, so a World total or a period is worked out one way.
"""

from __future__ import annotations

import pandas as pd

from .style import WORLD
from .tables import LONG_RUN, WELFARE_PARTS, ScenarioInfo

__all__ = ["default_period", "select_period", "sum_welfare_by_region"]


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
    year = default_period(infos) if year is None else year
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
    table = rows.groupby(level=["scenario", "region"], sort=False)[WELFARE_PARTS + ["net_welfare"]].sum()
    if world:
        total = table.groupby(level="scenario", sort=False).sum()
        total.index = pd.MultiIndex.from_product([total.index, [WORLD]], names=["scenario", "region"])
        table = pd.concat([table, total]).sort_index(level="scenario", sort_remaining=False)
    return table, year
