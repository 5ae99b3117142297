"""Tariff sweeps: one ``[[tariff]]`` block's rate varied over a grid, solved as one batch.

``sim.sweep(scenario, tariff=N, rates=...)`` and ``python run_sim.py sweep``: the N-th
``[[tariff]]`` of a scenario (1-based, as in the file's ``tariff[N]`` messages) sets each
rate of the grid on its cells in one year (the last by default), every other shock as the
scenario has it; all rates are solved in one call of the batched solver. A block covering
several sectors (of one importer) gets the same rate in each, every sector solved exactly.
The result holds, per rate, the importer's imports from the affected exporters, its tariff
revenue (both summed over the block's sectors), and the net welfare (all sectors) of the
importer, of each affected exporter and of the world, with the revenue-maximising and the
welfare-maximising (optimal) rates on the grid. Rates are shares (0.25 = 25%); a grid above
1 warns (:class:`~sim.errors.PlausibilityWarning`; an error under ``--strict``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .arguments import check_rates, check_tariff_index, check_year, parse_rates
from .case import Case, load_scenario, prepare
from .engine import Vary, quotas_per_market, solve, solves_quotas
from .engine.memory import batch_estimate, labelled_welfare_bytes
from .errors import ConvergenceError, InputError, PlausibilityWarning, Problem
from .escape import html_text
from .plots import sweep_plot
from .resources import check_memory, largest_fitting
from .scenario import Scenario
from .shocks import PLAUSIBLE, in_force, tariff_cells
from .statistics import by_variant_and_region
from .style import WORLD, short_name
from .tables import label_welfare

__all__ = ["SweepResults", "sweep", "parse_rates"]


@dataclass(frozen=True, repr=False)
class SweepResults:
    """A tariff sweep.

    Attributes
    ----------
    table : DataFrame
        One row per rate: ``rate``, ``imports`` (the importer's imports of the sector from the
        affected exporters, world prices), ``tariff_revenue`` (the importer's in the sector, from
        every partner; both levels, dataset units),
        ``net_welfare_<REGION>`` for the importer and each affected exporter, ``net_welfare_World``
        (all sectors, changes from base, dataset units), ``revenue_maximum`` and ``optimal``
        (the rows of the largest revenue and the largest importer welfare). ``rate`` is a share
        (0.25 = 25%); plots and the command line show it in percent.
    importer, exporters, sector, year, unit, scenario : labels of what was swept
        (``sector`` joins the block's sectors with ", " where it covers several; ``sectors`` lists them)
    """

    table: pd.DataFrame
    importer: str
    exporters: tuple[str, ...]
    sector: str
    year: object
    unit: str
    scenario: str
    title: str
    sector_name: str
    sectors: tuple[str, ...] = ()

    @property
    def scenario_title(self) -> str:
        return self.title.rsplit(": tariff[", 1)[0]

    @property
    def revenue_maximising_rate(self) -> float:
        return float(self.table.loc[self.table["revenue_maximum"], "rate"].iloc[0])

    @property
    def optimal_rate(self) -> float:
        return float(self.table.loc[self.table["optimal"], "rate"].iloc[0])

    def plot(self, fig=None):
        """Imports and revenue (left) and net welfare (right) against the rate in %; returns the two Axes."""
        return sweep_plot(self, fig=fig)

    def _headline(self) -> str:
        rates = self.table["rate"]
        return (f"{self.importer}'s tariff on {self.sector} from {', '.join(self.exporters)}, {self.year}: "
                f"{len(rates):,} rates from {100 * rates.min():.4g}% to {100 * rates.max():.4g}%")

    def _optima(self) -> str:
        best = self.table.loc[self.table["optimal"], f"net_welfare_{self.importer}"].iloc[0]
        return (f"revenue-maximising {100 * self.revenue_maximising_rate:.4g}%, optimal "
                f"{100 * self.optimal_rate:.4g}% ({self.importer} net welfare {best:+,.0f} {self.unit})")

    def __repr__(self) -> str:
        return f"<SweepResults {self.scenario_title}\n  {self._headline()}\n  {self._optima()}>"

    def _repr_html_(self) -> str:
        rows = self.table[self.table["revenue_maximum"] | self.table["optimal"]].drop(
            columns=["revenue_maximum", "optimal"]).assign(rate=lambda t: 100 * t["rate"]).rename(
            columns={"rate": "rate_%"})
        return (f"<b>Sweep: {html_text(self.scenario_title)}</b><br>{html_text(self._headline())}<br>"
                f"{html_text(self._optima())}" + rows.to_html(index=False, float_format=lambda v: f"{v:,.4g}",
                                                              border=0))


def sweep(scenario, tariff: int, rates, year=None, progress: bool = False, option_names: bool = False,
          client=None, timeout: float | None = None) -> SweepResults:
    """Solve ``scenario`` with its ``tariff``-th ``[[tariff]]`` (1-based) at each of ``rates``, in one batch.

    Parameters
    ----------
    scenario : Case, Scenario or path
    tariff : int
        Which ``[[tariff]]`` block (1 = the first in the file). It must name one importer; where it
        covers several sectors, each gets the same rate (imports and revenue summed over them).
    rates : sequence of float or str
        Ad valorem rates as shares (0.25 = 25%), or a string for :func:`parse_rates`. A rate above 1
        warns (:class:`~sim.errors.PlausibilityWarning`: "did you mean ...?").
    year : int, optional
        The year of a timeline to sweep (default: the last); a long-run scenario has none.
    option_names : bool
        Name the arguments in messages as the command line does (``--rates``, not ``rates``).
    client : dask.distributed.Client, optional
        Solve the rates on a Dask cluster (see :func:`sim.engine.solve`); ``timeout`` as there.

    Raises
    ------
    InputError
        No such block, several importers, a rate or year that does not exist; or
        (:class:`sim.resources.NotEnoughMemory`) more rates than fit in the memory available.
    ConvergenceError
        Some rate did not converge (named).
    """
    names = dict(zip(("tariff", "rates", "year"), ("--tariff-index", "--rates", "--year") if option_names
                     else ("tariff", "rates", "year")))
    tariff = check_tariff_index(tariff, names["tariff"])
    rates = check_rates(rates, names["rates"])
    _warn_implausible(rates, names["rates"])
    year = check_year(year, names["year"])
    case = scenario if isinstance(scenario, Case) else (
        prepare(scenario) if isinstance(scenario, Scenario) else load_scenario(scenario))
    block, y, cells = _block(case, tariff, year, names)
    _check_memory(case, len(rates))  # before the rates' tariffs are built
    shocks = case.shocks
    new = np.repeat(shocks.new_tariffs[y][None], len(rates), axis=0)
    new[:, cells] = rates[:, None]
    sol = solve(case, vary=Vary(new_tariffs=new, period=y), client=client, progress=progress, timeout=timeout)
    if not sol.all_converged:
        bad = sorted({float(rates[r]) for r, _ in zip(*np.nonzero(~sol.converged))})
        raise ConvergenceError([f"{case.name}: sweep of tariff[{tariff}] did not converge at rate(s) "
                                f"{', '.join(f'{b:g}' for b in bad)}"])
    return _tabulate(case, sol, cells, rates, y, tariff)


def _warn_implausible(rates: np.ndarray, name: str) -> None:
    """A grid above a rate of 1 (100%) is most likely in percent: warn, as for a scenario's rates."""
    largest = float(rates.max())
    if largest > PLAUSIBLE["rate"]:
        warnings.warn(PlausibilityWarning(name, "", (
            f"the grid goes up to {largest:g}, which means {100 * largest:,.6g}%; did you mean {largest / 100:g}? "
            "(rates are shares: 0.25 = 25%)")), stacklevel=3)


def memory_needed(case, rates: int) -> int:
    """Peak bytes of sweeping ``rates`` rates of ``case``: their tariffs, the batch and the table."""
    sectors, regions = case.dataset.flows.shape[:2]
    quotas = solves_quotas(case)
    return (batch_estimate(rates * sectors, regions, quotas, input_flow_arrays=1,
                           quotas_per_market=quotas_per_market(case)) + 64 * rates * regions
            + labelled_welfare_bytes(rates * sectors, regions))


def _check_memory(case, rates: int) -> None:
    sectors, regions = case.dataset.flows.shape[:2]
    check_memory(memory_needed(case, rates), f"a sweep of {rates:,} rates of '{case.name}' ({sectors} sector(s) of "
                 f"{regions} regions each)", ("sim.sweep", "rates", "the number of rates="),
                 ("--rates", "", "the COUNT of --rates"),
                 largest=lambda available: largest_fitting(lambda n: memory_needed(case, n), available, rates))


def _block(case, index, year, names):
    """The tariff block, the period index and the cells (K, N, N) it sets; every problem as InputError."""
    scenario, ds, shocks = case.scenario, case.dataset, case.shocks
    source = scenario.source
    problems = []
    if not 1 <= index <= len(scenario.tariffs):
        problems.append(Problem(source, "tariff", f"{names['tariff']} {index}: the scenario has "
                                f"{len(scenario.tariffs)} [[tariff]] block(s); give 1 to {len(scenario.tariffs)}"))
    years = list(shocks.years)
    if shocks.static:
        if year is not None:
            problems.append(Problem(source, "years", f"{names['year']} {year}: the scenario is long-run (no years)"))
        y = 0
    elif year is None:
        y = len(years) - 1
    elif year not in years:
        problems.append(Problem(source, "years", f"{names['year']} {year} is not one of the scenario's years "
                                f"{years}"))
        y = 0
    else:
        y = years.index(year)
    if problems:
        raise InputError(problems)
    block = scenario.tariffs[index - 1]
    cells = tariff_cells(block, ds)
    importers = [r for r, on in zip(ds.regions, cells.any(axis=(0, 1))) if on]
    sectors = [s for s, on in zip(ds.sectors, cells.any(axis=(1, 2))) if on]
    if len(importers) != 1:
        raise InputError([Problem(source, f"{block.key}", "a sweep varies one importer's tariff (in one or more "
                                  f"sectors); this block covers importers {importers} (sectors {sectors})")])
    period = None if shocks.static else years[y]
    if not in_force(block.start, block.end, period):
        raise InputError([Problem(source, f"{block.key}", f"is not in force in {years[y]}: choose a "
                                  f"{names['year']} within its start and end")])
    return block, y, cells


def _tabulate(case, sol, cells, rates, y, index) -> SweepResults:
    """The sweep's table from its accounted solution (:func:`sim.engine.solve`), leading axis the rates.

    Imports and revenue are summed over the block's sectors; welfare is every sector's, as always.
    """
    ds, shocks = case.dataset, case.shocks
    ks = [int(k) for k in np.nonzero(cells.any(axis=(1, 2)))[0]]
    sectors = [ds.sectors[k] for k in ks]
    j = int(np.nonzero(cells.any(axis=(0, 1)))[0][0])
    importer = ds.regions[j]
    sold = cells[:, :, j]  # (K, N): the flows into the importer the block sets
    exporters = [ds.regions[i] for i in np.nonzero(sold.any(axis=0))[0]]
    welfare = label_welfare(case, sol, "rate", range(len(rates)), period=y)
    by_region = by_variant_and_region(welfare, "rate", world=True)
    revenue = welfare["tariff_revenue"].xs(importer, level="region")
    revenue = revenue[revenue.index.get_level_values("sector").isin(sectors)].groupby(level="rate").sum()
    table = pd.DataFrame({
        "rate": rates,
        "imports": (sol.flows[..., j] * sold).sum(axis=(1, 2)),
        "tariff_revenue": revenue.to_numpy() + sol.base_tariff_revenue[0, ks, j].sum(),  # change + base level
    })
    for region in [importer] + exporters:
        table[f"net_welfare_{region}"] = by_region[region].to_numpy()
    table[f"net_welfare_{WORLD}"] = by_region[WORLD].to_numpy()
    table["revenue_maximum"] = np.arange(len(rates)) == int(np.argmax(table["tariff_revenue"]))
    table["optimal"] = np.arange(len(rates)) == int(np.argmax(table[f"net_welfare_{importer}"]))
    names = [short_name(ds.sector_names.get(s, s)).lower() for s in sectors]
    sector_name = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return SweepResults(table, importer, tuple(exporters), ", ".join(sectors), shocks.years[y], ds.unit, case.name,
                        f"{case.title}: tariff[{index}] swept", sector_name, tuple(sectors))
