"""Results of one scenario (and what a comparison of several shares with it).

A :class:`Results` holds the labelled :class:`~sim.tables.Frames` of a run and
its :class:`~sim.tables.ScenarioInfo`; the tidy tables of docs/model.md
("Outputs") are those frames with their index reset. :class:`Outcome` is the
behaviour one result and a :class:`~sim.comparison.Comparison` share: tidy tables,
welfare by region, plots, writing, and a short notebook display. A single result
is treated everywhere as a comparison of one scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from .escape import html_text
from .output import build_record, output_tables, run_record, write_excel, write_outputs
from .plots import Plotter
from .report import write_report
from .sensitivity import sensitivity
from .shocks import describe_periods
from .statistics import Statistics, default_period, sum_welfare_by_region
from .tables import BASELINE_FLOW_COLUMNS, FLOW_COLUMNS, PRICE_COLUMNS, WELFARE_COLUMNS, Frames, ScenarioInfo

__all__ = ["Results", "Outcome"]


class Outcome:
    """Behaviour shared by :class:`Results` and :class:`~sim.comparison.Comparison`.

    Subclasses provide ``by_scenario`` (:class:`Frames` with an outer
    ``scenario`` level) and ``infos`` (scenario name → :class:`ScenarioInfo`).
    """

    by_scenario: Frames
    infos: dict[str, ScenarioInfo]

    @property
    def unit(self) -> str:
        return next(iter(self.infos.values())).unit

    @cached_property
    def flows(self) -> pd.DataFrame:
        """Every flow with a positive base value (domestic shipments included): the columns of flows.csv (a
        comparison against a baseline has ``baseline_value`` where a run has ``base_value``)."""
        columns = BASELINE_FLOW_COLUMNS if getattr(self, "baseline", None) else FLOW_COLUMNS
        return self.by_scenario.flows.reset_index()[columns]

    @cached_property
    def prices(self) -> pd.DataFrame:
        """Producer, consumer price and output changes (%): the columns of prices.csv."""
        return self.by_scenario.prices.reset_index()[PRICE_COLUMNS]

    @cached_property
    def welfare(self) -> pd.DataFrame:
        """Welfare changes by year, sector and region (dataset units): the columns of welfare.csv."""
        return self.by_scenario.welfare.reset_index()[WELFARE_COLUMNS]

    @cached_property
    def welfare_by_owner(self) -> pd.DataFrame:
        """Welfare with producer surplus credited to the producers' owners, and ``ownership_transfer`` (net welfare
        by owner less by location): the columns of welfare_by_owner.csv (docs/model.md, "Ownership")."""
        return self.by_scenario.owners.reset_index()

    @cached_property
    def investments(self) -> pd.DataFrame:
        """Each investment's new capacity per period (output, revenue, operating profit, its producer surplus): the
        columns of investments.csv (docs/model.md, "Investments")."""
        return self.by_scenario.investments.reset_index()

    @cached_property
    def investment_returns(self) -> pd.DataFrame:
        """Per investment with ``amount`` and ``operating_margin``: present value over its life, NPV, payback year
        (with draws, 90% intervals): the columns of investment_returns.csv."""
        return self.by_scenario.returns.reset_index()

    def _welfare_by_region(self, year=None, world: bool = False) -> tuple[pd.DataFrame, object]:
        return sum_welfare_by_region(self.by_scenario.welfare, self.infos, year, world)

    @property
    def statistics(self) -> Statistics:
        """Sums over the results, one way each: ``statistics.net_welfare(groupby="region", world=True)``, ..."""
        return Statistics(self.by_scenario, self.infos)

    @property
    def plot(self):
        """Plot methods (:class:`sim.plots.Plotter`): ``welfare``, ``welfare_path``, ``imports``, ``prices``."""

        return Plotter(self)

    def headline(self, year=None) -> pd.DataFrame:
        """Net welfare, all sectors, by region and World: rows scenario, columns region (dataset units)."""
        table, _ = self._welfare_by_region(year, world=True)
        return table["net_welfare"].unstack("region").reindex(columns=table.index.unique("region"))

    def report(self, path, year=None, option: str = "path") -> Path:
        """Write one self-contained HTML page to share (docs/model.md, "Outputs"): description, assumptions, headline
        tables, every plot, Monte Carlo intervals, caveats and the run record; ``path`` ends in ``.html``.

        Raises
        ------
        InputError
            ``path`` is not an ``.html`` name, is a folder, or is a file that is not a report tradesim wrote.
        """
        return write_report(self, path, self._report_record(), year=year, option=option)

    def _report_record(self) -> dict:
        """run.json's content for :meth:`report`, as a run builds it; results read back from files
        (:func:`sim.read_results`) keep their folder's scenario entry."""
        runs = list(getattr(self, "results", {None: self}).values())
        record = build_record([], None, None, getattr(self, "baseline", None))
        record["wall_time_seconds"] = sum(r.wall_time for r in runs)
        record["scenarios"] = [r.record if isinstance(getattr(r, "record", None), dict) else run_record(r)
                               for r in runs]
        folders = [str(r.folder) for r in runs if getattr(r, "folder", None) is not None]
        if folders:
            record["read_back_from"] = ", ".join(folders)
        return record

    def _headline_html(self) -> str:
        table = self.headline()
        period = default_period(self.infos)
        return (f"<p>Net welfare change, all sectors, {period} ({self.unit})</p>"
                + table.to_html(float_format=lambda v: f"{v:,.0f}", border=0))


@dataclass(frozen=True, repr=False)
class Results(Outcome):
    """The outcome of one scenario run.

    Attributes
    ----------
    frames : Frames
        Labelled results: flows by (year, sector, exporter, importer); prices,
        welfare by (year, sector, region); the tariffs and shifts in force;
        solver diagnostics. Values in ``unit``; ``*_pct`` in percent.
    info : ScenarioInfo
        Scenario title, dataset, unit, periods, shock dates.
    case : Case
        The inputs that were solved (scenario, dataset, shock arrays).
    solution : Solution
        The solver's arrays, for power users.
    wall_time : float
        Seconds spent building shocks and solving.
    uncertainty : UncertaintyResults or None
        The Monte Carlo over elasticities (``[uncertainty]`` or ``run(draws=...)``): percentiles
        of every table in ``uncertainty.summary`` (what uncertainty.csv holds), net welfare per
        draw, failed draws.

    ``flows``, ``prices`` and ``welfare`` are the tidy tables (columns of
    flows.csv, prices.csv, welfare.csv): the central run.
    """

    frames: Frames
    info: ScenarioInfo
    case: object
    solution: object
    wall_time: float
    uncertainty: object = None

    @property
    def name(self) -> str:
        return self.info.name

    def to_excel(self, path) -> Path:
        """Write this run's tables (and its Monte Carlo summary, quotas) to one workbook at ``path``.

        Needs the optional extra ``tradesim-armington[excel]`` (openpyxl); see :mod:`sim.excel`.
        """

        path = Path(path)
        tables = output_tables([self.by_scenario], [self])
        record = build_record([self], None, None)
        write_excel(tables, path.parent, [self], record, name=path.name)
        return path

    def sensitivity(self, cv: float = 0.3, region: str | None = None, year=None):
        """Each sector's sigma, eta and eps moved by ``cv`` one at a time, in one batch (docs/model.md,
        "Sensitivity"): a :class:`~sim.sensitivity.SensitivityResults` with ``table`` and ``plot()``."""

        return sensitivity(self, cv=cv, region=region, year=year)

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def years(self) -> tuple:
        """Period labels: calendar years, or ``("long run",)``."""
        return self.info.years

    @property
    def static(self) -> bool:
        return self.info.static

    @property
    def scenario(self):
        return self.case.scenario

    @property
    def dataset(self):
        return self.case.dataset

    @property
    def shocks(self):
        return self.case.shocks

    @cached_property
    def by_scenario(self) -> Frames:
        return self.frames.with_scenario(self.name)

    @property
    def infos(self) -> dict[str, ScenarioInfo]:
        return {self.name: self.info}

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Solver diagnostics per year and sector: iterations, max_residual, converged."""
        return self.frames.diagnostics.reset_index()

    def welfare_by_region(self, year=None, world: bool = False) -> pd.DataFrame:
        """Welfare changes summed over sectors, one row per region (index ``region``), dataset units.

        Parameters
        ----------
        year : int, optional
            Default: the last year (or the long run of a static scenario).
        world : bool
            Add a ``World`` row, the sum over regions.

        Raises
        ------
        ValueError
            ``year`` is not a year of these results.
        """
        return self._welfare_by_region(year, world)[0].droplevel("scenario")

    @property
    def shocked_importers(self) -> list[str]:
        """Regions whose tariffs on some partner change in some year."""
        return self.statistics.shocked_importers()

    def write(self, out_dir: str | Path, plots: bool = True) -> Path:
        """Write flows.csv, prices.csv, welfare.csv, run.json and plots/ into ``out_dir``: what ``run`` writes."""

        return write_outputs([self], out_dir, plots=plots)

    def __repr__(self) -> str:
        diag = self.frames.diagnostics
        status = (f"converged ({len(diag)} markets, at most {int(diag['iterations'].max())} iterations)"
                  if diag["converged"].all() else "NOT converged")
        period = describe_periods(self.years, self.static)
        table = self.welfare_by_region(world=True)["net_welfare"]
        top = table.drop("World").abs().sort_values(ascending=False).index[:3]
        when = self.years[-1]  # a calendar year, or "long run"
        parts = ", ".join(f"{r} {table[r]:+,.0f}" for r in [*top, "World"])
        return (f"<Results {self.name!r}: {self.title}\n"
                f"  dataset {self.info.dataset}, {period}, {status}\n"
                f"  net welfare {when}, all sectors ({self.unit}): {parts}>")

    def _repr_html_(self) -> str:
        head = (f"<b>{html_text(self.title)}</b> <code>{html_text(self.name)}</code><br>"
                f"dataset <code>{html_text(self.info.dataset)}</code>, "
                f"{'long run' if self.static else ', '.join(str(y) for y in self.years)}<br>")
        return head + self._headline_html()
