"""The output border: solver arrays labelled once as pandas frames with named index levels.

:func:`label` turns a :class:`~sim.case.Case` and its :class:`~sim.engine.exact.Solution`
into :class:`Frames`: flows indexed by ``(year, sector, exporter, importer)``,
prices and welfare by ``(year, sector, region)``, plus the shocks in force and the
solver diagnostics. Everything downstream — tidy tables, CSV files, summaries,
plots, comparisons — reads these frames; nothing rebuilds labels from arrays.
A comparison is the same frames with an outer ``scenario`` level
(:meth:`Frames.concat`).

The ``year`` level holds calendar years, or ``"long run"`` for a scenario without
``years`` (docs/model.md, "Timeline").
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .ownership import investment_returns, investment_table, welfare_by_owner
from .quotas import QuotaArrays
from .shocks import LONG_RUN

__all__ = ["Frames", "ScenarioInfo", "label", "label_welfare", "axes_index", "FLOW_COLUMNS", "BASELINE_FLOW_COLUMNS",
           "PRICE_COLUMNS",
           "WELFARE_COLUMNS", "WELFARE_PARTS", "LONG_RUN"]

FLOW_COLUMNS = ["scenario", "year", "sector", "exporter", "importer", "base_value", "value",
                "value_change", "value_pct", "volume_pct"]
#: flows.csv of a comparison against a baseline: the value compared with is the baseline's, named so.
BASELINE_FLOW_COLUMNS = [c if c != "base_value" else "baseline_value" for c in FLOW_COLUMNS]
PRICE_COLUMNS = ["scenario", "year", "sector", "region", "producer_price_pct", "consumer_price_pct", "output_pct"]
WELFARE_COLUMNS = ["scenario", "year", "sector", "region", "consumer_surplus", "producer_surplus",
                   "exporter_margin", "tariff_revenue", "quota_rent", "net_welfare"]
WELFARE_PARTS = ["consumer_surplus", "producer_surplus", "exporter_margin", "tariff_revenue", "quota_rent"]

QUOTA_COLUMNS = ["scenario", "year", "sector", "exporter", "importer", "volume", "in_rate", "out_rate", "rate",
                 "fill", "regime", "quota_rent", "rent_holder"]

FLOW_LEVELS = ["year", "sector", "exporter", "importer"]
REGION_LEVELS = ["year", "sector", "region"]


@dataclass(frozen=True)
class ScenarioInfo:
    """What a reader needs besides the numbers: names, units, periods and the dates shocks change.

    ``years`` are period labels (calendar years, or ``("long run",)`` when
    ``static``); ``events`` pairs a year with what changes then (a tariff
    starts or changes, capacity comes online), for markers on time plots.
    """

    name: str
    title: str
    dataset: str
    dataset_title: str
    unit: str
    base_year: int
    years: tuple
    static: bool
    regions: tuple[str, ...]
    region_names: dict
    sectors: tuple[str, ...]
    sector_names: dict
    events: tuple[tuple[int, str], ...] = ()
    label: str = ""  # the scenario file's ``label``; "" when it has none (plots then show ``name``)

    @property
    def shown_name(self) -> str:
        """The short name plots and legends show: the scenario's ``label``, else its name."""
        return self.label or self.name


@dataclass(frozen=True)
class Frames:
    """Labelled results of one scenario, or of several with an outer ``scenario`` level.

    Attributes
    ----------
    flows : DataFrame, index (year, sector, exporter, importer)
        ``base_value, value, value_change`` (dataset units, world prices),
        ``value_pct, volume_pct`` (percent); flows with a positive base value only. Relative to a
        baseline (:func:`sim.compare`), ``baseline_value`` (the baseline's value) replaces ``base_value``.
    prices : DataFrame, index (year, sector, region)
        ``producer_price_pct, consumer_price_pct, output_pct`` (percent).
    welfare : DataFrame, index (year, sector, region)
        ``consumer_surplus, producer_surplus, exporter_margin, tariff_revenue, quota_rent, net_welfare``
        (changes from base, dataset units; ``exporter_margin`` is non-zero only under ``[[pass_through]]``).
    tariffs : DataFrame, index (year, sector, exporter, importer)
        ``base_rate, rate`` (0.25 = 25%) for every partner of each importer and
        sector whose tariffs change in some year: the schedules the scenario touches. Relative to a
        baseline, also ``baseline_rate`` (the baseline's rate), over the schedules either touches.
    shifts : DataFrame, index (year, sector, region)
        ``supply_shift, demand_shift`` (shares of base) where either is non-zero in some year.
    diagnostics : DataFrame, index (year, sector)
        ``iterations, nfev, max_residual, converged`` per market (``nfev``: evaluations of the system).
    quotas : DataFrame, index (year, sector, exporter, importer)
        One row per tariff-rate quota in force: ``volume`` (base prices, dataset units),
        ``in_rate, out_rate, rate`` (the effective rate), ``fill`` (the flow's volume over the
        quota's), ``regime`` (``slack``, ``binding`` or ``over quota``), ``quota_rent``
        (dataset units) and ``rent_holder`` (``exporter`` or ``importer``); empty without quotas.
    owners : DataFrame, index (year, sector, region)
        The welfare table with its producer-side columns credited by owner and ``ownership_transfer``
        (net welfare by owner less by location): docs/model.md, "Ownership". Equal to ``welfare`` (and
        the transfer 0) where nothing is owned abroad.
    investments : DataFrame, index (year, investment)
        Each investment's new capacity per period: output, revenue, operating profit, its producer
        surplus (:func:`sim.ownership.investment_table`); empty without investments.
    returns : DataFrame, index investment
        Per investment with ``amount`` and ``operating_margin``: present value, NPV and payback
        (:func:`sim.ownership.investment_returns`), with draws their 5th and 95th percentiles.
    """

    flows: pd.DataFrame
    prices: pd.DataFrame
    welfare: pd.DataFrame
    tariffs: pd.DataFrame
    shifts: pd.DataFrame
    diagnostics: pd.DataFrame
    quotas: pd.DataFrame
    owners: pd.DataFrame
    investments: pd.DataFrame
    returns: pd.DataFrame

    def with_scenario(self, name: str) -> Frames:
        """The same frames with an outer ``scenario`` level holding ``name``."""
        return Frames.concat({name: self})

    @staticmethod
    def concat(parts: dict[str, Frames]) -> Frames:
        """Stack several scenarios' frames under an outer ``scenario`` level (keys in order)."""
        return Frames(**{f.name: pd.concat({name: getattr(p, f.name) for name, p in parts.items()},
                                            names=["scenario"]) for f in fields(Frames)})

    def map(self, function) -> Frames:
        """Apply ``function(name, frame)`` to every frame."""
        return Frames(**{f.name: function(f.name, getattr(self, f.name)) for f in fields(Frames)})


def percent_change(new, old):
    """``(new / old − 1) × 100``, NaN (an empty cell in a CSV) where ``old`` is 0: no percent change from nothing.

    Works on arrays, Series and DataFrames alike; never writes ``inf``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(new, old)
        change = (ratio - 1.0) * 100.0
    return change.where(np.isfinite(change)) if hasattr(change, "where") else np.where(np.isfinite(change),
                                                                                        change, np.nan)


def label(case, solution) -> tuple[Frames, ScenarioInfo]:
    """Label every solver array of ``case`` once; return the frames and the scenario's metadata."""
    ds, shocks = case.dataset, case.shocks
    years, sectors, regions = list(shocks.years), list(ds.sectors), list(ds.regions)
    # the linear GSIM has no quotas: base-year quotas stay at their base rates there, as tariffs
    quotas = shocks.quotas if solution.tariffs is not None else None
    by_region = _product([years, sectors, regions], REGION_LEVELS)
    by_flow = _product([years, sectors, regions, regions], FLOW_LEVELS)
    sol = solution

    positive = np.broadcast_to(ds.flows > 0, sol.flows.shape).ravel()
    base = np.broadcast_to(ds.flows, sol.flows.shape).ravel()[positive]
    value = sol.flows.ravel()[positive]
    flows = pd.DataFrame({
        "base_value": base, "value": value, "value_change": value - base,
        "value_pct": percent_change(value, base),
        "volume_pct": percent_change(sol.quantity.ravel()[positive], 1.0),
    }, index=by_flow[positive])

    prices = pd.DataFrame({
        "producer_price_pct": (sol.producer_price.ravel() - 1.0) * 100.0,
        "consumer_price_pct": (sol.consumer_price.ravel() - 1.0) * 100.0,
        "output_pct": (sol.output.ravel() - 1.0) * 100.0,
    }, index=by_region)

    _require_accounted(sol)
    revenue, quota_rent = sol.tariff_revenue, sol.quota_rent_change
    welfare = pd.DataFrame({
        "consumer_surplus": sol.consumer_surplus.ravel(), "producer_surplus": sol.producer_surplus.ravel(),
        "exporter_margin": sol.exporter_margin.ravel(), "tariff_revenue": revenue.ravel(),
        "quota_rent": quota_rent.ravel(),
    }, index=by_region)
    welfare["net_welfare"] = welfare[WELFARE_PARTS].sum(axis=1)

    base_rates = np.broadcast_to(ds.tariffs, shocks.new_tariffs.shape)
    applied = shocks.new_tariffs if sol.tariffs is None else sol.tariffs  # quota flows: the effective rate
    touched = (applied != base_rates).any(axis=(0, 2))  # (K, N): importer's tariffs change in sector
    if quotas is not None:  # a quota other than the dataset's base-year one
        base = ds.quotas if ds.quotas is not None else QuotaArrays.empty(ds.flows.shape)
        differs = ((quotas.volume != base.volume) | (quotas.in_rate != base.in_rate)
                   | (quotas.out_rate != base.out_rate) | (quotas.to_exporter != base.to_exporter))
        touched |= differs.any(axis=(0, 2))
    schedule = touched[:, None, :] & ~np.eye(len(regions), dtype=bool)  # every partner of a touched market
    schedule = np.broadcast_to(schedule, shocks.new_tariffs.shape).ravel()
    tariffs = pd.DataFrame({"base_rate": base_rates.ravel()[schedule],
                            "rate": applied.ravel()[schedule]}, index=by_flow[schedule])

    shifted = np.broadcast_to(((shocks.supply_shift != 0) | (shocks.demand_shift != 0)).any(axis=0),
                              shocks.supply_shift.shape).ravel()
    shifts = pd.DataFrame({"supply_shift": shocks.supply_shift.ravel()[shifted],
                           "demand_shift": shocks.demand_shift.ravel()[shifted]}, index=by_region[shifted])

    diagnostics = pd.DataFrame({
        "iterations": sol.iterations.ravel(), "nfev": sol.nfev.ravel(), "max_residual": sol.max_residual.ravel(),
        "converged": sol.converged.ravel(),
    }, index=_product([years, sectors], ["year", "sector"]))

    info = ScenarioInfo(
        name=case.name, title=case.title, dataset=ds.name, dataset_title=ds.title, unit=ds.unit,
        base_year=ds.base_year, years=tuple(years), static=shocks.static, regions=tuple(regions),
        region_names=dict(ds.region_names), sectors=tuple(sectors), sector_names=dict(ds.sector_names),
        events=_events(case), label=case.scenario.label,
    )
    quota_frame = _quota_frame(quotas, sol, ds, by_flow)
    owners = welfare_by_owner(welfare, case, sol.producer_price)
    investments = investment_table(case, sol.producer_price, ["year", "investment"])
    returns = investment_returns(case, sol.producer_price)
    return Frames(flows, prices, welfare, tariffs, shifts, diagnostics, quota_frame, owners, investments,
                  returns), info


#: A quota counts as binding when its flow is within this relative distance of the volume.
FILL_TOLERANCE = 1e-8


def _quota_frame(quotas, sol, ds, by_flow) -> pd.DataFrame:
    """One row per quota in force (see :class:`Frames`)."""
    columns = [c for c in QUOTA_COLUMNS if c not in ("scenario", *FLOW_LEVELS)]
    if quotas is None:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("regime", "rent_holder") else float)
                             for c in columns}, index=by_flow[:0])
    present = quotas.present.ravel()
    volume = quotas.volume.ravel()[present]
    sold = (np.broadcast_to(ds.flows, sol.quantity.shape) * sol.quantity).ravel()[present]
    rate = sol.tariffs.ravel()[present]
    low, high = quotas.in_rate.ravel()[present], quotas.out_rate.ravel()[present]
    fill = sold / volume
    return pd.DataFrame({
        "volume": volume, "in_rate": low, "out_rate": high, "rate": rate, "fill": fill,
        "regime": quota_regime(rate, low, high, fill),
        "quota_rent": sol.quota_rent.ravel()[present],
        "rent_holder": np.where(quotas.to_exporter.ravel()[present], "exporter", "importer"),
    }, index=by_flow[present])


def quota_regime(rate, low, high, fill) -> np.ndarray:
    """``slack``, ``binding`` or ``over quota`` per quota, from the applied rate and the fill (flow / volume).

    Where the in- and out-of-quota rates differ the applied rate tells the state. Where they are
    equal every state pays the same rate, so the fill alone tells it: below the volume slack, at it
    binding, above it over quota.
    """
    rate, low, high, fill = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (rate, low, high, fill)))
    by_rate = np.where(rate >= high, "over quota",
                       np.where((rate > low) | (fill >= 1 - FILL_TOLERANCE), "binding", "slack"))
    by_fill = np.where(fill > 1 + FILL_TOLERANCE, "over quota",
                       np.where(fill >= 1 - FILL_TOLERANCE, "binding", "slack"))
    return np.where(low == high, by_fill, by_rate)


def label_welfare(case, solution, level: str, labels, period: int | None = None) -> pd.DataFrame:
    """The welfare of a solution with a leading variant axis (draws, rates, variants), labelled once.

    Parameters
    ----------
    case : Case
    solution : Solution
        From :func:`sim.engine.solve` with a :class:`~sim.engine.Vary`: leading shape (V, Y, K),
        or (V, K) when the variants fix one ``period``.
    level, labels
        The name of the variant level and its V labels (``"rate"`` and the rates swept, ...).
    period : int, optional
        The period index the variants were solved for (then ``year`` is that period).

    Returns
    -------
    DataFrame
        Index ``(level, year, sector, region)``; columns the welfare components and ``net_welfare``
        (changes from base, dataset units), from the engine's accounting.
    """
    ds, shocks = case.dataset, case.shocks
    years = list(shocks.years) if period is None else [shocks.years[period]]
    index = _product([list(labels), years, list(ds.sectors), list(ds.regions)], [level, *REGION_LEVELS])
    _require_accounted(solution)
    parts = {"consumer_surplus": solution.consumer_surplus, "producer_surplus": solution.producer_surplus,
             "exporter_margin": solution.exporter_margin, "tariff_revenue": solution.tariff_revenue,
             "quota_rent": solution.quota_rent_change}
    welfare = pd.DataFrame({name: np.asarray(array).ravel() for name, array in parts.items()}, index=index)
    welfare["net_welfare"] = welfare[WELFARE_PARTS].sum(axis=1)
    return welfare


def _require_accounted(solution) -> None:
    """Tables label only solutions from :func:`sim.engine.solve`, whose revenue and rent the accounting stated."""
    if solution.quota_rent_change is None:
        raise ValueError("labels a solution from sim.engine.solve (its revenue and rent accounted), not the kernel's")


def axes_index(levels: list[list], names: list[str]) -> pd.MultiIndex:
    """The labels of an array's axes (``levels``, each in the dataset's order), C-ordered to match ``ravel()``.

    The one way tradesim turns array axes into labels: the central frames, the Monte Carlo
    summaries and the labelled variants all build their index here.
    """
    return _product(levels, names)


def _product(levels: list[list], names: list[str]) -> pd.MultiIndex:
    """The C-ordered product of ``levels`` (matching ``array.ravel()``), each level kept in the dataset's order.

    Unlike ``MultiIndex.from_product``, which sorts each level's values, this keeps
    the codes monotonic, so the index is lexsorted and ``.loc`` lookups by leading
    levels are fast and warning-free.
    """
    shape = [len(level) for level in levels]
    codes = [c.ravel() for c in np.indices(shape)]
    return pd.MultiIndex(levels=levels, codes=codes, names=names)


def _events(case) -> tuple[tuple[int, str], ...]:
    """The years after the first in which an importer's tariffs change or new capacity starts coming online."""
    shocks, ds = case.shocks, case.dataset
    if shocks.static:
        return ()
    events = []
    for y in range(1, len(shocks.years)):
        moved = (shocks.new_tariffs[y] != shocks.new_tariffs[y - 1]).any(axis=(0, 1))
        events += [(shocks.years[y], f"{r} tariffs change") for r, m in zip(ds.regions, moved) if m]
    for inv in case.scenario.investments:
        if inv.start is not None and shocks.years[0] < inv.start <= shocks.years[-1]:
            events.append((inv.start, f"new {inv.sector} capacity in {inv.host}"))
    return tuple(sorted(set(events)))
